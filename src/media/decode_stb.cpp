// PNG, GIF (first frame) and BMP through stb_image, compiled here privately
// (static functions, only those three formats). Dimensions are read with
// stbi_info and checked against the pixel limit before any decoding.
#include <cstring>
#include <memory>
#include <string>

#include <fmt/format.h>

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

// The ICC profile of an iCCP chunk (name, NUL, method 0, zlib data), or
// empty. Inflated into a fixed buffer (stb_image's zlib stops at its end), so
// a small chunk cannot expand into a large allocation; untouched pages of the
// buffer are never faulted in.
std::string png_icc(const std::string& chunk) {
  constexpr int kMaxProfile = 4 << 20;
  const std::size_t nul = chunk.find('\0');
  if (nul == std::string::npos || nul == 0 || nul > 79 || nul + 2 > chunk.size() || chunk[nul + 1] != 0) return "";
  std::unique_ptr<char[]> buf(new char[kMaxProfile]);
  const int n =
      stbi_zlib_decode_buffer(buf.get(), kMaxProfile, chunk.data() + nul + 2, static_cast<int>(chunk.size() - nul - 2));
  return n > 0 ? std::string(buf.get(), static_cast<std::size_t>(n)) : std::string();
}

// Walks the PNG chunk list (headers only): EXIF from eXIf, the ICC profile
// from iCCP, text chunks for the polyglot check, and where IEND ends. Refuses
// what stb_image handles badly: chunks longer than the file (it allocates
// first) and an empty first IDAT (it would memcpy zero bytes to a null
// buffer, undefined behaviour).
Status scan_png_chunks(const Input& in, DecodedImage& img, bool want_text) {
  std::uint64_t pos = 8;
  bool idat_data = false;
  for (int count = 0; pos + 8 <= in.size(); ++count) {  // a readable chunk header: its end is checked below
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
    if (type == "iCCP" && len <= (1u << 20) && img.icc.empty()) img.icc = png_icc(in.read_string(pos + 8, len));
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

// stb_image reads past the end of a BMP as zero bytes and reports success,
// so a truncated BMP would decode to a partly black image. For the
// uncompressed encodings (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS; stb_image
// decodes no others) the pixel data has a known size: the file must hold it.
Status check_bmp_complete(const Input& in, int w, int h) {
  unsigned char b[34] = {};
  const std::size_t n = in.read_at(0, b, sizeof b);
  if (n < 26 || b[0] != 'B' || b[1] != 'M') return Status::Ok();
  auto le32 = [&b](int i) {
    return std::uint32_t{b[i]} | (std::uint32_t{b[i + 1]} << 8) | (std::uint32_t{b[i + 2]} << 16) |
           (std::uint32_t{b[i + 3]} << 24);
  };
  const std::uint32_t offset = le32(10), dib = le32(14);
  std::uint32_t bpp = 0, compression = 0;
  if (dib == 12) {
    bpp = b[24] | (b[25] << 8);
  } else {
    if (n < 34) return Status::CorruptMedia("invalid BMP data: the file ends inside its header");
    bpp = b[28] | (b[29] << 8);
    compression = le32(30);
  }
  if (compression != 0 && compression != 3 && compression != 6) return Status::Ok();
  if (bpp == 0) return Status::Ok();  // stb_image refuses it itself
  const std::uint64_t stride = (static_cast<std::uint64_t>(w) * bpp + 31) / 32 * 4;
  const std::uint64_t size = in.size();
  // offset + stride * h > size, without overflow.
  if (offset > size || stride == 0 || static_cast<std::uint64_t>(h) > (size - offset) / stride)
    return Status::CorruptMedia(fmt::format(
        "invalid BMP data: truncated, {}x{} at {} bits per pixel needs {} bytes of pixel data after offset {}, "
        "the file is {} bytes",
        w, h, bpp, stride * static_cast<std::uint64_t>(h), offset, size));
  return Status::Ok();
}

// Likewise stb_image decodes a GIF whose first image's data is cut short
// without complaint (the rest of the frame stays black). Walks the blocks up
// to the end of the first image (extensions, descriptor, colour tables, LZW
// sub-blocks) and refuses a file that ends before that image's terminator.
// Walks a GIF's blocks without decoding them. Always: the first image's
// data must be complete (stb_image would fill the rest in silently). With
// `all_frames` (strict decoding, for validation): every later frame too, up
// to the trailer, which must be there; `*end` receives the offset after it.
Status check_gif_blocks(const Input& in, bool all_frames, std::uint64_t* end) {
  const std::uint64_t size = in.size();
  auto byte_at = [&in](std::uint64_t pos, unsigned& v) {
    unsigned char b = 0;
    if (in.read_at(pos, &b, 1) != 1) return false;
    v = b;
    return true;
  };
  int images = 0;
  auto truncated = [&images]() {
    return Status::CorruptMedia(images == 0 ? std::string("invalid GIF data: truncated inside the first image")
                                            : fmt::format("invalid GIF data: truncated after {} complete frame{}",
                                                          images, images == 1 ? "" : "s"));
  };
  // Sub-blocks: a size byte, that many bytes, ..., a zero size byte.
  auto skip_sub_blocks = [&](std::uint64_t& pos) {
    for (unsigned len = 0;; pos += len) {
      if (!byte_at(pos++, len)) return false;
      if (len == 0) return true;
    }
  };
  unsigned flags = 0;
  if (!byte_at(10, flags)) return truncated();
  std::uint64_t pos = 13;
  if (flags & 0x80) pos += 3ull << ((flags & 7) + 1);  // global colour table
  for (int blocks = 0; blocks < 1000000; ++blocks) {
    unsigned kind = 0;
    if (!byte_at(pos++, kind)) return truncated();
    if (kind == 0x21) {  // extension: label, sub-blocks
      ++pos;
      if (!skip_sub_blocks(pos)) return truncated();
    } else if (kind == 0x2C) {  // image descriptor (9 more bytes), table, LZW code size, data
      unsigned local = 0;
      if (!byte_at(pos + 8, local)) return truncated();
      pos += 9;
      if (local & 0x80) pos += 3ull << ((local & 7) + 1);
      ++pos;  // LZW minimum code size
      if (pos > size || !skip_sub_blocks(pos)) return truncated();
      ++images;
      if (!all_frames) return Status::Ok();
    } else if (kind == 0x3B) {  // trailer
      *end = pos;
      return Status::Ok();
    } else {
      if (!all_frames || images == 0) return Status::Ok();  // garbage before any image: stb_image decides
      return Status::CorruptMedia(
          fmt::format("invalid GIF data: unknown block 0x{:02X} at offset {} after {} frames", kind, pos - 1, images));
    }
  }
  return Status::CorruptMedia("invalid GIF data: more than 1000000 blocks");
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
  if (std::memcmp(head, "\x89PNG", 4) == 0) MS_RETURN_IF_ERROR(scan_png_chunks(in, img, opt.strict));
  if (head[0] == 'B' && head[1] == 'M') MS_RETURN_IF_ERROR(check_bmp_complete(in, w, h));
  if (std::memcmp(head, "GIF", 3) == 0) MS_RETURN_IF_ERROR(check_gif_blocks(in, opt.strict, &img.end_offset));

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
  if (opt.keep_pixels) {
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
