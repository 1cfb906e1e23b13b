// Thumbnail format negotiation from a request's Accept header (internal).
#pragma once

#include <string_view>
#include <vector>

#include "mediastore/media.hpp"

namespace mediastore::detail {

// The thumbnail formats a client takes, best first: AVIF and WebP when the
// Accept header names image/avif or image/webp with a q above 0 (AVIF
// before WebP), then always JPEG, which every client decodes. Wildcards
// (image/*, */*) do not count for AVIF or WebP: clients send them without
// decoding either. `accept` null or empty: JPEG only. Header syntax
// (RFC 9110 12.5.1): comma-separated media ranges with ;-parameters; media
// types compare case-insensitively; a malformed q counts as 1.
std::vector<ThumbnailFormat> accepted_thumbnail_formats(const std::string* accept);

}  // namespace mediastore::detail
