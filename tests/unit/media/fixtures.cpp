#include "fixtures.hpp"

// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>
#include <libheif/heif.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "media/encode_jpeg.hpp"

namespace fixtures {
namespace {

void put16le(std::string& s, unsigned v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put32le(std::string& s, std::uint32_t v) {
  put16le(s, v & 0xffff);
  put16le(s, v >> 16);
}
void put16be(std::string& s, unsigned v) {
  s += static_cast<char>((v >> 8) & 0xff);
  s += static_cast<char>(v & 0xff);
}
void put32be(std::string& s, std::uint32_t v) {
  put16be(s, v >> 16);
  put16be(s, v & 0xffff);
}

std::uint32_t crc32(const std::string& data) {
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

struct Adler {
  std::uint32_t a = 1, b = 0;
  void add(unsigned char c) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  void add_zeros(std::uint64_t n) {
    // a is unchanged by zeros; b grows by a each byte.
    b = static_cast<std::uint32_t>((b + (n % 65521) * a) % 65521);
  }
  std::uint32_t value() const { return (b << 16) | a; }
};

void chunk(std::string& out, const char* type, const std::string& data) {
  put32be(out, static_cast<std::uint32_t>(data.size()));
  std::string td = std::string(type, 4) + data;
  out += td;
  put32be(out, crc32(td));
}

std::string ihdr(int w, int h, int depth, int color_type) {
  std::string d;
  put32be(d, static_cast<std::uint32_t>(w));
  put32be(d, static_cast<std::uint32_t>(h));
  d += static_cast<char>(depth);
  d += static_cast<char>(color_type);
  d += std::string(3, '\0');  // compression, filter, interlace
  return d;
}

// A zlib stream of stored blocks.
std::string zlib_stored(const std::string& raw) {
  std::string z = "\x78\x01";
  Adler ad;
  std::size_t pos = 0;
  do {
    std::size_t n = std::min<std::size_t>(65535, raw.size() - pos);
    bool last = pos + n == raw.size();
    z += static_cast<char>(last ? 1 : 0);
    put16le(z, static_cast<unsigned>(n));
    put16le(z, static_cast<unsigned>(~n & 0xffff));
    z.append(raw, pos, n);
    for (std::size_t i = pos; i < pos + n; ++i) ad.add(static_cast<unsigned char>(raw[i]));
    pos += n;
  } while (pos < raw.size());
  put32be(z, ad.value());
  return z;
}

struct BitWriter {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  void lsb(std::uint32_t v, int n) {  // extra bits and headers: LSB first
    for (int i = 0; i < n; ++i) bit((v >> i) & 1);
  }
  void huff(std::uint32_t code, int n) {  // Huffman codes: MSB first
    for (int i = n - 1; i >= 0; --i) bit((code >> i) & 1);
  }
  void bit(std::uint32_t b) {
    acc |= b << bits;
    if (++bits == 8) {
      out += static_cast<char>(acc);
      acc = 0;
      bits = 0;
    }
  }
  void flush() {
    if (bits) out += static_cast<char>(acc);
    acc = 0;
    bits = 0;
  }
};

Raster make(int w, int h) {
  Raster r;
  r.width = w;
  r.height = h;
  r.rgb.assign(static_cast<std::size_t>(w) * h * 3, 0);
  return r;
}

void set(Raster& r, int x, int y, Rgb c) {
  auto* p = &r.rgb[(static_cast<std::size_t>(y) * r.width + x) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

struct JpegErr {
  jpeg_error_mgr pub;
};
[[noreturn]] void jpeg_fail(j_common_ptr) { std::abort(); }

std::string encode_raw(int w, int h, int comps, J_COLOR_SPACE cs, const std::vector<std::uint8_t>& px) {
  jpeg_compress_struct c;
  JpegErr err;
  c.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = jpeg_fail;
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = comps;
  c.in_color_space = cs;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(px.data() + static_cast<std::size_t>(c.next_scanline) * w * comps);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  std::free(buf);
  return out;
}

}  // namespace

Raster solid(int w, int h, Rgb c) {
  Raster r = make(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) set(r, x, y, c);
  return r;
}

Raster quadrants(int w, int h) {
  Raster r = make(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      bool right = x >= w / 2, bottom = y >= h / 2;
      Rgb c = !bottom ? (!right ? Rgb{255, 0, 0} : Rgb{0, 255, 0}) : (!right ? Rgb{0, 0, 255} : Rgb{255, 255, 255});
      set(r, x, y, c);
    }
  return r;
}

Raster pattern(int w, int h) {
  Raster r = make(w, h);
  std::uint32_t seed = 12345;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      seed = seed * 1103515245u + 12345u;
      int noise = static_cast<int>((seed >> 16) & 15) - 8;
      auto clampc = [](int v) { return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); };
      set(r, x, y,
          Rgb{clampc(x * 255 / w + noise), clampc(y * 255 / h + noise), clampc(((x / 64 + y / 64) % 2) * 160 + noise)});
    }
  return r;
}

Raster smooth(int w, int h) {
  Raster r = make(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double dx = (x - w * 0.3) / w, dy = (y - h * 0.6) / h;
      const double blob = std::exp(-(dx * dx + dy * dy) * 12);
      set(r, x, y,
          Rgb{static_cast<std::uint8_t>(std::lround(40 + 180.0 * x / w)),
              static_cast<std::uint8_t>(std::lround(60 + 150 * blob)),
              static_cast<std::uint8_t>(std::lround(200 - 160.0 * y / h))});
    }
  return r;
}

Rgb pixel(const Raster& r, int x, int y) {
  const auto* p = &r.rgb[(static_cast<std::size_t>(y) * r.width + x) * 3];
  return Rgb{p[0], p[1], p[2]};
}

bool near(Rgb a, Rgb b, int tol) {
  return std::abs(a.r - b.r) <= tol && std::abs(a.g - b.g) <= tol && std::abs(a.b - b.b) <= tol;
}

std::string jpeg(const Raster& r, int quality, bool progressive) {
  auto j = mediastore::detail::encode_jpeg(r, quality, progressive);
  if (!j) throw std::runtime_error(j.status().to_string());
  return *j;
}

std::string jpeg_gray(int w, int h, std::uint8_t value) {
  return encode_raw(w, h, 1, JCS_GRAYSCALE, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h, value));
}

std::string jpeg_cmyk_inverted(int w, int h, std::uint8_t c, std::uint8_t m, std::uint8_t y, std::uint8_t k) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h * 4);
  for (std::size_t i = 0; i < px.size(); i += 4) {
    px[i] = c;
    px[i + 1] = m;
    px[i + 2] = y;
    px[i + 3] = k;
  }
  return encode_raw(w, h, 4, JCS_CMYK, px);
}

