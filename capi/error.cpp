// The C ABI of errors: codes to text, the thread-local last error, and the
// helpers every wrapper uses to record a failure (internal.hpp).
#include <exception>
#include <new>
#include <string>

#include "internal.hpp"

namespace mediastore::capi {
namespace {

thread_local std::string t_last_error;
thread_local int t_last_code = 0;

}  // namespace

int fail(const Status& status) {
  int code = static_cast<int>(status.code());
  if (code <= 0 || code >= kErrorCodeCount) code = static_cast<int>(ErrorCode::internal);
  t_last_code = -code;
  t_last_error = status.to_string();
  return -code;
}

int fail(ErrorCode code, std::string message) { return fail(Status(code, std::move(message))); }

int invalid(std::string message) { return fail(ErrorCode::invalid_argument, std::move(message)); }

int fail_current_exception() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    t_last_code = MS_E_INTERNAL;
    t_last_error = "internal: out of memory";
  } catch (const std::exception& e) {
    try {
      fail(ErrorCode::internal, std::string("unexpected exception: ") + e.what());
    } catch (...) {
      t_last_code = MS_E_INTERNAL;
    }
  } catch (...) {
    t_last_code = MS_E_INTERNAL;
    try {
      t_last_error = "internal: unexpected exception";
    } catch (...) {
    }
  }
  return MS_E_INTERNAL;
}

Status callback_status(int rc, const char* what) {
  if (rc > -kErrorCodeCount && rc < 0)
    return Status(static_cast<ErrorCode>(-rc), std::string(what) + " callback failed");
  return Status::Cancelled(std::string(what) + " callback returned " + std::to_string(rc));
}

}  // namespace mediastore::capi

using namespace mediastore::capi;

extern "C" {

const char* ms_strerror(int code) {
  if (code > 0) code = -code;
  if (code <= -ms::kErrorCodeCount) return "unknown";
  return ms::error_code_name(static_cast<ms::ErrorCode>(-code));
}

const char* ms_error_last(void) { return t_last_error.c_str(); }

int ms_error_last_code(void) { return t_last_code; }

void ms_error_clear(void) {
  t_last_code = 0;
  t_last_error.clear();
}

int ms_error_is_transient(int code) {
  if (code > 0) code = -code;
  if (code <= -ms::kErrorCodeCount) return 0;
  return ms::is_transient(static_cast<ms::ErrorCode>(-code)) ? 1 : 0;
}

}  // extern "C"
