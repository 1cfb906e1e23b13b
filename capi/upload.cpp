// The C ABI of the upload service: ms_uploads over an UploadService (submit,
// status, cancel, cleanup, stats, metrics, in-thread processing, dead
// letters). The worker threads are in worker.cpp.
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "internal.hpp"

namespace mediastore::capi {

bool uploads_arg(const ms_uploads* u, int& rc) {
  if (u == nullptr || !u->service) {
    rc = invalid("uploads must not be NULL");
    return false;
  }
  return true;
}

}  // namespace mediastore::capi

using namespace mediastore::capi;

namespace {

static_assert(MS_UPLOAD_FAILED == static_cast<int>(ms::UploadState::failed) &&
                  MS_UPLOAD_AWAITING_UPLOAD == static_cast<int>(ms::UploadState::awaiting_upload),
              "ms_upload_state mirrors UploadState");
static_assert(MS_STAGE_DONE == static_cast<int>(ms::UploadStage::done) &&
                  MS_STAGE_SCANNING == static_cast<int>(ms::UploadStage::scanning) &&
                  MS_STAGE_DEDUPLICATING == static_cast<int>(ms::UploadStage::deduplicating) &&
                  ms::kUploadStageCount == MS_STAGE_DEDUPLICATING + 1,
              "ms_upload_stage mirrors UploadStage");

int upload_options(const ms_upload_options* in, ms::UploadOptions& out) {
  if (in == nullptr) return MS_OK;
  int rc = version_arg(in->version, MS_UPLOAD_OPTIONS_VERSION, "ms_upload_options.version");
  if (rc != MS_OK) return rc;
  if ((rc = range_arg(in->max_attempts, 1, 100, "max_attempts")) != MS_OK) return rc;
  if ((rc = range_arg(in->backoff_base_ms, 0, kMaxMillis, "backoff_base_ms")) != MS_OK) return rc;
  if ((rc = range_arg(in->backoff_max_ms, in->backoff_base_ms, kMaxMillis, "backoff_max_ms")) != MS_OK) return rc;
  if ((rc = range_arg(in->lease_ms, 100, kMaxMillis, "lease_ms")) != MS_OK) return rc;
  if ((rc = range_arg(in->heartbeat_ms, 10, in->lease_ms - 1, "heartbeat_ms")) != MS_OK) return rc;
  if ((rc = range_arg(in->url_expiry_seconds, 1, kMaxUrlExpiry, "url_expiry_seconds")) != MS_OK) return rc;
  out.max_attempts = in->max_attempts;
  out.backoff_base = std::chrono::milliseconds(in->backoff_base_ms);
  out.backoff_max = std::chrono::milliseconds(in->backoff_max_ms);
  out.lease_duration = std::chrono::milliseconds(in->lease_ms);
  out.heartbeat_interval = std::chrono::milliseconds(in->heartbeat_ms);
  out.url_expiry = std::chrono::seconds(in->url_expiry_seconds);
  if (in->key_prefix && !header_arg(in->key_prefix, "key_prefix", out.key_prefix, rc)) return rc;
  if (in->queue_name) {
    if (!header_arg(in->queue_name, "queue_name", out.queue_name, rc)) return rc;
    if (out.queue_name.empty() || out.queue_name.size() > 64) return invalid("queue_name must be 1..64 characters");
  }
  if (in->thumbnail_count > 0 || in->thumbnails != nullptr) {
    std::vector<ms::ThumbnailSpec> specs;
    if ((rc = thumbnail_specs(in->thumbnails, in->thumbnail_count, specs)) != MS_OK) return rc;
    out.thumbnails = std::move(specs);  // the caller's list wins over MEDIA_THUMBNAIL_FORMATS
  }
  if (in->validation) {
    ms::ValidationPolicy policy;
    if ((rc = validation_policy(in->validation, policy)) != MS_OK) return rc;
    out.policy = policy;
  }
  if (in->version >= 2) {
    if ((rc = range_arg(in->record_ttl_seconds, 0, 100LL * 365 * 24 * 3600, "record_ttl_seconds")) != MS_OK) return rc;
    out.record_ttl = std::chrono::seconds(in->record_ttl_seconds);
  }
  return MS_OK;
}

// The bytes of each version of the versioned structs.
std::size_t upload_options_size(unsigned int version) {
  return version >= 2 ? sizeof(ms_upload_options) : offsetof(ms_upload_options, record_ttl_seconds);
}
std::size_t upload_request_size(unsigned int version) {
  return version >= 2 ? sizeof(ms_upload_request) : offsetof(ms_upload_request, idempotency_key);
}

void free_stored(ms_stored_object* o) {
  std::free(o->name);
  std::free(o->key);
  std::free(o->url);
  std::free(o->content_type);
}

void fill_stored(ms_stored_object* o, const ms::StoredObject& in) {
  o->name = dup_string(in.name);
  o->key = dup_string(in.key);
  o->url = dup_string(in.url);
  o->width = in.width;
  o->height = in.height;
  o->bytes = in.bytes;
  o->content_type = dup_string(in.content_type);
}

void upload_status_free_whole(ms_upload_status* st) {
  if (st == nullptr) return;
  std::free(st->id);
  std::free(st->last_error);
  std::free(st->error_message);
  free_stored(&st->original);
  if (st->thumbnails) {
    for (std::size_t i = 0; i < st->thumbnail_count; ++i) free_stored(&st->thumbnails[i]);
    std::free(st->thumbnails);
  }
  free_string_array(st->thumbnail_formats, st->thumbnail_count);
  free_string_array(st->metadata_names, st->metadata_count);
  free_string_array(st->metadata_values, st->metadata_count);
  std::free(st->original_filename);
  std::free(st->content_type);
  free_string_array(st->context_names, st->context_count);
  free_string_array(st->context_values, st->context_count);
  std::free(st->duplicate_of);
  std::free(st);
}

}  // namespace

