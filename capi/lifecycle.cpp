// The C ABI of the upload lifecycle: the end hook, ended_since, wait,
// list_by_context, retry and the redrive of dead letters.
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "internal.hpp"

using namespace mediastore::capi;

namespace {

constexpr std::size_t kMaxList = 10000;

void status_list_free_whole(ms_upload_status_list* l) {
  if (l == nullptr) return;
  if (l->items) {
    for (std::size_t i = 0; i < l->count; ++i) ms_upload_status_free(l->items[i]);
    std::free(l->items);
  }
  std::free(l);
}

ms_upload_status_list* make_status_list(const std::vector<ms::UploadStatus>& in) {
  CHolder<ms_upload_status_list, status_list_free_whole> h;
  h.p = static_cast<ms_upload_status_list*>(calloc_or_throw(1, sizeof(ms_upload_status_list)));
  h.p->items = static_cast<ms_upload_status**>(calloc_or_throw(in.size(), sizeof(ms_upload_status*)));
  for (const auto& s : in) h.p->items[h.p->count++] = make_upload_status(s);
  return h.release();
}

int limit_arg(std::size_t limit) {
  if (limit == 0 || limit > kMaxList)
    return invalid("limit must be 1.." + std::to_string(kMaxList) + ", got " + std::to_string(limit));
  return MS_OK;
}

}  // namespace

extern "C" {

int ms_uploads_set_end_hook(ms_uploads* uploads, ms_upload_end_fn fn, void* payload) {
  return guard([&]() -> int {
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if (fn == nullptr) {
      uploads->service->set_end_hook({});
      return MS_OK;
    }
    uploads->service->set_end_hook([fn, payload](const ms::UploadStatus& s) -> ms::Status {
      CHolder<ms_upload_status, ms_upload_status_free> st;
      st.p = make_upload_status(s);
      int r = fn(st.p, payload);
      if (r != 0) return ms::Status::Internal("the C end hook returned " + std::to_string(r));
      return ms::Status::Ok();
    });
    return MS_OK;
  });
}

void ms_upload_status_list_free(ms_upload_status_list* list) { status_list_free_whole(list); }

int ms_upload_ended_since(ms_upload_status_list** out, ms_uploads* uploads, int64_t since_ms, size_t limit) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if ((rc = limit_arg(limit)) != MS_OK) return rc;
    if ((rc = range_arg(since_ms, 0, INT64_MAX / 1000000, "since_ms")) != MS_OK) return rc;
    auto r = uploads->service->ended_since(ms::SystemTime(std::chrono::milliseconds(since_ms)), limit);
    if (!r.ok()) return fail(r.status());
    *out = make_status_list(*r);
    return MS_OK;
  });
}

int ms_upload_list_by_context(ms_upload_status_list** out, ms_uploads* uploads, const char* name, const char* value,
                              size_t limit) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view k, v;
    if (!uploads_arg(uploads, rc) || !text_arg(name, "name", k, rc) || !text_arg(value, "value", v, rc)) return rc;
    if ((rc = limit_arg(limit)) != MS_OK) return rc;
    auto r = uploads->service->list_by_context(k, v, limit);
    if (!r.ok()) return fail(r.status());
    *out = make_status_list(*r);
    return MS_OK;
  });
}

int ms_upload_wait(ms_upload_status** out, ms_uploads* uploads, const char* id, int64_t timeout_ms) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view i;
    if (!uploads_arg(uploads, rc) || !text_arg(id, "id", i, rc)) return rc;
    if ((rc = range_arg(timeout_ms, 0, 86400000, "timeout_ms")) != MS_OK) return rc;
    auto st = uploads->service->wait(i, std::chrono::milliseconds(timeout_ms));
    if (!st.ok()) return fail(st.status());
    *out = make_upload_status(*st);
    return MS_OK;
  });
}

int ms_upload_retry(ms_uploads* uploads, const char* id) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view i;
    if (!uploads_arg(uploads, rc) || !text_arg(id, "id", i, rc)) return rc;
    return check(uploads->service->retry(i));
  });
}

int ms_upload_redrive_dead_letters(size_t* out, ms_uploads* uploads, size_t limit) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = 0;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if ((rc = limit_arg(limit)) != MS_OK) return rc;
    auto n = uploads->service->redrive_dead_letters(limit);
    if (!n.ok()) return fail(n.status());
    *out = *n;
    return MS_OK;
  });
}

}  // extern "C"
