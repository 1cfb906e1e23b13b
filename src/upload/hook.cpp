// The end hook: UploadService::set_end_hook and the call the workflow makes
// once an upload's final status is durable (driver.cpp, cleanup.cpp,
// cancel). Delivery is at least once; see upload.hpp.
#include <exception>

#include "core/log_internal.hpp"
#include "upload/service_impl.hpp"

namespace mediastore {

using detail::upload_field;

void UploadService::set_end_hook(EndHook hook) {
  auto& im = *impl_;
  std::shared_ptr<const EndHook> h;
  if (hook) h = std::make_shared<const EndHook>(std::move(hook));
  std::lock_guard lock(im.hook_mu);
  im.end_hook = std::move(h);
}

void UploadService::Impl::notify_end(const UploadStatus& s) noexcept {
  std::shared_ptr<const EndHook> hook;
  {
    std::lock_guard lock(hook_mu);
    hook = end_hook;
  }
  if (!hook) return;
  // The hook is the host's code: whatever it does, the upload stays ended and
  // the worker goes on; ended_since() lets the host catch up.
  try {
    Status st = (*hook)(s);
    if (!st.ok())
      MS_LOGF(warn, "upload", upload_field(s.id), "upload {}: the end hook failed: {}", s.id, st.to_string());
  } catch (const std::exception& e) {
    MS_LOGF(warn, "upload", upload_field(s.id), "upload {}: the end hook threw: {}", s.id, e.what());
  } catch (...) {
    MS_LOGF(warn, "upload", upload_field(s.id), "upload {}: the end hook threw a non-standard exception", s.id);
  }
}

}  // namespace mediastore
