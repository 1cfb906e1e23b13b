#include <doctest/doctest.h>

#include <string>

#include "fixtures.hpp"
#include "media/exif.hpp"

using namespace mediastore::detail;
using fixtures::ExifSpec;

TEST_CASE("exif: orientation, capture time and GPS, both byte orders") {
  for (bool be : {false, true}) {
    ExifSpec s;
    s.orientation = 6;
    s.datetime_original = "2023:07:14 18:30:05";
    s.gps = true;
    s.big_endian = be;
    ExifData d = parse_exif_tiff(fixtures::exif_tiff(s));
    CHECK(d.valid);
    CHECK(d.orientation == 6);
    CHECK(d.datetime_original == "2023:07:14 18:30:05");
    CHECK(d.has_gps);
    ExifData p = parse_exif_payload(fixtures::exif_app1(s));
    CHECK(p.orientation == 6);
  }
}

TEST_CASE("exif: absent fields keep defaults") {
  ExifSpec s;
  ExifData d = parse_exif_tiff(fixtures::exif_tiff(s));
  CHECK(d.valid);
  CHECK(d.orientation == 1);
  CHECK(d.datetime_original.empty());
  CHECK(!d.has_gps);
}

TEST_CASE("exif: out-of-range orientation is ignored") {
  ExifSpec s;
  s.orientation = 9;
  CHECK(parse_exif_tiff(fixtures::exif_tiff(s)).orientation == 1);
}

TEST_CASE("exif: an IFD pointing into itself terminates") {
  ExifSpec s;
  s.orientation = 3;
  s.loop = true;
  ExifData d = parse_exif_tiff(fixtures::exif_tiff(s));
  CHECK(d.valid);
  CHECK(d.orientation == 3);
}

TEST_CASE("exif: truncated and garbage blocks are safe") {
  ExifSpec s;
  s.orientation = 8;
  s.datetime_original = "2001:02:03 04:05:06";
  s.gps = true;
  std::string t = fixtures::exif_tiff(s);
  // Every truncation parses without crashing (under ASan); the result is irrelevant.
  for (std::size_t n = 0; n < t.size(); ++n) (void)parse_exif_tiff(t.substr(0, n));
  CHECK(!parse_exif_tiff("").valid);
  CHECK(!parse_exif_tiff("II").valid);
  CHECK(!parse_exif_tiff("XX*\0\x08\0\0\0").valid);
  // IFD0 offset far outside the block.
  CHECK(parse_exif_tiff(std::string("II*\0\xff\xff\xff\x7f", 8)).orientation == 1);
  // Entry count huge.
  CHECK(parse_exif_tiff(std::string("II*\0\x08\0\0\0\xff\xff", 10)).orientation == 1);
}

TEST_CASE("exif: HEIF form with a 4-byte offset prefix") {
  ExifSpec s;
  s.orientation = 5;
  std::string heif = std::string("\0\0\0\0", 4) + fixtures::exif_tiff(s);
  CHECK(parse_exif_payload(heif).orientation == 5);
  std::string heif6 = std::string("\0\0\0\x06", 4) + fixtures::exif_app1(s);
  CHECK(parse_exif_payload(heif6).orientation == 5);
}

TEST_CASE("exif: clearing GPS keeps the length and the other tags") {
  ExifSpec s;
  s.orientation = 6;
  s.datetime_original = "2023:07:14 18:30:05";
  s.gps = true;
  std::string t = fixtures::exif_tiff(s);
  const std::size_t before = t.size();
  CHECK(t.find(std::string("N\0", 2)) != std::string::npos);
  CHECK(clear_exif_gps(t));
  CHECK(t.size() == before);
  ExifData d = parse_exif_tiff(t);
  CHECK(!d.has_gps);
  CHECK(d.orientation == 6);
  CHECK(d.datetime_original == "2023:07:14 18:30:05");
  // Latitude 48/1 51/1 30/1 is gone.
  std::string lat;
  for (unsigned v : {48u, 1u, 51u}) lat += std::string(reinterpret_cast<const char*>(&v), 4);
  CHECK(t.find(lat) == std::string::npos);
  CHECK(!clear_exif_gps(t));  // nothing left to clear
}

TEST_CASE("exif: GPS reached through IFD1 is found and cleared too") {
  // IFD0 (no entries) -> IFD1 with a GPS pointer -> GPS IFD with LatitudeRef "N".
  std::string t(
      "II*\0\x08\0\0\0"                                   // header, IFD0 at 8
      "\0\0\x0e\0\0\0"                                    // IFD0: 0 entries, next 14
      "\x01\0\x25\x88\x04\0\x01\0\0\0\x20\0\0\0\0\0\0\0"  // IFD1: GPS at 32, next 0
      "\x01\0\x01\0\x02\0\x02\0\0\0N\0\0\0\0\0\0\0",      // GPS: LatitudeRef
      50);
  CHECK(parse_exif_tiff(t).has_gps);
  CHECK(clear_exif_gps(t));
  CHECK(t.size() == 50);
  CHECK(!parse_exif_tiff(t).has_gps);
  CHECK(t.find('N') == std::string::npos);
}

TEST_CASE("exif: find the APP1 block among JPEG segments") {
  ExifSpec s;
  s.orientation = 7;
  std::string j =
      fixtures::insert_segment(fixtures::jpeg(fixtures::solid(16, 16, {1, 2, 3})), 0xE1, fixtures::exif_app1(s));
  CHECK(parse_exif_tiff(find_jpeg_exif(j)).orientation == 7);
  CHECK(find_jpeg_exif("not a jpeg").empty());
}
