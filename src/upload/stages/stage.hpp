// One stage of the upload pipeline (internal). The workflow driver
// (upload/driver.cpp) runs the stages of the list build_pipeline() returns,
// in order; everything a stage knows of the workflow is the StageContext it
// is given. Leases, heartbeats, retries, status records, release on
// StopMode::release and cancellation stay in the driver.
//
// Adding a stage: a file in this folder defining a Stage subclass and its
// factory, the factory's declaration in stages/pipeline.hpp, and one line
// in build_pipeline() (stages/pipeline.cpp) where it belongs in the order.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mediastore/config.hpp"
#include "mediastore/media.hpp"
#include "mediastore/queue.hpp"
#include "mediastore/storage.hpp"
#include "mediastore/upload.hpp"

namespace mediastore::detail {

// What the stages of one attempt hand on to the later ones. Every attempt
// starts from an empty one: a re-run after a crash or a retry runs every
// stage again (each writes the same keys, so re-runs are idempotent).
struct UploadWork {
  // What validation learned (set by the process_media stage).
  std::optional<MediaInfo> media;
  // Encoded thumbnails still to be stored, in the order
  // process_media_file returned them (set by the process_media stage).
  std::vector<Thumbnail> thumbnails;
  // The upload's result as far as it is known: objects stored so far and
  // the media metadata. The driver fills every object's URL on completion.
  UploadResult result;
  // Set with StageEnd::complete by the deduplicating stage: the upload is a
  // duplicate of this one (UploadStatus::duplicate_of).
  std::string duplicate_of;
  // Set by a stage that refuses the file, with the failure it returns
  // (UploadStatus::refusal_reason).
  RefusalReason refusal = RefusalReason::none;
};

// How a stage ended when it did not fail.
enum class StageEnd {
  next,      // go on with the next stage
  complete,  // the upload is complete with work.result as it is; the later
             // stages are skipped (e.g. an exact duplicate that stores nothing)
  stop,      // ctx.checkpoint() returned false: this attempt ends now (the
             // driver has already released the job or let it go)
};

// The view of one upload attempt a stage gets. The driver owns it; it lives
// for one Stage::run call. Used by one thread.
struct StageContext {
  const UploadStatus& upload;        // id, original_filename, media_kind, context
  const std::string& spool_path;     // the spooled source (read-only for stages)
  const std::string& object_prefix;  // every key of the upload starts with it ("uploads/<id>/")
  StorageBackend& storage;
  JobQueue& queue;  // its record store is shared by every worker on the backend
  UploadWork& work;

  // A stage boundary inside a stage (e.g. between two objects): extends the
  // lease, and reports `fraction` (0..1) of the stage done. false when the
  // attempt must end at once (lease lost, or the worker releases its jobs):
  // the stage then returns StageEnd::stop without doing more.
  std::function<bool(double fraction)> checkpoint;
  // Reports progress without a boundary: `step` is the name the status shows
  // (usually the stage's own; the process_media stage shows making_thumbnails once
  // the file is accepted), `fraction` (0..1) of the stage done.
  std::function<void(UploadStage step, double fraction)> report;
};

// What the driver needs to know of a stage besides running it.
struct StageTraits {
  UploadStage stage = UploadStage::queued;  // the name statuses show while it runs
  // Its part of the progress bar, relative to the other stages' shares (> 0).
  int progress_share = 1;
  // Whether a transient failure (Status::transient()) is retried with
  // backoff. false: every failure of the stage fails the upload at once.
  bool retry_transient = true;
};

// A stage. One object serves every upload of a service, from every worker
// thread at once: run() is const and keeps per-upload state in the context
// only. Not copyable.
class Stage {
 public:
  explicit Stage(StageTraits traits) : traits_(traits) {}
  virtual ~Stage() = default;
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  const StageTraits& traits() const { return traits_; }

  // Whether the stage has anything to do for this attempt. A stage that does
  // not apply is skipped without a boundary or a status update. Default: true.
  virtual bool applies(const UploadWork& work) const {
    (void)work;
    return true;
  }

  // Does the stage's work. A failure fails (or, when transient and
  // traits().retry_transient, retries) the upload; the Status's message is
  // what the user sees, so it names the user's file, never the spool path.
  virtual Result<StageEnd> run(StageContext& ctx) const = 0;

 private:
  StageTraits traits_;
};

}  // namespace mediastore::detail
