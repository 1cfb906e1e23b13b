#include "upload/stages/pipeline.hpp"

#include <fmt/format.h>

namespace mediastore::detail {

Status user_facing(const Status& e, const StageContext& ctx) {
  const std::string& name = ctx.upload.original_filename;
  if (e.is(ErrorCode::not_found))
    return Status::NotFound(fmt::format("the spooled source of upload {} is gone", ctx.upload.id));
  std::string msg = e.message();
  const std::string& spool = ctx.spool_path;
  for (auto pos = msg.find(spool); pos != std::string::npos; pos = msg.find(spool, pos + name.size()))
    msg.replace(pos, spool.size(), name);
  return Status(e.code(), std::move(msg));
}

Result<Pipeline> build_pipeline(const PipelineSettings& settings) {
  Pipeline p;
  // Checks first: nothing is stored before every stage that may refuse the
  // file has accepted it. The virus scan comes before the decoders see the
  // file.
  auto scan = make_scan_stage(settings);
  if (!scan.ok()) return scan.status();
  if (*scan) p.push_back(std::move(scan).value());
  p.push_back(make_process_media_stage(settings));
  // Needs the SHA-256 validation computed; before anything is stored.
  if (auto dedup = make_dedup_stage(settings)) p.push_back(std::move(dedup));
  // Storing.
  p.push_back(make_store_original_stage(settings));
  p.push_back(make_store_thumbnails_stage(settings));
  return p;
}

}  // namespace mediastore::detail
