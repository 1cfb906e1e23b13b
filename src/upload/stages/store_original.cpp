// The store_original stage: the accepted file, as it was uploaded.
#include <fmt/format.h>

#include <algorithm>

#include "upload/stages/pipeline.hpp"

namespace mediastore::detail {
namespace {

// ASCII-only, short: object metadata must survive S3 headers.
std::string header_safe(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= 200) break;
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '_';
  }
  return out;
}

class StoreOriginalStage final : public Stage {
 public:
  explicit StoreOriginalStage(std::vector<std::string> metadata_keys)
      : Stage({UploadStage::storing_original, 20, /*retry_transient=*/true}),
        metadata_keys_(std::move(metadata_keys)) {}

  Result<StageEnd> run(StageContext& ctx) const override {
    if (!ctx.work.media)
      return Status::Internal(fmt::format("upload {}: storing the original before validation", ctx.upload.id));
    const MediaInfo& mi = *ctx.work.media;
    const std::string ext = media_type_extension(mi.type);
    StoredObject original;
    original.name = "original";
    original.key = ctx.object_prefix + "original" + (ext.empty() ? "" : "." + ext);
    original.width = mi.display_width;
    original.height = mi.display_height;
    original.bytes = mi.byte_size;
    original.content_type = mi.mime;
    PutOptions po;
    po.content_type = mi.mime;
    po.user_metadata = {{"upload-id", ctx.upload.id}, {"sha256", mi.sha256}};
    po.sha256 = mi.sha256;  // validation hashed the spool already; the server checks it
    // Privacy: anyone holding a URL can read object metadata, so only the
    // listed context keys (and the file name, if listed) go there.
    if (listed("original-filename")) po.user_metadata["original-filename"] = header_safe(mi.filename);
    for (auto& [k, v] : ctx.upload.context)
      if (listed(k)) po.user_metadata["ctx-" + header_safe(k)] = header_safe(v);
    // Staged in storage: a server-side copy (S3 CopyObject), so the bytes
    // are not sent a second time; the copy gets the metadata put_file would.
    Status st = ctx.upload.staged_key.empty() ? ctx.storage.put_file(original.key, ctx.spool_path, po)
                                              : ctx.storage.copy_with(ctx.upload.staged_key, original.key, po);
    if (!st.ok()) return st.with_context(fmt::format("storing {}", original.key));
    ctx.work.result.original = std::move(original);
    return StageEnd::next;
  }

 private:
  bool listed(const std::string& key) const {
    return std::find(metadata_keys_.begin(), metadata_keys_.end(), key) != metadata_keys_.end();
  }

  std::vector<std::string> metadata_keys_;
};

}  // namespace

std::unique_ptr<const Stage> make_store_original_stage(const PipelineSettings& settings) {
  return std::make_unique<StoreOriginalStage>(
      settings.options.metadata_context_keys.value_or(settings.config.metadata_context_keys));
}

}  // namespace mediastore::detail
