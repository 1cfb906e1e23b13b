// PNG, GIF (first frame) and BMP through stb_image, compiled here privately
// (static functions, only those three formats). Dimensions are read with
// stbi_info and checked against the pixel limit before any decoding.
#include <cstring>
#include <string>

#include "media/decode.hpp"

#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#pragma clang diagnostic ignored "-Wsign-compare"
#pragma clang diagnostic ignored "-Wimplicit-fallthrough"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_GIF
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace mediastore::detail {
namespace {

struct Cursor {
  const Input* in;
  std::uint64_t pos = 0;
};

int cb_read(void* user, char* data, int size) {
  auto* c = static_cast<Cursor*>(user);
  std::size_t n = c->in->read_at(c->pos, data, static_cast<std::size_t>(size));
  c->pos += n;
  return static_cast<int>(n);
}
void cb_skip(void* user, int n) {
  auto* c = static_cast<Cursor*>(user);
  if (n < 0 && static_cast<std::uint64_t>(-static_cast<std::int64_t>(n)) > c->pos)
    c->pos = 0;
  else
    c->pos += static_cast<std::uint64_t>(static_cast<std::int64_t>(n));
}
int cb_eof(void* user) {
  auto* c = static_cast<Cursor*>(user);
  return c->pos >= c->in->size() ? 1 : 0;
}
const stbi_io_callbacks kCallbacks = {cb_read, cb_skip, cb_eof};

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Walks the PNG chunk list (headers only): EXIF from eXIf, text chunks for
// the polyglot check, and where IEND ends. Refuses what stb_image handles
// badly: chunks longer than the file (it allocates first) and an empty first
// IDAT (it would memcpy zero bytes to a null buffer, undefined behaviour).
Status scan_png_chunks(const Input& in, DecodedImage& img, bool want_text) {
  std::uint64_t pos = 8;
  bool idat_data = false;
  for (int count = 0; pos + 12 <= in.size(); ++count) {
    if (count == 100000) return Status::CorruptMedia("invalid PNG data: more than 100000 chunks");
    unsigned char hdr[8];
    if (in.read_at(pos, hdr, 8) != 8) return Status::Ok();
    std::uint32_t len = be32(hdr);
    if (len > 0x7fffffffu) return Status::CorruptMedia("invalid PNG data: chunk length over 2^31");
    std::string_view type(reinterpret_cast<const char*>(hdr + 4), 4);
    std::uint64_t next = pos + 12 + len;
    // stb_image sizes its IDAT buffer from the declared length before reading:
    // a few bytes claiming a 2 GB chunk must not get that far.
    if (next > in.size()) return Status::CorruptMedia("invalid PNG data: a chunk runs past the end of the file");
    if (type == "eXIf" && len <= (1u << 20)) img.exif = parse_exif_tiff(in.read_string(pos + 8, len));
    if (want_text && (type == "tEXt" || type == "iTXt") && len <= (1u << 20))
      img.metadata_text += in.read_string(pos + 8, len);
    if (type == "IDAT") {
      if (len == 0 && !idat_data) return Status::CorruptMedia("invalid PNG data: empty first IDAT chunk");
      idat_data = true;
    }
    if (type == "IEND") {
      img.end_offset = next;
      return Status::Ok();
    }
    pos = next;
  }
  return Status::Ok();
}

// The size as the header states it, read directly: stb_image refuses some
// huge sizes with a generic error, and the pixel limit must speak first.
bool header_size(const Input& in, int& w, int& h) {
  unsigned char b[26] = {};
  std::size_t n = in.read_at(0, b, sizeof b);
  std::int64_t W = -1, H = -1;
  if (n >= 24 && std::memcmp(b, "\x89PNG", 4) == 0 && std::memcmp(b + 12, "IHDR", 4) == 0) {
    W = be32(b + 16);
    H = be32(b + 20);
  } else if (n >= 10 && std::memcmp(b, "GIF", 3) == 0) {
    W = b[6] | (b[7] << 8);
    H = b[8] | (b[9] << 8);
  } else if (n >= 26 && b[0] == 'B' && b[1] == 'M') {
    std::uint32_t dib = b[14] | (b[15] << 8) | (b[16] << 16) | (std::uint32_t{b[17]} << 24);
    if (dib == 12) {
      W = b[18] | (b[19] << 8);
      H = b[20] | (b[21] << 8);
    } else {
      W = static_cast<std::int32_t>(b[18] | (b[19] << 8) | (b[20] << 16) | (std::uint32_t{b[21]} << 24));
      H = static_cast<std::int32_t>(b[22] | (b[23] << 8) | (b[24] << 16) | (std::uint32_t{b[25]} << 24));
      if (H < 0) H = -H;  // top-down rows
    }
  }
  if (W <= 0 || H <= 0 || W > 0x7fffffff || H > 0x7fffffff) return false;
  w = static_cast<int>(W);
  h = static_cast<int>(H);
  return true;
}

}  // namespace

Result<std::pair<int, int>> probe_stb(const Input& in) {
  int w = 0, h = 0, comp = 0;
  if (header_size(in, w, h)) return std::make_pair(w, h);
  Cursor c{&in};
  if (!stbi_info_from_callbacks(&kCallbacks, &c, &w, &h, &comp))
    return Status::CorruptMedia(std::string("invalid image header: ") + stbi_failure_reason());
  return std::make_pair(w, h);
}

Result<DecodedImage> decode_stb(const Input& in, const DecodeOptions& opt) {
  Cursor c{&in};
  int w = 0, h = 0, comp = 0;
  if (header_size(in, w, h)) MS_RETURN_IF_ERROR(check_pixel_limit(w, h, opt.max_pixels));
  if (!stbi_info_from_callbacks(&kCallbacks, &c, &w, &h, &comp))
    return Status::CorruptMedia(std::string("invalid image header: ") + stbi_failure_reason());
  MS_RETURN_IF_ERROR(check_pixel_limit(w, h, opt.max_pixels));
  DecodedImage img;
  img.full_width = w;
  img.full_height = h;
  unsigned char head[8] = {};
  in.read_at(0, head, 8);
  if (std::memcmp(head, "\x89PNG", 4) == 0) MS_RETURN_IF_ERROR(scan_png_chunks(in, img, opt.validate_only));

  const bool alpha = comp == 2 || comp == 4;
  c.pos = 0;
  int dw = 0, dh = 0, dc = 0;
  // GIF: stbi_load decodes only the first frame of an animation.
  unsigned char* px = stbi_load_from_callbacks(&kCallbacks, &c, &dw, &dh, &dc, alpha ? 4 : 3);
  if (!px) return Status::CorruptMedia(std::string("invalid image data: ") + stbi_failure_reason());
  if (dw != w || dh != h) {
    stbi_image_free(px);
    return Status::CorruptMedia("image size changed while decoding");
  }
  img.raster.width = w;
  img.raster.height = h;
  if (!opt.validate_only) {
    std::size_t n = static_cast<std::size_t>(w) * h;
    img.raster.rgb.resize(n * 3);
    if (alpha)
      composite_rgba_on_white(px, img.raster.rgb.data(), n);
    else
      std::memcpy(img.raster.rgb.data(), px, n * 3);
  }
  stbi_image_free(px);
  return img;
}

}  // namespace mediastore::detail
