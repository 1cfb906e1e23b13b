// Test images built in the tests themselves (no files checked in): encoders
// for JPEG (RGB, grey, CMYK), PNG (any depth, stored or bomb-compressed),
// GIF (many frames), BMP, WebP, HEIF/AVIF, and hand-built EXIF blocks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "media/decode.hpp"

namespace fixtures {

using mediastore::detail::Raster;

struct Rgb {
  std::uint8_t r, g, b;
};

Raster solid(int w, int h, Rgb c);
// TL red, TR green, BL blue, BR white.
Raster quadrants(int w, int h);
// A smooth gradient with some texture (for realistic JPEG sizes).
Raster pattern(int w, int h);
// Smooth and photo-like, no noise: two gradients and a soft blob.
Raster smooth(int w, int h);
Rgb pixel(const Raster& r, int x, int y);
// Colours within tolerance per channel.
bool near(Rgb a, Rgb b, int tol = 40);

std::string jpeg(const Raster& r, int quality = 90, bool progressive = false);
std::string jpeg_gray(int w, int h, std::uint8_t value);
// CMYK with an Adobe marker (inverted values, as Photoshop writes them).
std::string jpeg_cmyk_inverted(int w, int h, std::uint8_t c, std::uint8_t m, std::uint8_t y, std::uint8_t k);
// Inserts an APPn/COM segment right after SOI.
std::string insert_segment(const std::string& jpeg, unsigned marker, const std::string& payload);
// The segment markers of a JPEG up to and including SOS (0xDA).
std::vector<unsigned> markers(const std::string& jpeg);

struct ExifSpec {
  int orientation = 0;  // 0: no orientation tag
  std::string datetime_original;
  bool gps = false;
  bool loop = false;  // IFD0's next pointer and the EXIF pointer point back at IFD0
  bool big_endian = false;
};
// A TIFF block (without "Exif\0\0").
std::string exif_tiff(const ExifSpec& spec);
// The APP1 payload: "Exif\0\0" + TIFF.
std::string exif_app1(const ExifSpec& spec);

// PNG with stored (uncompressed) deflate blocks; `raw` is w*h*channels*depth/8 bytes, rows unfiltered.
std::string png(int w, int h, int bit_depth, int color_type, const std::string& raw);
std::string png_rgb(const Raster& r);
std::string png_rgba(int w, int h, Rgb c, std::uint8_t alpha);
// Valid signature and IHDR claiming w x h, a tiny IDAT, IEND.
std::string png_header_only(int w, int h);
// 1-bit grey all-zero w x h image compressed with maximal-ratio deflate (a bomb).
std::string png_bomb(int w, int h);

// `frames` frames, the first red, the others blue.
std::string gif(int w, int h, int frames);
std::string bmp(const Raster& r);
std::string webp(const Raster& r);
std::string webp_rgba(int w, int h, Rgb c, std::uint8_t alpha);
// format: "hevc" or "av1"; "" when the encoder is missing.
// `exif_tiff` (optional) is attached as the image's Exif metadata item,
// `icc` (optional) as its 'prof' colour profile; `nclx_primaries` (optional,
// ISO 23091-2 code, e.g. 12 = Display P3) writes an nclx colour box with those
// primaries and the sRGB transfer function instead.
std::string heif(const Raster& r, const std::string& format, const std::string& exif_tiff = "",
                 const std::string& icc = "", int nclx_primaries = 0);

// `jpeg` with the ICC profile `icc` inserted after SOI as APP2 ICC_PROFILE
// chunks (as many as needed, at most `chunk` profile bytes each).
std::string jpeg_with_icc(const std::string& jpeg, const std::string& icc, std::size_t chunk = 65519);
// `png` with an iCCP chunk holding `icc` (zlib, stored blocks) after IHDR.
std::string png_with_icc(const std::string& png, const std::string& icc);
// A simple (VP8/VP8L) WebP rewritten as an extended one (VP8X) carrying `icc` in an ICCP chunk.
std::string webp_with_icc(const std::string& webp, const std::string& icc);

// A minimal ISO-BMFF file with the given major brand.
std::string bmff(const std::string& major_brand);
std::string webm();

// Decodes a JPEG at full size (through the library's decoder).
Raster decode(const std::string& jpeg);

}  // namespace fixtures
