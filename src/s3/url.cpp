#include "s3/url.hpp"

#include <fmt/format.h>

#include "s3/sigv4.hpp"

namespace mediastore::s3 {

Result<Endpoint> parse_endpoint(std::string_view url) {
  Endpoint e;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    e.scheme = "http";
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    e.scheme = "https";
    rest = url.substr(8);
  } else {
    return Status::InvalidArgument(fmt::format("S3 endpoint '{}' must start with http:// or https://", url));
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return Status::InvalidArgument(fmt::format("S3 endpoint '{}' has no host", url));
  if (rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("S3 endpoint '{}' must be scheme://host[:port] without path, query or user", url));
  }
  e.host = std::string(rest);
  return e;
}

std::string encode_key(std::string_view key) { return uri_encode(key, false); }

Target make_target(const Endpoint& endpoint, std::string_view bucket, std::string_view key, bool path_style) {
  Target t;
  if (path_style) {
    t.host = endpoint.host;
    t.path.assign(1, '/');  // not = "/": g++ 12 -O3 misreports -Wrestrict on that
    t.path += uri_encode(bucket, true);
    if (!key.empty()) {
      t.path.push_back('/');
      t.path += encode_key(key);
    }
  } else {
    t.host = fmt::format("{}.{}", bucket, endpoint.host);
    t.path.assign(1, '/');  // not = "/": g++ 12 -O3 misreports -Wrestrict on that
    t.path += encode_key(key);
  }
  return t;
}

std::string encode_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out;
  for (const auto& [k, v] : query) {
    if (!out.empty()) out.push_back('&');
    out += uri_encode(k, true);
    out.push_back('=');
    out += uri_encode(v, true);
  }
  return out;
}

}  // namespace mediastore::s3
