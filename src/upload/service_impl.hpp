// UploadService internals shared by the files of src/upload/: service.cpp
// (submit, status, cancel, metrics), cleanup.cpp, driver.cpp (processing
// one job through the pipeline), worker.cpp; the helpers are in
// service_impl.cpp.
#pragma once

#include <array>
#include <atomic>
#include <map>
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

  Status save(UploadStatus& s);
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
  Result<std::pair<std::uint64_t, std::uint64_t>> remove_leftovers(
      const std::string& id, const std::optional<std::string>& staged_key = std::nullopt);
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
};

}  // namespace mediastore
