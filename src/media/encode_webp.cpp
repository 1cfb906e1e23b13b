// WebP thumbnails with libwebp's advanced API (the simple WebPEncodeRGB
// hides the method and cannot report why it failed).
#include <webp/encode.h>

#include <fmt/format.h>

#include "media/encode.hpp"

namespace mediastore::detail {
namespace {

struct PictureGuard {
  WebPPicture* pic;
  ~PictureGuard() { WebPPictureFree(pic); }
};

}  // namespace

Result<std::string> encode_webp(const Raster& image, int quality) {
  if (image.width <= 0 || image.height <= 0 || image.width > WEBP_MAX_DIMENSION || image.height > WEBP_MAX_DIMENSION ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    return Status::InvalidArgument("encode_webp: empty, oversized or inconsistent raster");
  if (quality < 1 || quality > 100) return Status::InvalidArgument("WebP quality must be 1..100");
  WebPConfig config;
  if (!WebPConfigPreset(&config, WEBP_PRESET_PHOTO, static_cast<float>(quality)))
    return Status::Internal("libwebp version mismatch");
  config.method = 4;
  config.thread_level = 0;
  if (!WebPValidateConfig(&config)) return Status::Internal("libwebp refused its own configuration");

  WebPPicture pic;
  if (!WebPPictureInit(&pic)) return Status::Internal("libwebp version mismatch");
  pic.width = image.width;
  pic.height = image.height;
  pic.use_argb = 0;  // encode from YUV 4:2:0 directly
  WebPMemoryWriter writer;
  WebPMemoryWriterInit(&writer);
  pic.writer = WebPMemoryWrite;
  pic.custom_ptr = &writer;
  PictureGuard guard{&pic};
  if (!WebPPictureImportRGB(&pic, image.rgb.data(), image.width * 3)) {
    WebPMemoryWriterClear(&writer);
    return Status::Internal("WebP encoding failed: out of memory importing the picture");
  }
  const bool ok = WebPEncode(&config, &pic) != 0;
  std::string out;
  if (ok) out.assign(reinterpret_cast<const char*>(writer.mem), writer.size);
  WebPMemoryWriterClear(&writer);
  if (!ok)
    return Status::Internal(fmt::format("WebP encoding failed (libwebp error {})", static_cast<int>(pic.error_code)));
  return out;
}

}  // namespace mediastore::detail
