// The hostile-file set, generated here; each file has its expected verdict
// for validation and for thumbnailing. None may crash, hang or exhaust memory
// (the sanitizer build runs these too).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "fixtures.hpp"
#include "mediastore/media.hpp"

using namespace mediastore;

namespace {

RefusalReason verdict(const std::string& bytes, const std::string& name, std::string* message = nullptr) {
  RefusalReason reason = RefusalReason::unreadable;
  auto r = validate_media(bytes, name, MediaKind::photo, ValidationPolicy(), &reason);
  if (message) *message = r.status().message();
  CHECK(r.ok() == (reason == RefusalReason::none));
  // The single-decode path (validation + thumbnails) reaches the same verdict
  // with the same message, and makes every thumbnail of what it accepts.
  RefusalReason single = RefusalReason::unreadable;
  auto p = process_media(bytes, name, MediaKind::photo, default_thumbnail_specs(), ValidationPolicy(), &single);
  CHECK(single == reason);
  CHECK(p.ok() == r.ok());
  CHECK(p.status().message() == r.status().message());
  if (p.ok()) CHECK(p->thumbnails.size() == 3);
  return reason;
}

ErrorCode thumbs_code(const std::string& bytes) {
  return make_thumbnails(bytes, default_thumbnail_specs()).status().code();
}

}  // namespace

TEST_CASE("hostile: truncated JPEG is corrupt") {
  std::string j = fixtures::jpeg(fixtures::pattern(256, 256));
  for (std::size_t cut : {j.size() / 2, j.size() - 2, std::size_t{200}, std::size_t{3}}) {
    std::string message;
    CHECK(verdict(j.substr(0, cut), "t.jpg", &message) == RefusalReason::corrupt);
    CHECK(message.find("t.jpg: ") == 0);
  }
  CHECK(verdict(j, "t.jpg") == RefusalReason::none);
}

TEST_CASE("hostile: truncated PNG is corrupt") {
  std::string p = fixtures::png_rgb(fixtures::pattern(64, 64));
  CHECK(verdict(p.substr(0, p.size() / 2), "t.png") == RefusalReason::corrupt);
  CHECK(verdict(p.substr(0, 40), "t.png") == RefusalReason::corrupt);
  CHECK(thumbs_code(p.substr(0, p.size() / 2)) == ErrorCode::corrupt_media);
  // Found by the fuzzer: the file ends inside the chunk after IHDR, an empty
  // IDAT whose CRC is cut short. Checked before stb_image (which would copy
  // zero bytes to a null buffer, undefined behaviour).
  const std::string cut_idat(
      "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x08\0\0\0\x08\x08\x06\0\0\0\x0e\0\0\0"
      "\0\0\0\0IDATB`\x82",
      44);
  std::string message;
  CHECK(verdict(cut_idat, "t.png", &message) == RefusalReason::corrupt);
  CHECK(message.find("a chunk runs past the end of the file") != std::string::npos);
  CHECK(thumbs_code(cut_idat) == ErrorCode::corrupt_media);
}

TEST_CASE("hostile: PNG header claiming 100000x100000 is refused before decoding") {
  std::string p = fixtures::png_header_only(100000, 100000);
  CHECK(p.size() < 200);
  std::string message;
  CHECK(verdict(p, "huge.png", &message) == RefusalReason::too_many_pixels);
  CHECK(message == "huge.png: 100000x100000 = 10000 MP exceeds the 100 MP limit");
  CHECK(thumbs_code(p) == ErrorCode::too_large);
}

TEST_CASE("hostile: PNG bomb (tiny file, huge raster)") {
  std::string bomb = fixtures::png_bomb(12000, 12000);  // 144 MP of zeros
  CHECK(bomb.size() < 200 * 1024);
  CHECK(verdict(bomb, "bomb.png") == RefusalReason::too_many_pixels);
  CHECK(thumbs_code(bomb) == ErrorCode::too_large);
  // A small bomb-style stream is a valid image: proves the generator is a real PNG.
  std::string small = fixtures::png_bomb(300, 200);
  CHECK(verdict(small, "small.png") == RefusalReason::none);
}

TEST_CASE("hostile: EXIF block pointing into itself") {
  fixtures::ExifSpec s;
  s.orientation = 6;
  s.loop = true;
  std::string j = fixtures::insert_segment(fixtures::jpeg(fixtures::pattern(64, 32)), 0xE1, fixtures::exif_app1(s));
  RefusalReason reason;
  auto r = validate_media(j, "loop.jpg", MediaKind::photo, ValidationPolicy(), &reason);
  REQUIRE(r.ok());
  CHECK(r->orientation == 6);
  auto t = make_thumbnails(j, default_thumbnail_specs());
  REQUIRE(t.ok());
  CHECK((*t)[0].width == 32);
  CHECK((*t)[0].height == 64);
}

