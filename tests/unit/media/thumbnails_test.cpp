#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "media/decode.hpp"
#include "media/resize.hpp"
#include "mediastore/media.hpp"

using namespace mediastore;
using fixtures::Rgb;

namespace {

using fixtures::markers;

int inverse_orientation(int o) { return o == 6 ? 8 : (o == 8 ? 6 : o); }

}  // namespace

TEST_CASE("thumbnails: default sizes fit inside their boxes") {
  auto specs = default_thumbnail_specs();
  REQUIRE(specs.size() == 3);
  CHECK(specs[0].name == "small");
  CHECK(specs[2].width == 800);
  CHECK(specs[2].height == 600);
  CHECK(specs[1].quality == 85);
  auto t = make_thumbnails(fixtures::jpeg(fixtures::pattern(1800, 1200)), specs);
  REQUIRE(t.ok());
  REQUIRE(t->size() == 3);
  CHECK((*t)[0].name == "small");
  CHECK((*t)[0].width == 150);
  CHECK((*t)[0].height == 100);
  CHECK((*t)[1].width == 300);
  CHECK((*t)[1].height == 200);
  CHECK((*t)[2].width == 800);
  CHECK((*t)[2].height == 533);
  for (const auto& th : *t) {
    auto px = fixtures::decode(th.jpeg);
    CHECK(px.width == th.width);
    CHECK(px.height == th.height);
  }
}

TEST_CASE("thumbnails: output carries no metadata at all") {
  fixtures::ExifSpec s;
  s.orientation = 1;
  s.gps = true;
  s.datetime_original = "2020:01:01 10:00:00";
  std::string j = fixtures::insert_segment(fixtures::jpeg(fixtures::pattern(400, 300)), 0xE1, fixtures::exif_app1(s));
  j = fixtures::insert_segment(j, 0xFE, "secret comment");
  auto t = make_thumbnails(j, default_thumbnail_specs());
  REQUIRE(t.ok());
  for (const auto& th : *t) {
    for (unsigned m : markers(th.jpeg)) {
      CHECK(m != 0xFE);               // no comment
      CHECK((m < 0xE1 || m > 0xEF));  // only APP0 (JFIF) among APPn
    }
    CHECK(th.jpeg.find("Exif") == std::string::npos);
    CHECK(th.jpeg.find("secret") == std::string::npos);
  }
}

TEST_CASE("thumbnails: never upscaled") {
  auto t = make_thumbnails(fixtures::png_rgb(fixtures::pattern(100, 80)), default_thumbnail_specs());
  REQUIRE(t.ok());
  CHECK((*t)[0].width == 100);
  CHECK((*t)[0].height == 80);
  CHECK((*t)[2].width == 100);
  std::vector<ThumbnailSpec> cover{{"sq", 150, 150, FitMode::cover, 85, false}};
  auto c = make_thumbnails(fixtures::png_rgb(fixtures::pattern(100, 80)), cover);
  REQUIRE(c.ok());
  CHECK((*c)[0].width == 100);
  CHECK((*c)[0].height == 80);
}

TEST_CASE("thumbnails: cover and crop fills the box from the centre") {
  // Left third red, middle green, right third blue: a centre crop is all green.
  fixtures::Raster r = fixtures::solid(900, 300, {0, 255, 0});
  for (int y = 0; y < 300; ++y)
    for (int x = 0; x < 900; ++x) {
      auto* p = &r.rgb[(static_cast<std::size_t>(y) * 900 + x) * 3];
      if (x < 300) p[0] = 255, p[1] = 0;
      if (x >= 600) p[2] = 255, p[1] = 0;
    }
  std::vector<ThumbnailSpec> specs{{"sq", 150, 150, FitMode::cover, 90, true}};
  auto t = make_thumbnails(fixtures::jpeg(r), specs);
  REQUIRE(t.ok());
  CHECK((*t)[0].width == 150);
  CHECK((*t)[0].height == 150);
  auto px = fixtures::decode((*t)[0].jpeg);
  CHECK(fixtures::near(fixtures::pixel(px, 5, 75), {0, 255, 0}));
  CHECK(fixtures::near(fixtures::pixel(px, 144, 75), {0, 255, 0}));
  const std::vector<unsigned> progressive = markers((*t)[0].jpeg);
  CHECK(std::find(progressive.begin(), progressive.end(), 0xC2u) != progressive.end());  // progressive SOF2
}

