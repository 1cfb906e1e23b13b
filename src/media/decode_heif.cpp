// HEIC / HEIF / AVIF through libheif (primary image; libheif applies the
// container's rotation and mirroring, so EXIF orientation is not applied again).
#include <libheif/heif.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "media/decode.hpp"

namespace mediastore::detail {
namespace {

void init_once() {
  static std::once_flag once;
  std::call_once(once, [] { heif_init(nullptr); });
}

struct CtxDeleter {
  void operator()(heif_context* c) const { heif_context_free(c); }
};
struct HandleDeleter {
  void operator()(heif_image_handle* h) const { heif_image_handle_release(h); }
};
struct ImageDeleter {
  void operator()(heif_image* i) const { heif_image_release(i); }
};

struct Opened {
  std::unique_ptr<heif_context, CtxDeleter> ctx;
  std::unique_ptr<heif_image_handle, HandleDeleter> handle;
};

Status heif_status(const heif_error& e, const char* what) {
  if (e.code == heif_error_Ok) return Status::Ok();
  std::string msg = std::string(what) + ": " + (e.message ? e.message : "libheif error");
  if (e.code == heif_error_Unsupported_feature || e.code == heif_error_Unsupported_filetype)
    return Status::UnsupportedMedia(msg);
  if (e.code == heif_error_Memory_allocation_error) return Status::TooLarge(msg);
  return Status::CorruptMedia(msg);
}

Result<Opened> open(const Input& in) {
  init_once();
  Opened o;
  o.ctx.reset(heif_context_alloc());
  if (!o.ctx) return Status::Internal("heif_context_alloc failed");
  heif_error e = in.is_file() ? heif_context_read_from_file(o.ctx.get(), in.path().c_str(), nullptr)
                              : heif_context_read_from_memory_without_copy(o.ctx.get(), in.memory().data(),
                                                                           in.memory().size(), nullptr);
  MS_RETURN_IF_ERROR(heif_status(e, "invalid HEIF container"));
  heif_image_handle* h = nullptr;
  MS_RETURN_IF_ERROR(heif_status(heif_context_get_primary_image_handle(o.ctx.get(), &h), "no primary image"));
  o.handle.reset(h);
  return o;
}

}  // namespace

Result<std::pair<int, int>> probe_heif(const Input& in) {
  auto o = open(in);
  if (!o) return o.status();
  return std::make_pair(heif_image_handle_get_width(o->handle.get()), heif_image_handle_get_height(o->handle.get()));
}

Result<DecodedImage> decode_heif(const Input& in, const DecodeOptions& opt) {
  auto o = open(in);
  if (!o) return o.status();
  heif_image_handle* handle = o->handle.get();
  const int w = heif_image_handle_get_width(handle), h = heif_image_handle_get_height(handle);
  MS_RETURN_IF_ERROR(check_pixel_limit(w, h, opt.max_pixels));
  DecodedImage img;
  img.full_width = w;
  img.full_height = h;
  img.apply_orientation = false;
  img.end_offset = in.size();

  heif_item_id exif_id = 0;
  if (heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &exif_id, 1) == 1) {
    std::size_t n = heif_image_handle_get_metadata_size(handle, exif_id);
    if (n > 0 && n <= (4u << 20)) {
      std::string block(n, '\0');
      if (heif_image_handle_get_metadata(handle, exif_id, block.data()).code == heif_error_Ok)
        img.exif = parse_exif_payload(block);
    }
  }

  const bool alpha = heif_image_handle_has_alpha_channel(handle) != 0;
  heif_image* raw = nullptr;
  MS_RETURN_IF_ERROR(
      heif_status(heif_decode_image(handle, &raw, heif_colorspace_RGB,
                                    alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, nullptr),
                  "cannot decode HEIF image"));
  std::unique_ptr<heif_image, ImageDeleter> image(raw);
  int stride = 0;
  const std::uint8_t* plane = heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
  const int iw = heif_image_get_width(image.get(), heif_channel_interleaved);
  const int ih = heif_image_get_height(image.get(), heif_channel_interleaved);
  if (!plane || iw <= 0 || ih <= 0) return Status::CorruptMedia("HEIF image without pixels");
  MS_RETURN_IF_ERROR(check_pixel_limit(iw, ih, opt.max_pixels));
  img.raster.width = iw;
  img.raster.height = ih;
  if (opt.validate_only) return img;
  img.raster.rgb.resize(static_cast<std::size_t>(iw) * ih * 3);
  for (int y = 0; y < ih; ++y) {
    const std::uint8_t* src = plane + static_cast<std::size_t>(y) * stride;
    std::uint8_t* dst = img.raster.rgb.data() + static_cast<std::size_t>(y) * iw * 3;
    if (alpha)
      composite_rgba_on_white(src, dst, static_cast<std::size_t>(iw));
    else
      std::memcpy(dst, src, static_cast<std::size_t>(iw) * 3);
  }
  return img;
}

}  // namespace mediastore::detail
