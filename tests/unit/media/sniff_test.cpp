#include <doctest/doctest.h>

#include <string>

#include "fixtures.hpp"
#include "media/sniff.hpp"
#include "mediastore/media.hpp"

using namespace mediastore;

TEST_CASE("sniff: image signatures") {
  auto r = fixtures::solid(8, 8, {10, 20, 30});
  CHECK(sniff_media_type(fixtures::jpeg(r)) == MediaType::jpeg);
  CHECK(sniff_media_type(fixtures::png_rgb(r)) == MediaType::png);
  CHECK(sniff_media_type(fixtures::gif(4, 4, 1)) == MediaType::gif);
  CHECK(sniff_media_type(fixtures::webp(r)) == MediaType::webp);
  CHECK(sniff_media_type(fixtures::bmp(r)) == MediaType::bmp);
  CHECK(sniff_media_type(std::string("GIF87a") + std::string(10, '\0')) == MediaType::gif);
}

TEST_CASE("sniff: ISO-BMFF brands") {
  CHECK(sniff_media_type(fixtures::bmff("heic")) == MediaType::heic);
  CHECK(sniff_media_type(fixtures::bmff("heix")) == MediaType::heic);
  CHECK(sniff_media_type(fixtures::bmff("mif1")) == MediaType::heif);
  CHECK(sniff_media_type(fixtures::bmff("avif")) == MediaType::avif);
  CHECK(sniff_media_type(fixtures::bmff("isom")) == MediaType::mp4);
  CHECK(sniff_media_type(fixtures::bmff("mp42")) == MediaType::mp4);
  CHECK(sniff_media_type(fixtures::bmff("qt  ")) == MediaType::quicktime);
  CHECK(sniff_media_type(fixtures::bmff("zzzz")) == MediaType::mp4);  // unknown major, "isom" compatible
  // mif1 major brand with heic among the compatible brands.
  std::string mif = fixtures::bmff("mif1");
  mif.replace(16, 4, "heic");
  CHECK(sniff_media_type(mif) == MediaType::heic);
  // QuickTime without ftyp.
  CHECK(sniff_media_type(std::string("\0\0\0\x08wide\0\0\0\x10mdat", 16)) == MediaType::quicktime);
}

TEST_CASE("sniff: Matroska family") {
  CHECK(sniff_media_type(fixtures::webm()) == MediaType::webm);
  std::string mkv = fixtures::webm();
  mkv.replace(mkv.find("webm"), 4, "matr");
  CHECK(sniff_media_type(mkv) == MediaType::unknown);  // the DocType length says 4 bytes: "matr"
}

TEST_CASE("sniff: dangerous look-alikes") {
  CHECK(sniff_media_type("<!DOCTYPE html><html></html>") == MediaType::html);
  CHECK(sniff_media_type("\xEF\xBB\xBF  \n<html><body>x</body></html>") == MediaType::html);
  CHECK(sniff_media_type("<script>alert(1)</script>") == MediaType::html);
  CHECK(sniff_media_type("<svg xmlns=\"http://www.w3.org/2000/svg\"/>") == MediaType::svg);
  CHECK(sniff_media_type("<?xml version=\"1.0\"?>\n<svg onload=\"alert(1)\"></svg>") == MediaType::svg);
  CHECK(sniff_media_type("<?php system($_GET['c']); ?>") == MediaType::php);
  CHECK(sniff_media_type("<?= `id` ?>") == MediaType::php);
  CHECK(sniff_media_type(std::string("PK\x03\x04\x14\0\0\0", 8)) == MediaType::zip);
  CHECK(sniff_media_type("%PDF-1.7\n") == MediaType::pdf);
  CHECK(sniff_media_type(std::string("\x7f"
                                     "ELF\x02\x01\x01\0",
                                     8)) == MediaType::elf);
  CHECK(sniff_media_type(std::string("MZ\x90\0\x03\0\0\0", 8)) == MediaType::pe);
  for (auto t :
       {MediaType::html, MediaType::svg, MediaType::php, MediaType::zip, MediaType::pdf, MediaType::elf, MediaType::pe})
    CHECK(media_type_is_dangerous(t));
}

TEST_CASE("sniff: unknown and short input never over-read") {
  CHECK(sniff_media_type("") == MediaType::unknown);
  CHECK(sniff_media_type("\xFF") == MediaType::unknown);
  CHECK(sniff_media_type("\xFF\xD8") == MediaType::unknown);
  CHECK(sniff_media_type("hello world, plain text") == MediaType::unknown);
  CHECK(sniff_media_type(std::string("RIFF\0\0\0\0WAVE", 12)) == MediaType::unknown);
  CHECK(sniff_media_type(std::string("\0\0\0\x04"
                                     "ftyp",
                                     8)) == MediaType::unknown);
  CHECK(sniff_media_type(std::string("BM\0\0\0\0\0\0\0\0\0\0\0\0\x07\0\0\0", 18)) == MediaType::unknown);
}

TEST_CASE("sniff: names, MIME types and extensions") {
  CHECK(std::string(media_type_mime(MediaType::jpeg)) == "image/jpeg");
  CHECK(std::string(media_type_mime(MediaType::heic)) == "image/heic");
  CHECK(std::string(media_type_mime(MediaType::quicktime)) == "video/quicktime");
  CHECK(std::string(media_type_mime(MediaType::unknown)) == "application/octet-stream");
  CHECK(std::string(media_type_extension(MediaType::png)) == "png");
  CHECK(std::string(media_type_extension(MediaType::html)).empty());
  CHECK(std::string(media_type_description(MediaType::png)) == "PNG image");
  CHECK(media_type_is_image(MediaType::avif));
  CHECK(!media_type_is_image(MediaType::mp4));
  CHECK(media_type_is_video(MediaType::webm));
}

TEST_CASE("find_active_markup: tags must end, case-insensitive") {
  using detail::find_active_markup;
  CHECK(find_active_markup("xx<SCRIPT>") == MediaType::html);
  CHECK(find_active_markup("xx<scriptfoo") == MediaType::unknown);
  CHECK(find_active_markup("<?php") == MediaType::php);
  CHECK(find_active_markup("abc<svg/onload=x>") == MediaType::svg);
  CHECK(find_active_markup("<x:xmpmeta xmlns:x='adobe:ns:meta/'>") == MediaType::unknown);
  CHECK(find_active_markup("<") == MediaType::unknown);
}
