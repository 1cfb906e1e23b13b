// Type detection from content. Signatures: JPEG FF D8 FF; PNG 89 'PNG' 0D 0A
// 1A 0A; GIF 'GIF87a'/'GIF89a'; WebP 'RIFF' size 'WEBP'; BMP 'BM' with a known
// DIB header size; ISO-BMFF 'ftyp' brands (HEIC/HEIF/AVIF/MP4/QuickTime);
// EBML 1A 45 DF A3 with DocType webm/matroska; the dangerous look-alikes by
// their magic or leading markup.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "media/sniff.hpp"

namespace mediastore {
namespace {

bool starts(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (lower(s[i]) != prefix[i]) return false;
  return true;
}

std::uint32_t be32(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) | u[3];
}

MediaType brand_type(std::string_view b) {
  if (b == "heic" || b == "heix" || b == "heim" || b == "heis" || b == "hevc" || b == "hevx") return MediaType::heic;
  if (b == "avif" || b == "avis") return MediaType::avif;
  if (b == "mif1" || b == "msf1" || b == "mif2") return MediaType::heif;
  if (b == "qt  ") return MediaType::quicktime;
  if (b == "isom" || b == "iso2" || b == "iso3" || b == "iso4" || b == "iso5" || b == "iso6" || b == "mp41" ||
      b == "mp42" || b == "avc1" || b == "M4V " || b == "M4A " || b == "dash" || b == "3gp4" || b == "3gp5" ||
      b == "3gp6" || b == "3g2a" || b == "mmp4" || b == "f4v " || b == "MSNV" || b == "XAVC")
    return MediaType::mp4;
  return MediaType::unknown;
}

MediaType sniff_bmff(std::string_view h) {
  // [size][ftyp][major][minor][compatible brands...]
  std::uint32_t size = be32(h.data());
  if (size < 16) return MediaType::unknown;
  std::string_view box = h.substr(0, size);
  MediaType major = brand_type(box.substr(8, 4));
  // A generic HEIF major brand ("mif1") says more in its compatible brands.
  if (major == MediaType::heif || major == MediaType::unknown || major == MediaType::mp4) {
    MediaType better = MediaType::unknown;
    for (std::size_t off = 16; off + 4 <= box.size(); off += 4) {
      MediaType t = brand_type(box.substr(off, 4));
      if (major == MediaType::heif || major == MediaType::unknown) {
        if (t == MediaType::heic || t == MediaType::avif) return t;
        if (better == MediaType::unknown && t != MediaType::unknown) better = t;
      }
    }
    if (major == MediaType::unknown) return better;
  }
  return major;
}

MediaType sniff_ebml(std::string_view h) {
  // Look for the DocType element (42 82) and its string inside the header.
  std::size_t p = h.find("\x42\x82");
  if (p != std::string_view::npos && p + 3 < h.size()) {
    auto len_byte = static_cast<unsigned char>(h[p + 2]);
    if (len_byte & 0x80) {
      std::size_t len = len_byte & 0x7f;
      std::string_view doctype = h.substr(p + 3, len);
      if (doctype == "webm") return MediaType::webm;
      if (doctype == "matroska") return MediaType::matroska;
    }
  }
  return MediaType::unknown;
}

// Skips a UTF-8 BOM and whitespace.
std::string_view skip_space(std::string_view s) {
  if (starts(s, "\xEF\xBB\xBF")) s.remove_prefix(3);
  while (!s.empty() && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n' || s[0] == '\f'))
    s.remove_prefix(1);
  return s;
}

MediaType sniff_text(std::string_view h) {
  std::string_view s = skip_space(h);
  if (starts_nocase(s, "<?php") || starts(s, "<?=")) return MediaType::php;
  if (starts_nocase(s, "<svg")) return MediaType::svg;
  if (starts_nocase(s, "<?xml") || starts_nocase(s, "<!doctype svg") || starts_nocase(s, "<!--")) {
    MediaType m = detail::find_active_markup(s.substr(0, 4096));
    if (m != MediaType::unknown) return m;
  }
  static constexpr std::string_view kHtmlStarts[] = {"<!doctype html", "<html", "<head", "<body", "<script", "<iframe",
                                                     "<title",         "<meta", "<div",  "<a ",   "<p>",     "<table",
                                                     "<style",         "<img",  "<form", "<br",   "<h1"};
  for (auto t : kHtmlStarts)
    if (starts_nocase(s, t)) return MediaType::html;
  return MediaType::unknown;
}

}  // namespace

namespace detail {

MediaType find_active_markup(std::string_view data) noexcept {
  static constexpr struct {
    std::string_view tag;
    MediaType type;
  } kMarkers[] = {
      {"<?php", MediaType::php},    {"<script", MediaType::html},
      {"<html", MediaType::html},   {"<!doctype html", MediaType::html},
      {"<iframe", MediaType::html}, {"<body", MediaType::html},
      {"<svg", MediaType::svg},     {"<object", MediaType::html},
      {"<embed", MediaType::html},  {"<meta http-equiv", MediaType::html},
  };
  for (std::size_t i = 0; i < data.size(); ++i) {
    const void* lt = std::memchr(data.data() + i, '<', data.size() - i);
    if (!lt) break;
    i = static_cast<std::size_t>(static_cast<const char*>(lt) - data.data());
    std::string_view rest = data.substr(i, 20);
    for (const auto& m : kMarkers) {
      if (!starts_nocase(rest, m.tag)) continue;
      // The tag name must end here ("<svg>", "<svg ", not "<svgfoo").
      if (rest.size() > m.tag.size()) {
        char c = rest[m.tag.size()];
        bool ends = c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || m.tag.back() == ' ' ||
                    m.tag == "<?php";
        if (!ends) continue;
      }
      return m.type;
    }
  }
  return MediaType::unknown;
}

std::string with_article(MediaType type) {
  const std::string_view what = media_type_description(type);
  const bool vowel = std::string_view("AEIOU").find(what[0]) != std::string_view::npos || what.substr(0, 4) == "HTML" ||
                     what.substr(0, 3) == "SVG" || what.substr(0, 3) == "MP4";
  return std::string(vowel ? "an " : "a ") + std::string(what);
}

MediaType find_embedded_archive(std::string_view data) noexcept {
  // Appended archives/executables: look for their magic anywhere in the tail.
  if (data.find("PK\x03\x04") != std::string_view::npos) return MediaType::zip;
  if (data.find("%PDF-") != std::string_view::npos) return MediaType::pdf;
  if (data.find("\x7f"
                "ELF") != std::string_view::npos)
    return MediaType::elf;
  return MediaType::unknown;
}

MediaType scan_for_hidden_file(const Input& in, std::uint64_t from, std::uint64_t to, bool markup_only) {
  constexpr std::size_t kChunk = 1 << 20;
  to = std::min(to, in.size());
  for (std::uint64_t off = from; off < to; off += kChunk) {
    // 32 bytes of overlap: markers straddling chunks.
    const std::uint64_t want = std::min<std::uint64_t>(kChunk + 32, to - off);
    std::string chunk = in.read_string(off, static_cast<std::size_t>(want));
    MediaType t = find_active_markup(chunk);
    if (t == MediaType::unknown && !markup_only) t = find_embedded_archive(chunk);
    if (t != MediaType::unknown) return t;
  }
  return MediaType::unknown;
}

}  // namespace detail

MediaType sniff_media_type(std::string_view h) noexcept {
  if (h.size() >= 3 && starts(h, "\xFF\xD8\xFF")) return MediaType::jpeg;
  if (starts(h, "\x89PNG\r\n\x1a\n")) return MediaType::png;
  if (starts(h, "GIF87a") || starts(h, "GIF89a")) return MediaType::gif;
  if (h.size() >= 12 && starts(h, "RIFF") && h.substr(8, 4) == "WEBP") return MediaType::webp;
  if (h.size() >= 12 && h.substr(4, 4) == "ftyp") return sniff_bmff(h);
  if (h.size() >= 8) {
    std::string_view box = h.substr(4, 4);
    if (box == "moov" || box == "mdat" || box == "wide" || box == "pnot" || box == "skip" || box == "free")
      return MediaType::quicktime;
  }
  if (starts(h, "\x1a\x45\xdf\xa3")) return sniff_ebml(h.substr(0, 4096));
  if (h.size() >= 18 && starts(h, "BM")) {
    auto u = reinterpret_cast<const unsigned char*>(h.data());
    std::uint32_t dib = u[14] | (u[15] << 8) | (u[16] << 16) | (std::uint32_t{u[17]} << 24);
    if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 || dib == 124)
      return MediaType::bmp;
  }
  if (starts(h, "PK\x03\x04") || starts(h, "PK\x05\x06") || starts(h, "PK\x07\x08")) return MediaType::zip;
  if (starts(h, "%PDF-")) return MediaType::pdf;
  if (starts(h,
             "\x7f"
             "ELF"))
    return MediaType::elf;
  if (starts(h, "MZ")) return MediaType::pe;
  return sniff_text(h);
}

