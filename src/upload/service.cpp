// UploadService: submit, status, cancel, cleanup, metrics, and the
// processing of one job (validate -> thumbnails -> original -> thumbnails
// stored -> done).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>

#include "core/config_internal.hpp"
#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "queue/common.hpp"
#include "upload/record.hpp"
#include "upload/service_impl.hpp"
#include "upload/spool.hpp"

namespace mediastore {

using detail::from_ms;
using detail::to_ms;

namespace {

std::vector<LogField> upload_field(const std::string& id) { return {LogField{"upload", id}}; }

SystemTime now() { return std::chrono::system_clock::now(); }

// ASCII-only, short: object metadata must survive S3 headers.
std::string header_safe(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= 200) break;
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '_';
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Impl helpers

Status UploadService::Impl::save(UploadStatus& s) {
  s.updated_at = now();
  std::string state = upload_state_name(s.state);
  return queue->put_record(JobRecord{s.id, state, s.updated_at, detail::status_to_json(s)});
}

Result<UploadStatus> UploadService::Impl::load(std::string_view id) {
  auto rec = queue->get_record(id);
  if (!rec.ok()) {
    if (rec.status().is(ErrorCode::not_found)) return Status::NotFound(fmt::format("no upload with id '{}'", id));
    return rec.status();
  }
  return detail::status_from_json(std::string(id), rec->body);
}

std::string UploadService::Impl::object_prefix(const std::string& id) const { return options.key_prefix + id + "/"; }

std::string UploadService::Impl::spool_file(const std::string& id) const { return detail::spool_path(spool_dir, id); }

Result<std::pair<std::uint64_t, std::uint64_t>> UploadService::Impl::remove_leftovers(const std::string& id) {
  std::uint64_t objects = 0, spool = 0;
  // The spool first: it does not depend on the storage being reachable, and
  // objects left by an outage are found again from the failed record by
  // cleanup_failed_uploads.
  auto removed = detail::spool_remove(spool_file(id));
  if (!removed.ok()) return removed.status();
  if (removed.value()) ++spool;
  auto listed = storage->list_all(object_prefix(id));
  if (!listed.ok()) return listed.status();
  for (auto& o : listed.value()) {
    MS_RETURN_IF_ERROR(storage->remove(o.key));
    ++objects;
  }
  return std::make_pair(objects, spool);
}

void UploadService::Impl::observe_time(double seconds) {
  std::lock_guard lock(metrics_mu);
  for (std::size_t i = 0; i < kUploadTimeBuckets.size(); ++i)
    if (seconds <= kUploadTimeBuckets[i]) time_buckets[i]++;
  time_buckets[kUploadTimeBuckets.size()]++;
  time_sum += seconds;
  time_count++;
}

int UploadService::Impl::effective_max_attempts() const {
  return std::max(1, std::min(options.max_attempts, queue->options().max_attempts));
}

std::chrono::milliseconds UploadService::Impl::backoff(int attempt) const {
  double base = static_cast<double>(options.backoff_base.count());
  double cap = static_cast<double>(options.backoff_max.count());
  double d = std::min(cap, base * std::pow(2.0, std::max(0, attempt - 1)));
  unsigned char r = 0;
  (void)detail::random_bytes(&r, 1);
  d *= 0.5 + 0.5 * (static_cast<double>(r) / 255.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(d));
}

void UploadService::Impl::register_job(InFlight* f) {
  std::lock_guard lock(jobs_mu);
  jobs[f->job.id + "\n" + f->job.lease_token] = f;
}

void UploadService::Impl::unregister_job(InFlight* f) {
  std::lock_guard lock(jobs_mu);
  jobs.erase(f->job.id + "\n" + f->job.lease_token);
}

void UploadService::Impl::heartbeat_all() {
  std::lock_guard lock(jobs_mu);  // held so no entry is freed meanwhile
  for (auto& [k, f] : jobs) {
    std::lock_guard jl(f->mu);
    if (f->lost) continue;
    Status st = queue->heartbeat(f->job, options.lease_duration);
    if (st.is(ErrorCode::conflict)) {
      f->lost = true;
      MS_LOGF(warn, "worker", upload_field(f->job.id), "upload {}: lease lost ({})", f->job.id, st.message());
    } else if (!st.ok()) {
      MS_LOGF(warn, "worker", upload_field(f->job.id), "upload {}: heartbeat failed: {}", f->job.id, st.to_string());
    }
  }
}

// ---------------------------------------------------------------------------
// Processing one job

namespace {

enum class Boundary { go_on, lost, release };

}  // namespace

void UploadService::Impl::process(InFlight& f) {
  const std::string id = f.job.id;
  auto t0 = std::chrono::steady_clock::now();

  // Where we are: the stored status, or (should it be missing) the payload.
  auto loaded = load(id);
  UploadStatus s;
  if (loaded.ok()) {
    s = std::move(loaded.value());
  } else if (loaded.status().is(ErrorCode::not_found)) {
    auto p = detail::payload_from_json(id, f.job.payload);
    if (!p.ok()) {
      MS_LOGF(error, "upload", upload_field(id), "upload {}: dropping job: {}", id, p.status().to_string());
      (void)queue->ack(f.job);
      return;
    }
    s = std::move(p.value());
  } else {
    // The record store is unreachable: give the job back for later.
    MS_LOGF(warn, "upload", upload_field(id), "upload {}: cannot read status: {}", id, loaded.status().to_string());
    (void)queue->nack(f.job, now() + backoff(1), loaded.status().to_string());
    return;
  }

  // A re-delivered job whose upload already ended (a worker died between
  // the final status and the ack): finish the tidying and ack.
  if (s.state == UploadState::completed || s.state == UploadState::failed) {
    if (s.state == UploadState::failed) {
      (void)remove_leftovers(id);
    } else {
      (void)detail::spool_remove(spool_file(id));
    }
    (void)queue->ack(f.job);
    return;
  }

  auto boundary = [&]() -> Boundary {
    std::lock_guard lock(f.mu);
    if (f.lost) return Boundary::lost;
    if (release_requested && f.job.attempt < effective_max_attempts()) return Boundary::release;
    Status st = queue->heartbeat(f.job, options.lease_duration);
    if (st.is(ErrorCode::conflict)) {
      f.lost = true;
      return Boundary::lost;
    }
    return Boundary::go_on;
  };

  auto set_stage = [&](UploadStage stage, int progress) {
    UploadState before = s.state;
    s.state = UploadState::processing;
    s.stage = stage;
    s.progress_percentage = std::max(s.progress_percentage, progress);
    s.attempt = f.job.attempt;
    s.last_error.clear();
    s.next_try = {};
    Status st = save(s);
    if (!st.ok()) MS_LOGF(warn, "upload", upload_field(id), "upload {}: cannot save status: {}", id, st.to_string());
    if (before != UploadState::processing)
      MS_LOGF(info, "upload", upload_field(id), "upload {}: {} -> processing (attempt {})", id,
              upload_state_name(before), f.job.attempt);
  };

  // Outcomes other than success.
  auto on_lost = [&] {
    // Cancelled (the job was removed) or taken over after a stall. If the
    // upload was cancelled, remove what this attempt may have stored since.
    auto cur = load(id);
    auto has = queue->contains(id);
    if (cur.ok() && has.ok() && !has.value() && cur->state != UploadState::completed) {
      // The job is gone but the upload did not end: it was cancelled, and a
      // status this attempt wrote just after may have hidden that. Restore it.
      if (cur->state != UploadState::failed) {
        cur->state = UploadState::failed;
        cur->error_code = ErrorCode::cancelled;
        cur->error_message = "cancelled by request";
        (void)save(cur.value());
      }
      (void)remove_leftovers(id);
    }
    MS_LOGF(warn, "upload", upload_field(id), "upload {}: lease lost, stopping this attempt", id);
  };
  auto on_release = [&] {
    s.state = UploadState::pending;
    s.stage = UploadStage::queued;
    (void)save(s);
    (void)queue->nack(f.job, now(), "released by worker shutdown");
    MS_LOGF(info, "upload", upload_field(id), "upload {}: released back to the queue (worker stopping)", id);
  };
  // dead_letter: the attempts are used up; the job goes to the dead-letter
  // list (nack) instead of being acked.
  auto fail = [&](const Status& error, const std::string& message, bool dead_letter) {
    auto left = remove_leftovers(id);
    if (!left.ok()) {
      // Could not clean up (storage down): keep the job for another try of
      // the cleanup rather than leaving orphans behind.
      MS_LOGF(warn, "upload", upload_field(id), "upload {}: cleanup after failure failed: {}", id,
              left.status().to_string());
    }
    UploadState before = s.state;
    s.state = UploadState::failed;
    s.error_code = error.code();
    s.error_message = message;
    s.attempt = f.job.attempt;
    Status st = save(s);
    if (!st.ok()) {
      (void)queue->nack(f.job, now() + backoff(f.job.attempt), st.to_string());
      return;
    }
    if (dead_letter) {
      (void)queue->nack(f.job, now(), error.to_string());
    } else {
      (void)queue->ack(f.job);
    }
    failed++;
    observe_time(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    MS_LOGF(info, "upload", upload_field(id), "upload {}: {} -> failed: {}: {}", id, upload_state_name(before),
            error_code_name(error.code()), message);
  };
  auto on_error = [&](const Status& error) {
    if (error.transient() && f.job.attempt < effective_max_attempts()) {
      auto delay = backoff(f.job.attempt);
      UploadState before = s.state;
      s.state = UploadState::retrying;
      s.attempt = f.job.attempt;
      s.next_try = now() + delay;
      s.last_error = error.to_string();
      (void)save(s);
      auto out = queue->nack(f.job, s.next_try, s.last_error);
      if (out.ok() && out.value() == NackOutcome::dead_lettered) {
        fail(error, fmt::format("gave up after {} attempts: {}", f.job.attempt, error.message()), false);
        return;
      }
      retried++;
      MS_LOGF(info, "upload", upload_field(id), "upload {}: {} -> retrying in {} ms (attempt {} failed: {})", id,
              upload_state_name(before), delay.count(), f.job.attempt, error.to_string());
      return;
    }
    if (error.transient()) {
      fail(error, fmt::format("gave up after {} attempts: {}", f.job.attempt, error.message()), true);
    } else {
      fail(error, error.message(), false);
    }
  };
  auto check = [&]() -> bool {
    switch (boundary()) {
      case Boundary::go_on: return true;
      case Boundary::lost: on_lost(); return false;
      case Boundary::release: on_release(); return false;
    }
    return false;
  };

  // 1. validate, and 2. make the thumbnails (images only; videos are never
  // decoded) from the same decode, before anything is stored: a refused
  // file leaves no object.
  if (!check()) return;
  set_stage(UploadStage::validating, 10);
  const std::string spool = spool_file(id);
  auto processed = process_media_file(spool, s.original_filename, s.media_kind, options.thumbnails, policy, nullptr,
                                      [&] { set_stage(UploadStage::making_thumbnails, 25); });
  if (!processed.ok()) {
    Status e = processed.status();
    if (e.is(ErrorCode::not_found)) {
      // The spool vanished: nothing can ever succeed.
      e = Status::NotFound(fmt::format("the spooled source of upload {} is gone", id));
    } else {
      // Name the file the user gave, not the spool path.
      std::string msg = e.message();
      for (auto pos = msg.find(spool); pos != std::string::npos;
           pos = msg.find(spool, pos + s.original_filename.size()))
        msg.replace(pos, spool.size(), s.original_filename);
      e = Status(e.code(), std::move(msg));
    }
    on_error(e);
    return;
  }
  const MediaInfo& mi = processed.value().info;
  std::vector<Thumbnail> thumbs = std::move(processed.value().thumbnails);

  // 3. original
  if (!check()) return;
  set_stage(UploadStage::storing_original, 50);
  std::string ext = media_type_extension(mi.type);
  StoredObject original;
  original.name = "original";
  original.key = object_prefix(id) + "original" + (ext.empty() ? "" : "." + ext);
  original.width = mi.display_width;
  original.height = mi.display_height;
  original.bytes = mi.byte_size;
  original.content_type = mi.mime;
  {
    PutOptions po;
    po.content_type = mi.mime;
    po.user_metadata = {{"upload-id", id}, {"sha256", mi.sha256}, {"original-filename", header_safe(mi.filename)}};
    po.sha256 = mi.sha256;  // validation hashed the spool already; the server checks it
    for (auto& [k, v] : s.context) po.user_metadata["ctx-" + header_safe(k)] = header_safe(v);
    Status st = storage->put_file(original.key, spool, po);
    if (!st.ok()) {
      on_error(st.with_context(fmt::format("storing {}", original.key)));
      return;
    }
  }

  // 4. store thumbnails
  std::vector<StoredObject> stored;
  if (!thumbs.empty()) {
    if (!check()) return;
    set_stage(UploadStage::storing_thumbnails, 70);
    for (std::size_t i = 0; i < thumbs.size(); ++i) {
      StoredObject o;
      o.name = thumbs[i].name;
      o.key = object_prefix(id) + "thumb_" + thumbs[i].name + ".jpg";
      o.width = thumbs[i].width;
      o.height = thumbs[i].height;
      o.bytes = thumbs[i].jpeg.size();
      o.content_type = "image/jpeg";
      PutOptions po;
      po.content_type = "image/jpeg";
      po.user_metadata = {{"upload-id", id}};
      Status st = storage->put_bytes(o.key, thumbs[i].jpeg, po);
      if (!st.ok()) {
        on_error(st.with_context(fmt::format("storing {}", o.key)));
        return;
      }
      stored.push_back(std::move(o));
      if (i + 1 < thumbs.size()) {
        if (!check()) return;
        set_stage(UploadStage::storing_thumbnails, 70 + static_cast<int>(25 * (i + 1) / thumbs.size()));
      }
    }
  }

  // 5. URLs, result, completed
  if (!check()) return;
  auto url_of = [&](StoredObject& o) -> Status {
    auto u = storage->get_url(o.key, options.url_expiry);
    if (!u.ok()) return u.status();
    o.url = std::move(u.value());
    return Status::Ok();
  };
  Status ust = url_of(original);
  for (auto& o : stored)
    if (ust.ok()) ust = url_of(o);
  if (!ust.ok()) {
    on_error(ust);
    return;
  }
  UploadResult result;
  result.original = std::move(original);
  result.thumbnails = std::move(stored);
  auto& md = result.metadata;
  md["media_type"] = media_type_description(mi.type);
  md["mime"] = mi.mime;
  md["sha256"] = mi.sha256;
  md["width"] = std::to_string(mi.width);
  md["height"] = std::to_string(mi.height);
  md["display_width"] = std::to_string(mi.display_width);
  md["display_height"] = std::to_string(mi.display_height);
  md["orientation"] = std::to_string(mi.orientation);
  md["capture_time"] = mi.capture_time;
  md["has_gps"] = mi.has_gps ? "true" : "false";
  md["filename"] = mi.filename;
  if (!mi.note.empty()) md["note"] = mi.note;

  s.state = UploadState::completed;
  s.stage = UploadStage::done;
  s.progress_percentage = 100;
  s.attempt = f.job.attempt;
  s.last_error.clear();
  s.result = std::move(result);
  Status st = save(s);
  if (!st.ok()) {
    on_error(st);
    return;
  }
  (void)detail::spool_remove(spool);
  Status ack = queue->ack(f.job);
  if (!ack.ok())
    MS_LOGF(warn, "upload", upload_field(id), "upload {}: completed but ack failed: {}", id, ack.to_string());
  completed++;
  observe_time(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  MS_LOGF(info, "upload", upload_field(id), "upload {}: processing -> completed ({} thumbnails, attempt {})", id,
          s.result->thumbnails.size(), f.job.attempt);
}

// ---------------------------------------------------------------------------
// UploadService

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
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->storage = std::move(storage);
  impl->queue = std::move(queue);
  impl->policy = options.policy ? *options.policy : ValidationPolicy::from_config(config);
  impl->options = std::move(options);
  impl->spool_dir = config.effective_spool_dir();
  MS_LOG(info, "upload", "spool folder '{}'", impl->spool_dir);
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
  auto size = detail::spool_write(im.spool_dir, id, request, im.config.max_upload_size);
  if (!size.ok()) return size.status();
  if (size.value() == 0) {
    (void)detail::spool_remove(im.spool_file(id));
    return Status::InvalidArgument(fmt::format("submit_upload: {} is empty", request.original_filename));
  }
  UploadStatus s;
  s.id = id;
  s.state = UploadState::pending;
  s.stage = UploadStage::queued;
  s.original_filename = request.original_filename;
  s.content_type = request.content_type;
  s.media_kind = request.media_kind;
  s.context = request.context;
  s.created_at = now();
  // The record first, then the job: a worker never sees a job without a
  // status, and a crash between the two leaves a pending record without a
  // job, which cleanup_failed_uploads marks abandoned.
  Status st = im.save(s);
  if (st.ok()) st = im.queue->enqueue(id, detail::payload_to_json(s));
  if (!st.ok()) {
    (void)im.queue->remove_record(id);
    (void)detail::spool_remove(im.spool_file(id));
    return st;
  }
  im.submitted++;
  MS_LOGF(info, "upload", upload_field(id), "upload {}: submitted {} ({} bytes) -> pending", id,
          request.original_filename, size.value());
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
  UploadState before = s->state;
  s->state = UploadState::failed;
  s->error_code = ErrorCode::cancelled;
  s->error_message = "cancelled by request";
  MS_RETURN_IF_ERROR(im.save(s.value()));
  auto left = im.remove_leftovers(id);
  if (!left.ok()) return left.status().with_context(fmt::format("upload '{}' cancelled; cleaning up", id));
  MS_LOGF(info, "upload", upload_field(id), "upload {}: {} -> failed: cancelled", id, upload_state_name(before));
  return Status::Ok();
}

Result<std::vector<DeadJob>> UploadService::dead_letters(std::size_t limit) {
  return impl_->queue->dead_letters(limit);
}

Result<CleanupReport> UploadService::cleanup_failed_uploads(std::chrono::seconds older_than) {
  auto& im = *impl_;
  CleanupReport rep;
  const SystemTime cutoff = now() - older_than;
  constexpr std::size_t kBatch = 500;

  auto mark_failed = [&](UploadStatus& s, ErrorCode code, const std::string& message) -> Status {
    s.state = UploadState::failed;
    s.error_code = code;
    s.error_message = message;
    MS_RETURN_IF_ERROR(im.save(s));
    MS_LOGF(info, "upload", upload_field(s.id), "upload {}: -> failed: {}", s.id, message);
    return Status::Ok();
  };
  auto clean = [&](UploadStatus& s) -> Status {
    auto left = im.remove_leftovers(s.id);
    if (!left.ok()) return left.status();
    rep.objects_removed += left->first;
    rep.spool_files_removed += left->second;
    s.updated_at = now();
    return im.queue->put_record(JobRecord{s.id, detail::kFailedCleaned, s.updated_at, detail::status_to_json(s)});
  };

  // Jobs that exhausted their attempts (e.g. the worker died on the last
  // one) whose upload is not marked yet.
  auto dead = im.queue->dead_letters(kBatch);
  if (!dead.ok()) return dead.status();
  for (auto& d : dead.value()) {
    auto s = im.load(d.id);
    if (!s.ok() || s->state == UploadState::completed || s->state == UploadState::failed) continue;
    auto colon = d.last_error.find(':');
    ErrorCode code = colon == std::string::npos ? ErrorCode::unavailable
                                                : detail::error_code_from_name(d.last_error.substr(0, colon));
    MS_RETURN_IF_ERROR(
        mark_failed(s.value(), code, fmt::format("gave up after {} attempts: {}", d.attempts, d.last_error)));
    MS_RETURN_IF_ERROR(clean(s.value()));
    rep.dead_lettered++;
  }

  // Unfinished uploads whose job is gone (a crash between record and
  // enqueue, or a lost queue).
  for (const char* state : {"pending", "processing", "retrying"}) {
    auto recs = im.queue->list_records(state, cutoff, kBatch);
    if (!recs.ok()) return recs.status();
    for (auto& r : recs.value()) {
      auto has = im.queue->contains(r.id);
      if (!has.ok()) return has.status();
      if (has.value()) continue;
      auto s = detail::status_from_json(r.id, r.body);
      if (!s.ok()) continue;
      MS_RETURN_IF_ERROR(mark_failed(s.value(), ErrorCode::internal, "abandoned: its job is no longer queued"));
      MS_RETURN_IF_ERROR(clean(s.value()));
      rep.abandoned_uploads++;
    }
  }

  // Failed uploads not cleaned yet.
  for (;;) {
    auto recs = im.queue->list_records("failed", cutoff, kBatch);
    if (!recs.ok()) return recs.status();
    for (auto& r : recs.value()) {
      auto s = detail::status_from_json(r.id, r.body);
      if (!s.ok()) continue;
      MS_RETURN_IF_ERROR(clean(s.value()));
      rep.failed_uploads++;
    }
    if (recs->size() < kBatch) break;
  }

  // Spool files of no upload in progress.
  auto files = detail::spool_list(im.spool_dir);
  if (!files.ok()) return files.status();
  for (auto& e : files.value()) {
    if (e.modified >= cutoff) continue;
    auto s = im.load(e.id);
    bool orphan = (!s.ok() && s.status().is(ErrorCode::not_found)) ||
                  (s.ok() && (s->state == UploadState::completed || s->state == UploadState::failed));
    if (!orphan) continue;
    auto r = detail::spool_remove(e.path);
    if (r.ok() && r.value()) rep.spool_files_removed++;
  }

  MS_LOGF(info, "upload", {},
          "cleanup (older than {} s): {} failed, {} abandoned, {} dead-lettered; removed {} spool files, {} objects",
          older_than.count(), rep.failed_uploads, rep.abandoned_uploads, rep.dead_lettered, rep.spool_files_removed,
          rep.objects_removed);
  return rep;
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
  for (auto& [state, n] : counts.value()) m.states[state == detail::kFailedCleaned ? "failed" : state] += n;
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
