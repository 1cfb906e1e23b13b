// Thumbnails in WebP and AVIF beside JPEG: one resized raster per size,
// encoded once per format.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/codecs.hpp"
#include "fixtures.hpp"
#include "media/decode.hpp"
#include "media/input.hpp"
#include "mediastore/media.hpp"

using namespace mediastore;

namespace {

const std::vector<ThumbnailFormat> kAll{ThumbnailFormat::jpeg, ThumbnailFormat::webp, ThumbnailFormat::avif};

std::vector<ThumbnailSpec> specs_with(const std::vector<ThumbnailFormat>& formats) {
  auto specs = default_thumbnail_specs();
  for (auto& s : specs) s.formats = formats;
  return specs;
}

// The thumbnail decoded back through the library's own decoders.
detail::Raster decode_back(const Thumbnail& t) {
  const MediaType type = sniff_media_type(t.bytes);
  detail::DecodeOptions opt;
  auto d = detail::decode_image(type, detail::Input::from_memory(t.bytes), opt);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  return std::move(d->raster);
}

double mean_abs_error(const detail::Raster& a, const detail::Raster& b) {
  REQUIRE(a.width == b.width);
  REQUIRE(a.height == b.height);
  double sum = 0;
  for (std::size_t i = 0; i < a.rgb.size(); ++i) sum += std::abs(int{a.rgb[i]} - int{b.rgb[i]});
  return sum / static_cast<double>(a.rgb.size());
}

// Restores the real AV1 encoder answer when a test pretended otherwise.
struct AvifOverride {
  explicit AvifOverride(bool v) { detail::set_avif_encoder_available_for_testing(v); }
  ~AvifOverride() { detail::set_avif_encoder_available_for_testing(std::nullopt); }
  AvifOverride(const AvifOverride&) = delete;
  AvifOverride& operator=(const AvifOverride&) = delete;
};

}  // namespace

TEST_CASE("formats: names, extensions and content types") {
  CHECK(std::string(thumbnail_format_name(ThumbnailFormat::jpeg)) == "jpeg");
  CHECK(std::string(thumbnail_format_extension(ThumbnailFormat::jpeg)) == "jpg");
  CHECK(std::string(thumbnail_format_extension(ThumbnailFormat::webp)) == "webp");
  CHECK(std::string(thumbnail_format_extension(ThumbnailFormat::avif)) == "avif");
  CHECK(std::string(thumbnail_format_content_type(ThumbnailFormat::webp)) == "image/webp");
  CHECK(std::string(thumbnail_format_content_type(ThumbnailFormat::avif)) == "image/avif");
  CHECK(thumbnail_format_available(ThumbnailFormat::jpeg));
  CHECK(thumbnail_format_available(ThumbnailFormat::webp));
  // Debian 12's libheif1 links libaom: the AV1 encoder is there.
  CHECK(thumbnail_format_available(ThumbnailFormat::avif));
}

TEST_CASE("formats: the default is JPEG only, with its extension and content type") {
  auto t = make_thumbnails(fixtures::jpeg(fixtures::pattern(1200, 900)), default_thumbnail_specs());
  REQUIRE(t.ok());
  REQUIRE(t->size() == 3);
  for (const auto& x : *t) {
    CHECK(x.format == ThumbnailFormat::jpeg);
    CHECK(x.extension == "jpg");
    CHECK(x.content_type == "image/jpeg");
    CHECK(x.bytes == x.jpeg);
    CHECK(sniff_media_type(x.bytes) == MediaType::jpeg);
  }
}

TEST_CASE("formats: JPEG, WebP and AVIF of every size, in spec then format order, from one raster") {
  const std::string photo = fixtures::jpeg(fixtures::smooth(1600, 1000));
  auto only_jpeg = make_thumbnails(photo, specs_with({ThumbnailFormat::jpeg}));
  auto all = make_thumbnails(photo, specs_with(kAll));
  REQUIRE(only_jpeg.ok());
  REQUIRE_MESSAGE(all.ok(), all.status().message());
  REQUIRE(all->size() == 9);
  const char* names[] = {"small", "medium", "large"};
  for (std::size_t i = 0; i < 9; ++i) {
    const Thumbnail& t = (*all)[i];
    CAPTURE(i);
    CHECK(t.name == names[i / 3]);
    CHECK(t.format == kAll[i % 3]);
    CHECK(t.extension == thumbnail_format_extension(t.format));
    CHECK(t.content_type == thumbnail_format_content_type(t.format));
    CHECK(t.jpeg == (t.format == ThumbnailFormat::jpeg ? t.bytes : std::string()));
    const MediaType expected[] = {MediaType::jpeg, MediaType::webp, MediaType::avif};
    CHECK(sniff_media_type(t.bytes) == expected[i % 3]);
    // Same size for every format of a spec.
    CHECK(t.width == (*all)[i / 3 * 3].width);
    CHECK(t.height == (*all)[i / 3 * 3].height);
  }
  // The JPEG is byte for byte the one made alone: the same raster fed it.
  for (std::size_t s = 0; s < 3; ++s) CHECK((*all)[s * 3].bytes == (*only_jpeg)[s].bytes);
  // Decoded back, each format shows the same picture at its size.
  for (std::size_t s = 0; s < 3; ++s) {
    const detail::Raster ref = decode_back((*all)[s * 3]);
    CHECK(ref.width == (*all)[s * 3].width);
    for (std::size_t f = 1; f < 3; ++f) {
      const detail::Raster other = decode_back((*all)[s * 3 + f]);
      CAPTURE(thumbnail_format_name(kAll[f]));
      CHECK(mean_abs_error(ref, other) < 4.0);
    }
  }
}