ms_upload_status* mediastore::capi::make_upload_status(const ms::UploadStatus& in) {
  CHolder<ms_upload_status, upload_status_free_whole> h;
  h.p = static_cast<ms_upload_status*>(calloc_or_throw(1, sizeof(ms_upload_status)));
  ms_upload_status* st = h.p;
  st->id = dup_string(in.id);
  st->state = static_cast<int>(in.state);
  st->stage = static_cast<int>(in.stage);
  st->progress_percentage = in.progress_percentage;
  st->attempt = in.attempt;
  st->next_try_ms = to_ms(in.next_try);
  st->last_error = dup_string(in.last_error);
  st->error_code = -static_cast<int>(in.error_code);
  st->error_message = dup_string(in.error_message);
  if (in.result) {
    st->has_result = 1;
    fill_stored(&st->original, in.result->original);
    const std::size_t n = in.result->thumbnails.size();
    st->thumbnails = static_cast<ms_stored_object*>(calloc_or_throw(n, sizeof(ms_stored_object)));
    st->thumbnail_formats = static_cast<char**>(calloc_or_throw(n, sizeof(char*)));
    for (const auto& t : in.result->thumbnails) {
      fill_stored(&st->thumbnails[st->thumbnail_count++], t);
      st->thumbnail_formats[st->thumbnail_count - 1] = dup_string(t.format);
    }
    fill_pairs(in.result->metadata, &st->metadata_names, &st->metadata_values, &st->metadata_count);
  }
  st->original_filename = dup_string(in.original_filename);
  st->content_type = dup_string(in.content_type);
  st->media_kind = in.media_kind == ms::MediaKind::video ? MS_KIND_VIDEO : MS_KIND_PHOTO;
  fill_pairs(in.context, &st->context_names, &st->context_values, &st->context_count);
  st->created_at_ms = to_ms(in.created_at);
  st->updated_at_ms = to_ms(in.updated_at);
  st->duplicate_of = dup_string(in.duplicate_of);
  st->refusal_reason = static_cast<int>(in.refusal_reason);
  return h.release();
}

namespace {

void similar_list_free_whole(ms_similar_list* l) {
  if (l == nullptr) return;
  if (l->items) {
    for (std::size_t i = 0; i < l->count; ++i) std::free(l->items[i].id);
    std::free(l->items);
  }
  std::free(l);
}

void dead_job_list_free_whole(ms_dead_job_list* l) {
  if (l == nullptr) return;
  if (l->items) {
    for (std::size_t i = 0; i < l->count; ++i) {
      std::free(l->items[i].id);
      std::free(l->items[i].payload);
      std::free(l->items[i].last_error);
    }
    std::free(l->items);
  }
  std::free(l);
}

// The body of a getter over the service's metrics: *out is cleared first,
// then `fill(metrics)` sets it.
template <typename T, typename Fill>
int with_metrics(T** out, ms_uploads* uploads, Fill&& fill) noexcept {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    auto m = uploads->service->metrics();
    if (!m.ok()) return fail(m.status());
    fill(*m);
    return MS_OK;
  });
}

}  // namespace

