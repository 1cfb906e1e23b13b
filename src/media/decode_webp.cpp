// WebP through libwebp (still images and the first frame of animations);
// EXIF from the container's EXIF chunk, the ICC profile from its ICCP chunk.
#include <webp/decode.h>
#include <webp/demux.h>

#include <cstring>
#include <memory>

#include "media/decode.hpp"

namespace mediastore::detail {
namespace {

struct DemuxDeleter {
  void operator()(WebPDemuxer* d) const { WebPDemuxDelete(d); }
};
using DemuxPtr = std::unique_ptr<WebPDemuxer, DemuxDeleter>;

// Decodes one bitstream into RGB (alpha composited onto white).
Status decode_bitstream(const std::uint8_t* data, std::size_t size, int w, int h, bool alpha, std::uint8_t* rgb) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return Status::Internal("libwebp version mismatch");
  std::vector<std::uint8_t> rgba;
  config.output.colorspace = alpha ? MODE_RGBA : MODE_RGB;
  config.output.is_external_memory = 1;
  if (alpha) {
    rgba.resize(static_cast<std::size_t>(w) * h * 4);
    config.output.u.RGBA.rgba = rgba.data();
    config.output.u.RGBA.stride = w * 4;
    config.output.u.RGBA.size = rgba.size();
  } else {
    config.output.u.RGBA.rgba = rgb;
    config.output.u.RGBA.stride = w * 3;
    config.output.u.RGBA.size = static_cast<std::size_t>(w) * h * 3;
  }
  VP8StatusCode st = WebPDecode(data, size, &config);
  WebPFreeDecBuffer(&config.output);
  if (st != VP8_STATUS_OK) return Status::CorruptMedia("invalid WebP data (libwebp status " + std::to_string(st) + ")");
  if (config.output.width != w || config.output.height != h) return Status::CorruptMedia("WebP frame size mismatch");
  if (alpha) composite_rgba_on_white(rgba.data(), rgb, static_cast<std::size_t>(w) * h);
  return Status::Ok();
}

}  // namespace

Result<std::pair<int, int>> probe_webp(const Input& in) {
  std::string head = in.read_string(0, 64);
  int w = 0, h = 0;
  if (!WebPGetInfo(reinterpret_cast<const std::uint8_t*>(head.data()), head.size(), &w, &h))
    return Status::CorruptMedia("invalid WebP header");
  return std::make_pair(w, h);
}

Result<DecodedImage> decode_webp(const Input& in, const DecodeOptions& opt) {
  std::string owned;
  std::string_view bytes = in.memory();
  if (in.is_file()) {
    auto all = in.read_all();
    if (!all) return all.status();
    owned = std::move(*all);
    bytes = owned;
  }
  WebPData data{reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
  WebPDemuxState state;
  DemuxPtr demux(WebPDemuxPartial(&data, &state));
  if (!demux || state != WEBP_DEMUX_DONE) return Status::CorruptMedia("invalid or truncated WebP container");
  int w = static_cast<int>(WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_WIDTH));
  int h = static_cast<int>(WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_HEIGHT));
  MS_RETURN_IF_ERROR(check_pixel_limit(w, h, opt.max_pixels));
  DecodedImage img;
  img.full_width = w;
  img.full_height = h;
  img.end_offset = bytes.size();
  WebPChunkIterator chunk;
  if (WebPDemuxGetChunk(demux.get(), "EXIF", 1, &chunk)) {
    img.exif = parse_exif_payload(std::string_view(reinterpret_cast<const char*>(chunk.chunk.bytes), chunk.chunk.size));
    WebPDemuxReleaseChunkIterator(&chunk);
  }
  if (WebPDemuxGetChunk(demux.get(), "ICCP", 1, &chunk)) {
    img.icc.assign(reinterpret_cast<const char*>(chunk.chunk.bytes), chunk.chunk.size);
    WebPDemuxReleaseChunkIterator(&chunk);
  }
  if (opt.strict && WebPDemuxGetChunk(demux.get(), "XMP ", 1, &chunk)) {
    img.metadata_text.assign(reinterpret_cast<const char*>(chunk.chunk.bytes), chunk.chunk.size);
    WebPDemuxReleaseChunkIterator(&chunk);
  }
  WebPIterator frame;
  if (!WebPDemuxGetFrame(demux.get(), 1, &frame)) return Status::CorruptMedia("WebP without a frame");
  const int fw = frame.width, fh = frame.height, fx = frame.x_offset, fy = frame.y_offset;
  const bool alpha = frame.has_alpha != 0;
  const std::uint8_t* fdata = frame.fragment.bytes;
  std::size_t fsize = frame.fragment.size;
  WebPDemuxReleaseIterator(&frame);
  if (fw <= 0 || fh <= 0 || fx < 0 || fy < 0 || fx + fw > w || fy + fh > h)
    return Status::CorruptMedia("WebP frame outside the canvas");

  PixelBuffer frame_rgb(static_cast<std::size_t>(fw) * fh * 3);  // written whole by a successful decode
  MS_RETURN_IF_ERROR(decode_bitstream(fdata, fsize, fw, fh, alpha, frame_rgb.data()));
  img.raster.width = w;
  img.raster.height = h;
  if (!opt.keep_pixels) return img;
  if (fw == w && fh == h) {
    img.raster.rgb = std::move(frame_rgb);
  } else {  // the first frame of an animation covers part of a white canvas
    img.raster.rgb.assign(static_cast<std::size_t>(w) * h * 3, 255);
    for (int y = 0; y < fh; ++y)
      std::memcpy(img.raster.rgb.data() + (static_cast<std::size_t>(y + fy) * w + fx) * 3,
                  frame_rgb.data() + static_cast<std::size_t>(y) * fw * 3, static_cast<std::size_t>(fw) * 3);
  }
  return img;
}

}  // namespace mediastore::detail
