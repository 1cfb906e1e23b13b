// UploadService::Impl's helpers: records, keys, cleanup of one upload,
// backoff, metrics, the jobs in flight and their heartbeats.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "upload/record.hpp"
#include "upload/service_impl.hpp"
#include "upload/spool.hpp"

namespace mediastore {

using detail::now;
using detail::upload_field;

UploadStatus detail::new_upload_status(const std::string& id, UploadState state, const std::string& filename,
                                       const std::string& content_type, MediaKind kind,
                                       const std::map<std::string, std::string>& context) {
  UploadStatus s;
  s.id = id;
  s.state = state;
  s.stage = UploadStage::queued;
  s.original_filename = filename;
  s.content_type = content_type;
  s.media_kind = kind;
  s.context = context;
  s.created_at = now();
  return s;
}

void detail::warn_if_failed(const std::string& id, std::string_view what, const Status& st) {
  if (!st.ok()) MS_LOGF(warn, "upload", upload_field(id), "upload {}: {} failed: {}", id, what, st.to_string());
}

Status UploadService::Impl::save(UploadStatus& s) { return save_as(s, upload_state_name(s.state)); }

Status UploadService::Impl::save_as(UploadStatus& s, std::string_view record_state) {
  s.updated_at = now();
  return queue->put_record(JobRecord{s.id, std::string(record_state), s.updated_at, detail::status_to_json(s)},
                           detail::context_tags(s.context));
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

std::string UploadService::Impl::staging_key(const std::string& id) const { return config.staging_prefix + id; }

Result<std::pair<std::uint64_t, std::uint64_t>> UploadService::Impl::remove_leftovers(
    const std::string& id, const std::optional<std::string>& staged_key, bool keep_source) {
  std::uint64_t objects = 0, spool = 0;
  // The spool first: it does not depend on the storage being reachable, and
  // objects left by an outage are found again from the failed record by
  // cleanup_failed_uploads.
  if (!keep_source) {
    auto removed = detail::spool_remove(spool_file(id));
    if (!removed.ok()) return removed.status();
    if (removed.value()) ++spool;
  }
  auto listed = storage->list_all(object_prefix(id));
  if (!listed.ok()) return listed.status();
  for (auto& o : listed.value()) {
    MS_RETURN_IF_ERROR(storage->remove(o.key));
    ++objects;
  }
  // The staged bytes last: an upload that failed (or was cancelled) needs
  // them no more, and a failure here leaves them to cleanup_failed_uploads.
  const std::string staged = staged_key ? *staged_key : staging_key(id);
  if (!keep_source && !staged.empty()) MS_RETURN_IF_ERROR(storage->remove(staged));
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
  // Without randomness the jitter is 0 (half the delay): still a valid delay.
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

}  // namespace mediastore