std::vector<unsigned> markers(const std::string& j) {
  std::vector<unsigned> m;
  std::size_t p = 2;
  while (p + 4 <= j.size() && static_cast<unsigned char>(j[p]) == 0xFF) {
    unsigned marker = static_cast<unsigned char>(j[p + 1]);
    m.push_back(marker);
    if (marker == 0xDA) break;
    p += 2 + ((static_cast<unsigned char>(j[p + 2]) << 8) | static_cast<unsigned char>(j[p + 3]));
  }
  return m;
}

std::string insert_segment(const std::string& jpeg, unsigned marker, const std::string& payload) {
  std::string seg;
  seg += '\xff';
  seg += static_cast<char>(marker);
  put16be(seg, static_cast<unsigned>(payload.size() + 2));
  seg += payload;
  return jpeg.substr(0, 2) + seg + jpeg.substr(2);
}

std::string exif_tiff(const ExifSpec& spec) {
  // Layout: header(8) | IFD0 at 8 | EXIF IFD | GPS IFD | values.
  const bool be = spec.big_endian;
  auto p16 = [&](std::string& s, unsigned v) { be ? put16be(s, v) : put16le(s, v); };
  auto p32 = [&](std::string& s, std::uint32_t v) { be ? put32be(s, v) : put32le(s, v); };
  struct Entry {
    unsigned tag, type;
    std::uint32_t count, value;
  };
  std::vector<Entry> ifd0;
  if (spec.orientation) ifd0.push_back({0x0112, 3, 1, 0});
  const bool has_exif = !spec.datetime_original.empty() || spec.loop;
  if (has_exif) ifd0.push_back({0x8769, 4, 1, 0});
  if (spec.gps) ifd0.push_back({0x8825, 4, 1, 0});
  const std::uint32_t ifd0_off = 8;
  const std::uint32_t ifd0_size = 2 + 12 * static_cast<std::uint32_t>(ifd0.size()) + 4;
  const std::uint32_t exif_off = ifd0_off + ifd0_size;
  const std::uint32_t exif_size = has_exif ? 2 + 12 + 4 : 0;
  const std::uint32_t gps_off = exif_off + exif_size;
  const std::uint32_t gps_size = spec.gps ? 2 + 12 * 3 + 4 : 0;
  const std::uint32_t values_off = gps_off + gps_size;

  std::string s = be ? std::string("MM\0*", 4) : std::string("II*\0", 4);
  p32(s, ifd0_off);
  p16(s, static_cast<unsigned>(ifd0.size()));
  for (auto& e : ifd0) {
    p16(s, e.tag);
    p16(s, e.type);
    p32(s, e.count);
    if (e.tag == 0x0112) {
      p16(s, static_cast<unsigned>(spec.orientation));
      p16(s, 0);
    } else if (e.tag == 0x8769) {
      p32(s, spec.loop ? ifd0_off : exif_off);
    } else {
      p32(s, gps_off);
    }
  }
  p32(s, spec.loop ? ifd0_off : 0);  // next IFD
  std::string values;
  if (has_exif) {
    p16(s, 1);
    p16(s, 0x9003);
    p16(s, 2);
    std::string dt = spec.datetime_original.empty() ? "2020:01:01 00:00:00" : spec.datetime_original;
    p32(s, static_cast<std::uint32_t>(dt.size() + 1));
    p32(s, values_off);
    p32(s, 0);
    values += dt + '\0';
  }
  if (spec.gps) {
    const std::uint32_t lat_off = values_off + static_cast<std::uint32_t>(values.size());
    p16(s, 3);
    p16(s, 0x0000);  // GPSVersionID BYTE[4]
    p16(s, 1);
    p32(s, 4);
    s += std::string("\x02\x02\x00\x00", 4);
    p16(s, 0x0001);  // GPSLatitudeRef ASCII "N"
    p16(s, 2);
    p32(s, 2);
    s += std::string("N\0\0\0", 4);
    p16(s, 0x0002);  // GPSLatitude RATIONAL[3]
    p16(s, 5);
    p32(s, 3);
    p32(s, lat_off);
    p32(s, 0);
    std::string lat;
    auto pv = [&](std::uint32_t v) { be ? put32be(lat, v) : put32le(lat, v); };
    for (std::uint32_t v : {48u, 1u, 51u, 1u, 30u, 1u}) pv(v);
    values += lat;
  }
  return s + values;
}