const char* media_type_mime(MediaType t) noexcept {
  switch (t) {
    case MediaType::jpeg: return "image/jpeg";
    case MediaType::png: return "image/png";
    case MediaType::gif: return "image/gif";
    case MediaType::webp: return "image/webp";
    case MediaType::bmp: return "image/bmp";
    case MediaType::heic: return "image/heic";
    case MediaType::heif: return "image/heif";
    case MediaType::avif: return "image/avif";
    case MediaType::mp4: return "video/mp4";
    case MediaType::quicktime: return "video/quicktime";
    case MediaType::webm: return "video/webm";
    case MediaType::matroska: return "video/x-matroska";
    case MediaType::html: return "text/html";
    case MediaType::svg: return "image/svg+xml";
    case MediaType::php: return "application/x-httpd-php";
    case MediaType::zip: return "application/zip";
    case MediaType::pdf: return "application/pdf";
    case MediaType::elf: return "application/x-executable";
    case MediaType::pe: return "application/vnd.microsoft.portable-executable";
    case MediaType::unknown: break;
  }
  return "application/octet-stream";
}

const char* media_type_description(MediaType t) noexcept {
  switch (t) {
    case MediaType::jpeg: return "JPEG image";
    case MediaType::png: return "PNG image";
    case MediaType::gif: return "GIF image";
    case MediaType::webp: return "WebP image";
    case MediaType::bmp: return "BMP image";
    case MediaType::heic: return "HEIC image";
    case MediaType::heif: return "HEIF image";
    case MediaType::avif: return "AVIF image";
    case MediaType::mp4: return "MP4 video";
    case MediaType::quicktime: return "QuickTime video";
    case MediaType::webm: return "WebM video";
    case MediaType::matroska: return "Matroska video";
    case MediaType::html: return "HTML document";
    case MediaType::svg: return "SVG document";
    case MediaType::php: return "PHP script";
    case MediaType::zip: return "ZIP archive";
    case MediaType::pdf: return "PDF document";
    case MediaType::elf: return "ELF executable";
    case MediaType::pe: return "Windows executable";
    case MediaType::unknown: break;
  }
  return "file of unknown type";
}

const char* media_type_extension(MediaType t) noexcept {
  switch (t) {
    case MediaType::jpeg: return "jpg";
    case MediaType::png: return "png";
    case MediaType::gif: return "gif";
    case MediaType::webp: return "webp";
    case MediaType::bmp: return "bmp";
    case MediaType::heic: return "heic";
    case MediaType::heif: return "heif";
    case MediaType::avif: return "avif";
    case MediaType::mp4: return "mp4";
    case MediaType::quicktime: return "mov";
    case MediaType::webm: return "webm";
    case MediaType::matroska: return "mkv";
    default: return "";
  }
}

bool media_type_is_image(MediaType t) noexcept { return t >= MediaType::jpeg && t <= MediaType::avif; }
bool media_type_is_video(MediaType t) noexcept { return t >= MediaType::mp4 && t <= MediaType::matroska; }
bool media_type_is_dangerous(MediaType t) noexcept { return t >= MediaType::html; }

const char* media_kind_name(MediaKind k) noexcept { return k == MediaKind::photo ? "photo" : "video"; }

}  // namespace mediastore
