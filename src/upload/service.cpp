// UploadService: open/create, submit, status, cancel, dead letters, metrics
// and process_next. Processing a job is driver.cpp, its stages
// stages/*.cpp; cleanup is cleanup.cpp.
#include <fmt/format.h>

#include "core/config_internal.hpp"
#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "upload/record.hpp"
#include "upload/service_impl.hpp"
#include "upload/spool.hpp"
#include "upload/staging.hpp"

namespace mediastore {

using detail::now;
using detail::upload_field;
using detail::warn_if_failed;

UploadService::UploadService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UploadService::~UploadService() = default;

Result<std::shared_ptr<UploadService>> UploadService::open(const Config& config, UploadOptions options) {
  auto storage = make_storage(config);
  if (!storage.ok()) return storage.status();
  QueueOptions qo;
  qo.lease_duration = options.lease_duration;
  qo.max_attempts = options.max_attempts;
  qo.name = options.queue_name;
  auto queue = make_queue(config, qo);
  if (!queue.ok()) return queue.status();
  return create(config, std::move(storage.value()), std::move(queue.value()), std::move(options));
}

Result<std::shared_ptr<UploadService>> UploadService::create(const Config& config,
                                                             std::shared_ptr<StorageBackend> storage,
                                                             std::shared_ptr<JobQueue> queue, UploadOptions options) {
  if (!storage || !queue) return Status::InvalidArgument("UploadService::create: storage and queue are required");
  if (options.max_attempts < 1) return Status::InvalidArgument("UploadOptions.max_attempts must be at least 1");
  if (options.lease_duration.count() <= 0 || options.heartbeat_interval.count() <= 0)
    return Status::InvalidArgument("UploadOptions: lease_duration and heartbeat_interval must be positive");
  if (options.key_prefix.empty() || options.key_prefix.back() != '/')
    return Status::InvalidArgument(
        fmt::format("UploadOptions.key_prefix '{}' must be non-empty and end with '/'", options.key_prefix));
  // Staged objects must never be public media (nor be removed with an
  // upload's objects): the two prefixes may not contain each other.
  if (config.staging_prefix.empty() || config.staging_prefix.back() != '/')
    return Status::InvalidArgument(
        fmt::format("MEDIA_STAGING_PREFIX '{}' must be non-empty and end with '/'", config.staging_prefix));
  if (config.staging_prefix.rfind(options.key_prefix, 0) == 0 ||
      options.key_prefix.rfind(config.staging_prefix, 0) == 0)
    return Status::InvalidArgument(
        fmt::format("MEDIA_STAGING_PREFIX '{}' overlaps UploadOptions.key_prefix '{}': staged uploads must stay "
                    "outside the media prefix (and the media outside the staging prefix)",
                    config.staging_prefix, options.key_prefix));
  // Storing the original is one server-side CopyObject of the staged object,
  // which S3 allows up to 5 GiB (UploadPartCopy is not implemented).
  if (config.effective_staging() == StagingKind::storage && config.max_upload_size > (5ull << 30))
    return Status::InvalidArgument(
        fmt::format("MAX_UPLOAD_SIZE {} is above 5 GiB, the largest upload storage staging (MEDIA_STAGING=storage) can "
                    "copy into place; lower it or use MEDIA_STAGING=local",
                    config.max_upload_size));
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->storage = std::move(storage);
  impl->queue = std::move(queue);
  impl->policy = options.policy ? *options.policy : ValidationPolicy::from_config(config);
  if (!options.thumbnails) options.thumbnails = thumbnail_specs_from_config(config);
  impl->options = std::move(options);
  impl->spool_dir = config.effective_spool_dir();
  auto pipeline = detail::build_pipeline({impl->config, impl->options, impl->policy});
  if (!pipeline.ok()) return pipeline.status();
  impl->pipeline = std::move(pipeline).value();
  if (config.effective_staging() == StagingKind::storage)
    MS_LOG(info, "upload", "spool folder '{}' (workers' local copies); staging: storage, key prefix '{}'",
           impl->spool_dir, config.staging_prefix);
  else
    MS_LOG(info, "upload", "spool folder '{}'; staging: local (the spool)", impl->spool_dir);
  if (const std::string old = detail::legacy_default_spool_dir(config); !old.empty())
    MS_LOG(warn, "upload",
           "the spool folder of an earlier version, '{}', is not empty and is not used: the default is now '{}' "
           "(MEDIA_STATE_DIR); stop every process and move its files there, or set MEDIA_SPOOL_DIR='{}' to keep the "
           "old place",
           old, impl->spool_dir, old);
  return std::shared_ptr<UploadService>(new UploadService(std::move(impl)));
}

const Config& UploadService::config() const { return impl_->config; }
StorageBackend& UploadService::storage() { return *impl_->storage; }
JobQueue& UploadService::queue() { return *impl_->queue; }
const UploadOptions& UploadService::options() const { return impl_->options; }

Result<std::string> UploadService::submit_upload(const UploadRequest& request) {
  auto& im = *impl_;
  if (request.original_filename.empty()) return Status::InvalidArgument("submit_upload: original_filename is required");
  if (request.source_path.empty() && request.data.empty())
    return Status::InvalidArgument(
        fmt::format("submit_upload: {}: no source (neither a file nor bytes)", request.original_filename));
  std::string id = detail::uuid4();
  const bool in_storage = im.config.effective_staging() == StagingKind::storage;
  const std::string staged_key = in_storage ? im.staging_key(id) : std::string();
  // Accepted = durable: fsynced in the spool, or stored and checked in the
  // storage backend (its SHA-256 held by the store, its size by stat).
  auto size = in_storage ? detail::stage_in_storage(*im.storage, staged_key, id, request, im.config.max_upload_size)
                         : detail::spool_write(im.spool_dir, id, request, im.config.max_upload_size);
  if (!size.ok()) return size.status();
  if (size.value() == 0) {
    if (!in_storage)
      warn_if_failed(id, "removal of the empty spool file", detail::spool_remove(im.spool_file(id)).status());
    return Status::InvalidArgument(fmt::format("submit_upload: {} is empty", request.original_filename));
  }
  UploadStatus s = detail::new_upload_status(id, UploadState::pending, request.original_filename, request.content_type,
                                             request.media_kind, request.context);
  s.staged_key = staged_key;
  // The record first, then the job: a worker never sees a job without a
  // status, and a crash between the two leaves a pending record without a
  // job, which cleanup_failed_uploads marks abandoned.
  Status st = im.save(s);
  // An idempotency key bound to an earlier upload: that upload's id, and
  // nothing of this submission is kept.
  bool bound = false;
  if (st.ok() && !request.idempotency_key.empty()) {
    auto earlier = im.bind_idempotency_key(request.idempotency_key, id);
    if (!earlier.ok()) {
      st = earlier.status();
    } else if (earlier.value() != id) {
      warn_if_failed(id, "removal of the record of a repeated submission", im.queue->remove_record(id));
      warn_if_failed(id, "removal of the spool file", detail::spool_remove(im.spool_file(id)).status());
      MS_LOGF(info, "upload", upload_field(earlier.value()), "upload {}: submitted again (same idempotency key)",
              earlier.value());
      return std::move(earlier).value();
    } else {
      bound = true;
    }
  }
  if (st.ok()) st = im.queue->enqueue(id, detail::payload_to_json(s));
  // Another caller of the same key queued it (the crash-window repair of
  // bind_idempotency_key): queued is what this submission wanted.
  if (bound && st.is(ErrorCode::already_exists)) st = Status::Ok();
  if (!st.ok()) {
    // The submission fails with st; undo what was written, reporting what
    // cannot be undone (a pending record without a job is marked abandoned
    // by cleanup_failed_uploads).
    if (bound)
      warn_if_failed(id, "release of the idempotency key", im.release_idempotency_key(request.idempotency_key, id));
    warn_if_failed(id, "removal of the record of a failed submission", im.queue->remove_record(id));
    if (in_storage)
      warn_if_failed(id, "removal of the staged object", im.storage->remove(staged_key));
    else
      warn_if_failed(id, "removal of the spool file", detail::spool_remove(im.spool_file(id)).status());
    return st;
  }
  im.submitted++;
  MS_LOGF(info, "upload", upload_field(id), "upload {}: submitted {} ({} bytes, staged at '{}') -> pending", id,
          request.original_filename, size.value(), in_storage ? staged_key : im.spool_file(id));
  return id;
}

Result<UploadStatus> UploadService::status(std::string_view id) { return impl_->load(id); }

Status UploadService::cancel(std::string_view id_in) {
  auto& im = *impl_;
  std::string id(id_in);
  auto s = im.load(id);
  if (!s.ok()) return s.status();
  if (s->state == UploadState::completed || s->state == UploadState::failed)
    return Status::Conflict(fmt::format("upload '{}' already {}", id, upload_state_name(s->state)));
  MS_RETURN_IF_ERROR(im.queue->remove(id));
  // A direct upload not completed yet: its URLs stay valid until they
  // expire, but what they upload goes now and the plan is dropped.
  if (s->state == UploadState::awaiting_upload) MS_RETURN_IF_ERROR(im.drop_direct(s.value()));
  UploadState before = s->state;
  s->state = UploadState::failed;
  s->error_code = ErrorCode::cancelled;
  s->error_message = "cancelled by request";
  MS_RETURN_IF_ERROR(im.save(s.value()));
  im.notify_end(s.value());
  auto left = im.remove_leftovers(id, s->staged_key);
  if (!left.ok()) return left.status().with_context(fmt::format("upload '{}' cancelled; cleaning up", id));
  MS_LOGF(info, "upload", upload_field(id), "upload {}: {} -> failed: cancelled", id, upload_state_name(before));
  return Status::Ok();
}

Result<std::vector<DeadJob>> UploadService::dead_letters(std::size_t limit) {
  return impl_->queue->dead_letters(limit);
}

Result<UploadMetrics> UploadService::metrics() {
  auto& im = *impl_;
  UploadMetrics m;
  m.submitted = im.submitted.load();
  m.completed = im.completed.load();
  m.failed = im.failed.load();
  m.retried = im.retried.load();
  {
    std::lock_guard lock(im.jobs_mu);
    m.in_flight = im.jobs.size();
  }
  {
    std::lock_guard lock(im.metrics_mu);
    m.time_buckets = im.time_buckets;
    m.time_sum_seconds = im.time_sum;
    m.time_count = im.time_count;
  }
  auto q = im.queue->stats();
  if (!q.ok()) return q.status();
  m.queue = q.value();
  auto counts = im.queue->count_records();
  if (!counts.ok()) return counts.status();
  // Only upload states: the record store also holds other records (grant
  // marks, duplicate claims, the dedup scope index) under states of their own.
  for (auto& [state, n] : counts.value()) {
    const std::string name = state == detail::kFailedCleaned ? "failed" : state;
    for (UploadState u : {UploadState::pending, UploadState::processing, UploadState::retrying, UploadState::completed,
                          UploadState::failed})
      if (name == upload_state_name(u)) m.states[name] += n;
  }
  return m;
}

Result<std::size_t> UploadService::process_next(std::size_t max_jobs, std::chrono::milliseconds wait) {
  auto& im = *impl_;
  auto jobs = im.queue->lease(max_jobs, im.options.lease_duration, wait);
  if (!jobs.ok()) return jobs.status();
  std::vector<std::unique_ptr<Impl::InFlight>> flights;
  for (auto& j : jobs.value()) {
    auto f = std::make_unique<Impl::InFlight>();
    f->job = std::move(j);
    im.register_job(f.get());
    flights.push_back(std::move(f));
  }
  for (auto& f : flights) {
    im.process(*f);
    im.unregister_job(f.get());
  }
  return flights.size();
}

}  // namespace mediastore
