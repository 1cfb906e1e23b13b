// The upload lifecycle calls a service needs besides submit and status:
// ended_since (reconcile), wait, list_by_context, retry, redrive of dead
// letters, and the time-to-live of ended records (part of cleanup).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "upload/record.hpp"
#include "upload/service_impl.hpp"

namespace mediastore {

using detail::now;
using detail::upload_field;

namespace {

constexpr std::size_t kMaxListLimit = 10000;

bool ended(UploadState s) { return s == UploadState::completed || s == UploadState::failed; }

Status check_limit(std::string_view what, std::size_t limit) {
  if (limit < 1 || limit > kMaxListLimit)
    return Status::InvalidArgument(fmt::format("{}: limit {} is not 1..{}", what, limit, kMaxListLimit));
  return Status::Ok();
}

// Statuses of records, oldest update first; records that do not parse
// (written by something else) are skipped with a warning.
std::vector<UploadStatus> statuses_of(std::vector<JobRecord> recs, std::size_t limit) {
  std::stable_sort(recs.begin(), recs.end(),
                   [](const JobRecord& a, const JobRecord& b) { return a.updated_at < b.updated_at; });
  std::vector<UploadStatus> out;
  for (auto& r : recs) {
    if (out.size() >= limit) break;
    auto s = detail::status_from_json(r.id, r.body);
    if (!s.ok()) {
      MS_LOGF(warn, "upload", upload_field(r.id), "upload {}: skipping an unreadable record: {}", r.id,
              s.status().to_string());
      continue;
    }
    out.push_back(std::move(s).value());
  }
  return out;
}

}  // namespace

std::string detail::context_tag(std::string_view key, std::string_view value) {
  std::string tag = fmt::format("ctx:{}={}", key, value);
  bool plain = tag.size() <= 512;
  for (unsigned char c : tag)
    if (c < 0x20 || c == 0x7f) plain = false;
  if (plain) return tag;
  // Long or unprintable pairs: the hash of key and value (the NUL keeps
  // "a=b"+"c" apart from "a"+"b=c").
  std::string kv(key);
  kv.push_back('\0');
  kv.append(value);
  return "ctx#" + hex_lower(sha256(kv));
}

std::vector<std::string> detail::context_tags(const std::map<std::string, std::string>& context) {
  std::vector<std::string> tags;
  tags.reserve(context.size());
  for (auto& [k, v] : context) tags.push_back(context_tag(k, v));
  return tags;
}

Result<std::vector<UploadStatus>> UploadService::ended_since(SystemTime since, std::size_t limit) {
  MS_RETURN_IF_ERROR(check_limit("ended_since", limit));
  std::vector<JobRecord> all;
  for (const char* state : {"completed", "failed", detail::kFailedCleaned}) {
    auto recs = impl_->queue->list_records_since(state, since, limit);
    if (!recs.ok()) return recs.status();
    for (auto& r : recs.value()) all.push_back(std::move(r));
  }
  return statuses_of(std::move(all), limit);
}

Result<UploadStatus> UploadService::wait(std::string_view id, std::chrono::milliseconds timeout) {
  // Capped (a year) so that the deadline cannot overflow.
  const auto capped =
      std::clamp(timeout, std::chrono::milliseconds(0), std::chrono::milliseconds(std::chrono::hours(24 * 365)));
  const auto deadline = std::chrono::steady_clock::now() + capped;
  std::chrono::milliseconds pause{10};
  for (;;) {
    auto s = impl_->load(id);
    if (!s.ok() || ended(s->state)) return s;
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return s;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, left));
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

Result<std::vector<UploadStatus>> UploadService::list_by_context(std::string_view key, std::string_view value,
                                                                 std::size_t limit) {
  if (key.empty()) return Status::InvalidArgument("list_by_context: the context key is empty");
  MS_RETURN_IF_ERROR(check_limit("list_by_context", limit));
  auto recs = impl_->queue->list_records_by_tag(detail::context_tag(key, value), limit);
  if (!recs.ok()) return recs.status();
  auto out = statuses_of(std::move(recs).value(), limit);
  // A hashed tag could in theory be shared by two pairs: keep exact matches.
  out.erase(std::remove_if(out.begin(), out.end(),
                           [&](const UploadStatus& s) {
                             auto it = s.context.find(std::string(key));
                             return it == s.context.end() || it->second != value;
                           }),
            out.end());
  return out;
}

Result<bool> UploadService::Impl::staged_bytes_exist(const UploadStatus& s) const {
  if (!s.staged_key.empty()) return storage->exists(s.staged_key);
  const std::string& id = s.id;
  std::error_code ec;
  bool there = std::filesystem::is_regular_file(spool_file(id), ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    return Status::IoError(fmt::format("upload '{}': cannot check its spool file: {}", id, ec.message()));
  return there;
}

Status UploadService::Impl::requeue(UploadStatus& s) {
  // A dead job of this id would make the enqueue fail; drop it first.
  MS_RETURN_IF_ERROR(queue->remove(s.id));
  s.state = UploadState::pending;
  s.stage = UploadStage::queued;
  s.progress_percentage = 0;
  s.attempt = 0;
  s.next_try = {};
  s.last_error.clear();
  s.error_code = ErrorCode::ok;
  s.error_message.clear();
  s.result.reset();
  // The record first, then the job, as in submit_upload.
  MS_RETURN_IF_ERROR(save(s));
  Status st = queue->enqueue(s.id, detail::payload_to_json(s));
  if (st.is(ErrorCode::already_exists)) return Status::Ok();  // a concurrent retry queued it
  return st;
}

// Whether s may run again; the reason it may not otherwise.
static Status retryable(UploadService::Impl& im, const UploadStatus& s, const std::string& record_state) {
  const std::string& id = s.id;
  if (s.state != UploadState::failed)
    return Status::Conflict(
        fmt::format("upload '{}' is {}: only a failed upload can be retried", id, upload_state_name(s.state)));
  if (!is_transient(s.error_code))
    return Status::Conflict(
        fmt::format("upload '{}' failed for a permanent reason ({}: {}): a retry would fail the "
                    "same way; submit it again instead",
                    id, error_code_name(s.error_code), s.error_message));
  if (record_state == detail::kFailedCleaned)
    return Status::NotFound(
        fmt::format("upload '{}' cannot be retried: cleanup already removed its staged bytes; submit it again", id));
  auto there = im.staged_bytes_exist(s);
  if (!there.ok()) return there.status();
  if (!there.value())
    return Status::NotFound(
        fmt::format("upload '{}' cannot be retried: its staged bytes ('{}') are gone; submit it again", id,
                    s.staged_key.empty() ? im.spool_file(id) : s.staged_key));
  return Status::Ok();
}

Status UploadService::retry(std::string_view id_in) {
  auto& im = *impl_;
  std::string id(id_in);
  auto rec = im.queue->get_record(id);
  if (!rec.ok()) {
    if (rec.status().is(ErrorCode::not_found)) return Status::NotFound(fmt::format("no upload with id '{}'", id));
    return rec.status();
  }
  auto s = detail::status_from_json(id, rec->body);
  if (!s.ok()) return s.status();
  MS_RETURN_IF_ERROR(retryable(im, s.value(), rec->state));
  const std::string why = s->error_message;
  MS_RETURN_IF_ERROR(im.requeue(s.value()));
  MS_LOGF(info, "upload", upload_field(id), "upload {}: failed -> pending (retry; it failed with: {})", id, why);
  return Status::Ok();
}

Result<std::size_t> UploadService::redrive_dead_letters(std::size_t limit) {
  MS_RETURN_IF_ERROR(check_limit("redrive_dead_letters", limit));
  auto& im = *impl_;
  auto dead = im.queue->dead_letters(limit);
  if (!dead.ok()) return dead.status();
  std::size_t redriven = 0;
  for (auto& d : dead.value()) {
    auto rec = im.queue->get_record(d.id);
    if (!rec.ok()) {
      MS_LOGF(warn, "upload", upload_field(d.id), "upload {}: dead job not re-driven: {}", d.id,
              rec.status().to_string());
      continue;
    }
    auto s = detail::status_from_json(d.id, rec->body);
    if (!s.ok()) continue;
    // Not marked failed yet (the worker died on its last attempt): it ends
    // here as the failure the job recorded, then runs again.
    Status why = ended(s->state) ? retryable(im, s.value(), rec->state) : Status::Ok();
    if (why.ok() && !ended(s->state)) {
      auto there = im.staged_bytes_exist(s.value());
      if (!there.ok()) return there.status();
      if (!there.value()) why = Status::NotFound(fmt::format("upload '{}': its staged bytes are gone", d.id));
    }
    if (!why.ok()) {
      MS_LOGF(warn, "upload", upload_field(d.id), "upload {}: dead job not re-driven: {}", d.id, why.to_string());
      continue;
    }
    MS_RETURN_IF_ERROR(im.requeue(s.value()));
    MS_LOGF(info, "upload", upload_field(d.id), "upload {}: dead job re-driven (after {} attempts: {})", d.id,
            d.attempts, d.last_error);
    ++redriven;
  }
  return redriven;
}

Status UploadService::Impl::expire_records(CleanupReport& report) {
  if (options.record_ttl.count() <= 0) return Status::Ok();
  const SystemTime cutoff = now() - options.record_ttl;
  constexpr std::size_t kBatch = 500;
  for (const char* state : {"completed", detail::kFailedCleaned, detail::kIdempotencyState}) {
    for (;;) {
      auto recs = queue->list_records(state, cutoff, kBatch);
      if (!recs.ok()) return recs.status();
      for (auto& r : recs.value()) {
        MS_RETURN_IF_ERROR(queue->remove_record(r.id));
        report.records_expired++;
      }
      if (recs->size() < kBatch) break;
    }
  }
  return Status::Ok();
}

}  // namespace mediastore
