#include "mediastore/status.hpp"

#include "mediastore/version.hpp"

namespace mediastore {

const char* version() noexcept { return "0.1.0"; }

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::already_exists: return "already_exists";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::auth_failed: return "auth_failed";
    case ErrorCode::too_large: return "too_large";
    case ErrorCode::unsupported_media: return "unsupported_media";
    case ErrorCode::corrupt_media: return "corrupt_media";
    case ErrorCode::io_error: return "io_error";
    case ErrorCode::network_error: return "network_error";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::throttled: return "throttled";
    case ErrorCode::conflict: return "conflict";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::cancelled: return "cancelled";
    case ErrorCode::internal: return "internal";
    case ErrorCode::not_supported: return "not_supported";
  }
  return "unknown";
}

bool is_transient(ErrorCode code) noexcept {
  return code == ErrorCode::network_error || code == ErrorCode::timeout || code == ErrorCode::throttled ||
         code == ErrorCode::unavailable;
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string s = error_code_name(code_);
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

}  // namespace mediastore