std::string exif_app1(const ExifSpec& spec) { return std::string("Exif\0\0", 6) + exif_tiff(spec); }

std::string png(int w, int h, int bit_depth, int color_type, const std::string& raw) {
  const std::size_t row = raw.size() / static_cast<std::size_t>(h);
  std::string filtered;
  for (int y = 0; y < h; ++y) {
    filtered += '\0';
    filtered.append(raw, static_cast<std::size_t>(y) * row, row);
  }
  std::string out = "\x89PNG\r\n\x1a\n";
  chunk(out, "IHDR", ihdr(w, h, bit_depth, color_type));
  chunk(out, "IDAT", zlib_stored(filtered));
  chunk(out, "IEND", "");
  return out;
}

std::string png_rgb(const Raster& r) { return png(r.width, r.height, 8, 2, std::string(r.rgb.begin(), r.rgb.end())); }

std::string png_rgba(int w, int h, Rgb c, std::uint8_t alpha) {
  std::string raw;
  for (int i = 0; i < w * h; ++i) {
    raw += static_cast<char>(c.r);
    raw += static_cast<char>(c.g);
    raw += static_cast<char>(c.b);
    raw += static_cast<char>(alpha);
  }
  return png(w, h, 8, 6, raw);
}

std::string png_header_only(int w, int h) {
  std::string out = "\x89PNG\r\n\x1a\n";
  chunk(out, "IHDR", ihdr(w, h, 8, 2));
  chunk(out, "IDAT", zlib_stored(std::string(16, '\0')));
  chunk(out, "IEND", "");
  return out;
}

