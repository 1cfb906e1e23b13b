#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/crypto.hpp"
#include "fixtures.hpp"
#include "mediastore/media.hpp"

using namespace mediastore;

namespace {

struct Verdict {
  bool ok;
  RefusalReason reason;
  ErrorCode code;
  std::string message;
  MediaInfo info;
};

Verdict check(const std::string& bytes, const std::string& name, MediaKind kind = MediaKind::photo,
              const ValidationPolicy& policy = ValidationPolicy()) {
  RefusalReason reason = RefusalReason::unreadable;
  auto r = validate_media(bytes, name, kind, policy, &reason);
  Verdict v{r.ok(), reason, r.status().code(), r.status().message(), r.ok() ? *r : MediaInfo{}};
  return v;
}

std::string temp_file(const std::string& bytes) {
  char path[] = "/tmp/ms_media_validate_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  FILE* f = fdopen(fd, "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return path;
}

}  // namespace

TEST_CASE("validate: a JPEG photo with EXIF gives its metadata") {
  fixtures::ExifSpec s;
  s.orientation = 6;
  s.datetime_original = "2024:05:01 12:00:00";
  s.gps = true;
  std::string j = fixtures::insert_segment(fixtures::jpeg(fixtures::pattern(320, 200)), 0xE1, fixtures::exif_app1(s));
  Verdict v = check(j, "IMG_0001.JPG");
  REQUIRE(v.ok);
  CHECK(v.reason == RefusalReason::none);
  CHECK(v.info.type == MediaType::jpeg);
  CHECK(v.info.mime == "image/jpeg");
  CHECK(v.info.width == 320);
  CHECK(v.info.height == 200);
  CHECK(v.info.orientation == 6);
  CHECK(v.info.display_width == 200);
  CHECK(v.info.display_height == 320);
  CHECK(v.info.capture_time == "2024:05:01 12:00:00");
  CHECK(v.info.has_gps);
  CHECK(v.info.byte_size == j.size());
  CHECK(v.info.sha256 == detail::hex_lower(detail::sha256(j)));
  CHECK(!v.info.relabelled);
  CHECK(v.info.filename == "IMG_0001.JPG");
}

TEST_CASE("validate: from a file gives the same result and hash") {
  std::string j = fixtures::jpeg(fixtures::pattern(100, 60));
  std::string path = temp_file(j);
  RefusalReason reason = RefusalReason::unreadable;
  auto r = validate_media_file(path, "a.jpeg", MediaKind::photo, ValidationPolicy(), &reason);
  std::remove(path.c_str());
  REQUIRE(r.ok());
  CHECK(reason == RefusalReason::none);
  CHECK(r->sha256 == detail::hex_lower(detail::sha256(j)));
  CHECK(r->width == 100);
  auto missing = validate_media_file("/nonexistent/x.jpg", "x.jpg", MediaKind::photo);
  CHECK(missing.status().code() == ErrorCode::not_found);
}

TEST_CASE("validate: each accepted image format") {
  auto r = fixtures::pattern(64, 48);
  CHECK(check(fixtures::png_rgb(r), "a.png").info.type == MediaType::png);
  CHECK(check(fixtures::gif(20, 10, 3), "a.gif").info.width == 20);
  CHECK(check(fixtures::webp(r), "a.webp").info.type == MediaType::webp);
  std::string heic = fixtures::heif(r, "hevc");
  REQUIRE(!heic.empty());
  Verdict h = check(heic, "IMG_1.HEIC");
  CHECK(h.ok);
  CHECK(h.info.type == MediaType::heic);
  CHECK(h.info.width == 64);
  CHECK(h.info.height == 48);
  fixtures::ExifSpec s;
  s.datetime_original = "2025:12:24 18:00:00";
  s.gps = true;
  std::string heic_exif = fixtures::heif(r, "hevc", fixtures::exif_tiff(s));
  Verdict he = check(heic_exif, "IMG_2.heic");
  REQUIRE(he.ok);
  CHECK(he.info.capture_time == "2025:12:24 18:00:00");
  CHECK(he.info.has_gps);
  CHECK(he.info.orientation == 1);
}