TEST_CASE("thumbnails: all eight EXIF orientations are applied") {
  const fixtures::Raster upright = fixtures::quadrants(64, 32);
  for (int o = 1; o <= 8; ++o) {
    CAPTURE(o);
    fixtures::Raster stored = detail::apply_orientation(upright, inverse_orientation(o));
    fixtures::ExifSpec s;
    s.orientation = o;
    std::string j = fixtures::insert_segment(fixtures::jpeg(stored, 95), 0xE1, fixtures::exif_app1(s));
    std::vector<ThumbnailSpec> specs{{"t", 64, 64, FitMode::inside, 95, false}};
    auto t = make_thumbnails(j, specs);
    REQUIRE(t.ok());
    CHECK((*t)[0].width == 64);
    CHECK((*t)[0].height == 32);
    auto px = fixtures::decode((*t)[0].jpeg);
    CHECK(fixtures::near(fixtures::pixel(px, 8, 8), {255, 0, 0}));
    CHECK(fixtures::near(fixtures::pixel(px, 56, 8), {0, 255, 0}));
    CHECK(fixtures::near(fixtures::pixel(px, 8, 24), {0, 0, 255}));
    CHECK(fixtures::near(fixtures::pixel(px, 56, 24), {255, 255, 255}));
  }
}

TEST_CASE("thumbnails: alpha is composited onto white") {
  auto t = make_thumbnails(fixtures::png_rgba(20, 20, {0, 0, 0}, 0), default_thumbnail_specs());
  REQUIRE(t.ok());
  CHECK(fixtures::near(fixtures::pixel(fixtures::decode((*t)[0].jpeg), 10, 10), {255, 255, 255}, 3));
  auto half = make_thumbnails(fixtures::png_rgba(20, 20, {0, 0, 0}, 128), default_thumbnail_specs());
  REQUIRE(half.ok());
  CHECK(fixtures::near(fixtures::pixel(fixtures::decode((*half)[0].jpeg), 10, 10), {127, 127, 127}, 4));
  auto w = make_thumbnails(fixtures::webp_rgba(20, 20, {255, 0, 0}, 0), default_thumbnail_specs());
  REQUIRE(w.ok());
  CHECK(fixtures::near(fixtures::pixel(fixtures::decode((*w)[0].jpeg), 10, 10), {255, 255, 255}, 3));
}

TEST_CASE("thumbnails: every decoder path") {
  const fixtures::Raster q = fixtures::quadrants(64, 48);
  std::vector<std::pair<std::string, std::string>> inputs = {{"png", fixtures::png_rgb(q)},
                                                             {"bmp", fixtures::bmp(q)},
                                                             {"webp", fixtures::webp(q)},
                                                             {"heic", fixtures::heif(q, "hevc")},
                                                             {"avif", fixtures::heif(q, "av1")}};
  for (const auto& input : inputs) {
    const std::string& name = input.first;
    const std::string& bytes = input.second;
    CAPTURE(name);
    REQUIRE(!bytes.empty());
    auto t = make_thumbnails(bytes, default_thumbnail_specs());
    REQUIRE(t.ok());
    CHECK((*t)[0].width == 64);
    CHECK((*t)[0].height == 48);
    auto px = fixtures::decode((*t)[0].jpeg);
    CHECK(fixtures::near(fixtures::pixel(px, 8, 8), {255, 0, 0}, 60));
    CHECK(fixtures::near(fixtures::pixel(px, 56, 40), {255, 255, 255}, 60));
  }
}

TEST_CASE("thumbnails: broken videos and bad specs are refused clearly") {
  auto v = make_thumbnails(fixtures::bmff("isom"), default_thumbnail_specs());
  CHECK(v.status().code() == ErrorCode::corrupt_media);
  CHECK(v.status().message().find("no 'moov' box") != std::string::npos);
  CHECK(make_thumbnails("<html></html>", default_thumbnail_specs()).status().code() == ErrorCode::unsupported_media);
  std::string j = fixtures::jpeg(fixtures::pattern(8, 8));
  CHECK(make_thumbnails(j, {}).status().code() == ErrorCode::invalid_argument);
  CHECK(make_thumbnails(j, {{"x", 0, 10, FitMode::inside, 85, false}}).status().code() == ErrorCode::invalid_argument);
  CHECK(make_thumbnails(j, {{"x", 10, 10, FitMode::inside, 0, false}}).status().code() == ErrorCode::invalid_argument);
  CHECK(make_thumbnails_file("/nonexistent.jpg", default_thumbnail_specs()).status().code() == ErrorCode::not_found);
}

TEST_CASE("jpeg decode: DCT scaling picks the smallest power-of-two scale at or above the request") {
  std::string j = fixtures::jpeg(fixtures::pattern(3000, 2000));
  auto in = detail::Input::from_memory(j);
  detail::DecodeOptions opt;
  opt.min_size = [](int, int, int) { return std::make_pair(1600, 1066); };
  auto img = detail::decode_jpeg(in, opt);
  REQUIRE(img.ok());
  CHECK(img->full_width == 3000);
  CHECK(img->raster.width == 3000);  // 1: 1/2 would give 1500 < 1600; 5/8..7/8 are never used
  CHECK(img->raster.height == 2000);
  opt.min_size = [](int, int, int) { return std::make_pair(1400, 900); };
  img = detail::decode_jpeg(in, opt);
  REQUIRE(img.ok());
  CHECK(img->raster.width == 1500);  // 1/2
  CHECK(img->raster.height == 1000);
  opt.min_size = [](int, int, int) { return std::make_pair(500, 400); };
  CHECK(detail::decode_jpeg(in, opt)->raster.width == 750);  // 1/4, not 3/8 (1125)
  opt.min_size = [](int, int, int) { return std::make_pair(300, 900); };
  CHECK(detail::decode_jpeg(in, opt)->raster.height == 1000);  // height decides: 1/2
  opt.min_size = [](int, int, int) { return std::make_pair(100, 100); };
  CHECK(detail::decode_jpeg(in, opt)->raster.width == 375);  // 1/8
  opt.min_size = {};
  CHECK(detail::decode_jpeg(in, opt)->raster.width == 3000);
}

