// Colour management: photos with an embedded non-sRGB profile get sRGB
// thumbnails. The profiles are made here with lcms2 itself, and the expected
// pixels come from an lcms2 floating-point transform.
#include <doctest/doctest.h>
#include <lcms2.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.hpp"
#include "media/color.hpp"
#include "media/decode.hpp"
#include "mediastore/media.hpp"

using namespace mediastore;
using fixtures::Rgb;

namespace {

std::string save(cmsHPROFILE p) {
  cmsUInt32Number n = 0;
  REQUIRE(cmsSaveProfileToMem(p, nullptr, &n));
  std::string out(n, '\0');
  REQUIRE(cmsSaveProfileToMem(p, out.data(), &n));
  cmsCloseProfile(p);
  return out;
}

std::string rgb_profile(cmsCIExyYTRIPLE primaries, cmsToneCurve* curve, const char* description = nullptr) {
  cmsCIExyY d65{0.3127, 0.3290, 1.0};
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE p = cmsCreateRGBProfile(&d65, &primaries, curves);
  cmsFreeToneCurve(curve);
  REQUIRE(p);
  if (description) {
    cmsMLU* mlu = cmsMLUalloc(nullptr, 1);
    cmsMLUsetASCII(mlu, "en", "US", description);
    cmsWriteTag(p, cmsSigProfileDescriptionTag, mlu);
    cmsMLUfree(mlu);
  }
  return save(p);
}

cmsToneCurve* srgb_curve() {
  const cmsFloat64Number p[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
  return cmsBuildParametricToneCurve(nullptr, 4, p);
}

// Display P3: DCI-P3 primaries, D65, the sRGB tone curve (what iPhones embed).
std::string display_p3(const char* description = nullptr) {
  return rgb_profile({{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}}, srgb_curve(), description);
}
// Adobe RGB (1998): gamma 563/256.
std::string adobe_rgb(double gamma = 563.0 / 256.0) {
  return rgb_profile({{0.64, 0.33, 1}, {0.21, 0.71, 1}, {0.15, 0.06, 1}}, cmsBuildGamma(nullptr, gamma));
}
std::string srgb_icc() { return save(cmsCreate_sRGBProfile()); }

// The sRGB value of `c` in the colour space of `icc`: lcms2 in floating point,
// relative colorimetric, clipped and rounded.
Rgb expected_srgb(const std::string& icc, Rgb c) {
  cmsHPROFILE in = cmsOpenProfileFromMem(icc.data(), static_cast<cmsUInt32Number>(icc.size()));
  cmsHPROFILE out = cmsCreate_sRGBProfile();
  cmsHTRANSFORM xf = cmsCreateTransform(in, TYPE_RGB_DBL, out, TYPE_RGB_DBL, INTENT_RELATIVE_COLORIMETRIC, 0);
  REQUIRE(xf);
  double src[3] = {c.r / 255.0, c.g / 255.0, c.b / 255.0}, dst[3] = {};
  cmsDoTransform(xf, src, dst, 1);
  cmsDeleteTransform(xf);
  cmsCloseProfile(in);
  cmsCloseProfile(out);
  auto to8 = [](double v) { return static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255)); };
  return Rgb{to8(dst[0]), to8(dst[1]), to8(dst[2])};
}

int max_diff(Rgb a, Rgb b) { return std::max({std::abs(a.r - b.r), std::abs(a.g - b.g), std::abs(a.b - b.b)}); }

Rgb centre(const Thumbnail& t) {
  auto px = fixtures::decode(t.jpeg);
  return fixtures::pixel(px, px.width / 2, px.height / 2);
}

using fixtures::markers;

// Every thumbnail's centre is `want` (within `tol`) and not `c` as it was.
void check_converted(const std::string& file, Rgb c, Rgb want, int tol) {
  REQUIRE(max_diff(c, want) >= 12);  // the colour is one the conversion visibly moves
  auto t = make_thumbnails(file, default_thumbnail_specs());
  REQUIRE(t.ok());
  for (const auto& th : *t) {
    CAPTURE(th.name);
    Rgb got = centre(th);
    CAPTURE(int{got.r});
    CAPTURE(int{got.g});
    CAPTURE(int{got.b});
    CHECK(max_diff(got, want) <= tol);
    CHECK(max_diff(got, c) > tol);
  }
}

detail::DecodedImage decoded(MediaType type, const std::string& bytes) {
  detail::DecodeOptions opt;
  auto img = detail::decode_image(type, detail::Input::from_memory(bytes), opt);
  REQUIRE(img.ok());
  return std::move(*img);
}

}  // namespace

TEST_CASE("color: a Display P3 JPEG's thumbnails are converted to sRGB") {
  const Rgb c{200, 90, 60};
  const std::string icc = display_p3();
  const std::string plain = fixtures::jpeg(fixtures::solid(1200, 900, c), 95);
  REQUIRE(max_diff(fixtures::pixel(fixtures::decode(plain), 600, 450), c) <= 2);  // the source holds c
  const std::string j = fixtures::jpeg_with_icc(plain, icc);
  CHECK(decoded(MediaType::jpeg, j).icc == icc);
  check_converted(j, c, expected_srgb(icc, c), 4);
  // Without the profile the same pixels stay as they are.
  auto t = make_thumbnails(plain, default_thumbnail_specs());
  REQUIRE(t.ok());
  CHECK(max_diff(centre((*t)[2]), c) <= 4);
}

