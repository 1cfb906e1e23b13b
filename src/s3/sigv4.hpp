// AWS Signature Version 4: pure functions over a request, credentials and a
// time passed in. No clock, no I/O, no global state except the signing-key
// cache (thread-safe).
//
// Two modes:
//  - generic SigV4 (the AWS test suite): path normalised (RFC 3986 dot
//    segments, "//" collapsed) and each path segment URI-encoded again;
//  - S3 (SigningParams::s3_rules = true): the path is used exactly as sent,
//    never normalised and never double-encoded.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mediastore::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // secret
  std::string session_token;      // secret; empty if none
};

// A request as it goes on the wire.
struct SignableRequest {
  std::string method;  // "GET", "PUT", ...
  // The path exactly as sent in the request line, already URI-encoded by the
  // caller ("/bucket/photo%20one.jpg"); without the query string.
  std::string path;
  // Query parameters, decoded (name, value); repeated names allowed. An empty
  // value and a missing '=' both sign as "name=".
  std::vector<std::pair<std::string, std::string>> query;
  // Headers as sent, including Host. Names are case-insensitive; repeated
  // names are joined with ',' in order; values are trimmed and inner runs of
  // spaces collapsed for signing.
  std::vector<std::pair<std::string, std::string>> headers;
  // Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". Used as the last line of
  // the canonical request. Empty: the hash of an empty body (and
  // UNSIGNED-PAYLOAD for presign_query under s3_rules); add_signing_headers
  // fills it in.
  std::string payload_hash;
};

struct SigningParams {
  std::string region;                          // "us-east-1"
  std::string service = "s3";                  // "s3" (or "service" in the AWS vectors)
  std::chrono::system_clock::time_point time;  // request time (UTC)
  bool s3_rules = true;                        // see the file comment
  // Generic mode only (ignored under s3_rules): remove "." and ".." segments
  // and collapse "//" before encoding. Default true (the AWS vectors'
  // "normalize": false cases turn it off).
  bool normalize_path = true;
  // false: the session token is still sent (header or query) but left out of
  // the signature, as some STS-style services expect. Default true.
  bool sign_session_token = true;
};

// Every intermediate product, for tests and debugging (never logged: the
// authorization holds the signature).
struct SigningResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;       // hex
  std::string authorization;   // the Authorization header's value
  std::string signed_headers;  // "host;x-amz-date"
  std::string amz_date;        // "20150830T123600Z"
};

// Signs with the Authorization header. The request must already carry the
// headers to sign, including "X-Amz-Date" (= amz_date(params.time)) and, when
// credentials have a session token, "X-Amz-Security-Token"; add_signing_headers
// adds both (and x-amz-content-sha256 under s3_rules) if they are missing.
// Headers never signed (proxies or curl may change them, or they carry the
// signature): Authorization, User-Agent, Expect, Connection,
// Transfer-Encoding, X-Amzn-Trace-Id. Every other header present is signed.
void add_signing_headers(SignableRequest& request, const Credentials& creds, const SigningParams& params);
SigningResult sign_request(const SignableRequest& request, const Credentials& creds, const SigningParams& params);

// Presigns a request by adding X-Amz-Algorithm, X-Amz-Credential,
// X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders (host only, plus any headers
// the request carries that must be signed), X-Amz-Security-Token and
// X-Amz-Signature to its query. payload_hash should be "UNSIGNED-PAYLOAD".
// Returns the full query string to append after '?', encoded.
// expires_seconds must be 1..604800 (checked by the caller).
std::string presign_query(const SignableRequest& request, const Credentials& creds, const SigningParams& params,
                          long expires_seconds, SigningResult* details = nullptr);

// "20150830T123600Z" / "20150830".
std::string amz_date(std::chrono::system_clock::time_point t);
std::string amz_day(std::chrono::system_clock::time_point t);

// URI-encodes per SigV4: unreserved A-Z a-z 0-9 - _ . ~ kept; everything else
// %XX upper-case; '/' kept when encode_slash is false.
std::string uri_encode(std::string_view s, bool encode_slash);

// The canonical query string of decoded parameters (sorted by encoded name,
// then value).
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);

// The signing key for (secret, day, region, service), cached per key so that
// one HMAC chain is computed per day rather than per request. Thread-safe.
std::string signing_key(std::string_view secret, std::string_view day, std::string_view region,
                        std::string_view service);

}  // namespace mediastore::s3
