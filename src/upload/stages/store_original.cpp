// The store_original stage: the accepted file, as it was uploaded.
#include <fmt/format.h>

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
  StoreOriginalStage() : Stage({UploadStage::storing_original, 20, /*retry_transient=*/true}) {}

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
    po.user_metadata = {
        {"upload-id", ctx.upload.id}, {"sha256", mi.sha256}, {"original-filename", header_safe(mi.filename)}};
    po.sha256 = mi.sha256;  // validation hashed the spool already; the server checks it
    for (auto& [k, v] : ctx.upload.context) po.user_metadata["ctx-" + header_safe(k)] = header_safe(v);
    Status st = ctx.storage.put_file(original.key, ctx.spool_path, po);
    if (!st.ok()) return st.with_context(fmt::format("storing {}", original.key));
    ctx.work.result.original = std::move(original);
    return StageEnd::next;
  }
};

}  // namespace

std::unique_ptr<const Stage> make_store_original_stage(const PipelineSettings& settings) {
  (void)settings;
  return std::make_unique<StoreOriginalStage>();
}

}  // namespace mediastore::detail