TEST_CASE("hostile: JPEG+HTML polyglots are refused") {
  std::string j = fixtures::jpeg(fixtures::pattern(64, 64));
  std::string message;
  // Markup in a comment segment.
  CHECK(verdict(fixtures::insert_segment(j, 0xFE, "<html><script>alert(document.cookie)</script></html>"), "p.jpg",
                &message) == RefusalReason::dangerous_content);
  CHECK(message == "p.jpg hides an HTML document inside a JPEG image");
  // Markup appended after the end of the image.
  CHECK(verdict(j + "<html><body onload=alert(1)></body></html>", "p.jpg") == RefusalReason::dangerous_content);
  // PHP in an APP segment.
  CHECK(verdict(fixtures::insert_segment(j, 0xEC, "<?php system($_GET['c']); ?>"), "p.jpg") ==
        RefusalReason::dangerous_content);
  // A ZIP appended (JPEG+ZIP polyglot).
  CHECK(verdict(j + std::string("PK\x03\x04\x14\0\0\0", 8) + std::string(40, 'x'), "p.jpg") ==
        RefusalReason::dangerous_content);
  // PNG with markup after IEND.
  CHECK(verdict(fixtures::png_rgb(fixtures::pattern(8, 8)) + "<script>alert(1)</script>", "p.png") ==
        RefusalReason::dangerous_content);
  // Harmless comments are fine.
  CHECK(verdict(fixtures::insert_segment(j, 0xFE, "Created with GIMP"), "ok.jpg") == RefusalReason::none);
}

TEST_CASE("hostile: zero bytes") {
  CHECK(verdict("", "zero.jpg") == RefusalReason::empty);
  CHECK(thumbs_code("") == ErrorCode::invalid_argument);
}

TEST_CASE("hostile: CMYK JPEG is accepted and converted") {
  // Inverted (Adobe) CMYK for pure red: C=0 M=1 Y=1 K=0 stored as 255 0 0 255.
  std::string j = fixtures::jpeg_cmyk_inverted(64, 64, 255, 0, 0, 255);
  CHECK(verdict(j, "cmyk.jpg") == RefusalReason::none);
  auto t = make_thumbnails(j, default_thumbnail_specs());
  REQUIRE(t.ok());
  auto px = fixtures::decode((*t)[0].jpeg);
  CHECK(fixtures::near(fixtures::pixel(px, 32, 32), {255, 0, 0}));
}

TEST_CASE("hostile: 16-bit PNG is accepted") {
  std::string raw;
  for (int i = 0; i < 32 * 16; ++i) raw += std::string("\x12\x34\xab\xcd\x00\x10", 6);  // RGB 16-bit
  std::string p = fixtures::png(32, 16, 16, 2, raw);
  CHECK(verdict(p, "deep.png") == RefusalReason::none);
  auto t = make_thumbnails(p, default_thumbnail_specs());
  REQUIRE(t.ok());
  auto px = fixtures::decode((*t)[0].jpeg);
  CHECK(fixtures::near(fixtures::pixel(px, 16, 8), {0x12, 0xab, 0x00}, 12));
}

TEST_CASE("hostile: greyscale JPEG and PNG") {
  std::string j = fixtures::jpeg_gray(40, 40, 200);
  CHECK(verdict(j, "g.jpg") == RefusalReason::none);
  auto t = make_thumbnails(j, default_thumbnail_specs());
  REQUIRE(t.ok());
  CHECK(fixtures::near(fixtures::pixel(fixtures::decode((*t)[0].jpeg), 20, 20), {200, 200, 200}, 6));
  std::string p = fixtures::png(8, 8, 8, 0, std::string(64, '\x40'));
  CHECK(verdict(p, "g.png") == RefusalReason::none);
}

TEST_CASE("hostile: 1000-frame GIF gives its first frame") {
  std::string g = fixtures::gif(64, 64, 1000);
  CHECK(verdict(g, "anim.gif") == RefusalReason::none);
  auto t = make_thumbnails(g, default_thumbnail_specs());
  REQUIRE(t.ok());
  CHECK((*t)[0].width == 64);
  CHECK(fixtures::near(fixtures::pixel(fixtures::decode((*t)[0].jpeg), 10, 10), {255, 0, 0}));
}

