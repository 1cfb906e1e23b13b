#include "s3/errors.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace mediastore::s3 {

namespace {

struct CodeEntry {
  std::string_view s3_code;
  ErrorCode code;
};

constexpr std::array<CodeEntry, 30> kCodes{{
    {"NoSuchKey", ErrorCode::not_found},
    {"NoSuchBucket", ErrorCode::not_found},
    {"NoSuchUpload", ErrorCode::not_found},
    {"NoSuchVersion", ErrorCode::not_found},
    {"AccessDenied", ErrorCode::permission_denied},
    {"AllAccessDisabled", ErrorCode::permission_denied},
    {"AccountProblem", ErrorCode::permission_denied},
    {"SignatureDoesNotMatch", ErrorCode::auth_failed},
    {"InvalidAccessKeyId", ErrorCode::auth_failed},
    {"InvalidToken", ErrorCode::auth_failed},
    {"ExpiredToken", ErrorCode::auth_failed},
    {"AuthorizationHeaderMalformed", ErrorCode::auth_failed},
    {"RequestTimeTooSkewed", ErrorCode::auth_failed},
    {"SlowDown", ErrorCode::throttled},
    {"Throttling", ErrorCode::throttled},
    {"ThrottlingException", ErrorCode::throttled},
    {"TooManyRequests", ErrorCode::throttled},
    {"RequestLimitExceeded", ErrorCode::throttled},
    {"EntityTooLarge", ErrorCode::too_large},
    {"InternalError", ErrorCode::unavailable},
    {"ServiceUnavailable", ErrorCode::unavailable},
    {"RequestTimeout", ErrorCode::timeout},
    {"BucketAlreadyExists", ErrorCode::already_exists},
    {"BucketAlreadyOwnedByYou", ErrorCode::already_exists},
    {"PreconditionFailed", ErrorCode::conflict},
    {"OperationAborted", ErrorCode::conflict},
    {"ConditionalRequestConflict", ErrorCode::conflict},
    {"BadDigest", ErrorCode::network_error},
    {"XAmzContentSHA256Mismatch", ErrorCode::network_error},
    {"InvalidDigest", ErrorCode::network_error},
}};

ErrorCode code_for_status(long http_status) noexcept {
  switch (http_status) {
    case 401: return ErrorCode::auth_failed;
    case 403: return ErrorCode::permission_denied;
    case 404: return ErrorCode::not_found;
    case 408: return ErrorCode::timeout;
    case 409:
    case 412: return ErrorCode::conflict;
    case 413: return ErrorCode::too_large;
    case 429:
    case 503: return ErrorCode::throttled;
    default: break;
  }
  if (http_status >= 500) return ErrorCode::unavailable;
  return ErrorCode::invalid_argument;
}

}  // namespace

ErrorCode error_code_for(std::string_view s3_code, long http_status) noexcept {
  // "ServiceUnavailable" comes with 503, which the brief maps to throttled
  // like SlowDown: the server asks the caller to back off.
  if (s3_code == "ServiceUnavailable" && http_status == 503) return ErrorCode::throttled;
  for (const auto& e : kCodes) {
    if (e.s3_code == s3_code) return e.code;
  }
  return code_for_status(http_status);
}

Status s3_status(const S3Error& error, long http_status, std::string_view what) {
  std::string msg =
      fmt::format("{}: {} (HTTP {})", what, error.code.empty() ? "no S3 error code" : error.code, http_status);
  if (!error.message.empty()) msg += fmt::format(": {}", error.message);
  if (!error.request_id.empty()) msg += fmt::format(" [request id {}]", error.request_id);
  return Status(error_code_for(error.code, http_status), std::move(msg));
}

bool is_retryable_answer(std::string_view s3_code, long http_status) noexcept {
  switch (http_status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504: return true;
    default: break;
  }
  return s3_code == "SlowDown" || s3_code == "RequestTimeout" || s3_code == "InternalError" ||
         s3_code == "Throttling" || s3_code == "ThrottlingException" || s3_code == "TooManyRequests" ||
         s3_code == "ServiceUnavailable" || s3_code == "RequestLimitExceeded";
}

}  // namespace mediastore::s3
