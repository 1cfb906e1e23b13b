// Location stripping (internal): the per-format rewrites behind
// strip_location_file (media.hpp). Every function is reentrant and
// bounds-checked: hostile bytes give an error or "nothing found", never a
// read outside the input.
//
//   strip_location.cpp        entry point: read, rewrite by type, write through a temporary file
//   strip_location_images.cpp PNG/WebP chunk rewrites, XMP/IPTC checks (JPEG: strip_metadata.cpp)
//   strip_location_heif.cpp   HEIF/AVIF Exif and XMP items patched in place
//   strip_location_video.cpp  MP4/QuickTime/Matroska remux without location tags
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mediastore/media.hpp"

namespace mediastore::detail {

// Whether an XMP packet names a place: exif:GPS* properties, photoshop:City,
// State and Country, IPTC Core Location and CountryCode, IPTC Extension
// LocationCreated/LocationShown. A plain text search (no XML parsing): it may
// flag a packet that only mentions such a name, which then goes too.
bool xmp_has_location(std::string_view xmp) noexcept;

// Whether a Photoshop APP13 payload holds an IPTC-IIM location dataset
// (2:90 City, 2:92 Sub-location, 2:95 Province/State, 2:100 Country code,
// 2:101 Country), found by a byte scan for the dataset headers (may flag
// more than it must, never less).
bool iptc_has_location(std::string_view app13) noexcept;

// The image rewrites: the bytes without their location, or the same bytes
// when there was none. invalid_argument when `bytes` is not of that format,
// corrupt_media when its structure is broken (messages without a file name).
Result<std::string> strip_png_location(std::string_view png);
Result<std::string> strip_webp_location(std::string_view webp);
// HEIF/HEIC/AVIF: edits `bytes` in place (same length). true if changed.
// unsupported_media when a location is present in an item that cannot be
// edited in place (data not stored contiguously in the file).
Result<bool> strip_heif_location(std::string& bytes);

// Whether an FFmpeg metadata key names a location: it contains "location"
// (any case: "location", "location-eng", "com.apple.quicktime.location.ISO6709"),
// or is "xyz"/"©xyz", or ends with "iso6709".
bool is_location_key(std::string_view key) noexcept;

// Videos (mp4, quicktime, webm, matroska): when any container, stream or
// chapter metadata key is a location key, remuxes `in_path` into `out_path`
// (stream copy; location keys dropped, every other key, the streams' side
// data (display matrix) and chapters kept; faststart kept) and returns true;
// otherwise writes nothing and returns false. `out_path` is written in place
// (the caller renames it). Errors name neither file.
Result<bool> strip_video_location(MediaType type, const std::string& in_path, const std::string& out_path,
                                  std::uint64_t time_budget_ms);

}  // namespace mediastore::detail
