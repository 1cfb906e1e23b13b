#include <fmt/format.h>

#include "core/crypto.hpp"
#include "mediastore/queue.hpp"
#include "queue/common.hpp"

namespace mediastore {

JobQueue::~JobQueue() = default;

std::vector<Status> JobQueue::enqueue_batch(const std::vector<NewJob>& jobs) {
  std::vector<Status> out;
  out.reserve(jobs.size());
  for (const auto& j : jobs) out.push_back(enqueue(j.id, j.payload, j.not_before));
  return out;
}

std::vector<Status> JobQueue::ack_batch(const std::vector<LeasedJob>& jobs) {
  std::vector<Status> out;
  out.reserve(jobs.size());
  for (const auto& j : jobs) out.push_back(ack(j));
  return out;
}

namespace detail {

Status validate_queue_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return Status::InvalidArgument(fmt::format("queue name '{}' must have 1..64 characters", name));
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok)
      return Status::InvalidArgument(fmt::format("queue name '{}' may hold only letters, digits, '_', '-'", name));
  }
  return Status::Ok();
}

Status validate_job_id(std::string_view id) {
  if (id.empty() || id.size() > 256) return Status::InvalidArgument("job id must have 1..256 bytes");
  for (unsigned char c : id)
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument("job id must not contain control characters");
  return Status::Ok();
}

std::string new_lease_token() { return random_hex(12); }

Status already_queued(std::string_view id) {
  return Status::AlreadyExists(fmt::format("job '{}' is already queued", id));
}

}  // namespace detail

Result<std::shared_ptr<JobQueue>> make_queue(const Config& config, QueueOptions options) {
  switch (config.queue) {
    case QueueKind::memory: return make_memory_queue(std::move(options));
    case QueueKind::sqlite: {
      // Default: inside the spool folder, which the local backend never lists.
      std::string path = config.queue_url.empty() ? config.effective_spool_dir() + "/queue.sqlite3" : config.queue_url;
      return make_sqlite_queue(path, std::move(options));
    }
    case QueueKind::redis:
      if (config.queue_url.empty())
        return Status::InvalidArgument("MEDIA_QUEUE_URL is required when MEDIA_QUEUE_BACKEND=redis");
      return make_redis_queue(config.queue_url, std::move(options));
  }
  return Status::InvalidArgument("MEDIA_QUEUE_BACKEND: unknown queue backend");
}

}  // namespace mediastore