TEST_CASE("color: an Adobe RGB profile split over several APP2 chunks") {
  const Rgb c{60, 180, 90};
  const std::string icc = adobe_rgb();
  REQUIRE(icc.size() > 400);  // three chunks of at most 200 bytes
  const std::string j = fixtures::jpeg_with_icc(fixtures::jpeg(fixtures::solid(400, 300, c), 95), icc, 200);
  CHECK(decoded(MediaType::jpeg, j).icc == icc);
  check_converted(j, c, expected_srgb(icc, c), 4);

  // A profile over 64 KB needs two segments whatever the chunk size.
  const std::string big = display_p3(std::string(100000, 'x').c_str());
  REQUIRE(big.size() > 100000);
  const std::string jb = fixtures::jpeg_with_icc(fixtures::jpeg(fixtures::solid(400, 300, c), 95), big);
  CHECK(decoded(MediaType::jpeg, jb).icc == big);
  check_converted(jb, c, expected_srgb(big, c), 4);
}

TEST_CASE("color: sRGB, unusable or broken profiles leave the pixels as they are") {
  const std::string base = fixtures::jpeg(fixtures::pattern(640, 480), 90);
  auto reference = make_thumbnails(base, default_thumbnail_specs());
  REQUIRE(reference.ok());
  cmsToneCurve* gamma = cmsBuildGamma(nullptr, 2.2);
  const std::string grey = save(cmsCreateGrayProfile(cmsD50_xyY(), gamma));
  cmsFreeToneCurve(gamma);
  const std::string p3 = display_p3();
  std::vector<std::pair<std::string, std::string>> variants = {
      {"srgb", fixtures::jpeg_with_icc(base, srgb_icc())},
      {"garbage", fixtures::jpeg_with_icc(base, std::string(3000, '\x5a'))},
      {"truncated", fixtures::jpeg_with_icc(base, p3.substr(0, p3.size() / 2))},
      {"grey profile", fixtures::jpeg_with_icc(base, grey)},
      // Chunk 2 of 2 without chunk 1; then chunk 1 of 2 twice.
      {"missing chunk", fixtures::insert_segment(base, 0xE2, std::string("ICC_PROFILE\0\x02\x02", 14) + p3)},
      {"repeated chunk",
       fixtures::insert_segment(fixtures::insert_segment(base, 0xE2, std::string("ICC_PROFILE\0\x01\x02", 14) + p3),
                                0xE2, std::string("ICC_PROFILE\0\x01\x02", 14) + p3)},
  };
  for (const auto& variant : variants) {
    const std::string& name = variant.first;  // not a structured binding: CAPTURE is a lambda (clang 14)
    CAPTURE(name);
    auto t = make_thumbnails(variant.second, default_thumbnail_specs());
    REQUIRE(t.ok());
    for (std::size_t i = 0; i < t->size(); ++i) CHECK((*t)[i].jpeg == (*reference)[i].jpeg);  // byte for byte
  }
  CHECK(decoded(MediaType::jpeg, variants[4].second).icc.empty());
  CHECK(decoded(MediaType::jpeg, variants[5].second).icc.empty());
  CHECK(detail::srgb_transform_for(srgb_icc()) == nullptr);
  CHECK(detail::srgb_transform_for("garbage") == nullptr);
  CHECK(detail::srgb_transform_for(grey) == nullptr);
  CHECK(detail::srgb_transform_for("") == nullptr);
  auto a = detail::srgb_transform_for(p3);
  CHECK(a != nullptr);
  CHECK(detail::srgb_transform_for(p3) == a);  // cached
}

TEST_CASE("color: thumbnails of a photo with a profile carry no profile") {
  const std::string j =
      fixtures::jpeg_with_icc(fixtures::jpeg(fixtures::solid(400, 300, {200, 90, 60}), 90), display_p3());
  auto t = make_thumbnails(j, default_thumbnail_specs());
  REQUIRE(t.ok());
  for (const auto& th : *t) {
    for (unsigned m : markers(th.jpeg)) CHECK((m < 0xE1 || m > 0xEF));  // only APP0 (JFIF) among APPn
    CHECK(th.jpeg.find("ICC_PROFILE") == std::string::npos);
    CHECK(th.jpeg.find("acsp") == std::string::npos);
  }
}

