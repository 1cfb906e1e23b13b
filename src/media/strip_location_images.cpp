// Location stripping of PNG and WebP (chunk rewrites) and the XMP/IPTC
// checks the JPEG strip shares.
#include <array>
#include <cstring>

#include "media/exif.hpp"
#include "media/strip_location.hpp"

namespace mediastore {
namespace detail {
namespace {

std::uint32_t be32(std::string_view s, std::size_t at) {
  auto u = reinterpret_cast<const unsigned char*>(s.data() + at);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) | u[3];
}
std::uint32_t le32(std::string_view s, std::size_t at) {
  auto u = reinterpret_cast<const unsigned char*>(s.data() + at);
  return (std::uint32_t{u[3]} << 24) | (std::uint32_t{u[2]} << 16) | (std::uint32_t{u[1]} << 8) | u[0];
}
void put_be32(std::string& s, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xff);
}
void put_le32(std::string& s, std::uint32_t v) {
  for (int shift = 0; shift <= 24; shift += 8) s += static_cast<char>((v >> shift) & 0xff);
}

// CRC-32 (ISO 3309, as PNG uses it).
std::uint32_t crc32(std::string_view data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

// Clears the GPS of an EXIF block that may start with "Exif\0\0" (WebP
// writers differ). true if changed.
bool clear_gps_maybe_prefixed(std::string& block) {
  const std::string_view prefix("Exif\0\0", 6);
  if (std::string_view(block).substr(0, 6) != prefix) return clear_exif_gps(block);
  std::string tiff = block.substr(6);
  if (!clear_exif_gps(tiff)) return false;
  block.replace(6, tiff.size(), tiff);
  return true;
}

}  // namespace

bool xmp_has_location(std::string_view xmp) noexcept {
  static constexpr std::string_view kNames[] = {
      "GPS",  // exif:GPSLatitude, exif:GPSLongitude, exif:GPSAltitude, ... (and exifEX:GPS*)
      "photoshop:City",
      "photoshop:State",
      "photoshop:Country",
      "Iptc4xmpCore:Location",
      "Iptc4xmpCore:CountryCode",
      "LocationCreated",
      "LocationShown",
  };
  for (std::string_view n : kNames)
    if (xmp.find(n) != std::string_view::npos) return true;
  return false;
}

bool iptc_has_location(std::string_view app13) noexcept {
  for (std::size_t i = 0; i + 2 < app13.size(); ++i) {
    if (app13[i] != 0x1C || app13[i + 1] != 0x02) continue;
    const auto ds = static_cast<unsigned char>(app13[i + 2]);
    if (ds == 90 || ds == 92 || ds == 95 || ds == 100 || ds == 101) return true;
  }
  return false;
}

Result<std::string> strip_png_location(std::string_view png) {
  const std::string_view sig("\x89PNG\r\n\x1a\n", 8);
  if (png.substr(0, 8) != sig) return Status::InvalidArgument("not a PNG (no signature)");
  std::string out(sig);
  out.reserve(png.size());
  std::size_t p = 8;
  while (true) {
    if (png.size() - p < 12) return Status::CorruptMedia("PNG chunk truncated at byte " + std::to_string(p));
    const std::uint32_t len = be32(png, p);
    if (len > png.size() - p - 12)
      return Status::CorruptMedia("PNG chunk length out of range at byte " + std::to_string(p));
    const std::string_view type = png.substr(p + 4, 4);
    const std::string_view data = png.substr(p + 8, len);
    const std::string_view chunk = png.substr(p, std::size_t{len} + 12);
    p += std::size_t{len} + 12;
    if (type == "eXIf") {
      std::string tiff(data);
      if (clear_exif_gps(tiff)) {
        put_be32(out, len);
        std::string body("eXIf");
        body += tiff;
        out += body;
        put_be32(out, crc32(body));
        continue;
      }
    } else if (type == "iTXt" || type == "tEXt" || type == "zTXt") {
      // XMP lives in iTXt "XML:com.adobe.xmp"; ImageMagick writes EXIF, IPTC
      // and XMP as hex "Raw profile type ..." text, often compressed. A
      // compressed one cannot be checked cheaply, so it goes.
      const std::size_t nul = data.find('\0');
      const std::string_view keyword = data.substr(0, nul);
      if (keyword == "XML:com.adobe.xmp") {
        const bool compressed = type == "zTXt" || (type == "iTXt" && nul != std::string_view::npos &&
                                                   nul + 1 < data.size() && data[nul + 1] != 0);
        if (compressed || xmp_has_location(data)) continue;
      } else if (keyword.substr(0, 17) == "Raw profile type ") {
        continue;
      }
    }
    out += chunk;
    if (type == "IEND") {
      out += png.substr(p);  // whatever follows IEND is kept as it was
      return out;
    }
  }
}

Result<std::string> strip_webp_location(std::string_view webp) {
  if (webp.size() < 12 || webp.substr(0, 4) != "RIFF" || webp.substr(8, 4) != "WEBP")
    return Status::InvalidArgument("not a WebP (no RIFF/WEBP header)");
  const std::uint64_t riff_end = std::uint64_t{le32(webp, 4)} + 8;
  if (riff_end > webp.size() || riff_end < 12) return Status::CorruptMedia("WebP RIFF size out of range");
  std::string body;  // the chunks after "WEBP"
  body.reserve(static_cast<std::size_t>(riff_end));
  bool dropped_xmp = false;
  std::size_t p = 12, vp8x = std::string::npos;
  while (p < riff_end) {
    if (riff_end - p < 8) return Status::CorruptMedia("WebP chunk truncated at byte " + std::to_string(p));
    const std::string_view fourcc = webp.substr(p, 4);
    const std::uint32_t len = le32(webp, p + 4);
    const std::uint64_t padded = std::uint64_t{len} + (len & 1);
    if (padded > riff_end - p - 8)
      return Status::CorruptMedia("WebP chunk length out of range at byte " + std::to_string(p));
    const std::string_view chunk = webp.substr(p, static_cast<std::size_t>(8 + padded));
    p += static_cast<std::size_t>(8 + padded);
    if (fourcc == "EXIF") {
      std::string block(chunk.substr(8, len));
      if (clear_gps_maybe_prefixed(block)) {
        body += chunk.substr(0, 8);
        body += block;
        body += chunk.substr(8 + len);
        continue;
      }
    } else if (fourcc == "XMP " && xmp_has_location(chunk.substr(8, len))) {
      dropped_xmp = true;
      continue;
    } else if (fourcc == "VP8X" && len >= 4) {
      vp8x = body.size();
    }
    body += chunk;
  }
  if (dropped_xmp && vp8x != std::string::npos) body[vp8x + 8] = static_cast<char>(body[vp8x + 8] & ~0x04);  // XMP flag
  std::string out("RIFF");
  put_le32(out, static_cast<std::uint32_t>(body.size() + 4));
  out += "WEBP";
  out += body;
  out += webp.substr(static_cast<std::size_t>(riff_end));  // trailing bytes as they were
  return out;
}

}  // namespace detail
}  // namespace mediastore
