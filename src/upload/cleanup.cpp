// UploadService::cleanup_failed_uploads: what failed, abandoned or
// dead-lettered uploads left behind.
#include <fmt/format.h>

#include "core/log_internal.hpp"
#include "upload/record.hpp"
#include "upload/service_impl.hpp"
#include "upload/spool.hpp"

namespace mediastore {

using detail::now;
using detail::upload_field;

// Orphans under the staging prefix: staged objects whose upload has no
// record (a submission that died before writing it) or has ended (the
// worker died between the final record and the removal), and multipart
// uploads nobody completed.
Status UploadService::Impl::clean_staging(CleanupReport& rep) {
  const SystemTime cutoff = now() - options.staging_orphan_age;
  const std::string& prefix = config.staging_prefix;
  auto staged = storage->list_all(prefix);
  if (!staged.ok()) return staged.status();
  for (auto& o : staged.value()) {
    if (o.last_modified >= cutoff) continue;
    const std::string id = o.key.substr(prefix.size());
    auto s = load(id);
    if (!s.ok() && !s.status().is(ErrorCode::not_found)) {
      if (s.status().transient()) return s.status();
      continue;  // an unreadable record: leave its bytes alone
    }
    const bool orphan =
        !s.ok() || s->state == UploadState::completed || s->state == UploadState::failed || s->staged_key != o.key;
    if (!orphan) continue;
    MS_RETURN_IF_ERROR(storage->remove(o.key));
    rep.staging_objects_removed++;
    MS_LOGF(info, "upload", upload_field(id), "upload {}: removed the orphan staged object '{}' ({})", id, o.key,
            s.ok() ? upload_state_name(s->state) : "no record");
  }
  auto aborted = storage->abort_multipart_uploads(prefix, cutoff);
  if (!aborted.ok()) return aborted.status();
  rep.multipart_uploads_aborted += aborted.value();
  return Status::Ok();
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
    im.notify_end(s);
    return Status::Ok();
  };
  auto clean = [&](UploadStatus& s) -> Status {
    auto left = im.remove_leftovers(s.id, s.staged_key);
    if (!left.ok()) return left.status();
    rep.objects_removed += left->first;
    rep.spool_files_removed += left->second;
    return im.save_as(s, detail::kFailedCleaned);
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

  // Direct uploads never completed, past their plan's expiry.
  MS_RETURN_IF_ERROR(im.expire_direct_uploads(rep));

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

  MS_RETURN_IF_ERROR(im.clean_staging(rep));
  MS_RETURN_IF_ERROR(im.expire_records(rep));

  MS_LOGF(info, "upload", {},
          "cleanup (older than {} s): {} failed, {} abandoned, {} dead-lettered, {} direct uploads expired; removed {} "
          "spool files, {} objects, {} staged objects; aborted {} multipart uploads",
          older_than.count(), rep.failed_uploads, rep.abandoned_uploads, rep.dead_lettered, rep.expired_direct_uploads,
          rep.spool_files_removed, rep.objects_removed, rep.staging_objects_removed, rep.multipart_uploads_aborted);
  return rep;
}

}  // namespace mediastore
