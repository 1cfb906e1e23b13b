// Key validation helpers, filename sanitising and PutOptions checks shared by
// every storage backend (internal).
#pragma once

#include <string>
#include <string_view>

#include "mediastore/storage.hpp"

namespace mediastore::detail {

// Longest accepted key in bytes.
inline constexpr std::size_t kMaxKeyBytes = 1024;
// Longest accepted total of user metadata names and values (S3's limit).
inline constexpr std::size_t kMaxUserMetadataBytes = 2048;

// Renders arbitrary bytes for an error message: printable ASCII as is,
// backslash and quote escaped, everything else (control bytes, invalid UTF-8)
// as \xNN; valid multi-byte UTF-8 is kept. Long input is cut to max_bytes
// followed by "...".
std::string escape_for_message(std::string_view text, std::size_t max_bytes = 200);

// True if text is well-formed UTF-8 (no overlong forms, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view text);

// A safe last path element for a storage key built from a user-supplied file
// name: the base name only (after the last '/' or '\'), characters outside
// [A-Za-z0-9._-] replaced by '_', runs of '_' collapsed, no leading dots,
// at most 100 bytes keeping the extension; "file" when nothing is left.
std::string sanitize_filename(std::string_view filename);

// Checks content type, cache-control, content-disposition and user metadata
// of a put: no control characters, metadata names are HTTP tokens
// ([A-Za-z0-9_-], stored lower-case), total metadata <= 2 KiB. The key is only
// used to name the object in messages.
Status validate_put_options(std::string_view key, const PutOptions& options);

// Lower-cases ASCII letters.
std::string ascii_lower(std::string_view text);

// Percent-encodes a key for a URL path: unreserved characters and '/' stay.
std::string url_encode_path(std::string_view key);

}  // namespace mediastore::detail
