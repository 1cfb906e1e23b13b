// Key validation (every backend, every call), filename sanitising, URL path
// encoding and PutOptions checks.
#include "storage/key.hpp"

#include <fmt/format.h>

#include "mediastore/storage.hpp"

namespace mediastore {
namespace detail {

namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 if it is malformed.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  if (cp > 0x10FFFF) return 0;
  return len;
}

bool is_c1_control(std::string_view text, std::size_t i, std::size_t len) {
  // U+0080..U+009F are encoded as C2 80 .. C2 9F.
  return len == 2 && static_cast<unsigned char>(text[i]) == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
}

Status bad_key(std::string_view key, std::string_view reason) {
  return Status::InvalidArgument(fmt::format("invalid key '{}': {}", escape_for_message(key), reason));
}

bool has_control(std::string_view text) {
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) return true;
  }
  return false;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::string escape_for_message(std::string_view text, std::size_t max_bytes) {
  std::string out;
  bool cut = false;
  if (text.size() > max_bytes) {
    text = text.substr(0, max_bytes);
    cut = true;
  }
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b >= 0x20 && b < 0x7F) {
      if (b == '\\' || b == '\'') out += '\\';
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    const std::size_t len = b >= 0x80 ? utf8_sequence_length(text, i) : 0;
    if (len > 1 && !is_c1_control(text, i, len)) {
      out.append(text.substr(i, len));
      i += len;
      continue;
    }
    out += fmt::format("\\x{:02x}", b);
    ++i;
  }
  if (cut) out += "...";
  return out;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string sanitize_filename(std::string_view filename) {
  const auto slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename = filename.substr(slash + 1);
  std::string out;
  for (char c : filename) {
    const bool keep =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    const char r = keep ? c : '_';
    if (r == '_' && !out.empty() && out.back() == '_') continue;
    out += r;
  }
  const auto first = out.find_first_not_of('.');
  out = first == std::string::npos ? std::string() : out.substr(first);
  while (!out.empty() && out.back() == '.') out.pop_back();
  constexpr std::size_t kMax = 100;
  if (out.size() > kMax) {
    const auto dot = out.rfind('.');
    std::string ext = (dot != std::string::npos && out.size() - dot <= 16) ? out.substr(dot) : std::string();
    out = out.substr(0, kMax - ext.size()) + ext;
  }
  if (out.empty() || out == "_") return "file";
  return out;
}

Status validate_put_options(std::string_view key, const PutOptions& options) {
  const auto check_header = [&](std::string_view what, std::string_view value) -> Status {
    if (has_control(value))
      return Status::InvalidArgument(fmt::format("{} of key '{}' contains a control character: '{}'", what,
                                                 escape_for_message(key), escape_for_message(value)));
    if (value.size() > 1024)
      return Status::InvalidArgument(
          fmt::format("{} of key '{}' is longer than 1024 bytes", what, escape_for_message(key)));
    return Status::Ok();
  };
  if (!options.sha256.empty() &&
      (options.sha256.size() != 64 || options.sha256.find_first_not_of("0123456789abcdef") != std::string::npos))
    return Status::InvalidArgument(fmt::format("the SHA-256 given for key '{}' is not 64 lower-case hex digits: '{}'",
                                               escape_for_message(key), escape_for_message(options.sha256)));
  MS_RETURN_IF_ERROR(check_header("content type", options.content_type));
  MS_RETURN_IF_ERROR(check_header("cache-control", options.cache_control));
  MS_RETURN_IF_ERROR(check_header("content-disposition", options.content_disposition));
  std::size_t total = 0;
  for (const auto& [name, value] : options.user_metadata) {
    if (name.empty())
      return Status::InvalidArgument(fmt::format("empty metadata name for key '{}'", escape_for_message(key)));
    for (char c : name) {
      if (!is_token_char(c))
        return Status::InvalidArgument(
            fmt::format("metadata name '{}' for key '{}' may only use letters, digits, '-' and '_'",
                        escape_for_message(name), escape_for_message(key)));
    }
    if (has_control(value) || !is_valid_utf8(value))
      return Status::InvalidArgument(fmt::format("metadata '{}' for key '{}' has a control character or invalid UTF-8",
                                                 escape_for_message(name), escape_for_message(key)));
    total += name.size() + value.size();
  }
  if (total > kMaxUserMetadataBytes)
    return Status::InvalidArgument(fmt::format("user metadata of key '{}' is {} bytes, more than the {} allowed",
                                               escape_for_message(key), total, kMaxUserMetadataBytes));
  return Status::Ok();
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string url_encode_path(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~' || c == '/';
    if (keep) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

}  // namespace detail

Status validate_key(std::string_view key) {
  using detail::bad_key;
  if (key.empty()) return Status::InvalidArgument("invalid key '': the key is empty");
  if (key.size() > detail::kMaxKeyBytes)
    return bad_key(key, fmt::format("the key is {} bytes, more than {}", key.size(), detail::kMaxKeyBytes));
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto b = static_cast<unsigned char>(key[i]);
    if (b == 0) return bad_key(key, "NUL byte");
    if (b < 0x20 || b == 0x7F) return bad_key(key, fmt::format("control character \\x{:02x}", b));
    if (b == '\\') return bad_key(key, "backslash");
  }
  for (std::size_t i = 0; i < key.size();) {
    const std::size_t len = detail::utf8_sequence_length(key, i);
    if (len == 0) return bad_key(key, "not valid UTF-8");
    if (detail::is_c1_control(key, i, len)) return bad_key(key, "control character");
    i += len;
  }
  if (key.front() == '/') return bad_key(key, "absolute path (leading '/')");
  std::size_t start = 0;
  while (true) {
    const auto end = key.find('/', start);
    const auto segment = key.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (segment.empty()) return bad_key(key, "empty path segment");
    if (segment == ".") return bad_key(key, "'.' path segment");
    if (segment == "..") return bad_key(key, "'..' path segment");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return Status::Ok();
}

}  // namespace mediastore