std::string png_bomb(int w, int h) {
  const std::uint64_t row = 1 + (static_cast<std::uint64_t>(w) + 7) / 8;
  const std::uint64_t total = row * static_cast<std::uint64_t>(h);
  BitWriter bw;
  bw.lsb(1, 1);  // BFINAL
  bw.lsb(1, 2);  // fixed Huffman
  auto literal0 = [&] { bw.huff(0x30, 8); };
  literal0();
  std::uint64_t done = 1;
  while (total - done >= 258) {
    bw.huff(0xC5, 8);  // length code 285 = 258
    bw.huff(0, 5);     // distance code 0 = 1
    done += 258;
  }
  while (done < total) {
    literal0();
    ++done;
  }
  bw.huff(0, 7);  // end of block
  bw.flush();
  std::string z = "\x78\x01" + bw.out;
  Adler ad;
  ad.add_zeros(total);
  put32be(z, ad.value());
  std::string out = "\x89PNG\r\n\x1a\n";
  chunk(out, "IHDR", ihdr(w, h, 1, 0));
  chunk(out, "IDAT", z);
  chunk(out, "IEND", "");
  return out;
}

std::string gif(int w, int h, int frames) {
  std::string s = "GIF89a";
  put16le(s, static_cast<unsigned>(w));
  put16le(s, static_cast<unsigned>(h));
  s += '\x81';  // global colour table, 4 entries (2^(1+1))
  s += '\0';
  s += '\0';
  s += std::string("\xff\x00\x00\x00\x00\xff\x00\xff\x00\xff\xff\xff", 12);  // red blue green white
  for (int f = 0; f < frames; ++f) {
    s += std::string("\x21\xf9\x04\x00\x02\x00\x00\x00", 8);  // graphic control: delay 2
    s += '\x2c';
    put16le(s, 0);
    put16le(s, 0);
    put16le(s, static_cast<unsigned>(w));
    put16le(s, static_cast<unsigned>(h));
    s += '\0';
    s += '\x08';  // LZW minimum code size 8: clear 256, end 257, 9-bit codes
    BitWriter bw;
    const unsigned colour = f == 0 ? 0 : 1;
    int since_clear = 0;
    bw.lsb(256, 9);
    for (int i = 0; i < w * h; ++i) {
      if (since_clear == 250) {  // keep the code width at 9 bits
        bw.lsb(256, 9);
        since_clear = 0;
      }
      bw.lsb(colour, 9);
      ++since_clear;
    }
    bw.lsb(257, 9);
    bw.flush();
    for (std::size_t p = 0; p < bw.out.size(); p += 255) {
      std::size_t n = std::min<std::size_t>(255, bw.out.size() - p);
      s += static_cast<char>(n);
      s.append(bw.out, p, n);
    }
    s += '\0';
  }
  s += '\x3b';
  return s;
}

std::string bmp(const Raster& r) {
  const std::uint32_t row = (static_cast<std::uint32_t>(r.width) * 3 + 3) & ~3u;
  const std::uint32_t data = row * static_cast<std::uint32_t>(r.height);
  std::string s = "BM";
  put32le(s, 54 + data);
  put32le(s, 0);
  put32le(s, 54);
  put32le(s, 40);
  put32le(s, static_cast<std::uint32_t>(r.width));
  put32le(s, static_cast<std::uint32_t>(r.height));
  put16le(s, 1);
  put16le(s, 24);
  put32le(s, 0);
  put32le(s, data);
  put32le(s, 2835);
  put32le(s, 2835);
  put32le(s, 0);
  put32le(s, 0);
  for (int y = r.height - 1; y >= 0; --y) {
    std::string line;
    for (int x = 0; x < r.width; ++x) {
      Rgb c = pixel(r, x, y);
      line += static_cast<char>(c.b);
      line += static_cast<char>(c.g);
      line += static_cast<char>(c.r);
    }
    line.resize(row, '\0');
    s += line;
  }
  return s;
}

