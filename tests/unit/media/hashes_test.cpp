// ThumbHash (decoded back and compared with the image) and the perceptual
// hash (on a corpus of real photos and their re-encoded, rescaled and
// stripped variants). Byte identity with the reference ThumbHash is checked
// by tests/js (js.thumbhash_reference).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "fixtures.hpp"
#include "media/hashes.hpp"
#include "media/resize.hpp"
#include "mediastore/media.hpp"
#include "support/files.hpp"

using namespace mediastore;
using fixtures::Rgb;

namespace {

using fixtures::smooth;

std::vector<std::uint8_t> opaque_rgba(const detail::Raster& r) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < r.rgb.size(); i += 3) out.insert(out.end(), {r.rgb[i], r.rgb[i + 1], r.rgb[i + 2], 255});
  return out;
}

// Mean absolute difference per channel between the decoded ThumbHash and the
// image resampled to the decoded size.
double decode_back_error(const detail::Raster& image) {
  int w = 0, h = 0;
  const auto rgba = detail::thumbhash_input(image, &w, &h);
  auto hash = thumbhash_encode(rgba.data(), w, h);
  REQUIRE(hash.ok());
  auto img = thumbhash_decode(*hash);
  REQUIRE(img.ok());
  const detail::Raster ref = detail::resize_lanczos3(
      image.rgb.data(), image.width, image.height, static_cast<std::size_t>(image.width) * 3, img->width, img->height);
  double sum = 0;
  for (std::size_t i = 0, n = static_cast<std::size_t>(img->width) * img->height; i < n; ++i)
    for (int c = 0; c < 3; ++c) sum += std::abs(int{img->rgba[i * 4 + c]} - int{ref.rgb[i * 3 + c]});
  return sum / (static_cast<double>(img->width) * img->height * 3);
}

const std::filesystem::path kWallpapers = "/usr/share/backgrounds";

// The Debian wallpapers the demo uses (lomiri-wallpapers-16.04, which
// scripts/install-deps.sh installs for the tests too), sorted by name.
std::vector<std::filesystem::path> wallpapers() {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(kWallpapers, ec))
    if (e.path().extension() == ".jpg") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t phash_of(const std::string& jpeg) {
  auto p = process_media(jpeg, "x.jpg", MediaKind::photo, default_thumbnail_specs());
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  auto h = parse_perceptual_hash(p->info.phash);
  REQUIRE(h.ok());
  return *h;
}

}  // namespace

TEST_CASE("thumbhash: refuses what the format cannot hold") {
  std::vector<std::uint8_t> px(101 * 4, 0);
  CHECK(thumbhash_encode(px.data(), 101, 1).status().code() == ErrorCode::invalid_argument);
  CHECK(thumbhash_encode(px.data(), 0, 1).status().code() == ErrorCode::invalid_argument);
  CHECK(thumbhash_encode(nullptr, 1, 1).status().code() == ErrorCode::invalid_argument);
  CHECK(thumbhash_decode("abc").status().code() == ErrorCode::invalid_argument);
  // Any 5+ bytes decode to something (never read past the end).
  for (const std::string& junk : {std::string(5, '\xff'), std::string(5, '\0'), std::string(40, '\x7f')}) {
    auto d = thumbhash_decode(junk);
    if (d.ok()) CHECK(d->rgba.size() == static_cast<std::size_t>(d->width) * d->height * 4);
  }
}

TEST_CASE("thumbhash: decoded back, it looks like the image, in its aspect ratio") {
  for (auto size : {std::pair{1600, 1000}, std::pair{900, 1200}, std::pair{640, 640}, std::pair{2000, 300}}) {
    const int w = size.first, h = size.second;  // not a structured binding: CAPTURE's lambda takes it
    CAPTURE(w);
    CAPTURE(h);
    const detail::Raster image = smooth(w, h);
    CHECK(decode_back_error(image) < 16.0);
    int tw = 0, th = 0;
    const auto rgba = detail::thumbhash_input(image, &tw, &th);
    CHECK(std::max(tw, th) == 100);
    auto d = thumbhash_decode(*thumbhash_encode(rgba.data(), tw, th));
    REQUIRE(d.ok());
    CHECK(std::max(d->width, d->height) == 32);
    // The aspect ratio is kept to the format's precision (1/7 steps of the longer side).
    const double want = static_cast<double>(w) / h, got = static_cast<double>(d->width) / d->height;
    CHECK(std::abs(std::log(got / want)) < std::log(1.6));
  }
}

