#include <fmt/format.h>

#include "media/decode.hpp"

namespace mediastore::detail {

Status check_pixel_limit(int width, int height, std::uint64_t max_pixels) {
  if (width <= 0 || height <= 0) return Status::CorruptMedia(fmt::format("invalid image size {}x{}", width, height));
  std::uint64_t pixels = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
  if (pixels > max_pixels) {
    return Status::TooLarge(fmt::format("{}x{} = {} MP exceeds the {} MP limit", width, height,
                                        (pixels + 500000) / 1000000, max_pixels / 1000000));
  }
  return Status::Ok();
}

void composite_rgba_on_white(const std::uint8_t* rgba, std::uint8_t* rgb, std::size_t pixels) {
  for (std::size_t i = 0; i < pixels; ++i, rgba += 4, rgb += 3) {
    unsigned a = rgba[3], inv = 255 - a;
    for (int c = 0; c < 3; ++c) rgb[c] = static_cast<std::uint8_t>((rgba[c] * a + 255 * inv + 127) / 255);
  }
}

Result<std::pair<int, int>> probe_image(MediaType type, const Input& in) {
  switch (type) {
    case MediaType::jpeg: return probe_jpeg(in);
    case MediaType::png:
    case MediaType::gif:
    case MediaType::bmp: return probe_stb(in);
    case MediaType::webp: return probe_webp(in);
    case MediaType::heic:
    case MediaType::heif:
    case MediaType::avif: return probe_heif(in);
    default: return Status::UnsupportedMedia(std::string(media_type_description(type)) + " is not a decodable image");
  }
}

Result<DecodedImage> decode_image(MediaType type, const Input& in, const DecodeOptions& opt) {
  switch (type) {
    case MediaType::jpeg: return decode_jpeg(in, opt);
    case MediaType::png:
    case MediaType::gif:
    case MediaType::bmp: return decode_stb(in, opt);
    case MediaType::webp: return decode_webp(in, opt);
    case MediaType::heic:
    case MediaType::heif:
    case MediaType::avif: return decode_heif(in, opt);
    default: return Status::UnsupportedMedia(std::string(media_type_description(type)) + " is not a decodable image");
  }
}

}  // namespace mediastore::detail