std::string webp(const Raster& r) {
  std::uint8_t* out = nullptr;
  std::size_t n = WebPEncodeRGB(r.rgb.data(), r.width, r.height, r.width * 3, 90, &out);
  std::string s(reinterpret_cast<char*>(out), n);
  WebPFree(out);
  return s;
}

std::string webp_rgba(int w, int h, Rgb c, std::uint8_t alpha) {
  std::vector<std::uint8_t> px;
  for (int i = 0; i < w * h; ++i) px.insert(px.end(), {c.r, c.g, c.b, alpha});
  std::uint8_t* out = nullptr;
  std::size_t n = WebPEncodeLosslessRGBA(px.data(), w, h, w * 4, &out);
  std::string s(reinterpret_cast<char*>(out), n);
  WebPFree(out);
  return s;
}

namespace {
heif_error write_to_string(heif_context*, const void* data, size_t size, void* user) {
  static_cast<std::string*>(user)->append(static_cast<const char*>(data), size);
  return heif_error{heif_error_Ok, heif_suberror_Unspecified, "ok"};
}
}  // namespace

std::string heif(const Raster& r, const std::string& format, const std::string& exif_tiff, const std::string& icc,
                 int nclx_primaries) {
  heif_compression_format fmt = format == "av1" ? heif_compression_AV1 : heif_compression_HEVC;
  if (!heif_have_encoder_for_format(fmt)) return "";
  heif_context* ctx = heif_context_alloc();
  heif_encoder* enc = nullptr;
  heif_context_get_encoder_for_format(ctx, fmt, &enc);
  heif_encoder_set_lossy_quality(enc, 90);
  heif_image* img = nullptr;
  heif_image_create(r.width, r.height, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &img);
  heif_image_add_plane(img, heif_channel_interleaved, r.width, r.height, 8);
  int stride = 0;
  std::uint8_t* plane = heif_image_get_plane(img, heif_channel_interleaved, &stride);
  for (int y = 0; y < r.height; ++y)
    std::memcpy(plane + static_cast<std::size_t>(y) * stride, &r.rgb[static_cast<std::size_t>(y) * r.width * 3],
                static_cast<std::size_t>(r.width) * 3);
  if (!icc.empty()) heif_image_set_raw_color_profile(img, "prof", icc.data(), icc.size());
  heif_encoding_options* options = heif_encoding_options_alloc();
  heif_color_profile_nclx* nclx = nullptr;
  if (nclx_primaries != 0) {
    nclx = heif_nclx_color_profile_alloc();
    heif_nclx_color_profile_set_color_primaries(nclx, static_cast<std::uint16_t>(nclx_primaries));
    heif_nclx_color_profile_set_transfer_characteristics(nclx, heif_transfer_characteristic_IEC_61966_2_1);
    heif_nclx_color_profile_set_matrix_coefficients(nclx, heif_matrix_coefficients_ITU_R_BT_601_6);
    nclx->full_range_flag = 1;
    heif_image_set_nclx_color_profile(img, nclx);
    options->output_nclx_profile = nclx;
    options->macOS_compatibility_workaround_no_nclx_profile = 0;  // else no nclx box is written
  }
  heif_image_handle* handle = nullptr;
  heif_error e = heif_context_encode_image(ctx, img, enc, options, &handle);
  heif_encoding_options_free(options);
  if (nclx) heif_nclx_color_profile_free(nclx);
  std::string out;
  if (e.code == heif_error_Ok && !exif_tiff.empty())
    e = heif_context_add_exif_metadata(ctx, handle, exif_tiff.data(), static_cast<int>(exif_tiff.size()));
  if (e.code == heif_error_Ok) {
    heif_writer writer{};
    writer.writer_api_version = 1;
    writer.write = write_to_string;
    heif_context_write(ctx, &writer, &out);
    heif_image_handle_release(handle);
  }
  heif_image_release(img);
  heif_encoder_release(enc);
  heif_context_free(ctx);
  return out;
}