TEST_CASE("validate: types outside the default photo policy") {
  auto r = fixtures::pattern(32, 32);
  Verdict b = check(fixtures::bmp(r), "a.bmp");
  CHECK(!b.ok);
  CHECK(b.reason == RefusalReason::type_not_allowed);
  CHECK(b.code == ErrorCode::unsupported_media);
  CHECK(b.message.find("a.bmp is a BMP image") == 0);
  ValidationPolicy p;
  p.photo_mime_types.push_back("image/bmp");
  CHECK(check(fixtures::bmp(r), "a.bmp", MediaKind::photo, p).ok);
  std::string avif = fixtures::heif(r, "av1");
  if (!avif.empty()) {
    CHECK(check(avif, "a.avif").reason == RefusalReason::type_not_allowed);
    p.photo_mime_types.push_back("image/avif");
    Verdict a = check(avif, "a.avif", MediaKind::photo, p);
    CHECK(a.ok);
    CHECK(a.info.type == MediaType::avif);
  }
}

TEST_CASE("validate: a container without its index is refused; kinds must match") {
  // A file type check alone no longer accepts a video: an ftyp box without a
  // 'moov' (the tests in video_test.cpp use real clips).
  Verdict mp4 = check(fixtures::bmff("isom"), "clip.mp4", MediaKind::video);
  CHECK(mp4.reason == RefusalReason::corrupt);
  CHECK(mp4.message.find("clip.mp4: no 'moov' box") == 0);
  Verdict webm = check(fixtures::webm(), "clip.webm", MediaKind::video);
  CHECK_FALSE(webm.ok);
  Verdict as_photo = check(fixtures::bmff("isom"), "clip.mp4", MediaKind::photo);
  CHECK(as_photo.reason == RefusalReason::type_not_allowed);
  CHECK(as_photo.message.find("clip.mp4 is an MP4 video") == 0);
  Verdict photo_as_video = check(fixtures::jpeg(fixtures::pattern(8, 8)), "a.jpg", MediaKind::video);
  CHECK(photo_as_video.reason == RefusalReason::type_not_allowed);
}

TEST_CASE("validate: extension must agree with the content") {
  std::string pngdata = fixtures::png_rgb(fixtures::pattern(16, 16));
  Verdict v = check(pngdata, "photo.jpg");
  REQUIRE(v.ok);
  CHECK(v.info.relabelled);
  CHECK(v.info.type == MediaType::png);
  CHECK(v.info.filename == "photo.png");
  CHECK(v.info.note == "photo.jpg is a PNG image; relabelled photo.png");

  ValidationPolicy strict;
  strict.relabel_mismatched_extension = false;
  Verdict s = check(pngdata, "file.gif", MediaKind::photo, strict);
  CHECK(!s.ok);
  CHECK(s.reason == RefusalReason::extension_mismatch);
  CHECK(s.code == ErrorCode::invalid_argument);
  CHECK(s.message == "file.gif is a PNG image");

  Verdict php = check(fixtures::jpeg(fixtures::pattern(8, 8)), "shell.php");
  CHECK(php.reason == RefusalReason::extension_mismatch);
  CHECK(php.message == "shell.php: the extension .php does not fit its content (a JPEG image)");

  Verdict none = check(pngdata, "upload");
  CHECK(none.ok);
  CHECK(none.info.filename == "upload.png");
  CHECK(check(fixtures::jpeg(fixtures::pattern(8, 8)), "x.jpeg").info.filename == "x.jpeg");
}

