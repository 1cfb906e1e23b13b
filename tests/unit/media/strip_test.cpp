#include <doctest/doctest.h>

#include <string>

#include "fixtures.hpp"
#include "mediastore/media.hpp"

using namespace mediastore;
using namespace std::string_literals;

namespace {

std::string from_sos(const std::string& j) {
  std::size_t p = j.find("\xff\xda");
  return p == std::string::npos ? "" : j.substr(p);
}

std::string photo_with_everything() {
  fixtures::ExifSpec s;
  s.orientation = 6;
  s.datetime_original = "2022:02:02 02:02:02";
  s.gps = true;
  std::string j = fixtures::jpeg(fixtures::pattern(120, 90));
  j = fixtures::insert_segment(j, 0xFE, "a comment");
  j = fixtures::insert_segment(j, 0xE1,
                               "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>48,51N</exif:GPSLatitude>"s);
  j = fixtures::insert_segment(j, 0xED, "Photoshop 3.0\0 IPTC"s);
  j = fixtures::insert_segment(j, 0xE2, std::string("ICC_PROFILE\0\x01\x01", 14) + "fake-profile");
  j = fixtures::insert_segment(j, 0xE1, fixtures::exif_app1(s));
  return j;
}

}  // namespace

TEST_CASE("strip gps: GPS gone, other EXIF kept, image data byte-identical") {
  std::string j = photo_with_everything();
  auto before = validate_media(j, "a.jpg", MediaKind::photo);
  REQUIRE(before.ok());
  CHECK(before->has_gps);
  auto s = strip_jpeg_metadata(j, StripMode::gps);
  REQUIRE(s.ok());
  auto after = validate_media(*s, "a.jpg", MediaKind::photo);
  REQUIRE(after.ok());
  CHECK(!after->has_gps);
  CHECK(after->orientation == 6);
  CHECK(after->capture_time == "2022:02:02 02:02:02");
  CHECK(from_sos(*s) == from_sos(j));
  CHECK(j.find("GPSLatitude") != std::string::npos);
  CHECK(s->find("GPSLatitude") == std::string::npos);  // the XMP copy is dropped
  CHECK(s->find("a comment") != std::string::npos);
  CHECK(s->find("ICC_PROFILE") != std::string::npos);
}

TEST_CASE("strip all: only JFIF and ICC remain, pixels identical") {
  std::string j = photo_with_everything();
  auto s = strip_jpeg_metadata(j, StripMode::all);
  REQUIRE(s.ok());
  CHECK(s->find("Exif") == std::string::npos);
  CHECK(s->find("a comment") == std::string::npos);
  CHECK(s->find("Photoshop") == std::string::npos);
  CHECK(s->find("xmpmeta") == std::string::npos);
  CHECK(s->find("ICC_PROFILE") != std::string::npos);
  CHECK(s->find("JFIF") != std::string::npos);
  CHECK(from_sos(*s) == from_sos(j));
  auto a = fixtures::decode(j), b = fixtures::decode(*s);
  CHECK(a.rgb == b.rgb);
  auto v = validate_media(*s, "a.jpg", MediaKind::photo);
  REQUIRE(v.ok());
  CHECK(v->orientation == 1);
  CHECK(v->capture_time.empty());
}

TEST_CASE("strip: refuses what is not a well-formed JPEG") {
  CHECK(strip_jpeg_metadata("", StripMode::all).status().code() == ErrorCode::invalid_argument);
  CHECK(strip_jpeg_metadata("\x89PNG\r\n\x1a\n", StripMode::all).status().code() == ErrorCode::invalid_argument);
  std::string j = photo_with_everything();
  CHECK(strip_jpeg_metadata(j.substr(0, 30), StripMode::gps).status().code() == ErrorCode::corrupt_media);
  std::string broken = j;
  broken[2] = 'x';
  CHECK(strip_jpeg_metadata(broken, StripMode::all).status().code() == ErrorCode::corrupt_media);
  // Every truncation is handled without crashing (under ASan); the result is irrelevant.
  for (std::size_t n = 0; n < 400; ++n) (void)strip_jpeg_metadata(j.substr(0, n), StripMode::gps);
}