TEST_CASE("resize: Lanczos keeps flat colour flat and preserves a gradient") {
  auto flat = fixtures::solid(300, 200, {10, 200, 90});
  auto r = detail::resize_lanczos3(flat.rgb.data(), 300, 200, 900, 77, 51);
  CHECK(r.width == 77);
  CHECK(r.height == 51);
  for (int y = 0; y < 51; y += 10)
    for (int x = 0; x < 77; x += 10) CHECK(fixtures::near(fixtures::pixel(r, x, y), {10, 200, 90}, 1));
  fixtures::Raster g = fixtures::solid(256, 4, {0, 0, 0});
  for (int x = 0; x < 256; ++x)
    for (int y = 0; y < 4; ++y) g.rgb[(static_cast<std::size_t>(y) * 256 + x) * 3] = static_cast<std::uint8_t>(x);
  auto s = detail::resize_lanczos3(g.rgb.data(), 256, 4, 768, 64, 1);
  for (int x = 2; x < 62; ++x) CHECK(std::abs(fixtures::pixel(s, x, 0).r - (x * 4 + 1.5)) <= 1.5);
}

TEST_CASE("resize: every SIMD kernel gives exactly the scalar kernel's output") {
  CHECK(detail::resize_kernel_available(detail::ResizeKernel::scalar));
  // Noise (worst case for the sums, saturates in both directions) and odd sizes.
  std::uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return static_cast<std::uint8_t>(seed >> 24);
  };
  // Shrinking by 1..8x, the same size, enlarging; odd widths whose rows are
  // no multiple of the SIMD block (the vertical pass's last block overlaps),
  // heights that leave 1..3 rows after the horizontal pass's 4-row blocks,
  // and images narrower than one block of 4 taps or than the filter.
  const int sizes[][4] = {{1, 1, 1, 1},          {3, 2, 1, 1},         {7, 5, 3, 2},         {97, 61, 40, 25},
                          {640, 480, 150, 113},  {333, 777, 101, 400}, {50, 40, 120, 90},    {1601, 3, 800, 2},
                          {1067, 711, 400, 267}, {801, 535, 300, 201}, {33, 9, 11, 3},       {11, 31, 11, 31},
                          {10, 10, 31, 7},       {2, 2, 9, 9},         {21, 45, 20, 44},     {1000, 2, 999, 1},
                          {64, 64, 8, 8},        {4, 900, 1, 100},     {45, 1, 15, 1},       {17, 5, 17, 6},
                          {5, 3, 2, 1},          {259, 131, 37, 19},   {600, 400, 599, 399}, {130, 6, 13, 5}};
  int compared = 0;
  for (const auto& sz : sizes) {
    for (int slack : {5, 0}) {  // 0: the last row ends where the buffer does
      const int w = sz[0], h = sz[1], dw = sz[2], dh = sz[3];
      CAPTURE(w);
      CAPTURE(h);
      CAPTURE(dw);
      CAPTURE(dh);
      CAPTURE(slack);
      const std::size_t stride = static_cast<std::size_t>(w) * 3 + slack;
      std::vector<std::uint8_t> src(stride * h);
      for (auto& b : src) b = next();
      const auto ref = detail::resize_lanczos3(src.data(), w, h, stride, dw, dh, detail::ResizeKernel::scalar);
      REQUIRE(ref.rgb.size() == static_cast<std::size_t>(dw) * dh * 3);
      for (auto k : {detail::ResizeKernel::sse2, detail::ResizeKernel::avx2, detail::ResizeKernel::avx512,
                     detail::ResizeKernel::automatic}) {
        if (!detail::resize_kernel_available(k)) continue;
        CAPTURE(static_cast<int>(k));
        const auto r = detail::resize_lanczos3(src.data(), w, h, stride, dw, dh, k);
        CHECK(r.width == dw);
        CHECK(r.height == dh);
        CHECK(std::equal(r.rgb.begin(), r.rgb.end(), ref.rgb.begin(), ref.rgb.end()));
        ++compared;
      }
    }
  }
  CHECK(compared >= 48);  // at least `automatic` on every size and stride
}