TEST_CASE("color: both conversion paths match lcms2 in floating point") {
  const std::string icc = adobe_rgb();
  detail::Raster r;
  r.width = 6 * 6 * 6;
  r.height = 1;
  std::vector<Rgb> colours;
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j)
      for (int k = 0; k < 6; ++k) {
        colours.push_back(Rgb{static_cast<std::uint8_t>(i * 51), static_cast<std::uint8_t>(j * 51),
                              static_cast<std::uint8_t>(k * 51)});
        r.rgb.insert(r.rgb.end(), {colours.back().r, colours.back().g, colours.back().b});
      }
  const detail::Raster original = r;
  auto fast = detail::make_srgb_transform(icc, false);
  auto lcms = detail::make_srgb_transform(icc, true);
  REQUIRE(fast);
  REQUIRE(lcms);
  CHECK(std::string(fast->kind()) == "matrix-shaper");
  CHECK(std::string(lcms->kind()) == "lcms2");
  CHECK(std::string(detail::srgb_transform_for(display_p3())->kind()) == "matrix-shaper");
  for (const auto* t : {fast.get(), lcms.get()}) {
    CAPTURE(t->kind());
    detail::Raster c = original;
    t->apply(c);
    int worst = 0;
    for (std::size_t i = 0; i < colours.size(); ++i)
      worst = std::max(worst, max_diff(fixtures::pixel(c, static_cast<int>(i), 0), expected_srgb(icc, colours[i])));
    CHECK(worst <= 1);
  }
  REQUIRE(detail::convert_to_srgb(r, icc));
  CHECK(r.rgb != original.rgb);
  detail::Raster same = r;
  CHECK_FALSE(detail::convert_to_srgb(same, srgb_icc()));
  CHECK(same.rgb == r.rgb);
}

TEST_CASE("color: PNG with an iCCP chunk") {
  const Rgb c{200, 90, 60};
  const std::string icc = display_p3();
  const std::string png = fixtures::png_with_icc(fixtures::png_rgb(fixtures::solid(64, 48, c)), icc);
  CHECK(decoded(MediaType::png, png).icc == icc);
  check_converted(png, c, expected_srgb(icc, c), 4);
  // A damaged iCCP chunk is no profile, and no error.
  std::string bad = png;
  bad[33 + 8 + 14] = '\x55';  // inside the zlib header
  CHECK(decoded(MediaType::png, bad).icc.empty());
}

TEST_CASE("color: WebP with an ICCP chunk") {
  const Rgb c{200, 90, 60};
  const std::string icc = display_p3();
  const std::string w = fixtures::webp_with_icc(fixtures::webp(fixtures::solid(64, 48, c)), icc);
  CHECK(decoded(MediaType::webp, w).icc == icc);
  check_converted(w, c, expected_srgb(icc, c), 6);
}

TEST_CASE("color: HEIC with an ICC profile, and with nclx Display P3 primaries") {
  const Rgb c{200, 90, 60};
  const auto raster = fixtures::solid(64, 48, c);
  const std::string icc = display_p3();
  const std::string plain = fixtures::heif(raster, "hevc");
  REQUIRE(!plain.empty());
  auto t = make_thumbnails(plain, default_thumbnail_specs());
  REQUIRE(t.ok());
  CHECK(max_diff(centre((*t)[0]), c) <= 6);  // no profile: unchanged
  CHECK(decoded(MediaType::heic, plain).icc.empty());

  const std::string with_icc = fixtures::heif(raster, "hevc", "", icc);
  REQUIRE(!with_icc.empty());
  CHECK(decoded(MediaType::heic, with_icc).icc == icc);
  check_converted(with_icc, c, expected_srgb(icc, c), 6);

  const std::string nclx = fixtures::heif(raster, "hevc", "", "", 12);  // SMPTE EG 432-1: Display P3
  REQUIRE(!nclx.empty());
  CHECK(!decoded(MediaType::heic, nclx).icc.empty());
  check_converted(nclx, c, expected_srgb(icc, c), 6);
}

TEST_CASE("color: transforms are shared safely between threads") {
  // More profiles than the cache holds, so entries are evicted while in use.
  std::vector<std::string> profiles;
  for (int i = 0; i < 12; ++i) profiles.push_back(adobe_rgb(1.6 + 0.1 * i));
  const fixtures::Raster src = fixtures::pattern(96, 64);
  std::vector<fixtures::Raster> want;
  for (const auto& p : profiles) {
    fixtures::Raster r = src;
    REQUIRE(detail::convert_to_srgb(r, p));
    want.push_back(std::move(r));
  }
  // And one lcms2 transform used by every thread at once.
  const auto shared_lcms = detail::make_srgb_transform(profiles[0], true);
  REQUIRE(shared_lcms);
  fixtures::Raster want_lcms = src;
  shared_lcms->apply(want_lcms);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 6; ++round)
        for (std::size_t i = 0; i < profiles.size(); ++i) {
          const std::size_t k = (i * 5 + static_cast<std::size_t>(t) * 3 + round) % profiles.size();
          fixtures::Raster r = src;
          detail::convert_to_srgb(r, profiles[k]);
          if (r.rgb != want[k].rgb) ++mismatches[static_cast<std::size_t>(t)];
          fixtures::Raster l = src;
          shared_lcms->apply(l);
          if (l.rgb != want_lcms.rgb) ++mismatches[static_cast<std::size_t>(t)];
        }
    });
  for (auto& th : threads) th.join();
  for (int m : mismatches) CHECK(m == 0);
}
