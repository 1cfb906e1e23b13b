// The C ABI of direct uploads: ms_uploads_create_direct (a plan for the
// client) and ms_uploads_complete_direct over UploadService.
#include <chrono>
#include <string>
#include <vector>

#include "internal.hpp"

using namespace mediastore::capi;

namespace {

void request_free(ms_direct_request& r) {
  std::free(r.method);
  std::free(r.url);
  free_string_array(r.header_names, r.header_count);
  free_string_array(r.header_values, r.header_count);
}

void plan_free(ms_direct_upload* p) {
  if (p == nullptr) return;
  std::free(p->id);
  std::free(p->key);
  std::free(p->upload_id);
  if (p->requests != nullptr)
    for (std::size_t i = 0; i < p->request_count; ++i) request_free(p->requests[i]);
  std::free(p->requests);
  std::free(p);
}

ms_direct_upload* make_plan(const ms::DirectUpload& in) {
  CHolder<ms_direct_upload, plan_free> h;
  h.p = static_cast<ms_direct_upload*>(calloc_or_throw(1, sizeof(ms_direct_upload)));
  h.p->id = dup_string(in.id);
  h.p->key = dup_string(in.plan.key);
  h.p->size = in.plan.size;
  h.p->upload_id = dup_string(in.plan.upload_id);
  h.p->part_size = in.plan.part_size;
  h.p->expires_at_ms = to_ms(in.plan.expires_at);
  h.p->requests = static_cast<ms_direct_request*>(calloc_or_throw(in.plan.requests.size(), sizeof(ms_direct_request)));
  for (const auto& r : in.plan.requests) {
    ms_direct_request& c = h.p->requests[h.p->request_count++];
    c.part_number = r.part_number;
    c.offset = r.offset;
    c.size = r.size;
    c.method = dup_string(r.method);
    c.url = dup_string(r.url);
    c.header_names = static_cast<char**>(calloc_or_throw(r.headers.size(), sizeof(char*)));
    c.header_values = static_cast<char**>(calloc_or_throw(r.headers.size(), sizeof(char*)));
    for (const auto& [name, value] : r.headers) {
      c.header_names[c.header_count] = dup_string(name);
      c.header_values[c.header_count] = dup_string(value);
      ++c.header_count;
    }
  }
  return h.release();
}

}  // namespace

extern "C" {

int ms_direct_upload_request_init(ms_direct_upload_request* req, unsigned int version) {
  return init_struct(req, "req", version, MS_DIRECT_UPLOAD_REQUEST_VERSION, "ms_direct_upload_request version",
                     [](ms_direct_upload_request& o) {
                       o.media_kind = MS_KIND_PHOTO;
                       o.expires_in_seconds = 3600;
                     });
}

int ms_uploads_create_direct(ms_direct_upload** out, ms_uploads* uploads, const ms_direct_upload_request* req) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if (req == nullptr) return invalid("req must not be NULL");
    if ((rc = version_arg(req->version, MS_DIRECT_UPLOAD_REQUEST_VERSION, "ms_direct_upload_request.version")) != MS_OK)
      return rc;
    ms::DirectUploadRequest r;
    std::string_view sv;
    if (!text_arg(req->original_filename, "original_filename", sv, rc)) return rc;
    r.original_filename.assign(sv);
    r.size = req->size;
    if (req->content_type && !header_arg(req->content_type, "content_type", r.content_type, rc)) return rc;
    if ((rc = media_kind_arg(req->media_kind, r.media_kind)) != MS_OK) return rc;
    if ((rc = string_pairs(req->context_names, req->context_values, req->context_count, "context", r.context)) != MS_OK)
      return rc;
    if (req->sha256 && !header_arg(req->sha256, "sha256", r.sha256, rc)) return rc;
    if (req->content_md5 && !header_arg(req->content_md5, "content_md5", r.content_md5, rc)) return rc;
    if ((rc = range_arg(req->expires_in_seconds, 1, 604800, "expires_in_seconds")) != MS_OK) return rc;
    r.expires_in = std::chrono::seconds(req->expires_in_seconds);
    auto d = uploads->service->create_direct_upload(r);
    if (!d.ok()) return fail(d.status());
    *out = make_plan(*d);
    return MS_OK;
  });
}

void ms_direct_upload_free(ms_direct_upload* plan) { plan_free(plan); }

int ms_uploads_complete_direct(ms_upload_status** out, ms_uploads* uploads, const char* id, const int* part_numbers,
                               const char* const* etags, size_t part_count, const char* sha256) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view i;
    if (!uploads_arg(uploads, rc) || !text_arg(id, "id", i, rc)) return rc;
    if (part_count > 10000) return invalid("part_count must be at most 10000");
    if (part_count > 0 && (part_numbers == nullptr || etags == nullptr))
      return invalid("part_numbers and etags must not be NULL when part_count > 0");
    std::vector<ms::UploadedPart> parts;
    parts.reserve(part_count);
    for (std::size_t k = 0; k < part_count; ++k) {
      ms::UploadedPart p;
      p.part_number = part_numbers[k];
      if (!header_arg(etags[k], "etags[]", p.etag, rc)) return rc;
      parts.push_back(std::move(p));
    }
    std::string sha;
    if (sha256 && !header_arg(sha256, "sha256", sha, rc)) return rc;
    auto st = uploads->service->complete_direct_upload(i, parts, sha);
    if (!st.ok()) return fail(st.status());
    *out = make_upload_status(*st);
    return MS_OK;
  });
}

}  // extern "C"
