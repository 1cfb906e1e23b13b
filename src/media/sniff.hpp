// Content sniffing helpers (internal; the public entry is sniff_media_type).
#pragma once

#include <string>
#include <string_view>

#include "media/input.hpp"
#include "mediastore/media.hpp"

namespace mediastore::detail {

// Looks for active markup (HTML tags, script, PHP open tags, SVG) anywhere in
// `data`: returns html, php or svg when found, unknown otherwise. Used on the
// parts of an image a browser or an interpreter could read as text (the first
// bytes, comments and metadata segments, data after the end of the image).
MediaType find_active_markup(std::string_view data) noexcept;

// True when `data` begins (after optional BOM/whitespace) like a ZIP, PDF,
// ELF or PE file; used on data trailing an image.
MediaType find_embedded_archive(std::string_view data) noexcept;

// Scans in.[from, to) in bounded chunks for active markup, then for appended
// archives/executables (find_active_markup, then find_embedded_archive per
// chunk); `markup_only` skips the archive check (for data where a 4-byte
// magic could occur by chance). The first type found, or unknown.
MediaType scan_for_hidden_file(const Input& in, std::uint64_t from, std::uint64_t to, bool markup_only = false);

// media_type_description with its article: "an HTML document", "a PNG image".
std::string with_article(MediaType type);

}  // namespace mediastore::detail