TEST_CASE("hostile: corrupt bytes inside a JPEG's entropy data") {
  std::string j = fixtures::jpeg(fixtures::pattern(128, 128));
  // Overwrite the middle with a run of marker-like bytes.
  for (std::size_t i = j.size() / 2; i < j.size() / 2 + 64; ++i) j[i] = static_cast<char>(0xFF);
  CHECK(verdict(j, "c.jpg") == RefusalReason::corrupt);
}

TEST_CASE("hostile: every truncation of small images neither crashes nor hangs") {
  const std::string files[] = {fixtures::jpeg(fixtures::pattern(24, 24)), fixtures::png_rgb(fixtures::pattern(8, 8)),
                               fixtures::gif(8, 8, 2), fixtures::webp(fixtures::pattern(16, 16)),
                               fixtures::bmp(fixtures::pattern(8, 8))};
  for (const auto& f : files) {
    for (std::size_t n = 1; n < f.size(); n += (n < 64 ? 1 : 7)) {
      RefusalReason reason;
      auto r = validate_media(std::string_view(f).substr(0, n), "t", MediaKind::photo, ValidationPolicy(), &reason);
      // Must not crash on the truncation (under ASan); refused or not is checked above.
      (void)make_thumbnails(std::string_view(f).substr(0, n), default_thumbnail_specs());
      CHECK(r.ok() == (reason == RefusalReason::none));
    }
  }
}

TEST_CASE("hostile: polyglot detection and thumbnails work the same from a file") {
  std::string j = fixtures::jpeg(fixtures::pattern(300, 200));
  char path[] = "/tmp/ms_media_hostile_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::string poly = j + std::string(5000, '\0') + "<script>alert(1)</script>";
  REQUIRE(write(fd, poly.data(), poly.size()) == static_cast<ssize_t>(poly.size()));
  close(fd);
  RefusalReason reason;
  auto r = validate_media_file(path, "p.jpg", MediaKind::photo, ValidationPolicy(), &reason);
  CHECK(reason == RefusalReason::dangerous_content);
  // The image part itself still makes thumbnails, identical to the in-memory path.
  auto from_file = make_thumbnails_file(path, default_thumbnail_specs());
  auto from_memory = make_thumbnails(poly, default_thumbnail_specs());
  std::remove(path);
  REQUIRE(from_file.ok());
  REQUIRE(from_memory.ok());
  for (std::size_t i = 0; i < 3; ++i) CHECK((*from_file)[i].jpeg == (*from_memory)[i].jpeg);
  CHECK((*from_file)[2].width == 300);
}

TEST_CASE("hostile: JPEG whose frame header claims 65000x65000") {
  std::string j = fixtures::jpeg(fixtures::pattern(16, 16));
  const std::size_t sof = j.find("\xff\xc0");
  REQUIRE(sof != std::string::npos);
  // SOF0: FF C0, length(2), precision(1), height(2), width(2)
  j[sof + 5] = static_cast<char>(0xFD);
  j[sof + 6] = static_cast<char>(0xE8);
  j[sof + 7] = static_cast<char>(0xFD);
  j[sof + 8] = static_cast<char>(0xE8);
  std::string message;
  CHECK(verdict(j, "big.jpg", &message) == RefusalReason::too_many_pixels);
  CHECK(message == "big.jpg: 65000x65000 = 4225 MP exceeds the 100 MP limit");
  CHECK(thumbs_code(j) == ErrorCode::too_large);
}

TEST_CASE("hostile: PNG with an empty first IDAT chunk (found by fuzzing)") {
  std::string p = fixtures::png_rgb(fixtures::pattern(8, 8));
  // After the signature (8) and IHDR (25): a zero-length IDAT with its CRC.
  p.insert(33, std::string("\0\0\0\0IDAT\x35\xaf\x06\x1e", 12));
  CHECK(verdict(p, "e.png") == RefusalReason::corrupt);
  CHECK(thumbs_code(p) == ErrorCode::corrupt_media);
}

TEST_CASE("hostile: PNG chunk claiming 2 GB in a tiny file (found by fuzzing)") {
  std::string p = fixtures::png_rgb(fixtures::pattern(8, 8));
  REQUIRE(p.substr(37, 4) == "IDAT");
  p.replace(33, 4, std::string("\x7f\xff\xff\xf0", 4));
  CHECK(verdict(p, "c.png") == RefusalReason::corrupt);
  CHECK(thumbs_code(p) == ErrorCode::corrupt_media);
}

