// The store_thumbnails stage: every encoded thumbnail the media stage made.
#include <fmt/format.h>

#include "upload/stages/pipeline.hpp"

namespace mediastore::detail {
namespace {

class StoreThumbnailsStage final : public Stage {
 public:
  StoreThumbnailsStage() : Stage({UploadStage::storing_thumbnails, 25, /*retry_transient=*/true}) {}

  bool applies(const UploadWork& work) const override { return !work.thumbnails.empty(); }

  Result<StageEnd> run(StageContext& ctx) const override {
    const auto& thumbs = ctx.work.thumbnails;
    for (std::size_t i = 0; i < thumbs.size(); ++i) {
      if (i > 0 && !ctx.checkpoint(static_cast<double>(i) / static_cast<double>(thumbs.size()))) return StageEnd::stop;
      // Every encoding of every size is its own object: "<prefix>thumb_<name>.<ext>".
      const Thumbnail& t = thumbs[i];
      StoredObject o;
      o.name = t.name;
      o.key = fmt::format("{}thumb_{}.{}", ctx.object_prefix, t.name, t.extension);
      o.width = t.width;
      o.height = t.height;
      o.bytes = t.bytes.size();
      o.content_type = t.content_type;
      o.format = thumbnail_format_name(t.format);
      PutOptions po;
      po.content_type = o.content_type;
      po.user_metadata = {{"upload-id", ctx.upload.id}};
      Status st = ctx.storage.put_bytes(o.key, t.bytes, po);
      if (!st.ok()) return st.with_context(fmt::format("storing {}", o.key));
      ctx.work.result.thumbnails.push_back(std::move(o));
    }
    return StageEnd::next;
  }
};

}  // namespace

std::unique_ptr<const Stage> make_store_thumbnails_stage(const PipelineSettings& settings) {
  (void)settings;
  return std::make_unique<StoreThumbnailsStage>();
}

}  // namespace mediastore::detail