TEST_CASE("formats: WebP and AVIF thumbnails of a photo are smaller than its JPEG") {
  // A Debian wallpaper the demo uses (lomiri-wallpapers-16.04).
  auto all = make_thumbnails_file("/usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg", specs_with(kAll));
  REQUIRE_MESSAGE(all.ok(), all.status().message());
  const auto& large_jpeg = (*all)[6];
  CHECK((*all)[7].bytes.size() < large_jpeg.bytes.size());
  CHECK((*all)[8].bytes.size() < large_jpeg.bytes.size());
}

TEST_CASE("formats: specs with bad format lists are refused naming the spec") {
  const std::string photo = fixtures::jpeg(fixtures::pattern(300, 200));
  auto specs = default_thumbnail_specs();
  specs[1].formats = {};
  auto r = make_thumbnails(photo, specs);
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  CHECK(r.status().message().find("'medium'") != std::string::npos);
  specs = default_thumbnail_specs();
  specs[0].formats = {ThumbnailFormat::webp, ThumbnailFormat::webp};
  r = make_thumbnails(photo, specs);
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  CHECK(r.status().message().find("webp listed twice") != std::string::npos);
  specs = default_thumbnail_specs();
  specs[2].webp_quality = 0;
  CHECK(make_thumbnails(photo, specs).status().code() == ErrorCode::invalid_argument);
  specs[2].webp_quality = 80;
  specs[2].avif_quality = 101;
  CHECK(make_thumbnails(photo, specs).status().code() == ErrorCode::invalid_argument);
}

TEST_CASE("formats: without an AV1 encoder, AVIF is refused clearly, before any decode") {
  AvifOverride missing(false);
  CHECK_FALSE(thumbnail_format_available(ThumbnailFormat::avif));
  CHECK(thumbnail_format_available(ThumbnailFormat::webp));
  auto r = make_thumbnails(fixtures::jpeg(fixtures::pattern(300, 200)), specs_with(kAll));
  CHECK(r.status().code() == ErrorCode::unsupported_media);
  CHECK(r.status().message().find("no AV1 encoder") != std::string::npos);
  // process_media refuses the specs before reading the file.
  auto p = process_media("not even an image", "x.jpg", MediaKind::photo, specs_with(kAll));
  CHECK(p.status().code() == ErrorCode::unsupported_media);
  // WebP alone still works.
  CHECK(make_thumbnails(fixtures::jpeg(fixtures::pattern(300, 200)), specs_with({ThumbnailFormat::webp})).ok());
}

TEST_CASE("formats: thumbnail_specs_from_config applies MEDIA_THUMBNAIL_FORMATS to every size") {
  Config c;
  c.thumbnail_formats = {ThumbnailFormat::webp, ThumbnailFormat::jpeg};
  auto specs = thumbnail_specs_from_config(c);
  REQUIRE(specs.size() == 3);
  for (const auto& s : specs) CHECK(s.formats == c.thumbnail_formats);
  CHECK(specs[2].width == 800);
}

TEST_CASE("formats: process_media returns every format and records the hashes") {
  auto p = process_media(fixtures::jpeg(fixtures::pattern(1000, 700)), "p.jpg", MediaKind::photo,
                         specs_with({ThumbnailFormat::webp, ThumbnailFormat::jpeg}));
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  REQUIRE(p->thumbnails.size() == 6);
  CHECK(p->thumbnails[0].format == ThumbnailFormat::webp);
  CHECK(p->thumbnails[1].format == ThumbnailFormat::jpeg);
  CHECK(p->info.phash.size() == 16);
  CHECK(parse_perceptual_hash(p->info.phash).ok());
  CHECK_FALSE(p->info.thumbhash.empty());
  // Validation alone makes no thumbnails and no hashes.
  auto v = process_media(fixtures::jpeg(fixtures::pattern(1000, 700)), "p.jpg", MediaKind::photo, {});
  REQUIRE(v.ok());
  CHECK(v->info.thumbhash.empty());
  CHECK(v->info.phash.empty());
}
