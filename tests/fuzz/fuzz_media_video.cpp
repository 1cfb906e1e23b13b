// The video path on arbitrary bytes: container checks, FFmpeg's demuxers
// (mov, matroska) over the library's I/O, the codec whitelist, the limits
// and the poster decode + conversion, through validate and process. Limits
// are lowered so that each input stays cheap. Seeds: small clips made by
// ffmpeg (tests/fuzz/corpus/media_video).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mediastore/media.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  mediastore::ValidationPolicy policy;
  policy.max_pixels = 1u << 20;  // 1 MP
  policy.video_time_budget_ms = 2000;
  std::vector<mediastore::ThumbnailSpec> specs{{"s", 32, 32, mediastore::FitMode::inside, 75, false},
                                               {"c", 16, 24, mediastore::FitMode::cover, 75, true}};
  mediastore::RefusalReason reason;
  auto p = mediastore::process_media(in, "fuzz.mp4", mediastore::MediaKind::video, specs, policy, &reason);
  if (p.ok() != (reason == mediastore::RefusalReason::none)) __builtin_trap();
  if (!p.ok() && p.status().code() != mediastore::refusal_reason_code(reason)) __builtin_trap();
  if (p.ok()) {
    if (p->thumbnails.size() != specs.size()) __builtin_trap();
    for (const auto& t : p->thumbnails)
      if (t.width < 1 || t.height < 1 || t.width > 32 || t.height > 32) __builtin_trap();
    (void)mediastore::media_metadata(p->info);
  }
  return 0;
}
