// Status and Result<T>: the one error type of libmediastore.
//
// Every fallible call returns a Status (no value) or a Result<T> (a value or
// a Status). Neither throws. The codes form a closed list that the C ABI
// mirrors one to one (MS_E_* = -code); new codes are only ever appended.
//
// Thread-safety: Status and Result are values; distinct objects may be used
// from distinct threads freely, one object needs external synchronisation.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "mediastore/export.hpp"

namespace mediastore {

// The closed list of error codes. Numbers are part of the ABI: append only.
enum class ErrorCode : int {
  ok = 0,
  invalid_argument = 1,   // a caller-supplied value is malformed (key, variable, option)
  not_found = 2,          // the object, bucket, upload or file does not exist
  already_exists = 3,     // creating something that is already there
  permission_denied = 4,  // the store or the filesystem refuses the operation
  auth_failed = 5,        // credentials are wrong (bad key id, bad signature)
  too_large = 6,          // a size or pixel limit is exceeded
  unsupported_media = 7,  // the content is of a type the policy does not accept
  corrupt_media = 8,      // the content claims a type but cannot be decoded
  io_error = 9,           // local filesystem failure (ENOSPC, EIO, ...)
  network_error = 10,     // connection refused, reset, DNS, TLS
  timeout = 11,           // an operation or connection exceeded its time
  throttled = 12,         // the server asks to slow down (503 SlowDown, 429)
  conflict = 13,          // a precondition or concurrent change failed
  unavailable = 14,       // the service is temporarily unavailable (5xx)
  cancelled = 15,         // the caller cancelled the operation
  internal = 16,          // a bug or an unexpected condition inside the library
  not_supported = 17,     // this backend or build does not offer the operation (e.g. direct uploads on local)
};

// Number of codes including ok; codes are 0 .. kErrorCodeCount-1.
inline constexpr int kErrorCodeCount = 18;

// Stable lower-case name of a code ("not_found"); "unknown" for values out of
// range. The returned pointer is static.
MS_API const char* error_code_name(ErrorCode code) noexcept;

// True for codes where trying the same call again later may succeed
// (network_error, timeout, throttled, unavailable).
MS_API bool is_transient(ErrorCode code) noexcept;

// [[nodiscard]]: a Status that is dropped is an error that is lost. Handle it
// or discard it with (void) and a comment saying why.
class [[nodiscard]] MS_API Status {
 public:
  // Default: ok.
  Status() noexcept = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() noexcept { return Status(); }
  static Status InvalidArgument(std::string m) { return {ErrorCode::invalid_argument, std::move(m)}; }
  static Status NotFound(std::string m) { return {ErrorCode::not_found, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {ErrorCode::already_exists, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {ErrorCode::permission_denied, std::move(m)}; }
  static Status AuthFailed(std::string m) { return {ErrorCode::auth_failed, std::move(m)}; }
  static Status TooLarge(std::string m) { return {ErrorCode::too_large, std::move(m)}; }
  static Status UnsupportedMedia(std::string m) { return {ErrorCode::unsupported_media, std::move(m)}; }
  static Status CorruptMedia(std::string m) { return {ErrorCode::corrupt_media, std::move(m)}; }
  static Status IoError(std::string m) { return {ErrorCode::io_error, std::move(m)}; }
  static Status NetworkError(std::string m) { return {ErrorCode::network_error, std::move(m)}; }
  static Status Timeout(std::string m) { return {ErrorCode::timeout, std::move(m)}; }
  static Status Throttled(std::string m) { return {ErrorCode::throttled, std::move(m)}; }
  static Status Conflict(std::string m) { return {ErrorCode::conflict, std::move(m)}; }
  static Status Unavailable(std::string m) { return {ErrorCode::unavailable, std::move(m)}; }
  static Status Cancelled(std::string m) { return {ErrorCode::cancelled, std::move(m)}; }
  static Status Internal(std::string m) { return {ErrorCode::internal, std::move(m)}; }
  static Status NotSupported(std::string m) { return {ErrorCode::not_supported, std::move(m)}; }

  bool ok() const noexcept { return code_ == ErrorCode::ok; }
  explicit operator bool() const noexcept { return ok(); }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  bool is(ErrorCode c) const noexcept { return code_ == c; }
  bool transient() const noexcept { return is_transient(code_); }

  // "not_found: no object at key 'a/b.jpg'" or "ok".
  std::string to_string() const;

  // Returns a copy whose message is "<context>: <message>"; ok stays ok.
  Status with_context(std::string_view context) const;

 private:
  ErrorCode code_ = ErrorCode::ok;
  std::string message_;
};

// A value of type T or a non-ok Status. Accessing value() of an error is a
// programming error (asserts in debug builds). [[nodiscard]] like Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result constructed from an ok Status without a value");
    if (status_.ok()) status_ = Status::Internal("Result built from ok status without value");
  }

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Status& status() const noexcept { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace mediastore

// Internal convenience: return early from a Status-returning function.
#define MS_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::mediastore::Status ms_status_ = (expr); \
    if (!ms_status_.ok()) return ms_status_;  \
  } while (0)