std::string jpeg_with_icc(const std::string& jpeg, const std::string& icc, std::size_t chunk) {
  const std::size_t n = (icc.size() + chunk - 1) / chunk;
  std::string segments;
  for (std::size_t i = 0; i < n; ++i) {
    std::string payload("ICC_PROFILE\0", 12);
    payload += static_cast<char>(i + 1);
    payload += static_cast<char>(n);
    payload += icc.substr(i * chunk, chunk);
    segments += '\xff';
    segments += '\xe2';
    put16be(segments, static_cast<unsigned>(payload.size() + 2));
    segments += payload;
  }
  return jpeg.substr(0, 2) + segments + jpeg.substr(2);
}

std::string png_with_icc(const std::string& png, const std::string& icc) {
  std::string iccp = "ICC profile";
  iccp += '\0';
  iccp += '\0';  // compression method: zlib
  iccp += zlib_stored(icc);
  std::string c;
  chunk(c, "iCCP", iccp);
  return png.substr(0, 33) + c + png.substr(33);  // after the signature and IHDR
}

std::string webp_with_icc(const std::string& webp, const std::string& icc) {
  // RIFF size WEBP, then one VP8 or VP8L chunk.
  if (webp.size() < 30 || webp.compare(0, 4, "RIFF") != 0 || webp.compare(8, 4, "WEBP") != 0)
    throw std::runtime_error("webp_with_icc: not a WebP");
  int w = 0, h = 0;
  if (!WebPGetInfo(reinterpret_cast<const std::uint8_t*>(webp.data()), webp.size(), &w, &h))
    throw std::runtime_error("webp_with_icc: bad WebP");
  std::string body = "WEBP";
  std::string vp8x;
  vp8x += static_cast<char>(0x20);  // ICC profile flag
  vp8x += std::string(3, '\0');
  for (int v : {w - 1, h - 1})
    for (int b = 0; b < 3; ++b) vp8x += static_cast<char>((v >> (8 * b)) & 0xFF);
  body += "VP8X";
  put32le(body, static_cast<std::uint32_t>(vp8x.size()));
  body += vp8x;
  body += "ICCP";
  put32le(body, static_cast<std::uint32_t>(icc.size()));
  body += icc;
  if (icc.size() % 2) body += '\0';
  body += webp.substr(12);  // the image chunk
  std::string out = "RIFF";
  put32le(out, static_cast<std::uint32_t>(body.size()));
  return out + body;
}

std::string bmff(const std::string& major_brand) {
  std::string s;
  put32be(s, 24);
  s += "ftyp" + major_brand;
  put32be(s, 0);
  s += major_brand + "isom";
  put32be(s, 16);
  s += "mdat";
  s += std::string(8, '\x11');
  return s;
}

std::string webm() {
  // EBML header: DocType "webm", then a Segment element start.
  std::string s("\x1a\x45\xdf\xa3\x93\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87\x81\x02", 24);
  s += std::string("\x18\x53\x80\x67\x01\x00\x00\x00\x00\x00\x00\x10", 12);
  s += std::string(16, '\0');
  return s;
}

Raster decode(const std::string& jpeg) {
  auto in = mediastore::detail::Input::from_memory(jpeg);
  mediastore::detail::DecodeOptions opt;
  auto img = mediastore::detail::decode_jpeg(in, opt);
  if (!img) throw std::runtime_error(img.status().to_string());
  return img->raster;
}

}  // namespace fixtures

// x265 (the HEVC encoder libheif uses to make the HEIC fixtures) keeps a few
// global allocations until exit; they are not the library's.
extern "C" const char* __lsan_default_suppressions() { return "leak:libx265.so\n"; }