TEST_CASE("thumbhash: a real photo decodes back close to its smallest thumbnail") {
  const auto files = wallpapers();
  REQUIRE_MESSAGE(files.size() >= 4, "lomiri-wallpapers-16.04 is missing: run scripts/install-deps.sh");
  for (std::size_t i = 0; i < 4; ++i) {
    CAPTURE(files[i].string());
    auto p = process_media_file(files[i].string(), files[i].filename().string(), MediaKind::photo,
                                default_thumbnail_specs());
    REQUIRE(p.ok());
    std::string raw;
    REQUIRE(detail::base64_decode(p->info.thumbhash, raw));
    auto d = thumbhash_decode(raw);
    REQUIRE(d.ok());
    // Compare with the small thumbnail decoded and resampled to the same size.
    const detail::Raster small = fixtures::decode(p->thumbnails[0].bytes);
    const detail::Raster ref = detail::resize_lanczos3(small.rgb.data(), small.width, small.height,
                                                       static_cast<std::size_t>(small.width) * 3, d->width, d->height);
    // Closer than a placeholder of the average colour, and than another photo's ThumbHash.
    const std::size_t n = static_cast<std::size_t>(d->width) * d->height;
    double mean[3] = {0, 0, 0};
    for (std::size_t k = 0; k < n; ++k)
      for (int c = 0; c < 3; ++c) mean[c] += ref.rgb[k * 3 + c] / static_cast<double>(n);
    double err = 0, flat = 0;
    for (std::size_t k = 0; k < n; ++k)
      for (int c = 0; c < 3; ++c) {
        err += std::abs(int{d->rgba[k * 4 + c]} - int{ref.rgb[k * 3 + c]});
        flat += std::abs(mean[c] - ref.rgb[k * 3 + c]);
      }
    CHECK(err < 0.8 * flat);
    CHECK(d->rgba[3] == 255);  // opaque
  }
}

TEST_CASE("thumbhash: alpha survives the round trip") {
  // Left half transparent, right half opaque red.
  const int w = 60, h = 40;
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h * 4);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      auto* p = &px[(static_cast<std::size_t>(y) * w + x) * 4];
      p[0] = 220, p[1] = 30, p[2] = 30, p[3] = x < w / 2 ? 0 : 255;
    }
  auto hash = thumbhash_encode(px.data(), w, h);
  REQUIRE(hash.ok());
  CHECK((static_cast<unsigned char>((*hash)[2]) & 0x80) != 0);  // the alpha flag
  auto d = thumbhash_decode(*hash);
  REQUIRE(d.ok());
  const auto alpha_at = [&](int x) {
    return int{d->rgba[(static_cast<std::size_t>(d->height / 2) * d->width + x) * 4 + 3]};
  };
  CHECK(alpha_at(1) < 60);
  CHECK(alpha_at(d->width - 2) > 200);
  const auto* right = &d->rgba[(static_cast<std::size_t>(d->height / 2) * d->width + d->width - 2) * 4];
  CHECK(fixtures::near(Rgb{right[0], right[1], right[2]}, Rgb{220, 30, 30}, 50));
  // Opaque images carry no alpha flag.
  const auto opaque = opaque_rgba(smooth(50, 50));
  CHECK((static_cast<unsigned char>((*thumbhash_encode(opaque.data(), 50, 50))[2]) & 0x80) == 0);
}

TEST_CASE("phash: hamming distance and the hex form") {
  CHECK(hamming_distance(0, 0) == 0);
  CHECK(hamming_distance(0, ~std::uint64_t{0}) == 64);
  CHECK(hamming_distance(0xf0, 0x0f) == 8);
  auto v = parse_perceptual_hash("00ff00ff00ff00fF");
  REQUIRE(v.ok());
  CHECK(*v == 0x00ff00ff00ff00ffULL);
  CHECK(parse_perceptual_hash("00ff").status().code() == ErrorCode::invalid_argument);
  CHECK(parse_perceptual_hash("00ff00ff00ff00fg").status().code() == ErrorCode::invalid_argument);
  CHECK(perceptual_hash(nullptr, 1, 1).status().code() == ErrorCode::invalid_argument);
}

