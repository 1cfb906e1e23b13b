// Endpoints, addressing styles and key encoding for S3 request URLs. Pure
// functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mediastore/status.hpp"

namespace mediastore::s3 {

struct Endpoint {
  std::string scheme;  // "http" | "https"
  std::string host;    // "127.0.0.1:7481", "s3.us-east-1.amazonaws.com" (port only when given)
};

// "http://host:port" or "https://host[/]" -> Endpoint. invalid_argument
// naming the endpoint if it has no scheme, no host, a path, a query or user
// info.
Result<Endpoint> parse_endpoint(std::string_view url);

// The path of an object key as sent on the wire: each '/'-separated segment
// URI-encoded once (RFC 3986 unreserved kept), slashes kept. Never
// normalised, never encoded twice ("a%20b" becomes "a%2520b").
std::string encode_key(std::string_view key);

// Where a request goes: Host header value and path (without query).
struct Target {
  std::string host;
  std::string path;
};

// Path style: host = endpoint host, path "/bucket/key" ("/bucket" for the
// bucket itself). Virtual-hosted: host = "bucket.<endpoint host>", path
// "/key" ("/" for the bucket).
Target make_target(const Endpoint& endpoint, std::string_view bucket, std::string_view key, bool path_style);

// "name=value&..." encoded as SigV4 canonical (both names and values).
std::string encode_query(const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace mediastore::s3
