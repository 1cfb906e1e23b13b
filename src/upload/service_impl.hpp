// UploadService internals shared by service.cpp and worker.cpp.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "mediastore/upload.hpp"

namespace mediastore {

struct UploadService::Impl {
  Config config;
  std::shared_ptr<StorageBackend> storage;
  std::shared_ptr<JobQueue> queue;
  UploadOptions options;
  ValidationPolicy policy;
  std::string spool_dir;

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
  // Removes every object under the upload's prefix and its spool file;
  // returns (objects, spool files) removed.
  Result<std::pair<std::uint64_t, std::uint64_t>> remove_leftovers(const std::string& id);
  void observe_time(double seconds);
  int effective_max_attempts() const;
  std::chrono::milliseconds backoff(int attempt) const;
  void register_job(InFlight* f);
  void unregister_job(InFlight* f);
  void heartbeat_all();
  void process(InFlight& f);
};

}  // namespace mediastore
