#include "upload/stages/pipeline.hpp"

namespace mediastore::detail {

Result<Pipeline> build_pipeline(const PipelineSettings& settings) {
  Pipeline p;
  // Checks first: nothing is stored before every stage that may refuse the
  // file has accepted it. The virus scan comes before the decoders see the
  // file.
  auto scan = make_scan_stage(settings);
  if (!scan.ok()) return scan.status();
  if (*scan) p.push_back(std::move(scan).value());
  p.push_back(make_process_media_stage(settings));
  // Storing.
  p.push_back(make_store_original_stage(settings));
  p.push_back(make_store_thumbnails_stage(settings));
  return p;
}

}  // namespace mediastore::detail
