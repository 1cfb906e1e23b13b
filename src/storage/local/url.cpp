// URLs of the local backend's objects: MEDIA_URL + key, signed with
// MEDIA_URL_SIGNING_KEY when set, and their verification.
#include <fmt/format.h>

#include "core/crypto.hpp"
#include "storage/local/local.hpp"

namespace mediastore::detail {

std::string local_url_signature(std::string_view signing_key, std::string_view url_path, std::int64_t expires) {
  return hex_lower(hmac_sha256(signing_key, fmt::format("{}\n{}", url_path, expires)));
}

std::string_view url_path_of(std::string_view url) {
  const auto q_pos = url.find_first_of("?#");
  if (q_pos != std::string_view::npos) url = url.substr(0, q_pos);
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return url;
  const auto slash = url.find('/', scheme + 3);
  if (slash == std::string_view::npos) return "/";
  return url.substr(slash);
}

Result<std::string> LocalStorageBackend::get_url(std::string_view key, std::chrono::seconds expires_in) {
  MS_RETURN_IF_ERROR(Impl::check_key(*this, key));
  if (expires_in < std::chrono::seconds(1) || expires_in > std::chrono::hours(24 * 7))
    return Status::InvalidArgument(
        fmt::format("expires_in must be 1 s .. 7 days, got {} s for key '{}'", expires_in.count(), local::q(key)));
  std::string url = media_url_ + url_encode_path(key);
  if (signing_key_.empty()) return url;
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::int64_t expires = now + expires_in.count();
  return url + fmt::format("?expires={}&sig={}", expires, local_url_signature(signing_key_, url_path_of(url), expires));
}

}  // namespace mediastore::detail

namespace mediastore {

Status verify_local_url(std::string_view url, std::string_view signing_key,
                        std::optional<std::chrono::system_clock::time_point> now) {
  using detail::local::q;
  if (signing_key.empty()) return Status::InvalidArgument("verify_local_url: the signing key is empty");
  const auto qpos = url.find('?');
  const std::string_view path = detail::url_path_of(url);
  if (qpos == std::string_view::npos)
    return Status::InvalidArgument(fmt::format("URL '{}' carries no signature", q(path)));
  std::string_view query = url.substr(qpos + 1);
  if (const auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  std::optional<std::string_view> expires_text, sig;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = part.find('=');
    const std::string_view name = part.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    std::optional<std::string_view>* slot = name == "expires" ? &expires_text : name == "sig" ? &sig : nullptr;
    if (!slot || slot->has_value())
      return Status::InvalidArgument(fmt::format("URL '{}' has an unexpected or repeated query parameter", q(path)));
    *slot = value;
  }
  if (!expires_text || !sig) return Status::InvalidArgument(fmt::format("URL '{}' lacks expires= or sig=", q(path)));
  if (expires_text->empty() || expires_text->size() > 18 ||
      expires_text->find_first_not_of("0123456789") != std::string_view::npos)
    return Status::InvalidArgument(fmt::format("URL '{}' has a malformed expires=", q(path)));
  if (sig->size() != 64 || sig->find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return Status::InvalidArgument(fmt::format("URL '{}' has a malformed sig=", q(path)));
  const std::int64_t expires = std::stoll(std::string(*expires_text));
  const std::string expected = detail::local_url_signature(signing_key, path, expires);
  if (!detail::constant_time_equal(expected, *sig))
    return Status::PermissionDenied(fmt::format("URL '{}' has a bad signature", q(path)));
  const auto t = now.value_or(std::chrono::system_clock::now());
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  if (now_s > expires)
    return Status::PermissionDenied(fmt::format("URL '{}' expired {} s ago", q(path), now_s - expires));
  return Status::Ok();
}

}  // namespace mediastore
