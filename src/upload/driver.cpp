// The workflow driver: one leased job through the pipeline's stages.
// Stage-agnostic: it knows of a stage only its traits (name, progress share,
// whether transient failures are retried) and how it ended. It owns the
// status record, the lease (a heartbeat at every boundary), retries with
// backoff, dead letters, the release of jobs at stage boundaries on
// StopMode::release, cancellation seen as a lost lease, and re-runs of jobs
// whose upload already ended.
#include <fmt/format.h>

#include <algorithm>

#include "core/log_internal.hpp"
#include "upload/record.hpp"
#include "upload/service_impl.hpp"
#include "upload/spool.hpp"
#include "upload/staging.hpp"

namespace mediastore {

using detail::now;
using detail::upload_field;
using detail::warn_if_failed;

namespace {

// Progress while stages run: from kStartPercent (the first stage begins) to
// kEndPercent (the last one ends) by the stages' shares; 100 at completion.
constexpr int kStartPercent = 10;
constexpr int kEndPercent = 95;

enum class Boundary { go_on, lost, release };

class Attempt {
 public:
  Attempt(UploadService::Impl& im, UploadService::Impl::InFlight& f, UploadStatus s)
      : im_(im), f_(f), id_(f.job.id), s_(std::move(s)), spool_(im.spool_file(id_)), prefix_(im.object_prefix(id_)) {
    for (auto& st : im_.pipeline) total_share_ += st->traits().progress_share;
  }

  void run() {
    if (!s_.staged_key.empty() && !fetch_staged()) return;
    detail::UploadWork work;
    int share_before = 0;
    for (auto& stage : im_.pipeline) {
      const detail::StageTraits& tr = stage->traits();
      if (!stage->applies(work)) {
        share_before += tr.progress_share;
        continue;
      }
      if (!check()) return;
      auto at = [&, share_before](double fraction) {
        return percent(share_before + tr.progress_share * std::clamp(fraction, 0.0, 1.0));
      };
      set_stage(tr.stage, at(0));
      bool stopped = false;
      detail::StageContext ctx{s_, spool_, prefix_, *im_.storage, *im_.queue, work, {}, {}};
      ctx.checkpoint = [&](double fraction) {
        if (!check()) {
          stopped = true;
          return false;
        }
        set_stage(tr.stage, at(fraction));
        return true;
      };
      ctx.report = [&](UploadStage step, double fraction) { set_stage(step, at(fraction)); };
      auto end = stage->run(ctx);
      if (!end.ok()) {
        refusal_ = work.refusal;
        on_error(end.status(), tr.retry_transient);
        return;
      }
      if (end.value() == detail::StageEnd::stop) {
        if (!stopped)  // a stage may stop only where a checkpoint said so
          on_error(Status::Internal(fmt::format("stage {} stopped without a boundary", upload_stage_name(tr.stage))),
                   false);
        return;
      }
      if (end.value() == detail::StageEnd::complete) break;
      share_before += tr.progress_share;
    }
    if (!check()) return;
    complete(std::move(work.result), std::move(work.duplicate_of));
  }

 private:
  // Storage staging: the stages read a local copy in this worker's own
  // spool folder (removed with this Attempt, whatever the outcome). false
  // (after settling the job) when the attempt ends here.
  bool fetch_staged() {
    if (!check()) return false;
    auto copy = detail::StagedCopy::fetch(*im_.storage, s_.staged_key, im_.spool_dir, id_);
    if (!copy.ok()) {
      // Gone while the upload has not ended: nothing can bring it back.
      if (copy.status().is(ErrorCode::not_found))
        fail(copy.status(), copy.status().message(), false);
      else
        on_error(copy.status(), true);
      return false;
    }
    staged_copy_ = std::move(copy).value();
    spool_ = staged_copy_.path();
    return true;
  }

  int percent(double share_done) const {
    if (total_share_ <= 0) return kStartPercent;
    return kStartPercent + static_cast<int>((kEndPercent - kStartPercent) * share_done / total_share_ + 1e-9);
  }

  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

  Boundary boundary() {
    std::lock_guard lock(f_.mu);
    if (f_.lost) return Boundary::lost;
    if (im_.release_requested && f_.job.attempt < im_.effective_max_attempts()) return Boundary::release;
    Status st = im_.queue->heartbeat(f_.job, im_.options.lease_duration);
    if (st.is(ErrorCode::conflict)) {
      f_.lost = true;
      return Boundary::lost;
    }
    return Boundary::go_on;
  }

  // A stage boundary: false (after settling the job) when this attempt
  // must end here.
  bool check() {
    switch (boundary()) {
      case Boundary::go_on: return true;
      case Boundary::lost: on_lost(); return false;
      case Boundary::release: on_release(); return false;
    }
    return false;
  }

