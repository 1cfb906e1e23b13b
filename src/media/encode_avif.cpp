// AVIF thumbnails through libheif's AV1 encoder (libaom on Debian 12).
#include <libheif/heif.h>

#include <fmt/format.h>

#include <cstring>
#include <exception>
#include <string_view>

#include "core/codecs.hpp"
#include "media/encode.hpp"
#include "media/heif_ptr.hpp"

namespace mediastore::detail {
namespace {

// aom's speed 0..9: 6 is its default; 8 costs about 5 % in size at a
// fraction of the time, which matters for many small images.
constexpr int kAomSpeed = 8;

heif_error write_to_string(heif_context*, const void* data, size_t size, void* userdata) {
  static_cast<std::string*>(userdata)->append(static_cast<const char*>(data), size);
  return heif_error{heif_error_Ok, heif_suberror_Unspecified, "ok"};
}

Status failed(std::string_view what, const heif_error& e) {
  return Status::Internal(fmt::format("AVIF encoding failed: {}: {}", what, e.message ? e.message : "unknown error"));
}

Result<std::string> encode(const Raster& image, int quality) {
  HeifPtr<heif_context> ctx(heif_context_alloc());
  if (!ctx) return Status::Internal("AVIF encoding failed: out of memory");
  heif_encoder* raw_enc = nullptr;
  heif_error e = heif_context_get_encoder_for_format(ctx.get(), heif_compression_AV1, &raw_enc);
  if (e.code != heif_error_Ok)
    return Status::UnsupportedMedia(fmt::format("AVIF thumbnails need libheif's AV1 encoder: {}", e.message));
  HeifPtr<heif_encoder> enc(raw_enc);
  if ((e = heif_encoder_set_lossy_quality(enc.get(), quality)).code != heif_error_Ok) return failed("quality", e);
  // Plugin parameters: not every AV1 plugin knows them, so a refusal is not
  // an error (the plugin's default stays).
  (void)heif_encoder_set_parameter_integer(enc.get(), "speed", kAomSpeed);
  (void)heif_encoder_set_parameter_integer(enc.get(), "threads", 1);
  (void)heif_encoder_set_parameter_string(enc.get(), "chroma", "420");

  heif_image* raw_img = nullptr;
  if ((e = heif_image_create(image.width, image.height, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &raw_img))
          .code != heif_error_Ok)
    return failed("image", e);
  HeifPtr<heif_image> img(raw_img);
  if ((e = heif_image_add_plane(img.get(), heif_channel_interleaved, image.width, image.height, 8)).code !=
      heif_error_Ok)
    return failed("plane", e);
  int stride = 0;
  std::uint8_t* plane = heif_image_get_plane(img.get(), heif_channel_interleaved, &stride);
  if (!plane) return Status::Internal("AVIF encoding failed: no image plane");
  const std::size_t line = static_cast<std::size_t>(image.width) * 3;
  for (int y = 0; y < image.height; ++y)
    std::memcpy(plane + static_cast<std::size_t>(y) * stride, &image.rgb[static_cast<std::size_t>(y) * line], line);

  // sRGB primaries and transfer; BT.601 full-range YCbCr, as JPEG uses.
  HeifPtr<heif_color_profile_nclx> nclx(heif_nclx_color_profile_alloc());
  if (!nclx) return Status::Internal("AVIF encoding failed: out of memory");
  (void)heif_nclx_color_profile_set_color_primaries(nclx.get(), heif_color_primaries_ITU_R_BT_709_5);
  (void)heif_nclx_color_profile_set_transfer_characteristics(nclx.get(), heif_transfer_characteristic_IEC_61966_2_1);
  (void)heif_nclx_color_profile_set_matrix_coefficients(nclx.get(), heif_matrix_coefficients_ITU_R_BT_601_6);
  nclx->full_range_flag = 1;
  HeifPtr<heif_encoding_options> options(heif_encoding_options_alloc());
  if (!options) return Status::Internal("AVIF encoding failed: out of memory");
  options->save_alpha_channel = 0;
  options->output_nclx_profile = nclx.get();
  options->macOS_compatibility_workaround_no_nclx_profile = 0;  // else no nclx box is written

  heif_image_handle* raw_handle = nullptr;
  if ((e = heif_context_encode_image(ctx.get(), img.get(), enc.get(), options.get(), &raw_handle)).code !=
      heif_error_Ok)
    return failed("encode", e);
  HeifPtr<heif_image_handle> handle(raw_handle);
  std::string out;
  heif_writer writer{};
  writer.writer_api_version = 1;
  writer.write = write_to_string;
  if ((e = heif_context_write(ctx.get(), &writer, &out)).code != heif_error_Ok) return failed("write", e);
  return out;
}

}  // namespace

Result<std::string> encode_avif(const Raster& image, int quality) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    return Status::InvalidArgument("encode_avif: empty or inconsistent raster");
  if (quality < 1 || quality > 100) return Status::InvalidArgument("AVIF quality must be 1..100");
  if (!avif_encoder_available())
    return Status::UnsupportedMedia(
        "AVIF thumbnails need libheif's AV1 encoder, which this libheif lacks (Debian 12's libheif1 has libaom)");
  // libheif is C++ inside; nothing may escape as an exception.
  try {
    return encode(image, quality);
  } catch (const std::bad_alloc&) {
    return Status::Internal("AVIF encoding failed: out of memory");
  } catch (const std::exception& ex) {
    return Status::Internal(std::string("AVIF encoding failed: ") + ex.what());
  }
}

}  // namespace mediastore::detail
