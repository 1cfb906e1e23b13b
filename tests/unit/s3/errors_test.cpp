// S3 error codes and HTTP statuses -> core codes; retryable answers.
#include <doctest/doctest.h>

#include "s3/errors.hpp"

using namespace mediastore;
using namespace mediastore::s3;

TEST_CASE("S3 codes map to core codes") {
  CHECK(error_code_for("NoSuchKey", 404) == ErrorCode::not_found);
  CHECK(error_code_for("NoSuchBucket", 404) == ErrorCode::not_found);
  CHECK(error_code_for("NoSuchUpload", 404) == ErrorCode::not_found);
  CHECK(error_code_for("AccessDenied", 403) == ErrorCode::permission_denied);
  CHECK(error_code_for("SignatureDoesNotMatch", 403) == ErrorCode::auth_failed);
  CHECK(error_code_for("InvalidAccessKeyId", 403) == ErrorCode::auth_failed);
  CHECK(error_code_for("ExpiredToken", 400) == ErrorCode::auth_failed);
  CHECK(error_code_for("RequestTimeTooSkewed", 403) == ErrorCode::auth_failed);
  CHECK(error_code_for("SlowDown", 503) == ErrorCode::throttled);
  CHECK(error_code_for("ServiceUnavailable", 503) == ErrorCode::throttled);
  CHECK(error_code_for("EntityTooLarge", 400) == ErrorCode::too_large);
  CHECK(error_code_for("InternalError", 500) == ErrorCode::unavailable);
  CHECK(error_code_for("RequestTimeout", 400) == ErrorCode::timeout);
  CHECK(error_code_for("BucketAlreadyOwnedByYou", 409) == ErrorCode::already_exists);
  CHECK(error_code_for("PreconditionFailed", 412) == ErrorCode::conflict);
  CHECK(error_code_for("BadDigest", 400) == ErrorCode::network_error);
  CHECK(error_code_for("XAmzContentSHA256Mismatch", 400) == ErrorCode::network_error);
  CHECK(error_code_for("InvalidArgument", 400) == ErrorCode::invalid_argument);
  CHECK(error_code_for("InvalidRange", 416) == ErrorCode::invalid_argument);
}

TEST_CASE("HTTP statuses without an S3 code") {
  CHECK(error_code_for("", 404) == ErrorCode::not_found);
  CHECK(error_code_for("", 403) == ErrorCode::permission_denied);
  CHECK(error_code_for("", 401) == ErrorCode::auth_failed);
  CHECK(error_code_for("", 503) == ErrorCode::throttled);
  CHECK(error_code_for("", 429) == ErrorCode::throttled);
  CHECK(error_code_for("", 500) == ErrorCode::unavailable);
  CHECK(error_code_for("", 502) == ErrorCode::unavailable);
  CHECK(error_code_for("", 504) == ErrorCode::unavailable);
  CHECK(error_code_for("", 408) == ErrorCode::timeout);
  CHECK(error_code_for("", 409) == ErrorCode::conflict);
  CHECK(error_code_for("", 400) == ErrorCode::invalid_argument);
  CHECK(error_code_for("SomethingNew", 418) == ErrorCode::invalid_argument);
}

TEST_CASE("the message keeps the S3 code, status and request id") {
  Status s = s3_status({"NoSuchKey", "The specified key does not exist.", "tx00001", "a.jpg"}, 404, "GET b/a.jpg");
  CHECK(s.is(ErrorCode::not_found));
  CHECK(s.message() == "GET b/a.jpg: NoSuchKey (HTTP 404): The specified key does not exist. [request id tx00001]");
  Status bare = s3_status({}, 502, "PUT b/k");
  CHECK(bare.is(ErrorCode::unavailable));
  CHECK(bare.message() == "PUT b/k: no S3 error code (HTTP 502)");
}

TEST_CASE("retryable answers follow the SDK standard mode") {
  for (long st : {500L, 502L, 503L, 504L, 429L, 408L}) CHECK(is_retryable_answer("", st));
  CHECK(is_retryable_answer("SlowDown", 503));
  CHECK(is_retryable_answer("RequestTimeout", 400));
  CHECK(is_retryable_answer("InternalError", 200));
  for (long st : {400L, 401L, 403L, 404L, 409L, 412L, 416L}) CHECK_FALSE(is_retryable_answer("", st));
  CHECK_FALSE(is_retryable_answer("AccessDenied", 403));
  CHECK_FALSE(is_retryable_answer("SignatureDoesNotMatch", 403));
  CHECK_FALSE(is_retryable_answer("BadDigest", 400));
}
