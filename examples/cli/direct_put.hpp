// The client side of a direct upload for `mediastore upload --direct`: each
// planned request sent with libcurl from a range of the file, as a browser
// or a phone would send it.
#pragma once

#include <string>

#include "mediastore/direct.hpp"
#include "mediastore/status.hpp"

namespace mediastore::cli {

// Sends request r (its method, URL and headers; libcurl sets Content-Length
// from r.size) with bytes [r.offset, r.offset + r.size) of the file at
// path. Returns the answer's ETag (quotes kept); a refusal is
// permission_denied (403), invalid_argument (other 4xx), unavailable (5xx)
// or network_error, with the store's answer in the message. Transient
// failures are tried up to 3 times. Thread-safe (one easy handle per call).
Result<std::string> send_planned_request(const std::string& path, const DirectRequest& r);

// The SHA-256 of the file at path, lower-case hex (OpenSSL, read in 1 MiB
// pieces). not_found / io_error naming the path.
Result<std::string> sha256_file(const std::string& path);

}  // namespace mediastore::cli
