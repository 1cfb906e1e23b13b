// The deduplicating stage: an upload whose content (SHA-256) a completed
// upload of the same scope already has completes as that upload's
// duplicate, storing nothing. See dedup_index.hpp for the records.
//
// Race-free across threads and processes: the first upload of a content
// claims it with JobQueue::create_record (atomic on every backend); the
// others wait for the claim's owner. Crashes and failures:
// - the owner dies after claiming: its job comes back (lease expiry) and
//   the re-run finds its own claim and goes on; the others wait meanwhile;
// - the owner fails or is cancelled (state failed), or its job is gone
//   without it completing (abandoned): the claim's next generation is
//   claimed by one of the waiting uploads, which becomes the original;
// - the owner is still pending or retrying: "not yet", a transient failure
//   the driver retries with backoff (an attempt is used); while it is
//   processing, the stage waits in place, up to one lease duration,
//   keeping its own lease.
#include <fmt/format.h>

#include <thread>

#include "upload/dedup_index.hpp"
#include "upload/record.hpp"
#include "upload/stages/pipeline.hpp"

namespace mediastore::detail {
namespace {

constexpr int kShare = 5;
// How often a waiting upload looks at the owner's status again.
constexpr std::chrono::milliseconds kPoll{200};
// Generations tried before giving up (each one is an owner that failed).
constexpr int kMaxGenerations = 1000;

enum class Owner { self, completed, gone, busy_processing, busy_queued };

class DedupStage final : public Stage {
 public:
  DedupStage(std::string scope_key, std::chrono::milliseconds max_wait)
      : Stage({UploadStage::deduplicating, kShare, /*retry_transient=*/true}),
        key_(std::move(scope_key)),
        max_wait_(max_wait) {}

  bool applies(const UploadWork& work) const override { return work.media && !work.media->sha256.empty(); }

  Result<StageEnd> run(StageContext& ctx) const override {
    const auto scope = ctx.upload.context.find(key_);
    if (scope == ctx.upload.context.end()) return StageEnd::next;  // no scope: not deduplicated
    const std::string& id = ctx.upload.id;
    const std::string& name = ctx.upload.original_filename;
    const MediaInfo& mi = *ctx.work.media;

    // The scope index entry near-duplicate search reads (similar.cpp).
    if (!mi.phash.empty()) {
      const std::string digest = dedup_scope_digest(key_, scope->second);
      Status st = ctx.queue.put_record({scope_index_id(digest, id), scope_index_state(digest), {}, mi.phash});
      if (!st.ok()) return st.with_context(fmt::format("indexing {} in its scope", name));
    }

    const auto deadline = std::chrono::steady_clock::now() + max_wait_;
    for (int g = 0; g < kMaxGenerations; ++g) {
      const std::string claim = dedup_claim_id(key_, scope->second, mi.sha256, g);
      Status created = ctx.queue.create_record({claim, kDedupClaimState, {}, id});
      if (created.ok()) return StageEnd::next;  // the first of this content: the original
      if (!created.is(ErrorCode::already_exists))
        return created.with_context(fmt::format("claiming the content of {}", name));
      for (;;) {
        UploadStatus owner;
        auto who = owner_of(ctx, claim, owner);
        if (!who.ok()) return who.status().with_context(fmt::format("checking the content of {}", name));
        switch (who.value()) {
          case Owner::self: return StageEnd::next;  // a re-run of the owner
          case Owner::completed: return as_duplicate(ctx, owner);
          case Owner::gone: break;
          case Owner::busy_processing:
            if (std::chrono::steady_clock::now() < deadline) {
              std::this_thread::sleep_for(kPoll);
              if (!ctx.checkpoint(0)) return StageEnd::stop;
              continue;
            }
            [[fallthrough]];
          case Owner::busy_queued:
            return Status::Unavailable(fmt::format(
                "{}: upload {} with the same content has not finished yet; this one waits for it", name, owner.id));
        }
        break;  // gone: on to the next generation
      }
    }
    return Status::Internal(fmt::format("{}: over {} failed uploads of the same content", name, kMaxGenerations));
  }

 private:
  // Who holds `claim` and where that upload is; `owner` receives its status.
  static Result<Owner> owner_of(StageContext& ctx, const std::string& claim, UploadStatus& owner) {
    auto rec = ctx.queue.get_record(claim);
    if (!rec.ok()) return rec.status();  // claims are never removed
    if (rec->body == ctx.upload.id) return Owner::self;
    auto load = [&]() -> Result<bool> {
      auto st = ctx.queue.get_record(rec->body);
      if (st.status().is(ErrorCode::not_found)) return false;
      if (!st.ok()) return st.status();
      auto s = status_from_json(rec->body, st->body);
      if (!s.ok()) return s.status();
      owner = std::move(s).value();
      return true;
    };
    auto found = load();
    if (!found.ok()) return found.status();
    if (!found.value()) return Owner::gone;
    if (owner.state == UploadState::completed) return Owner::completed;
    if (owner.state == UploadState::failed) return Owner::gone;
    auto queued = ctx.queue.contains(owner.id);
    if (!queued.ok()) return queued.status();
    if (!queued.value()) {
      // No job: it will never run again, unless it completed in between
      // (completed is saved before the job is acked), so look once more.
      found = load();
      if (!found.ok()) return found.status();
      if (found.value() && owner.state == UploadState::completed) return Owner::completed;
      return Owner::gone;
    }
    return owner.state == UploadState::processing ? Owner::busy_processing : Owner::busy_queued;
  }

  static Result<StageEnd> as_duplicate(StageContext& ctx, const UploadStatus& owner) {
    if (!owner.result) return Status::Internal(fmt::format("upload {} completed without a result", owner.id));
    // This upload's own metadata (its file name), the first one's objects.
    ctx.work.result.original = owner.result->original;
    ctx.work.result.thumbnails = owner.result->thumbnails;
    ctx.work.thumbnails.clear();
    ctx.work.duplicate_of = owner.duplicate_of.empty() ? owner.id : owner.duplicate_of;
    return StageEnd::complete;
  }

  std::string key_;
  std::chrono::milliseconds max_wait_;
};

}  // namespace

std::unique_ptr<const Stage> make_dedup_stage(const PipelineSettings& settings) {
  std::string key = settings.options.dedup_scope_key.value_or(settings.config.dedup_scope_key);
  if (key.empty()) return nullptr;
  return std::make_unique<DedupStage>(std::move(key), settings.options.lease_duration);
}

}  // namespace mediastore::detail