extern "C" {

const char* ms_upload_state_name(int state) {
  if (state < 0 || state > MS_UPLOAD_AWAITING_UPLOAD) return "unknown";
  return ms::upload_state_name(static_cast<ms::UploadState>(state));
}

const char* ms_upload_stage_name(int stage) {
  if (stage < 0 || stage > MS_STAGE_DEDUPLICATING) return "unknown";
  return ms::upload_stage_name(static_cast<ms::UploadStage>(stage));
}

int ms_upload_options_init(ms_upload_options* opts, unsigned int version) {
  auto defaults = [](ms_upload_options& o, unsigned int v) {
    o.max_attempts = 5;
    o.backoff_base_ms = 1000;
    o.backoff_max_ms = 300000;
    o.lease_ms = 30000;
    o.heartbeat_ms = 10000;
    o.url_expiry_seconds = 604800;
    if (v >= 2) o.record_ttl_seconds = 30LL * 24 * 3600;
  };
  return init_struct_sized(opts, "opts", version, MS_UPLOAD_OPTIONS_VERSION, "ms_upload_options version",
                           upload_options_size, defaults);
}

int ms_upload_request_init(ms_upload_request* req, unsigned int version) {
  return init_struct_sized(req, "req", version, MS_UPLOAD_REQUEST_VERSION, "ms_upload_request version",
                           upload_request_size,
                           [](ms_upload_request& o, unsigned int) { o.media_kind = MS_KIND_PHOTO; });
}

int ms_uploads_open(ms_uploads** out, const ms_config* config, const ms_upload_options* opts) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    ms::UploadOptions uo;
    int rc = upload_options(opts, uo);
    if (rc != MS_OK) return rc;
    auto cfg = config ? resolve(config) : ms::Config::from_environment();
    if (!cfg.ok()) return fail(cfg.status());
    auto svc = ms::UploadService::open(*cfg, std::move(uo));
    if (!svc.ok()) return fail(svc.status());
    auto u = std::make_unique<ms_uploads>();
    u->service = std::move(*svc);
    *out = u.release();
    return MS_OK;
  });
}

void ms_uploads_close(ms_uploads* uploads) { delete_quietly(uploads); }

int ms_upload_submit(char** out, ms_uploads* uploads, const ms_upload_request* req) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if (req == nullptr) return invalid("req must not be NULL");
    if ((rc = version_arg(req->version, MS_UPLOAD_REQUEST_VERSION, "ms_upload_request.version")) != MS_OK) return rc;
    ms::UploadRequest r;
    std::string_view sv;
    if (req->source_path) {
      if (req->data != nullptr || req->data_len > 0) return invalid("give source_path or data, not both");
      if (!text_arg(req->source_path, "source_path", sv, rc)) return rc;
      if (sv.empty()) return invalid("source_path must not be empty");
      r.source_path.assign(sv);
    } else {
      if (req->data == nullptr && req->data_len > 0) return invalid("data must not be NULL when data_len > 0");
      if (req->data_len > 0) r.data.assign(static_cast<const char*>(req->data), req->data_len);
    }
    if (!text_arg(req->original_filename, "original_filename", sv, rc)) return rc;
    r.original_filename.assign(sv);
    if (req->content_type && !header_arg(req->content_type, "content_type", r.content_type, rc)) return rc;
    if ((rc = media_kind_arg(req->media_kind, r.media_kind)) != MS_OK) return rc;
    if ((rc = string_pairs(req->context_names, req->context_values, req->context_count, "context", r.context)) != MS_OK)
      return rc;
    if (req->version >= 2 && !optional_text_arg(req->idempotency_key, "idempotency_key", r.idempotency_key, rc))
      return rc;
    auto id = uploads->service->submit_upload(r);
    if (!id.ok()) return fail(id.status());
    *out = dup_string(*id);
    return MS_OK;
  });
}

int ms_upload_status_get(ms_upload_status** out, ms_uploads* uploads, const char* id) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view i;
    if (!uploads_arg(uploads, rc) || !text_arg(id, "id", i, rc)) return rc;
    auto st = uploads->service->status(i);
    if (!st.ok()) return fail(st.status());
    *out = make_upload_status(*st);
    return MS_OK;
  });
}

void ms_upload_status_free(ms_upload_status* status) { upload_status_free_whole(status); }

int ms_upload_cancel(ms_uploads* uploads, const char* id) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view i;
    if (!uploads_arg(uploads, rc) || !text_arg(id, "id", i, rc)) return rc;
    return check(uploads->service->cancel(i));
  });
}