  void set_stage(UploadStage stage, int progress) {
    UploadState before = s_.state;
    s_.state = UploadState::processing;
    s_.stage = stage;
    s_.progress_percentage = std::max(s_.progress_percentage, progress);
    s_.attempt = f_.job.attempt;
    s_.last_error.clear();
    s_.next_try = {};
    Status st = im_.save(s_);
    if (!st.ok()) MS_LOGF(warn, "upload", upload_field(id_), "upload {}: cannot save status: {}", id_, st.to_string());
    if (before != UploadState::processing)
      MS_LOGF(info, "upload", upload_field(id_), "upload {}: {} -> processing (attempt {})", id_,
              upload_state_name(before), f_.job.attempt);
  }

  // Cancelled (the job was removed) or taken over after a stall. If the
  // upload was cancelled, remove what this attempt may have stored since.
  void on_lost() {
    auto cur = im_.load(id_);
    auto has = im_.queue->contains(id_);
    if (cur.ok() && has.ok() && !has.value() && cur->state != UploadState::completed) {
      // The job is gone but the upload did not end: it was cancelled, and a
      // status this attempt wrote just after may have hidden that. Restore it.
      if (cur->state != UploadState::failed) {
        cur->state = UploadState::failed;
        cur->error_code = ErrorCode::cancelled;
        cur->error_message = "cancelled by request";
        warn_if_failed(id_, "saving the cancelled status", im_.save(cur.value()));
      }
      warn_if_failed(id_, "cleanup after cancellation", im_.remove_leftovers(id_, cur->staged_key).status());
    }
    MS_LOGF(warn, "upload", upload_field(id_), "upload {}: lease lost, stopping this attempt", id_);
  }

  void on_release() {
    s_.state = UploadState::pending;
    s_.stage = UploadStage::queued;
    warn_if_failed(id_, "saving the pending status", im_.save(s_));
    warn_if_failed(id_, "release (nack)", im_.queue->nack(f_.job, now(), "released by worker shutdown").status());
    MS_LOGF(info, "upload", upload_field(id_), "upload {}: released back to the queue (worker stopping)", id_);
  }

  // dead_letter: the attempts are used up; the job goes to the dead-letter
  // list (nack) instead of being acked.
  void fail(const Status& error, const std::string& message, bool dead_letter) {
    // A transient cause keeps the accepted bytes for UploadService::retry()
    // (cleanup_failed_uploads removes them later).
    auto left = im_.remove_leftovers(id_, s_.staged_key, error.transient());
    if (!left.ok()) {
      // Could not clean up (storage down): the record stays "failed", so
      // cleanup_failed_uploads finds and removes the leftovers later.
      MS_LOGF(warn, "upload", upload_field(id_), "upload {}: cleanup after failure failed: {}", id_,
              left.status().to_string());
    }
    UploadState before = s_.state;
    s_.state = UploadState::failed;
    s_.error_code = error.code();
    s_.error_message = message;
    s_.refusal_reason = refusal_;
    s_.attempt = f_.job.attempt;
    Status st = im_.save(s_);
    if (!st.ok()) {
      // The failure is not recorded: give the job back so a later attempt
      // records it.
      warn_if_failed(id_, "saving the failed status", st);
      warn_if_failed(id_, "nack",
                     im_.queue->nack(f_.job, now() + im_.backoff(f_.job.attempt), st.to_string()).status());
      return;
    }
    im_.notify_end(s_);
    if (dead_letter) {
      warn_if_failed(id_, "dead-lettering (nack)", im_.queue->nack(f_.job, now(), error.to_string()).status());
    } else {
      warn_if_failed(id_, "ack", im_.queue->ack(f_.job));
    }
    im_.failed++;
    im_.observe_time(elapsed());
    MS_LOGF(info, "upload", upload_field(id_), "upload {}: {} -> failed: {}: {}", id_, upload_state_name(before),
            error_code_name(error.code()), message);
  }

  // retryable: the failing step retries transient failures.
  void on_error(const Status& error, bool retryable) {
    const bool transient = error.transient() && retryable;
    if (transient && f_.job.attempt < im_.effective_max_attempts()) {
      auto delay = im_.backoff(f_.job.attempt);
      UploadState before = s_.state;
      s_.state = UploadState::retrying;
      s_.attempt = f_.job.attempt;
      s_.next_try = now() + delay;
      s_.last_error = error.to_string();
      warn_if_failed(id_, "saving the retrying status", im_.save(s_));
      auto out = im_.queue->nack(f_.job, s_.next_try, s_.last_error);
      warn_if_failed(id_, "nack for a retry", out.status());
      if (out.ok() && out.value() == NackOutcome::dead_lettered) {
        fail(error, gave_up(error), false);
        return;
      }
      im_.retried++;
      MS_LOGF(info, "upload", upload_field(id_), "upload {}: {} -> retrying in {} ms (attempt {} failed: {})", id_,
              upload_state_name(before), delay.count(), f_.job.attempt, error.to_string());
      return;
    }
    if (transient) {
      fail(error, gave_up(error), true);
    } else {
      fail(error, error.message(), false);
    }
  }

