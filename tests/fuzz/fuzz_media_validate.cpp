// The validator and the thumbnailer on arbitrary bytes: every decoder path
// (libjpeg-turbo, stb_image, libwebp, libheif) is reached through content
// sniffing. Limits are lowered so that each input stays cheap.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mediastore/media.hpp"

// libheif 1.15's dav1d plugin leaks the 40-byte data wrapper when dav1d
// rejects an empty AV1 item (Debian's libheif; not reachable with the
// default policy, which refuses AVIF before decoding).
extern "C" const char* __lsan_default_suppressions() { return "leak:libdav1d.so\n"; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  mediastore::ValidationPolicy policy;
  policy.max_pixels = 1u << 22;  // 4 MP
  policy.photo_mime_types.push_back("image/bmp");
  policy.photo_mime_types.push_back("image/avif");
  mediastore::RefusalReason reason;
  auto info = mediastore::validate_media(in, "fuzz.jpg", mediastore::MediaKind::photo, policy, &reason);
  if (info.ok() != (reason == mediastore::RefusalReason::none)) __builtin_trap();
  if (!info.ok() && info.status().code() != mediastore::refusal_reason_code(reason)) __builtin_trap();
  if (info.ok() && mediastore::media_type_is_image(info->type)) {
    std::vector<mediastore::ThumbnailSpec> specs{{"s", 32, 32, mediastore::FitMode::inside, 75, false},
                                                 {"c", 16, 24, mediastore::FitMode::cover, 75, true}};
    auto thumbs = mediastore::make_thumbnails(in, specs, policy.max_pixels);
    if (thumbs.ok())
      for (const auto& t : *thumbs)
        if (t.width < 1 || t.height < 1 || t.width > 32 || t.height > 32) __builtin_trap();
  }
  return 0;
}
