// Presigned URLs: SigV4 query signing of a request made later by someone
// else (a browser, a phone, curl), with the headers it must send signed in.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "s3/client.hpp"

namespace mediastore::s3 {

namespace {

std::string lower(std::string_view name) {
  std::string s(name);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Headers a presigned URL cannot fix: the signer leaves them out (sigv4.cpp)
// or the URL itself carries them.
bool unsignable(std::string_view name) {
  const std::string l = lower(name);
  return l == "host" || l == "authorization" || l == "user-agent" || l == "expect" || l == "connection" ||
         l == "transfer-encoding" || l == "x-amzn-trace-id" || l == "x-amz-date";
}

}  // namespace

Result<std::string> Client::presign(std::string_view method, std::string_view key, std::chrono::seconds expires,
                                    std::chrono::system_clock::time_point now) const {
  return presign(method, key, expires, {}, nullptr, now);
}

Result<std::string> Client::presign(std::string_view method, std::string_view key, std::chrono::seconds expires,
                                    const std::vector<std::pair<std::string, std::string>>& query, const Endpoint* on,
                                    std::chrono::system_clock::time_point now) const {
  PresignRequest request;
  request.query = query;
  request.on = on;
  request.now = now;
  return presign(method, key, expires, request);
}

Result<std::string> Client::presign(std::string_view method, std::string_view key, std::chrono::seconds expires,
                                    const PresignRequest& request) const {
  if (expires.count() < 1 || expires.count() > 604800) {
    return Status::InvalidArgument(
        fmt::format("presigned URL expiry for '{}' must be 1 s .. 7 days (604800 s), got {} s", key, expires.count()));
  }
  if (method != "GET" && method != "PUT" && method != "HEAD" && method != "DELETE") {
    return Status::InvalidArgument(fmt::format("presigned URL method '{}' is not GET, PUT, HEAD or DELETE", method));
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || has_control(name) || has_control(value) || name.find(':') != std::string::npos) {
      return Status::InvalidArgument(
          fmt::format("presigned {} {}: header '{}' has an empty name, a colon or a control character", method, key,
                      has_control(name) ? std::string("?") : name));
    }
    if (unsignable(name)) {
      return Status::InvalidArgument(
          fmt::format("presigned {} {}: header '{}' cannot be signed into a URL", method, key, name));
    }
  }
  const Endpoint& ep = request.on != nullptr ? *request.on : endpoint_;
  const Target target = make_target(ep, settings_.bucket, key, settings_.path_style);
  SignableRequest sr;
  sr.method = std::string(method);
  sr.path = target.path;
  sr.query = request.query;
  sr.headers.emplace_back("host", target.host);
  for (const auto& h : request.headers) sr.headers.push_back(h);
  // A signed x-amz-content-sha256 is the payload hash of the canonical
  // request (the server checks the body against it); otherwise the body is
  // not part of the signature.
  sr.payload_hash = "UNSIGNED-PAYLOAD";
  for (const auto& [name, value] : request.headers) {
    if (lower(name) == "x-amz-content-sha256") sr.payload_hash = value;
  }
  SigningParams params;
  params.region = settings_.region;
  params.time = request.now;
  auto creds = credentials_->get();
  if (!creds.ok()) return creds.status().with_context(fmt::format("presigning {} {}", method, key));
  const std::string signed_query = presign_query(sr, creds.value(), params, static_cast<long>(expires.count()));
  return fmt::format("{}://{}{}?{}", ep.scheme, target.host, target.path, signed_query);
}

std::string Client::plain_url(std::string_view key, const Endpoint* on) const {
  const Endpoint& ep = on != nullptr ? *on : endpoint_;
  const Target target = make_target(ep, settings_.bucket, key, settings_.path_style);
  return fmt::format("{}://{}{}", ep.scheme, target.host, target.path);
}

}  // namespace mediastore::s3