TEST_CASE("phash: re-encoded, halved and EXIF-stripped copies are near; different photos are not") {
  const auto files = wallpapers();
  REQUIRE_MESSAGE(files.size() >= 10, "lomiri-wallpapers-16.04 is missing: run scripts/install-deps.sh");
  fixtures::ExifSpec exif;
  exif.datetime_original = "2021:06:01 10:00:00";
  exif.gps = true;
  std::vector<std::uint64_t> hashes;
  int worst_variant = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    CAPTURE(files[i].string());
    const std::string original = fixtures::insert_segment(test::slurp(files[i]), 0xE1, fixtures::exif_app1(exif));
    const std::uint64_t h = phash_of(original);
    hashes.push_back(h);
    if (i >= 5) continue;  // variants of the first five (each needs a full decode)
    const detail::Raster full = fixtures::decode(original);
    const detail::Raster half =
        detail::resize_lanczos3(full.rgb.data(), full.width, full.height, static_cast<std::size_t>(full.width) * 3,
                                full.width / 2, full.height / 2);
    auto stripped = strip_jpeg_metadata(original, StripMode::all);
    REQUIRE(stripped.ok());
    const std::pair<const char*, std::string> variants[] = {
        {"quality 60", fixtures::jpeg(full, 60)},
        {"half size", fixtures::jpeg(half, 85)},
        {"EXIF removed", *stripped},
    };
    for (const auto& variant : variants) {
      CAPTURE(variant.first);
      const int d = hamming_distance(h, phash_of(variant.second));
      worst_variant = std::max(worst_variant, d);
      CHECK(d <= kSimilarImageDistance);
    }
  }
  int closest_pair = 64;
  for (std::size_t i = 0; i < hashes.size(); ++i)
    for (std::size_t j = i + 1; j < hashes.size(); ++j) {
      CAPTURE(files[i].string());
      CAPTURE(files[j].string());
      const int d = hamming_distance(hashes[i], hashes[j]);
      closest_pair = std::min(closest_pair, d);
      CHECK(d > kSimilarImageDistance);
    }
  MESSAGE("worst variant distance ", worst_variant, ", closest different pair ", closest_pair);
}

TEST_CASE("phash: synthetic fixtures: the same picture at other sizes is near, other pictures are far") {
  const auto a = fixtures::pattern(800, 600), b = smooth(800, 600), c = fixtures::quadrants(800, 600);
  auto ph = [](const detail::Raster& r) { return *perceptual_hash(r.rgb.data(), r.width, r.height); };
  const auto a_half = detail::resize_lanczos3(a.rgb.data(), 800, 600, 800 * 3, 400, 300);
  CHECK(hamming_distance(ph(a), ph(a_half)) <= kSimilarImageDistance);
  CHECK(hamming_distance(ph(a), ph(fixtures::decode(fixtures::jpeg(a, 60)))) <= kSimilarImageDistance);
  CHECK(hamming_distance(ph(a), ph(b)) > kSimilarImageDistance);
  CHECK(hamming_distance(ph(b), ph(c)) > kSimilarImageDistance);
  CHECK(hamming_distance(ph(a), ph(c)) > kSimilarImageDistance);
}

TEST_CASE("image_hashes: what process_media records, from an RGB raster (a video poster)") {
  const detail::Raster r = smooth(320, 180);
  auto h = image_hashes(r.rgb.data(), r.width, r.height);
  REQUIRE(h.ok());
  CHECK(h->phash.size() == 16);
  std::string raw;
  REQUIRE(detail::base64_decode(h->thumbhash, raw));
  CHECK(raw.size() >= 5);
  CHECK(raw.size() <= 25);
  CHECK(image_hashes(nullptr, 1, 1).status().code() == ErrorCode::invalid_argument);
}
