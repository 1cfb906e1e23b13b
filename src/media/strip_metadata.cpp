// Lossless metadata removal from JPEG: segments before the first SOS are
// kept, edited in place or dropped; everything from SOS on is copied as is.
#include <cstring>

#include "media/exif.hpp"
#include "media/strip_location.hpp"
#include "mediastore/media.hpp"

namespace mediastore {

Result<std::string> strip_jpeg_metadata(std::string_view jpeg, StripMode mode) {
  auto u8 = [&](std::size_t i) { return static_cast<unsigned char>(jpeg[i]); };
  if (jpeg.size() < 4 || u8(0) != 0xFF || u8(1) != 0xD8) return Status::InvalidArgument("not a JPEG (no SOI marker)");
  std::string out;
  out.reserve(jpeg.size());
  out.append(jpeg.substr(0, 2));
  std::size_t p = 2;
  while (true) {
    if (p + 2 > jpeg.size()) return Status::CorruptMedia("JPEG ends before its image data");
    if (u8(p) != 0xFF) return Status::CorruptMedia("JPEG segment structure broken at byte " + std::to_string(p));
    const unsigned marker = u8(p + 1);
    if (marker == 0xFF) {  // fill byte before a marker
      ++p;
      continue;
    }
    if (marker == 0xD9) return Status::CorruptMedia("JPEG without image data");
    if (marker == 0xDA) {  // start of scan: the rest is entropy-coded data and later tables
      out.append(jpeg.substr(p));
      return out;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // standalone markers
      out.append(jpeg.substr(p, 2));
      p += 2;
      continue;
    }
    if (p + 4 > jpeg.size()) return Status::CorruptMedia("JPEG segment header truncated");
    const std::size_t len = (static_cast<std::size_t>(u8(p + 2)) << 8) | u8(p + 3);
    if (len < 2 || p + 2 + len > jpeg.size()) return Status::CorruptMedia("JPEG segment length out of range");
    std::string_view segment = jpeg.substr(p, 2 + len);
    std::string_view payload = segment.substr(4);
    bool keep = true;
    std::string edited;
    const bool is_app = marker >= 0xE0 && marker <= 0xEF;
    const bool is_exif = marker == 0xE1 && payload.substr(0, 6) == std::string_view("Exif\0\0", 6);
    const bool is_xmp = marker == 0xE1 && !is_exif;  // XMP ("http://ns.adobe.com/xap/1.0/") and extended XMP
    if (mode == StripMode::all) {
      // Keep what decoding needs: JFIF/JFXX (APP0), ICC profile (APP2), Adobe colour transform (APP14).
      const bool icc = marker == 0xE2 && payload.substr(0, 12) == std::string_view("ICC_PROFILE\0", 12);
      const bool adobe = marker == 0xEE && payload.substr(0, 5) == "Adobe";
      if ((is_app && marker != 0xE0 && !icc && !adobe) || marker == 0xFE) keep = false;
    } else if (is_exif) {
      std::string tiff(payload.substr(6));
      if (detail::clear_exif_gps(tiff)) {
        edited.assign(segment.substr(0, 10));  // marker, length, "Exif\0\0": same length after the edit
        edited += tiff;
      }
      // A block too tangled to edit safely goes as a whole.
      if (detail::parse_exif_tiff(tiff).has_gps) keep = false;
    } else if (is_xmp) {
      // XMP copies of exif:GPS* fields and named places go. Extended XMP
      // (the continuation of a packet too large for one segment) is split
      // at arbitrary bytes, so it cannot be checked piecewise: it always goes.
      const bool extended = payload.substr(0, 35) == std::string_view("http://ns.adobe.com/xmp/extension/\0", 35);
      if (extended || detail::xmp_has_location(payload)) keep = false;
    } else if (marker == 0xED && detail::iptc_has_location(payload)) {
      keep = false;  // Photoshop IRB with IPTC City/Province/Country datasets
    }
    if (keep) out.append(edited.empty() ? segment : std::string_view(edited));
    p += 2 + len;
  }
}

}  // namespace mediastore
