// S3 error answers and transport failures mapped to the core error codes.
//
// Mapping (S3 code first, then the HTTP status when the code is unknown):
//   NoSuchKey, NoSuchBucket, NoSuchUpload, 404            -> not_found
//   AccessDenied, AllAccessDisabled, AccountProblem, 403   -> permission_denied
//   SignatureDoesNotMatch, InvalidAccessKeyId, InvalidToken, ExpiredToken,
//   AuthorizationHeaderMalformed, 401                      -> auth_failed
//   RequestTimeTooSkewed                                   -> auth_failed: the server refuses the
//                                                             signature because the clocks differ; the
//                                                             fix is the host's clock, so it is reported
//                                                             like a credential problem and not retried
//   SlowDown, Throttling, TooManyRequests, 503, 429        -> throttled
//   EntityTooLarge                                         -> too_large
//   InternalError, ServiceUnavailable(500), 500, 502, 504  -> unavailable
//   RequestTimeout, 408                                    -> timeout
//   BucketAlreadyExists, BucketAlreadyOwnedByYou           -> already_exists
//   PreconditionFailed, OperationAborted, 409, 412         -> conflict
//   BadDigest, XAmzContentSHA256Mismatch, InvalidDigest    -> network_error: the body arrived damaged
//   anything else (InvalidArgument, InvalidRange, 400 ...) -> invalid_argument
// The S3 code, HTTP status and request id stay in the message.
#pragma once

#include <string>
#include <string_view>

#include "mediastore/status.hpp"

namespace mediastore::s3 {

// A parsed <Error> answer (all fields may be empty).
struct S3Error {
  std::string code;        // "NoSuchKey"
  std::string message;     // "The specified key does not exist."
  std::string request_id;  // <RequestId> or the x-amz-request-id header
  std::string resource;    // <Resource> / <Key> / <BucketName>
};

// The core code for an S3 error code and HTTP status (see the table above).
ErrorCode error_code_for(std::string_view s3_code, long http_status) noexcept;

// Builds the Status of a failed S3 request: "<what>: <S3 code> (HTTP <status>): <message> [request id <id>]".
// `what` names the operation and the object ("GET bucket/key").
Status s3_status(const S3Error& error, long http_status, std::string_view what);

// True when the S3 answer may succeed if sent again (AWS SDK standard mode):
// HTTP 500, 502, 503, 504, 429, 408 and the codes SlowDown, RequestTimeout,
// InternalError, Throttling, ThrottlingException, TooManyRequests,
// ServiceUnavailable, RequestLimitExceeded. Never other 4xx.
bool is_retryable_answer(std::string_view s3_code, long http_status) noexcept;

}  // namespace mediastore::s3