  std::string gave_up(const Status& error) const {
    return fmt::format("gave up after {} attempts: {}", f_.job.attempt, error.message());
  }

  // Every object of the result gets its URL; the status becomes completed.
  // duplicate_of: set when the upload is a duplicate (the objects in
  // `result` are the first upload's).
  void complete(UploadResult result, std::string duplicate_of) {
    auto url_of = [&](StoredObject& o) -> Status {
      if (o.key.empty()) return Status::Ok();
      auto u = im_.storage->get_url(o.key, im_.options.url_expiry);
      if (!u.ok()) return u.status();
      o.url = std::move(u.value());
      return Status::Ok();
    };
    Status ust = url_of(result.original);
    for (auto& o : result.thumbnails)
      if (ust.ok()) ust = url_of(o);
    if (!ust.ok()) {
      on_error(ust, true);
      return;
    }
    s_.state = UploadState::completed;
    s_.stage = UploadStage::done;
    s_.progress_percentage = 100;
    s_.attempt = f_.job.attempt;
    s_.last_error.clear();
    s_.result = std::move(result);
    s_.duplicate_of = std::move(duplicate_of);
    Status st = im_.save(s_);
    if (!st.ok()) {
      on_error(st, true);
      return;
    }
    // The completed record is durable: the accepted bytes may go. A failure
    // leaves an orphan that cleanup_failed_uploads removes.
    if (s_.staged_key.empty())
      warn_if_failed(id_, "removal of the spool file", detail::spool_remove(spool_).status());
    else
      warn_if_failed(id_, "removal of the staged object", im_.storage->remove(s_.staged_key));
    im_.notify_end(s_);
    Status ack = im_.queue->ack(f_.job);
    if (!ack.ok())
      MS_LOGF(warn, "upload", upload_field(id_), "upload {}: completed but ack failed: {}", id_, ack.to_string());
    im_.completed++;
    im_.observe_time(elapsed());
    if (!s_.duplicate_of.empty())
      MS_LOGF(info, "upload", upload_field(id_), "upload {}: processing -> completed as a duplicate of {} (attempt {})",
              id_, s_.duplicate_of, f_.job.attempt);
    else
      MS_LOGF(info, "upload", upload_field(id_), "upload {}: processing -> completed ({} thumbnails, attempt {})", id_,
              s_.result->thumbnails.size(), f_.job.attempt);
  }

  UploadService::Impl& im_;
  UploadService::Impl::InFlight& f_;
  const std::string id_;
  UploadStatus s_;
  std::string spool_;  // the file the stages read: the spool file or staged_copy_
  detail::StagedCopy staged_copy_;
  const std::string prefix_;
  int total_share_ = 0;
  RefusalReason refusal_ = RefusalReason::none;  // of the stage that failed, if it refused the file
  const std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

}  // namespace

void UploadService::Impl::process(InFlight& f) {
  const std::string id = f.job.id;

  // Where we are: the stored status, or (should it be missing) the payload.
  auto loaded = load(id);
  UploadStatus s;
  if (loaded.ok()) {
    s = std::move(loaded.value());
  } else if (loaded.status().is(ErrorCode::not_found)) {
    auto p = detail::payload_from_json(id, f.job.payload);
    if (!p.ok()) {
      MS_LOGF(error, "upload", upload_field(id), "upload {}: dropping job: {}", id, p.status().to_string());
      warn_if_failed(id, "ack of the dropped job", queue->ack(f.job));
      return;
    }
    s = std::move(p.value());
  } else {
    // The record store is unreachable: give the job back for later.
    MS_LOGF(warn, "upload", upload_field(id), "upload {}: cannot read status: {}", id, loaded.status().to_string());
    warn_if_failed(id, "nack", queue->nack(f.job, now() + backoff(1), loaded.status().to_string()).status());
    return;
  }

  // A re-delivered job whose upload already ended (a worker died between
  // the final status and the ack): finish the tidying, call the end hook
  // again (at least once) and ack.
  if (s.state == UploadState::completed || s.state == UploadState::failed) {
    if (s.state == UploadState::failed) {
      warn_if_failed(id, "cleanup of the failed upload",
                     remove_leftovers(id, s.staged_key, is_transient(s.error_code)).status());
    } else if (s.staged_key.empty()) {
      warn_if_failed(id, "removal of the spool file", detail::spool_remove(spool_file(id)).status());
    } else {
      warn_if_failed(id, "removal of the staged object", storage->remove(s.staged_key));
    }
    notify_end(s);
    warn_if_failed(id, "ack", queue->ack(f.job));
    return;
  }

  Attempt(*this, f, std::move(s)).run();
}

}  // namespace mediastore
