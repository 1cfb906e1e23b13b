#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "core/config_internal.hpp"
#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "mediastore/queue.hpp"
#include "queue/common.hpp"

namespace mediastore {

JobQueue::~JobQueue() = default;

// The argument checks and defaults of every backend, done once here before
// the backend's hook runs.

Status JobQueue::enqueue(std::string_view id, std::string_view payload, SystemTime not_before) {
  MS_RETURN_IF_ERROR(detail::validate_job_id(id));
  return do_enqueue(id, payload, not_before);
}

std::vector<Status> JobQueue::enqueue_batch(const std::vector<NewJob>& jobs) {
  std::vector<Status> results;
  results.reserve(jobs.size());
  for (const auto& j : jobs) results.push_back(detail::validate_job_id(j.id));
  do_enqueue_batch(jobs, results);
  return results;
}

void JobQueue::do_enqueue_batch(const std::vector<NewJob>& jobs, std::vector<Status>& results) {
  for (std::size_t i = 0; i < jobs.size(); ++i)
    if (results[i].ok()) results[i] = do_enqueue(jobs[i].id, jobs[i].payload, jobs[i].not_before);
}

Result<std::vector<LeasedJob>> JobQueue::lease(std::size_t max_jobs, std::chrono::milliseconds lease_for,
                                               std::chrono::milliseconds wait) {
  if (lease_for.count() <= 0) lease_for = options().lease_duration;
  if (max_jobs == 0) return std::vector<LeasedJob>{};
  return do_lease(max_jobs, lease_for, wait);
}

Status JobQueue::heartbeat(LeasedJob& job, std::chrono::milliseconds extend_by) {
  if (extend_by.count() <= 0) extend_by = options().lease_duration;
  return do_heartbeat(job, extend_by);
}

Status JobQueue::put_record(const JobRecord& record) {
  MS_RETURN_IF_ERROR(detail::validate_job_id(record.id));
  if (record.updated_at != SystemTime{}) return do_put_record(record);
  JobRecord stamped = record;
  stamped.updated_at = std::chrono::system_clock::now();
  return do_put_record(stamped);
}

Status JobQueue::put_record(const JobRecord& record, const std::vector<std::string>& tags_in) {
  MS_RETURN_IF_ERROR(detail::validate_job_id(record.id));
  std::vector<std::string> tags = tags_in;
  for (const auto& t : tags) MS_RETURN_IF_ERROR(detail::validate_record_tag(t));
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  JobRecord stamped = record;
  if (stamped.updated_at == SystemTime{}) stamped.updated_at = std::chrono::system_clock::now();
  return do_put_record_tagged(stamped, tags);
}

Status JobQueue::do_put_record_tagged(const JobRecord& record, const std::vector<std::string>& tags) {
  if (!tags.empty())
    return Status::InvalidArgument(fmt::format("queue backend '{}' does not index records by tag", backend_name()));
  return do_put_record(record);
}

Result<std::vector<JobRecord>> JobQueue::list_records_since(std::string_view, SystemTime, std::size_t) {
  return Status::InvalidArgument(fmt::format("queue backend '{}' does not list records by time", backend_name()));
}

Result<std::vector<JobRecord>> JobQueue::list_records_by_tag(std::string_view, std::size_t) {
  return Status::InvalidArgument(fmt::format("queue backend '{}' does not index records by tag", backend_name()));
}

Status JobQueue::create_record(const JobRecord& record) {
  MS_RETURN_IF_ERROR(detail::validate_job_id(record.id));
  if (record.updated_at != SystemTime{}) return do_create_record(record);
  JobRecord stamped = record;
  stamped.updated_at = std::chrono::system_clock::now();
  return do_create_record(stamped);
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

Status validate_record_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 512)
    return Status::InvalidArgument(fmt::format("record tag '{}' must have 1..512 bytes", tag.substr(0, 64)));
  for (unsigned char c : tag)
    if (c < 0x20 || c == 0x7f)
      return Status::InvalidArgument(fmt::format("record tag '{}' must not contain control characters", tag));
  return Status::Ok();
}

std::string new_lease_token() { return random_hex(12); }

Status already_queued(std::string_view id) {
  return Status::AlreadyExists(fmt::format("job '{}' is already queued", id));
}

Status lease_lost(const LeasedJob& job) {
  return Status::Conflict(fmt::format("job '{}': lease {} was lost", job.id, job.lease_token));
}

Status no_record(std::string_view id) { return Status::NotFound(fmt::format("no job record with id '{}'", id)); }
Status record_exists(std::string_view id) {
  return Status::AlreadyExists(fmt::format("a job record with id '{}' already exists", id));
}

}  // namespace detail

Result<std::shared_ptr<JobQueue>> make_queue(const Config& config, QueueOptions options) {
  switch (config.queue) {
    case QueueKind::memory: return make_memory_queue(std::move(options));
    case QueueKind::sqlite: {
      // Default: in the state folder, outside MEDIA_ROOT.
      std::string path = config.queue_url.empty() ? config.effective_sqlite_path() : config.queue_url;
      if (config.queue_url.empty()) {
        const std::string old = detail::legacy_default_spool_dir(config);
        std::error_code ec;
        if (!old.empty() && std::filesystem::exists(old + "/queue.sqlite3", ec) && !std::filesystem::exists(path, ec))
          MS_LOG(warn, "queue",
                 "a SQLite queue file of an earlier version is at '{}/queue.sqlite3' and is not used: the default is "
                 "now '{}' (MEDIA_STATE_DIR); stop every process and move it there with the spool files, or set "
                 "MEDIA_SPOOL_DIR='{}' to keep the old place",
                 old, path, old);
      }
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
