// Upload grants: issue, verify, check, consume (include/mediastore/grant.hpp).
#include "mediastore/grant.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"

namespace mediastore {

namespace {

constexpr std::string_view kPrefix = "msg1.";
constexpr std::string_view kMarkState = "grant_used";
// A token larger than this is malformed before any parsing (a grant is a few
// hundred bytes; the limit bounds the work a hostile header can cause).
constexpr std::size_t kMaxTokenBytes = 8192;

std::int64_t unix_seconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool is_nonce(std::string_view s) {
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Status malformed(std::string_view why) { return Status::AuthFailed(fmt::format("upload grant is malformed: {}", why)); }

std::string mac_text(std::string_view secret, std::string_view signed_part) {
  const auto mac = detail::hmac_sha256(secret, signed_part);
  return detail::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

Result<GrantClaims> parse_claims(std::string_view json_text) {
  const auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return malformed("the claims are not a JSON object");
  GrantClaims c;
  const auto ctx = j.find("ctx");
  const auto max = j.find("max");
  const auto kinds = j.find("kinds");
  const auto exp = j.find("exp");
  const auto nonce = j.find("nonce");
  const auto once = j.find("once");
  if (ctx == j.end() || !ctx->is_object()) return malformed("no context object");
  for (const auto& [k, v] : ctx->items()) {
    if (!v.is_string()) return malformed("a context value is not a string");
    c.context[k] = v.get<std::string>();
  }
  if (max == j.end() || !max->is_number_unsigned()) return malformed("no size limit");
  c.max_bytes = max->get<std::uint64_t>();
  if (kinds == j.end() || !kinds->is_array()) return malformed("no media kinds");
  for (const auto& k : *kinds) {
    if (!k.is_string()) return malformed("a media kind is not a string");
    auto kind = parse_media_kind(k.get<std::string>());
    if (!kind.ok()) return malformed("an unknown media kind");
    c.kinds.push_back(*kind);
  }
  if (exp == j.end() || !exp->is_number_integer()) return malformed("no expiry");
  c.expires_at = SystemTime(std::chrono::seconds(exp->get<std::int64_t>()));
  if (nonce == j.end() || !nonce->is_string() || !is_nonce(nonce->get<std::string>())) return malformed("no nonce");
  c.nonce = nonce->get<std::string>();
  if (once == j.end() || !once->is_boolean()) return malformed("no single-use flag");
  c.single_use = once->get<bool>();
  return c;
}

std::string context_text(const std::map<std::string, std::string>& context) {
  std::string s;
  for (const auto& [k, v] : context) s += fmt::format("{}{}={}", s.empty() ? "" : ",", k, v);
  return s.empty() ? "(none)" : s;
}

}  // namespace

Result<MediaKind> parse_media_kind(std::string_view text) {
  if (text == "photo") return MediaKind::photo;
  if (text == "video") return MediaKind::video;
  return Status::InvalidArgument(fmt::format("media kind must be photo or video, got '{}'", text));
}

Result<std::string> issue_upload_grant(std::string_view secret, const GrantClaims& claims,
                                       std::optional<SystemTime> now) {
  if (secret.empty()) return Status::InvalidArgument("upload grant: MEDIA_UPLOAD_GRANT_SECRET is empty");
  const auto t = now.value_or(std::chrono::system_clock::now());
  if (unix_seconds(claims.expires_at) <= unix_seconds(t))
    return Status::InvalidArgument("upload grant: the expiry must be in the future");
  if (claims.expires_at - t > kMaxGrantLifetime)
    return Status::InvalidArgument(
        fmt::format("upload grant: the lifetime may be at most {} s", kMaxGrantLifetime.count()));
  if (!claims.nonce.empty() && !is_nonce(claims.nonce))
    return Status::InvalidArgument("upload grant: the nonce must be 32 lower-case hex characters");
  nlohmann::json kinds = nlohmann::json::array();
  for (MediaKind k : claims.kinds) kinds.push_back(media_kind_name(k));
  nlohmann::json ctx = nlohmann::json::object();
  for (const auto& [k, v] : claims.context) ctx[k] = v;
  const nlohmann::json doc = {{"ctx", ctx},
                              {"max", claims.max_bytes},
                              {"kinds", kinds},
                              {"exp", unix_seconds(claims.expires_at)},
                              {"nonce", claims.nonce.empty() ? detail::random_hex(16) : claims.nonce},
                              {"once", claims.single_use}};
  std::string json_text;
  try {
    // Strict UTF-8: a context that is not valid UTF-8 cannot be signed.
    json_text = doc.dump();
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument("upload grant: a context key or value is not valid UTF-8");
  }
  std::string token = std::string(kPrefix) + detail::base64url_encode(json_text);
  const std::string mac = mac_text(secret, token);
  return token + "." + mac;
}

Result<GrantClaims> verify_upload_grant(std::string_view secret, std::string_view token,
                                        std::optional<SystemTime> now) {
  if (secret.empty()) return Status::InvalidArgument("upload grant: MEDIA_UPLOAD_GRANT_SECRET is empty");
  if (token.empty()) return Status::AuthFailed("upload grant is missing");
  if (token.size() > kMaxTokenBytes) return malformed("too long");
  if (token.substr(0, kPrefix.size()) != kPrefix) return malformed("not a version-1 grant (\"msg1.\" prefix)");
  const auto dot = token.rfind('.');
  if (dot < kPrefix.size()) return malformed("no signature part");
  const std::string_view signed_part = token.substr(0, dot);
  const std::string_view mac = token.substr(dot + 1);
  const std::string_view payload = signed_part.substr(kPrefix.size());
  std::string json_text, mac_raw;
  if (payload.empty() || !detail::base64url_decode(payload, json_text))
    return malformed("the claims are not base64url");
  if (!detail::base64url_decode(mac, mac_raw) || mac_raw.size() != 32)
    return malformed("the signature is not a base64url HMAC-SHA256");
  // The signature first: nothing of an unsigned payload is trusted or parsed.
  if (!detail::constant_time_equal(mac_text(secret, signed_part), mac))
    return Status::AuthFailed("upload grant has a bad signature (altered, or issued with another secret)");
  auto claims = parse_claims(json_text);
  if (!claims.ok()) return claims.status();
  const auto now_s = unix_seconds(now.value_or(std::chrono::system_clock::now()));
  const auto exp_s = unix_seconds(claims->expires_at);
  if (now_s >= exp_s) return Status::AuthFailed(fmt::format("upload grant expired {} s ago", now_s - exp_s));
  return claims;
}

Status check_upload_grant(const GrantClaims& claims, const GrantRequest& request) {
  for (const auto& [k, v] : claims.context) {
    const auto it = request.context.find(k);
    if (it == request.context.end() || it->second != v)
      return Status::PermissionDenied(
          fmt::format("upload grant is for another context: it allows {}, the upload has {}",
                      context_text(claims.context), context_text(request.context)));
  }
  if (request.bytes && claims.max_bytes > 0 && *request.bytes > claims.max_bytes)
    return Status::PermissionDenied(fmt::format(
        "upload grant allows at most {} bytes, the upload is over its size ({})", claims.max_bytes, *request.bytes));
  if (request.kind && !claims.kinds.empty()) {
    bool allowed = false;
    for (MediaKind k : claims.kinds) allowed = allowed || k == *request.kind;
    if (!allowed)
      return Status::PermissionDenied(
          fmt::format("upload grant does not allow media kind '{}'", media_kind_name(*request.kind)));
  }
  return Status::Ok();
}

Status consume_upload_grant(JobQueue& queue, const GrantClaims& claims) {
  if (!claims.single_use) return Status::Ok();
  if (!is_nonce(claims.nonce)) return Status::InvalidArgument("upload grant: the nonce must be 32 lower-case hex");
  // updated_at = the grant's expiry, so list_records(state, now) finds the
  // marks that may go.
  const Status s = queue.create_record({"grant-" + claims.nonce, std::string(kMarkState), claims.expires_at, ""});
  if (s.is(ErrorCode::already_exists))
    return Status::PermissionDenied(fmt::format("upload grant {} is single use and was reused", claims.nonce));
  return s;
}

Result<std::size_t> remove_expired_grant_marks(JobQueue& queue, std::size_t limit, std::optional<SystemTime> now) {
  auto marks = queue.list_records(kMarkState, now.value_or(std::chrono::system_clock::now()), limit);
  if (!marks.ok()) return marks.status();
  std::size_t n = 0;
  for (const auto& r : *marks) {
    MS_RETURN_IF_ERROR(queue.remove_record(r.id));
    ++n;
  }
  return n;
}

}  // namespace mediastore
