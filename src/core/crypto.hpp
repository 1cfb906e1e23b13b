// Hashing, HMAC, encodings and random ids on OpenSSL EVP (internal).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "mediastore/status.hpp"

namespace mediastore::detail {

using Sha256Digest = std::array<unsigned char, 32>;

Sha256Digest sha256(std::string_view data);
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);
std::array<unsigned char, 16> md5(std::string_view data);

// Incremental SHA-256 / MD5 over streamed data. Not copyable.
class Hasher {
 public:
  enum class Kind { sha256, md5 };
  explicit Hasher(Kind kind = Kind::sha256);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void update(const void* data, std::size_t n);
  // Finishes and returns the raw digest; the hasher is then reset.
  std::string finish();

 private:
  void* ctx_;
  Kind kind_;
};

std::string hex_lower(const unsigned char* data, std::size_t n);
template <std::size_t N>
std::string hex_lower(const std::array<unsigned char, N>& a) {
  return hex_lower(a.data(), N);
}
std::string hex_lower(std::string_view raw);
std::string base64_encode(std::string_view raw);
// Returns false on malformed input.
bool base64_decode(std::string_view text, std::string& out);
// URL-safe base64 (RFC 4648 §5: '-' and '_') without padding.
std::string base64url_encode(std::string_view raw);
// Strict: only the URL-safe alphabet, no padding, no whitespace, canonical
// (unused trailing bits zero); returns false otherwise.
bool base64url_decode(std::string_view text, std::string& out);

// Cryptographically random bytes (RAND_bytes); aborts never, falls back to
// an internal error status.
Status random_bytes(void* out, std::size_t n);
// n random bytes as 2n lower-case hex characters.
std::string random_hex(std::size_t n);
// RFC 4122 version 4 UUID, lower-case "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
std::string uuid4();
// Constant-time equality of two byte strings (length leaks, content not).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace mediastore::detail
