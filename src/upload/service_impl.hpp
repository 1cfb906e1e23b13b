// UploadService internals shared by the files of src/upload/: service.cpp
// (submit, status, cancel, metrics), cleanup.cpp, driver.cpp (processing
// one job through the pipeline), worker.cpp; the helpers are in
// service_impl.cpp.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mediastore/log.hpp"
#include "mediastore/upload.hpp"
#include "upload/stages/pipeline.hpp"

namespace mediastore {

namespace detail {

inline SystemTime now() { return std::chrono::system_clock::now(); }

// The log field that names an upload.
inline std::vector<LogField> upload_field(const std::string& id) { return {LogField{"upload", id}}; }

// Logs a failed step the worker cannot act on beyond reporting it: a job
// whose ack/nack is lost comes back when its lease expires, a stale status is
// rewritten by the next attempt, and leftovers of a failed upload are removed
// later by cleanup_failed_uploads (the record stays "failed", not
// "failed.cleaned"). Defined in service_impl.cpp.
void warn_if_failed(const std::string& id, std::string_view what, const Status& st);

// A new upload's first status: id, state, stage queued, the request's file
// name, content type, kind and context, created now (submit_upload and
// create_direct_upload).
UploadStatus new_upload_status(const std::string& id, UploadState state, const std::string& filename,
                               const std::string& content_type, MediaKind kind,
                               const std::map<std::string, std::string>& context);

// The record tag that indexes context pair key = value ("ctx:<key>=<value>";
// a pair too long for a tag, or holding control characters, is indexed by
// its SHA-256 instead). Defined in lifecycle.cpp.
std::string context_tag(std::string_view key, std::string_view value);
std::vector<std::string> context_tags(const std::map<std::string, std::string>& context);

}  // namespace detail

struct UploadService::Impl {
  Config config;
  std::shared_ptr<StorageBackend> storage;
  std::shared_ptr<JobQueue> queue;
  UploadOptions options;
  ValidationPolicy policy;
  std::string spool_dir;
  // The stages every job goes through (build_pipeline at create()).
  detail::Pipeline pipeline;

  // A job this process is working on. `mu` serialises heartbeats (the
  // worker's heartbeat thread and the processing thread).
  struct InFlight {
    LeasedJob job;
    std::mutex mu;
    bool lost = false;  // the lease is gone (cancelled or taken over)
  };
  std::mutex jobs_mu;
  std::map<std::string, InFlight*> jobs;
  // Set by Worker::stop(release): give jobs back at the next stage boundary.
  std::atomic<bool> release_requested{false};

  std::atomic<std::uint64_t> submitted{0}, completed{0}, failed{0}, retried{0};
  std::mutex metrics_mu;
  std::array<std::uint64_t, kUploadTimeBuckets.size() + 1> time_buckets{};
  double time_sum = 0;
  std::uint64_t time_count = 0;

  // Stamps updated_at and writes the record (state: the state's name; or
  // record_state, e.g. kFailedCleaned) with the context tags.
  Status save(UploadStatus& s);
  Status save_as(UploadStatus& s, std::string_view record_state);
  Result<UploadStatus> load(std::string_view id);
  std::string object_prefix(const std::string& id) const;
  std::string spool_file(const std::string& id) const;
  // The key of upload `id`'s staged object in storage staging:
  // "<config.staging_prefix><id>".
  std::string staging_key(const std::string& id) const;
  // Removes every object under the upload's prefix, its spool file and its
  // staged object `staged_key` ("" = none: the record says it was spooled;
  // nullopt = staging_key(id), for callers without the record); returns
  // (objects under the prefix, spool files) removed.
  // keep_source: leave the accepted bytes (spool file or staged object), so
  // that retry() can run the upload again (a failure that was transient);
  // cleanup_failed_uploads removes them later.
  Result<std::pair<std::uint64_t, std::uint64_t>> remove_leftovers(
      const std::string& id, const std::optional<std::string>& staged_key = std::nullopt, bool keep_source = false);
  // The staging-prefix part of cleanup_failed_uploads (cleanup.cpp).
  Status clean_staging(CleanupReport& rep);
  // Direct uploads (direct.cpp): the storage plan a record describes (key,
  // size, upload ID, part size; no URLs), dropping it (abort the multipart
  // upload, remove the staged object; ok for uploads that are not direct),
  // and cleanup's expiry of awaiting_upload records past their plan's
  // expiry plus kDirectUploadGrace.
  static DirectUploadPlan direct_plan_of(const UploadStatus& s);
  Status drop_direct(const UploadStatus& s);
  Status expire_direct_uploads(CleanupReport& rep);
  void observe_time(double seconds);
  int effective_max_attempts() const;
  std::chrono::milliseconds backoff(int attempt) const;
  void register_job(InFlight* f);
  void unregister_job(InFlight* f);
  void heartbeat_all();
  // Runs one leased job through the pipeline and settles it (ack, nack,
  // dead letter) in every case (driver.cpp).
  void process(InFlight& f);

  // ---- lifecycle (hook.cpp, lifecycle.cpp, idempotency.cpp) ----

  // UploadService::set_end_hook's function; copied under hook_mu for a call.
  std::mutex hook_mu;
  std::shared_ptr<const EndHook> end_hook;
  // Calls the end hook (if any) with the ended status s, whose record is
  // durable; logs what it returns or throws, never throws (hook.cpp).
  void notify_end(const UploadStatus& s) noexcept;
  // True if the upload's staged bytes are still there (its staged object,
  // s.staged_key, in storage staging; else the spool file), so that it can
  // run again.
  Result<bool> staged_bytes_exist(const UploadStatus& s) const;
  // Makes s pending again (attempt 0, errors and result cleared), writes it
  // and queues its job, dropping a dead job of that id first.
  Status requeue(UploadStatus& s);
  // Removes ended status records and idempotency markers last updated
  // before now - options.record_ttl (nothing when it is 0); part of
  // cleanup_failed_uploads.
  Status expire_records(CleanupReport& report);

  // Idempotency keys, shared by submit_upload and create_direct_upload
  // (idempotency.cpp).
  //
  // Binds `key` to the upload `id`, whose status record the caller has
  // already written (so a marker never points at nothing). Returns `id` if
  // the key was free (it is now bound, for options.record_ttl), or the id of
  // the upload the key is already bound to: the caller then undoes its own
  // upload (record, staged bytes) and returns that id instead. Atomic across
  // processes: the marker is a record "idem.<sha256 of key>" made with
  // JobQueue::create_record, so of concurrent callers exactly one wins.
  // A marker whose upload record is gone (expired, or a failed submission's
  // undo) or older than record_ttl is stale and replaced. The crash window
  // (the upload's record and marker written, its job not queued) is
  // repaired here: when the bound upload is still pending without a job
  // and its record is older than options.lease_duration, its job is queued
  // from the record (its staged bytes are where the dead submitter left
  // them). invalid_argument for a key of 0 or more than 1024 bytes.
  Result<std::string> bind_idempotency_key(std::string_view key, const std::string& id);
  // Removes the marker of `key` if it is bound to `id` (a submission that
  // failed after binding). ok if absent.
  Status release_idempotency_key(std::string_view key, const std::string& id);
};

}  // namespace mediastore
