// The process_media stage: validation and thumbnails from one decode.
#include <fmt/format.h>

#include "upload/stages/pipeline.hpp"

namespace mediastore::detail {
namespace {

// Validation ends at 15/40 of the stage's share, where the thumbnails begin
// (10 % -> 25 % -> 50 % of the whole with the default list).
constexpr int kShare = 40;
constexpr double kValidatedAt = 15.0 / kShare;

class ProcessMediaStage final : public Stage {
 public:
  explicit ProcessMediaStage(const PipelineSettings& s)
      : Stage({UploadStage::validating, kShare, /*retry_transient=*/false}),
        specs_(s.options.thumbnails ? *s.options.thumbnails : thumbnail_specs_from_config(s.config)),
        policy_(s.policy) {}

  Result<StageEnd> run(StageContext& ctx) const override {
    const UploadStatus& up = ctx.upload;
    RefusalReason reason = RefusalReason::none;
    auto processed = process_media_file(ctx.spool_path, up.original_filename, up.media_kind, specs_, policy_, &reason,
                                        [&] { ctx.report(UploadStage::making_thumbnails, kValidatedAt); });
    if (!processed.ok()) {
      ctx.work.refusal = reason;
      return user_facing(processed.status(), ctx);
    }
    ProcessedMedia& pm = processed.value();
    // A direct upload whose client gave the file's SHA-256: the bytes the
    // store assembled (which Ceph RGW, unlike AWS S3, does not check against
    // x-amz-checksum-sha256, and which no store checks for a multipart
    // upload) must be that file. Checked here, before anything is stored.
    if (up.direct && !up.direct->sha256.empty() && pm.info.sha256 != up.direct->sha256)
      return Status::CorruptMedia(
          fmt::format("{}: the uploaded bytes have SHA-256 {}, the client declared {} (damaged or replaced on the way)",
                      up.original_filename, pm.info.sha256, up.direct->sha256));
    // Earlier stages (scan) may have added entries already: merge, never replace.
    for (auto& [k, v] : media_metadata(pm.info)) ctx.work.result.metadata[k] = std::move(v);
    ctx.work.media = std::move(pm.info);
    ctx.work.thumbnails = std::move(pm.thumbnails);
    return StageEnd::next;
  }

 private:
  std::vector<ThumbnailSpec> specs_;
  ValidationPolicy policy_;
};

}  // namespace

std::unique_ptr<const Stage> make_process_media_stage(const PipelineSettings& settings) {
  return std::make_unique<ProcessMediaStage>(settings);
}

}  // namespace mediastore::detail