TEST_CASE("hostile: truncated BMP is corrupt, not a partly black image") {
  const std::string b = fixtures::bmp(fixtures::quadrants(64, 48));
  REQUIRE(b.size() == 54 + 64 * 3 * 48);
  const std::string cut = b.substr(0, 80);
  // BMP is not a default photo type; allowed, validation decodes it and refuses.
  ValidationPolicy policy;
  policy.photo_mime_types.push_back("image/bmp");
  RefusalReason reason = RefusalReason::none;
  auto v = validate_media(cut, "t.bmp", MediaKind::photo, policy, &reason);
  CHECK(!v.ok());
  CHECK(reason == RefusalReason::corrupt);
  CHECK(v.status().message().find("truncated") != std::string::npos);
  CHECK(validate_media(b, "t.bmp", MediaKind::photo, policy, &reason).ok());
  CHECK(thumbs_code(cut) == ErrorCode::corrupt_media);
  // One byte short is as corrupt as 80 bytes; the whole file is fine.
  CHECK(thumbs_code(b.substr(0, b.size() - 1)) == ErrorCode::corrupt_media);
  auto whole = make_thumbnails(b, default_thumbnail_specs());
  CHECK(whole.ok());
  // Trailing bytes after the pixel data do not make it corrupt.
  CHECK(make_thumbnails(b + std::string(10, '\0'), default_thumbnail_specs()).ok());
}

TEST_CASE("hostile: GIF cut inside its first image is corrupt") {
  const std::string g = fixtures::gif(40, 30, 1);
  REQUIRE(make_thumbnails(g, default_thumbnail_specs()).ok());
  CHECK(verdict(g, "g.gif") == RefusalReason::none);
  // Without the trailer the image is still whole; without the data
  // terminator or with half the LZW data it is not.
  CHECK(make_thumbnails(g.substr(0, g.size() - 1), default_thumbnail_specs()).ok());
  for (std::size_t cut : {g.size() - 2, g.size() / 2, std::size_t{40}}) {
    CAPTURE(cut);
    std::string message;
    CHECK(verdict(g.substr(0, cut), "g.gif", &message) == RefusalReason::corrupt);
    CHECK(thumbs_code(g.substr(0, cut)) == ErrorCode::corrupt_media);
  }
}

TEST_CASE("hostile: an animated GIF cut in a later frame or without its trailer is corrupt for validation") {
  const std::string g = fixtures::gif(40, 30, 5);
  CHECK(verdict(g, "anim.gif") == RefusalReason::none);
  // Lenient thumbnailing needs only the first frame; validation proves the
  // whole file, as for every other format.
  for (std::size_t cut : {g.size() - 1, g.size() - 2, g.size() - 40}) {
    CAPTURE(cut);
    std::string message;
    CHECK(verdict(g.substr(0, cut), "anim.gif", &message) == RefusalReason::corrupt);
    CHECK(message.find("anim.gif: invalid GIF data: truncated after") == 0);
    CHECK(make_thumbnails(g.substr(0, cut), default_thumbnail_specs()).ok());
  }
  // A byte that starts no GIF block where the trailer should be.
  std::string junk = g;
  junk.back() = 'x';
  CHECK(verdict(junk, "anim.gif") == RefusalReason::corrupt);
  // Markup after the trailer is found like after a JPEG's or PNG's end.
  CHECK(verdict(g + "<html><script>alert(1)</script></html>", "anim.gif") == RefusalReason::dangerous_content);
}

TEST_CASE("hostile: HEIF grid that lists itself as a tile is refused before libheif decodes it") {
  // Found by fuzz_media_validate: libheif 1.15 recursed without limit on
  // them, starting a thread per level (the second hides the reference in a
  // 'dimg' box that claims more bytes than its 'iref' holds).
  for (const char* name : {"regress-heif-grid-self-reference", "regress-heif-grid-self-reference-oversized-dimg"}) {
    CAPTURE(name);
    std::string path = std::string(MS_TESTS_DIR) + "/fuzz/corpus/media_validate/" + name;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    std::string bytes(4096, '\0');
    bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
    std::fclose(f);
    REQUIRE(bytes.size() > 100);
    mediastore::ValidationPolicy policy;
    auto v = mediastore::validate_media(bytes, "bomb.heic", mediastore::MediaKind::photo, policy);
    REQUIRE_FALSE(v.ok());
    CHECK(v.status().is(mediastore::ErrorCode::unsupported_media));
    CHECK(v.status().message().find("derived") != std::string::npos);
    auto t = mediastore::make_thumbnails(bytes, mediastore::default_thumbnail_specs());
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().is(mediastore::ErrorCode::unsupported_media));
  }
}
