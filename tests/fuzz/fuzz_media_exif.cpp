// EXIF parsing (TIFF, APP1 and HEIF forms), GPS clearing, lossless JPEG
// metadata stripping and the PNG/WebP location strips on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "media/exif.hpp"
#include "media/strip_location.hpp"
#include "mediastore/media.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace mediastore::detail;
  ExifData a = parse_exif_tiff(in);
  // Only crashes matter to the fuzzer: results are dropped.
  (void)parse_exif_payload(in);
  (void)parse_exif_tiff(find_jpeg_exif(in));
  std::string copy(in);
  if (clear_exif_gps(copy)) {
    // Clearing keeps the length and leaves no GPS behind.
    if (copy.size() != size) __builtin_trap();
    if (parse_exif_tiff(copy).has_gps) __builtin_trap();
  }
  if (a.orientation < 1 || a.orientation > 8) __builtin_trap();
  for (auto mode : {mediastore::StripMode::gps, mediastore::StripMode::all}) {
    auto stripped = mediastore::strip_jpeg_metadata(in, mode);
    if (!stripped.ok()) continue;
    if (stripped->size() > size) __builtin_trap();
    // No GPS survives stripping.
    if (parse_exif_tiff(find_jpeg_exif(*stripped)).has_gps) __builtin_trap();
  }
  (void)xmp_has_location(in);
  (void)iptc_has_location(in);
  // The PNG and WebP rewrites: no crash, and what they write is no larger
  // than the input plus nothing (chunks are only edited in place or dropped).
  if (auto png = strip_png_location(in); png.ok() && png->size() > size) __builtin_trap();
  if (auto webp = strip_webp_location(in); webp.ok() && webp->size() > size) __builtin_trap();
  return 0;
}