TEST_CASE("validate: dangerous content named .jpg is refused") {
  const std::pair<std::string, std::string> cases[] = {
      {"<!DOCTYPE html><html><script>alert(1)</script></html>", "file.jpg is an HTML document"},
      {"<?php echo shell_exec($_GET['c']); ?>", "file.jpg is a PHP script"},
      {std::string("PK\x03\x04\x14\0\0\0\0\0", 10) + std::string(30, 'z'), "file.jpg is a ZIP archive"},
      {"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "file.jpg is a PDF document"},
      {std::string("\x7f"
                   "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
                   16),
       "file.jpg is an ELF executable"},
      {std::string("MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0", 16), "file.jpg is a Windows executable"},
      {"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "file.jpg is an SVG document"},
  };
  for (const auto& [bytes, message] : cases) {
    Verdict v = check(bytes, "file.jpg");
    CHECK(!v.ok);
    CHECK(v.reason == RefusalReason::dangerous_content);
    CHECK(v.code == ErrorCode::unsupported_media);
    CHECK(v.message == message);
  }
  Verdict text = check("just some text", "notes.jpg");
  CHECK(text.reason == RefusalReason::unknown_type);
  CHECK(text.message == "notes.jpg is not a recognised image or video");
}

TEST_CASE("validate: size limits") {
  Verdict empty = check("", "a.jpg");
  CHECK(empty.reason == RefusalReason::empty);
  CHECK(empty.code == ErrorCode::invalid_argument);
  CHECK(empty.message == "a.jpg is empty");
  ValidationPolicy small;
  small.max_upload_size = 100;
  Verdict big = check(fixtures::jpeg(fixtures::pattern(64, 64)), "a.jpg", MediaKind::photo, small);
  CHECK(big.reason == RefusalReason::file_too_large);
  CHECK(big.code == ErrorCode::too_large);
  Config cfg;
  cfg.max_upload_size = 1234;
  CHECK(ValidationPolicy::from_config(cfg).max_upload_size == 1234);
  CHECK(ValidationPolicy::from_config(cfg).photo_mime_types.size() == 6);
}

TEST_CASE("validate: pixel limit from the header with a readable message") {
  Verdict v = check(fixtures::png_header_only(12000, 12000), "x.png");
  CHECK(!v.ok);
  CHECK(v.reason == RefusalReason::too_many_pixels);
  CHECK(v.code == ErrorCode::too_large);
  CHECK(v.message == "x.png: 12000x12000 = 144 MP exceeds the 100 MP limit");
  ValidationPolicy p;
  p.max_pixels = 1000;
  Verdict j = check(fixtures::jpeg(fixtures::pattern(40, 30)), "x.jpg", MediaKind::photo, p);
  CHECK(j.reason == RefusalReason::too_many_pixels);
  p.decode_images = false;
  CHECK(check(fixtures::jpeg(fixtures::pattern(40, 30)), "x.jpg", MediaKind::photo, p).reason ==
        RefusalReason::too_many_pixels);
}

TEST_CASE("validate: without decoding, the header still gives size and EXIF") {
  ValidationPolicy p;
  p.decode_images = false;
  fixtures::ExifSpec s;
  s.orientation = 8;
  std::string j = fixtures::insert_segment(fixtures::jpeg(fixtures::pattern(40, 30)), 0xE1, fixtures::exif_app1(s));
  Verdict v = check(j, "x.jpg", MediaKind::photo, p);
  REQUIRE(v.ok);
  CHECK(v.info.width == 40);
  CHECK(v.info.orientation == 8);
  CHECK(v.info.display_width == 30);
}

TEST_CASE("validate: reasons map to codes and have names") {
  CHECK(refusal_reason_code(RefusalReason::corrupt) == ErrorCode::corrupt_media);
  CHECK(refusal_reason_code(RefusalReason::none) == ErrorCode::ok);
  CHECK(std::string(refusal_reason_name(RefusalReason::dangerous_content)) == "dangerous_content");
}

namespace {

// validate_media's info and make_thumbnails' thumbnails, to compare with
// what process_media gives from its single decode.
void check_same_as_two_passes(const std::string& bytes, const std::string& name) {
  CAPTURE(name);
  const auto specs = default_thumbnail_specs();
  auto info = validate_media(bytes, name, MediaKind::photo);
  auto thumbs = make_thumbnails(bytes, specs);
  REQUIRE(info.ok());
  REQUIRE(thumbs.ok());
  int called = 0;
  RefusalReason reason = RefusalReason::unreadable;
  auto p = process_media(bytes, name, MediaKind::photo, specs, ValidationPolicy(), &reason, [&] { ++called; });
  REQUIRE_MESSAGE(p.ok(), p.status().to_string());
  CHECK(reason == RefusalReason::none);
  CHECK(called == 1);
  CHECK(p->info.type == info->type);
  CHECK(p->info.mime == info->mime);
  CHECK(p->info.sha256 == info->sha256);
  CHECK(p->info.width == info->width);
  CHECK(p->info.height == info->height);
  CHECK(p->info.orientation == info->orientation);
  CHECK(p->info.display_width == info->display_width);
  CHECK(p->info.display_height == info->display_height);
  CHECK(p->info.capture_time == info->capture_time);
  CHECK(p->info.has_gps == info->has_gps);
  CHECK(p->info.filename == info->filename);
  REQUIRE(p->thumbnails.size() == thumbs->size());
  for (std::size_t i = 0; i < thumbs->size(); ++i) {
    CHECK(p->thumbnails[i].name == (*thumbs)[i].name);
    CHECK(p->thumbnails[i].width == (*thumbs)[i].width);
    CHECK(p->thumbnails[i].height == (*thumbs)[i].height);
    CHECK(p->thumbnails[i].jpeg == (*thumbs)[i].jpeg);  // the same pixels, byte for byte
  }
}

}  // namespace

TEST_CASE("process_media: one decode gives validation's verdict and the thumbnails' bytes") {
  fixtures::ExifSpec s;
  s.orientation = 6;
  s.datetime_original = "2024:05:01 12:00:00";
  s.gps = true;
  const fixtures::Raster big = fixtures::pattern(2000, 1300);
  check_same_as_two_passes(fixtures::insert_segment(fixtures::jpeg(big), 0xE1, fixtures::exif_app1(s)), "IMG_1.JPG");
  check_same_as_two_passes(fixtures::jpeg(big, 90, true), "progressive.jpg");
  check_same_as_two_passes(fixtures::jpeg(fixtures::pattern(320, 200)), "small.jpg");
  check_same_as_two_passes(fixtures::png_rgba(300, 200, fixtures::Rgb{10, 200, 30}, 128), "alpha.png");
  check_same_as_two_passes(fixtures::gif(40, 30, 3), "anim.gif");
  check_same_as_two_passes(fixtures::webp(fixtures::pattern(500, 400)), "a.webp");
  check_same_as_two_passes(fixtures::heif(fixtures::pattern(64, 48), "hevc"), "a.heic");
  check_same_as_two_passes(fixtures::png_rgb(fixtures::pattern(64, 48)), "really-a-png.jpg");  // relabelled
}

TEST_CASE("validate_media_file: files longer than the decoder's read buffer give the memory verdicts") {
  // The JPEG file source reads 128 KiB at a time: these cuts land in the
  // first buffer, across refills and in the last one, and the trailing
  // markup is found past several refills.
  const std::string j = fixtures::jpeg(fixtures::pattern(1600, 1200), 98);
  REQUIRE(j.size() > 3 * 128 * 1024);
  const std::size_t cuts[] = {100, 128 * 1024 + 1, 2 * 128 * 1024, j.size() / 2, j.size() - 2};
  std::vector<std::string> cases;
  for (std::size_t cut : cuts) cases.push_back(j.substr(0, cut));
  cases.push_back(j);
  cases.push_back(j + "<script>alert(1)</script>");
  for (const std::string& bytes : cases) {
    CAPTURE(bytes.size());
    const std::string path = temp_file(bytes);
    RefusalReason from_file = RefusalReason::unreadable, from_memory = RefusalReason::unreadable;
    auto f = validate_media_file(path, "big.jpg", MediaKind::photo, ValidationPolicy(), &from_file);
    auto m = validate_media(bytes, "big.jpg", MediaKind::photo, ValidationPolicy(), &from_memory);
    std::remove(path.c_str());
    CHECK(from_file == from_memory);
    CHECK(f.ok() == m.ok());
    CHECK(f.status().message() == m.status().message());
    if (bytes.size() < j.size()) CHECK(from_file == RefusalReason::corrupt);
    if (bytes.size() == j.size()) CHECK(f.ok());
    if (bytes.size() > j.size()) CHECK_FALSE(f.ok());
  }
  // Header-only probe (decode_images off) reads through a smaller buffer.
  const std::string path = temp_file(j);
  ValidationPolicy probe_only;
  probe_only.decode_images = false;
  auto probed = validate_media_file(path, "big.jpg", MediaKind::photo, probe_only);
  std::remove(path.c_str());
  REQUIRE(probed.ok());
  CHECK(probed->width == 1600);
  CHECK(probed->height == 1200);
}

TEST_CASE("process_media: from a file, refusals, videos, no specs and bad specs") {
  const std::string j = fixtures::jpeg(fixtures::pattern(900, 700));
  const std::string path = temp_file(j);
  auto from_file = process_media_file(path, "f.jpg", MediaKind::photo, default_thumbnail_specs());
  auto from_memory = process_media(j, "f.jpg", MediaKind::photo, default_thumbnail_specs());
  std::remove(path.c_str());
  REQUIRE(from_file.ok());
  REQUIRE(from_memory.ok());
  CHECK(from_file->info.sha256 == from_memory->info.sha256);
  REQUIRE(from_file->thumbnails.size() == 3);
  CHECK(from_file->thumbnails[2].jpeg == from_memory->thumbnails[2].jpeg);
  CHECK(from_file->thumbnails[2].width == 771);  // 900x700 inside 800x600

  // A refusal is validation's, word for word, and on_validated is not called.
  std::string cut = j.substr(0, j.size() / 2);
  RefusalReason r1 = RefusalReason::none, r2 = RefusalReason::none;
  bool called = false;
  auto v = validate_media(cut, "cut.jpg", MediaKind::photo, ValidationPolicy(), &r1);
  auto p = process_media(cut, "cut.jpg", MediaKind::photo, default_thumbnail_specs(), ValidationPolicy(), &r2,
                         [&] { called = true; });
  REQUIRE_FALSE(p.ok());
  CHECK(r1 == RefusalReason::corrupt);
  CHECK(r2 == r1);
  CHECK(p.status().code() == v.status().code());
  CHECK(p.status().message() == v.status().message());
  CHECK_FALSE(called);

  // A video's refusal is validate's (video_test.cpp has the accepted ones).
  RefusalReason vr = RefusalReason::none;
  auto video = process_media(fixtures::bmff("isom"), "clip.mp4", MediaKind::video, default_thumbnail_specs(),
                             ValidationPolicy(), &vr);
  CHECK(vr == RefusalReason::corrupt);
  CHECK(video.status().message() ==
        validate_media(fixtures::bmff("isom"), "clip.mp4", MediaKind::video).status().message());

  // No specs: validation only.
  auto bare = process_media(j, "f.jpg", MediaKind::photo, {});
  REQUIRE(bare.ok());
  CHECK(bare->thumbnails.empty());
  CHECK(bare->info.width == 900);

  // A bad spec is the caller's error, reported before the file is looked at.
  std::vector<ThumbnailSpec> bad = {ThumbnailSpec{"huge", 0, 10, FitMode::inside, 85, false}};
  RefusalReason r3 = RefusalReason::corrupt;
  auto b = process_media(cut, "cut.jpg", MediaKind::photo, bad, ValidationPolicy(), &r3);
  CHECK(b.status().code() == ErrorCode::invalid_argument);
  CHECK(b.status().message().find("huge") != std::string::npos);
  CHECK(r3 == RefusalReason::none);
}