int ms_upload_cleanup(ms_cleanup_report** out, ms_uploads* uploads, int64_t older_than_seconds) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if ((rc = range_arg(older_than_seconds, 0, 100LL * 365 * 24 * 3600, "older_than_seconds")) != MS_OK) return rc;
    auto r = uploads->service->cleanup_failed_uploads(std::chrono::seconds(older_than_seconds));
    if (!r.ok()) return fail(r.status());
    auto* rep = static_cast<ms_cleanup_report*>(calloc_or_throw(1, sizeof(ms_cleanup_report)));
    rep->failed_uploads = r->failed_uploads;
    rep->abandoned_uploads = r->abandoned_uploads;
    rep->dead_lettered = r->dead_lettered;
    rep->spool_files_removed = r->spool_files_removed;
    rep->objects_removed = r->objects_removed;
    rep->staging_objects_removed = r->staging_objects_removed;
    rep->multipart_uploads_aborted = r->multipart_uploads_aborted;
    rep->records_expired = r->records_expired;
    rep->expired_direct_uploads = r->expired_direct_uploads;
    *out = rep;
    return MS_OK;
  });
}

int ms_upload_stats_get(ms_upload_stats** out, ms_uploads* uploads) {
  return with_metrics(out, uploads, [&](const ms::UploadMetrics& m) {
    auto* st = static_cast<ms_upload_stats*>(calloc_or_throw(1, sizeof(ms_upload_stats)));
    st->submitted = m.submitted;
    st->completed = m.completed;
    st->failed = m.failed;
    st->retried = m.retried;
    st->in_flight = m.in_flight;
    st->time_sum_seconds = m.time_sum_seconds;
    st->time_count = m.time_count;
    st->queue_ready = m.queue.ready;
    st->queue_delayed = m.queue.delayed;
    st->queue_in_flight = m.queue.in_flight;
    st->queue_dead = m.queue.dead;
    auto state = [&](const char* name) -> std::uint64_t {
      auto it = m.states.find(name);
      return it == m.states.end() ? 0 : it->second;
    };
    st->uploads_pending = state("pending");
    st->uploads_processing = state("processing");
    st->uploads_retrying = state("retrying");
    st->uploads_completed = state("completed");
    st->uploads_failed = state("failed");
    *out = st;
  });
}

int ms_upload_metrics_prometheus(char** out, ms_uploads* uploads) {
  return with_metrics(out, uploads, [&](const ms::UploadMetrics& m) { *out = dup_string(ms::to_prometheus(m)); });
}

int ms_upload_process_next(size_t* out, ms_uploads* uploads, size_t max_jobs, int64_t wait_ms) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = 0;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if (max_jobs == 0 || max_jobs > 100000) return invalid("max_jobs must be 1..100000");
    if ((rc = range_arg(wait_ms, 0, 3600000, "wait_ms")) != MS_OK) return rc;
    auto n = uploads->service->process_next(max_jobs, std::chrono::milliseconds(wait_ms));
    if (!n.ok()) return fail(n.status());
    *out = *n;
    return MS_OK;
  });
}

void ms_dead_job_list_free(ms_dead_job_list* list) { dead_job_list_free_whole(list); }

int ms_upload_dead_letters(ms_dead_job_list** out, ms_uploads* uploads, size_t limit) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if (limit == 0 || limit > 100000) return invalid("limit must be 1..100000, got " + std::to_string(limit));
    auto r = uploads->service->dead_letters(limit);
    if (!r.ok()) return fail(r.status());
    CHolder<ms_dead_job_list, dead_job_list_free_whole> h;
    h.p = static_cast<ms_dead_job_list*>(calloc_or_throw(1, sizeof(ms_dead_job_list)));
    h.p->items = static_cast<ms_dead_job*>(calloc_or_throw(r->size(), sizeof(ms_dead_job)));
    for (const auto& d : *r) {
      ms_dead_job& o = h.p->items[h.p->count++];
      o.id = dup_string(d.id);
      o.payload = dup_string(d.payload);
      o.attempts = d.attempts;
      o.last_error = dup_string(d.last_error);
      o.died_at_ms = to_ms(d.died_at);
    }
    *out = h.release();
    return MS_OK;
  });
}

void ms_similar_list_free(ms_similar_list* list) { similar_list_free_whole(list); }

int ms_upload_similar(ms_similar_list** out, ms_uploads* uploads, const char* id, int max_distance) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view i;
    if (!uploads_arg(uploads, rc) || !text_arg(id, "id", i, rc)) return rc;
    auto r = uploads->service->similar(i, max_distance);
    if (!r.ok()) return fail(r.status());
    CHolder<ms_similar_list, similar_list_free_whole> h;
    h.p = static_cast<ms_similar_list*>(calloc_or_throw(1, sizeof(ms_similar_list)));
    h.p->items = static_cast<ms_similar_upload*>(calloc_or_throw(r->size(), sizeof(ms_similar_upload)));
    for (const auto& s : *r) {
      ms_similar_upload& o = h.p->items[h.p->count++];
      o.id = dup_string(s.id);
      o.distance = s.distance;
    }
    *out = h.release();
    return MS_OK;
  });
}

}  // extern "C"
