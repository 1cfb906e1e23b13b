// The Prometheus text format of UploadMetrics.
#include <fmt/format.h>

#include "mediastore/upload.hpp"

namespace mediastore {

std::string to_prometheus(const UploadMetrics& m) {
  std::string out;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out += fmt::format("# HELP mediastore_{0} {1}\n# TYPE mediastore_{0} counter\nmediastore_{0} {2}\n", name, help, v);
  };
  auto gauge = [&](const char* name, const char* help, std::uint64_t v) {
    out += fmt::format("# HELP mediastore_{0} {1}\n# TYPE mediastore_{0} gauge\nmediastore_{0} {2}\n", name, help, v);
  };
  counter("uploads_submitted_total", "Uploads submitted by this process.", m.submitted);
  counter("uploads_completed_total", "Uploads completed by this process.", m.completed);
  counter("uploads_failed_total", "Uploads failed in this process.", m.failed);
  counter("uploads_retried_total", "Upload attempts scheduled for retry by this process.", m.retried);
  gauge("uploads_in_flight", "Upload jobs this process is working on.", m.in_flight);
  out += "# HELP mediastore_queue_jobs Jobs in the queue by state.\n# TYPE mediastore_queue_jobs gauge\n";
  out += fmt::format("mediastore_queue_jobs{{state=\"ready\"}} {}\n", m.queue.ready);
  out += fmt::format("mediastore_queue_jobs{{state=\"delayed\"}} {}\n", m.queue.delayed);
  out += fmt::format("mediastore_queue_jobs{{state=\"in_flight\"}} {}\n", m.queue.in_flight);
  out += fmt::format("mediastore_queue_jobs{{state=\"dead\"}} {}\n", m.queue.dead);
  gauge("queue_depth", "Jobs waiting in the queue (ready and delayed).", m.queue.ready + m.queue.delayed);
  out += "# HELP mediastore_uploads Uploads known to the queue backend by state.\n# TYPE mediastore_uploads gauge\n";
  for (const char* st : {"pending", "processing", "retrying", "completed", "failed"}) {
    auto it = m.states.find(st);
    out += fmt::format("mediastore_uploads{{state=\"{}\"}} {}\n", st, it == m.states.end() ? 0 : it->second);
  }
  out +=
      "# HELP mediastore_upload_processing_seconds Time from lease to completion or failure.\n"
      "# TYPE mediastore_upload_processing_seconds histogram\n";
  for (std::size_t i = 0; i < kUploadTimeBuckets.size(); ++i)
    out += fmt::format("mediastore_upload_processing_seconds_bucket{{le=\"{}\"}} {}\n", kUploadTimeBuckets[i],
                       m.time_buckets[i]);
  out += fmt::format("mediastore_upload_processing_seconds_bucket{{le=\"+Inf\"}} {}\n",
                     m.time_buckets[kUploadTimeBuckets.size()]);
  out += fmt::format("mediastore_upload_processing_seconds_sum {}\n", m.time_sum_seconds);
  out += fmt::format("mediastore_upload_processing_seconds_count {}\n", m.time_count);
  return out;
}

}  // namespace mediastore
