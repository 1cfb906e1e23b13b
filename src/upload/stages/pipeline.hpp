// The upload pipeline: the list of stages an upload goes through, built
// from the service's settings (internal). See stage.hpp.
#pragma once

#include <memory>
#include <vector>

#include "upload/stages/stage.hpp"

namespace mediastore::detail {

// What build_pipeline and the stage factories may read. References: valid
// for the call only; a stage copies what it keeps.
struct PipelineSettings {
  const Config& config;
  const UploadOptions& options;
  const ValidationPolicy& policy;
};

using Pipeline = std::vector<std::unique_ptr<const Stage>>;

// The stages in the order they run. Nothing may be stored before the stages
// that can refuse the file have run.
// invalid_argument when a stage's settings are wrong (the scan settings).
Result<Pipeline> build_pipeline(const PipelineSettings& settings);

// A failure of a stage reading the spool as the user should read it: a
// vanished spool is not_found naming the upload; otherwise the same code
// with every mention of the spool path replaced by the user's file name.
Status user_facing(const Status& e, const StageContext& ctx);

// The stages (one file each in this folder).

// scanning: the spooled file through options.scanner, or a ClamdScanner
// from config.scan when that is null and scanning is required; null (no
// stage) when scanning is off. Fails only on scan settings ClamdScanner
// refuses.
Result<std::unique_ptr<const Stage>> make_scan_stage(const PipelineSettings& settings);

// validating, then making_thumbnails: media::process_media_file over the
// spool with options.thumbnails and the policy (one decode for both);
// fills work.media, work.thumbnails and work.result.metadata. Refusals are
// final; they name the user's file.
std::unique_ptr<const Stage> make_process_media_stage(const PipelineSettings& settings);
// deduplicating: exact duplicates within the scope of the
// dedup_scope_key context key (UploadOptions, else Config): claims the
// content's SHA-256 (dedup_index.hpp) and completes the upload as a
// duplicate of the first completed one (StageEnd::complete, nothing stored);
// also writes the scope index entry similar() reads. null (no stage) when
// the key is "".
std::unique_ptr<const Stage> make_dedup_stage(const PipelineSettings& settings);
// storing_original: the spooled file as <prefix>original.<ext> with its
// content type and SHA-256 as object metadata, plus the context keys (and
// the file name) UploadOptions::metadata_context_keys lists; sets
// work.result.original. An upload staged in storage (upload.staged_key) is
// copied from its staged object with StorageBackend::copy_with instead.
std::unique_ptr<const Stage> make_store_original_stage(const PipelineSettings& settings);
// storing_thumbnails: every entry of work.thumbnails as
// <prefix>thumb_<name>.<ext>, a boundary between two; appends to
// work.result.thumbnails. Applies when there is a thumbnail to store.
std::unique_ptr<const Stage> make_store_thumbnails_stage(const PipelineSettings& settings);

}  // namespace mediastore::detail
