// A bounded EXIF (TIFF) reader (internal). Every offset is checked against
// the block; IFDs visited twice (loops) and oversized entry counts stop the
// walk instead of looping or reading out of bounds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mediastore::detail {

struct ExifData {
  bool valid = false;             // a TIFF header was found
  int orientation = 1;            // 1..8; 1 when absent or out of range
  std::string datetime_original;  // "YYYY:MM:DD HH:MM:SS" or ""
  bool has_gps = false;           // a GPS IFD with at least one entry
};

// Parses a TIFF structure ("II*\0" or "MM\0*" first). A malformed block
// yields whatever was read before the damage.
ExifData parse_exif_tiff(std::string_view tiff) noexcept;

// Parses an APP1 payload ("Exif\0\0" + TIFF) or a bare TIFF block (also the
// HEIF form: a 4-byte big-endian offset to the TIFF header first).
ExifData parse_exif_payload(std::string_view payload) noexcept;

// Removes the location from a TIFF block in place: the GPS IFD is emptied
// (entry count 0, every byte the GPS entries and their values occupied
// zeroed) and the GPSInfo (0x8825) entries of IFD0/IFD1 are taken out of
// their IFDs (later entries move down; the freed bytes are zeroed). Lengths
// and every other offset are unchanged, so the other tags (orientation,
// dates, the EXIF IFD) stay valid. Returns true if anything was changed.
bool clear_exif_gps(std::string& tiff) noexcept;

// Finds the EXIF APP1 payload among the JPEG segments in `head` (the bytes
// from SOI up to at least the first SOS). Returns the TIFF block or "".
std::string_view find_jpeg_exif(std::string_view head) noexcept;

}  // namespace mediastore::detail
