#include "s3/sigv4.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <mutex>

#include "core/crypto.hpp"

namespace mediastore::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr char kHexLower[] = "0123456789abcdef";

using Digest = std::array<unsigned char, 32>;

// A SHA-256 digest context reused per thread: fetching the algorithm and
// allocating a context per call would dominate the cost of a signature.
class ThreadDigest {
 public:
  ThreadDigest() : ctx_(EVP_MD_CTX_new()) {}
  ~ThreadDigest() { EVP_MD_CTX_free(ctx_); }
  ThreadDigest(const ThreadDigest&) = delete;
  ThreadDigest& operator=(const ThreadDigest&) = delete;

  void begin() { EVP_DigestInit_ex(ctx_, md(), nullptr); }
  void update(const void* data, std::size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  void update(std::string_view s) { update(s.data(), s.size()); }
  Digest finish() {
    Digest out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out.data(), &len);
    return out;
  }

 private:
  static const EVP_MD* md() {
    // Fetched once; a static pointer keeps it reachable (no leak report).
    static const EVP_MD* m = [] {
      const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
      return fetched != nullptr ? fetched : EVP_sha256();
    }();
    return m;
  }
  EVP_MD_CTX* ctx_;
};

ThreadDigest& thread_digest() {
  thread_local ThreadDigest d;
  return d;
}

Digest sha256(std::string_view data) {
  auto& d = thread_digest();
  d.begin();
  d.update(data);
  return d.finish();
}

// HMAC-SHA256 (RFC 2104) over the reused digest context; the key is at most
// one block here (signing keys are 32 bytes).
Digest hmac32(const Digest& key, std::string_view data) {
  unsigned char pad[64];
  for (std::size_t i = 0; i < 64; ++i) pad[i] = static_cast<unsigned char>((i < 32 ? key[i] : 0) ^ 0x36);
  auto& d = thread_digest();
  d.begin();
  d.update(pad, 64);
  d.update(data);
  Digest inner = d.finish();
  for (std::size_t i = 0; i < 64; ++i) pad[i] = static_cast<unsigned char>((i < 32 ? key[i] : 0) ^ 0x5c);
  d.begin();
  d.update(pad, 64);
  d.update(inner.data(), inner.size());
  return d.finish();
}

void append_hex(std::string& out, const Digest& d) {
  for (unsigned char c : d) {
    out.push_back(kHexLower[c >> 4]);
    out.push_back(kHexLower[c & 0xf]);
  }
}

std::string hex(const Digest& d) {
  std::string s;
  s.reserve(64);
  append_hex(s, d);
  return s;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

void append_encoded(std::string& out, std::string_view s, bool encode_slash) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (c == '/' && !encode_slash)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 0xf]);
    }
  }
}

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  }
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Appends the value trimmed, with every inner run of white space (including
// folded line breaks) collapsed to one space.
void append_trimmed(std::string& out, std::string_view v) {
  std::size_t b = 0, e = v.size();
  while (b < e && is_space(v[b])) ++b;
  while (e > b && is_space(v[e - 1])) --e;
  bool in_space = false;
  for (std::size_t i = b; i < e; ++i) {
    if (is_space(v[i])) {
      in_space = true;
      continue;
    }
    if (in_space) out.push_back(' ');
    in_space = false;
    out.push_back(v[i]);
  }
}

// Headers never signed: they are changed by proxies or by the HTTP library
// itself (curl rewrites Expect and Transfer-Encoding), or they carry the
// signature.
bool never_signed(std::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "user-agent" || lower_name == "x-amzn-trace-id" ||
         lower_name == "expect" || lower_name == "connection" || lower_name == "transfer-encoding";
}

struct HeaderRef {
  std::string name;  // lower case
  std::string_view value;
  std::size_t order;
};

// Builds "name:value\n" lines and the ';'-joined signed header list.
void canonical_headers(const SignableRequest& request, const SigningParams& params, std::string& lines,
                       std::string& signed_headers) {
  std::vector<HeaderRef> refs;
  refs.reserve(request.headers.size());
  for (std::size_t i = 0; i < request.headers.size(); ++i) {
    const auto& [name, value] = request.headers[i];
    HeaderRef r{std::string(name.size(), '\0'), value, i};
    std::transform(name.begin(), name.end(), r.name.begin(), lower_ascii);
    if (never_signed(r.name)) continue;
    if (!params.sign_session_token && r.name == "x-amz-security-token") continue;
    refs.push_back(std::move(r));
  }
  std::sort(refs.begin(), refs.end(), [](const HeaderRef& a, const HeaderRef& b) {
    return a.name != b.name ? a.name < b.name : a.order < b.order;
  });
  for (std::size_t i = 0; i < refs.size(); ++i) {
    if (i > 0 && refs[i].name == refs[i - 1].name) {
      lines.push_back(',');
    } else {
      if (i > 0) {
        lines.push_back('\n');
        signed_headers.push_back(';');
      }
      lines += refs[i].name;
      lines.push_back(':');
      signed_headers += refs[i].name;
    }
    append_trimmed(lines, refs[i].value);
  }
  if (!refs.empty()) lines.push_back('\n');
}

// RFC 3986 remove_dot_segments plus collapsing of empty segments; keeps a
// trailing slash.
std::string normalize(std::string_view path) {
  std::vector<std::string_view> segs;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segs.push_back(seg);
    }
    i = j + 1;
  }
  std::string out = "/";
  for (std::size_t k = 0; k < segs.size(); ++k) {
    if (k > 0) out.push_back('/');
    out.append(segs[k]);
  }
  bool trailing = !path.empty() && (path.back() == '/' || path.ends_with("/.") || path.ends_with("/.."));
  if (trailing && !segs.empty()) out.push_back('/');
  return out;
}

void append_canonical_path(std::string& out, const SignableRequest& request, const SigningParams& params) {
  if (request.path.empty()) {
    out.push_back('/');
  } else if (params.s3_rules) {
    out += request.path;
  } else if (params.normalize_path) {
    append_encoded(out, normalize(request.path), false);
  } else {
    append_encoded(out, request.path, false);
  }
}

std::string_view effective_payload_hash(const SignableRequest& request, const SigningParams& params, bool presign) {
  if (!request.payload_hash.empty()) return request.payload_hash;
  return (presign && params.s3_rules) ? kUnsignedPayload : kEmptySha256;
}

bool has_header(const SignableRequest& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (iequals(h.first, name)) return true;
  }
  return false;
}

struct Scope {
  std::string amz_date;  // 20150830T123600Z
  std::string scope;     // 20150830/us-east-1/service/aws4_request
};

Scope make_scope(const SigningParams& params) {
  Scope s;
  s.amz_date = amz_date(params.time);
  s.scope.reserve(8 + params.region.size() + params.service.size() + 16);
  s.scope.append(s.amz_date, 0, 8);
  s.scope.push_back('/');
  s.scope += params.region;
  s.scope.push_back('/');
  s.scope += params.service;
  s.scope += "/aws4_request";
  return s;
}

// Fills string_to_sign and signature from canonical_request.
void finish_signature(SigningResult& r, const Credentials& creds, const SigningParams& params, const Scope& scope) {
  r.string_to_sign.reserve(kAlgorithm.size() + scope.amz_date.size() + scope.scope.size() + 67);
  r.string_to_sign = kAlgorithm;
  r.string_to_sign.push_back('\n');
  r.string_to_sign += scope.amz_date;
  r.string_to_sign.push_back('\n');
  r.string_to_sign += scope.scope;
  r.string_to_sign.push_back('\n');
  append_hex(r.string_to_sign, sha256(r.canonical_request));

  std::string key = signing_key(creds.secret_access_key, std::string_view(scope.amz_date).substr(0, 8), params.region,
                                params.service);
  Digest k{};
  std::memcpy(k.data(), key.data(), k.size());
  r.signature = hex(hmac32(k, r.string_to_sign));
}

// Days since 1970-01-01 to civil date (H. Hinnant's algorithm).
void civil_from_days(long long z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<long long>(yoe) + era * 400 + (m <= 2));
}

void put_digits(char* p, unsigned v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

// --- signing-key cache ---------------------------------------------------

struct KeyId {
  Digest secret_hash{};
  std::string day, region, service;
  bool matches(const Digest& h, std::string_view d, std::string_view r, std::string_view s) const {
    return secret_hash == h && day == d && region == r && service == s;
  }
};

struct CachedKey {
  KeyId id;
  std::string key;
};

constexpr std::size_t kMaxCachedKeys = 64;

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}

std::deque<CachedKey>& cache() {
  static std::deque<CachedKey> c;
  return c;
}

std::string derive_key(std::string_view secret, std::string_view day, std::string_view region,
                       std::string_view service) {
  std::string k = "AWS4";
  k.append(secret);
  auto d = detail::hmac_sha256(k, day);
  std::fill(k.begin(), k.end(), '\0');
  d = detail::hmac_sha256(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()), region);
  d = detail::hmac_sha256(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()), service);
  d = detail::hmac_sha256(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()), "aws4_request");
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

std::string amz_date(std::chrono::system_clock::time_point t) {
  const long long secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  long long days = secs / 86400;
  long long rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  if (y < 0) y = 0;
  if (y > 9999) y = 9999;
  std::string out(16, '0');
  put_digits(&out[0], static_cast<unsigned>(y), 4);
  put_digits(&out[4], m, 2);
  put_digits(&out[6], d, 2);
  out[8] = 'T';
  put_digits(&out[9], static_cast<unsigned>(rem / 3600), 2);
  put_digits(&out[11], static_cast<unsigned>(rem / 60 % 60), 2);
  put_digits(&out[13], static_cast<unsigned>(rem % 60), 2);
  out[15] = 'Z';
  return out;
}

std::string amz_day(std::chrono::system_clock::time_point t) { return amz_date(t).substr(0, 8); }

std::string uri_encode(std::string_view s, bool encode_slash) {
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  append_encoded(out, s, encode_slash);
  return out;
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [name, value] : query) enc.emplace_back(uri_encode(name, true), uri_encode(value, true));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [name, value] : enc) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::string signing_key(std::string_view secret, std::string_view day, std::string_view region,
                        std::string_view service) {
  // Only a digest of the secret is kept, never the secret itself.
  const Digest h = sha256(secret);
  thread_local CachedKey last;
  if (!last.key.empty() && last.id.matches(h, day, region, service)) return last.key;

  std::string key;
  {
    std::lock_guard<std::mutex> lock(cache_mutex());
    for (const auto& e : cache()) {
      if (e.id.matches(h, day, region, service)) {
        key = e.key;
        break;
      }
    }
  }
  if (key.empty()) {
    key = derive_key(secret, day, region, service);
    std::lock_guard<std::mutex> lock(cache_mutex());
    auto& c = cache();
    if (c.size() >= kMaxCachedKeys) c.pop_front();
    c.push_back(CachedKey{KeyId{h, std::string(day), std::string(region), std::string(service)}, key});
  }
  last = CachedKey{KeyId{h, std::string(day), std::string(region), std::string(service)}, key};
  return key;
}

void add_signing_headers(SignableRequest& request, const Credentials& creds, const SigningParams& params) {
  if (request.payload_hash.empty()) request.payload_hash = std::string(kEmptySha256);
  if (!creds.session_token.empty() && !has_header(request, "x-amz-security-token")) {
    request.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }
  if (!has_header(request, "x-amz-date")) request.headers.emplace_back("X-Amz-Date", amz_date(params.time));
  if (params.s3_rules && !has_header(request, "x-amz-content-sha256")) {
    request.headers.emplace_back("x-amz-content-sha256", request.payload_hash);
  }
}

SigningResult sign_request(const SignableRequest& request, const Credentials& creds, const SigningParams& params) {
  SigningResult r;
  const Scope scope = make_scope(params);

  std::string headers;
  headers.reserve(256);
  r.signed_headers.reserve(96);
  canonical_headers(request, params, headers, r.signed_headers);

  const std::string_view payload = effective_payload_hash(request, params, false);
  r.canonical_request.reserve(request.method.size() + request.path.size() * 3 + headers.size() +
                              r.signed_headers.size() + payload.size() + 64);
  r.canonical_request = request.method;
  r.canonical_request.push_back('\n');
  append_canonical_path(r.canonical_request, request, params);
  r.canonical_request.push_back('\n');
  if (!request.query.empty()) r.canonical_request += canonical_query(request.query);
  r.canonical_request.push_back('\n');
  r.canonical_request += headers;
  r.canonical_request.push_back('\n');
  r.canonical_request += r.signed_headers;
  r.canonical_request.push_back('\n');
  r.canonical_request += payload;

  finish_signature(r, creds, params, scope);

  r.authorization.reserve(kAlgorithm.size() + creds.access_key_id.size() + scope.scope.size() +
                          r.signed_headers.size() + 128);
  r.authorization = kAlgorithm;
  r.authorization += " Credential=";
  r.authorization += creds.access_key_id;
  r.authorization.push_back('/');
  r.authorization += scope.scope;
  r.authorization += ", SignedHeaders=";
  r.authorization += r.signed_headers;
  r.authorization += ", Signature=";
  r.authorization += r.signature;
  r.amz_date = scope.amz_date;
  return r;
}

std::string presign_query(const SignableRequest& request, const Credentials& creds, const SigningParams& params,
                          long expires_seconds, SigningResult* details) {
  SigningResult r;
  const Scope scope = make_scope(params);

  std::string headers;
  canonical_headers(request, params, headers, r.signed_headers);

  std::string credential = creds.access_key_id;
  credential.push_back('/');
  credential += scope.scope;
  const std::string expires = std::to_string(expires_seconds);
  const bool with_token = !creds.session_token.empty();

  auto query = request.query;
  query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  query.emplace_back("X-Amz-Credential", credential);
  query.emplace_back("X-Amz-Date", scope.amz_date);
  query.emplace_back("X-Amz-Expires", expires);
  if (with_token && params.sign_session_token) query.emplace_back("X-Amz-Security-Token", creds.session_token);
  query.emplace_back("X-Amz-SignedHeaders", r.signed_headers);

  r.canonical_request = request.method;
  r.canonical_request.push_back('\n');
  append_canonical_path(r.canonical_request, request, params);
  r.canonical_request.push_back('\n');
  r.canonical_request += canonical_query(query);
  r.canonical_request.push_back('\n');
  r.canonical_request += headers;
  r.canonical_request.push_back('\n');
  r.canonical_request += r.signed_headers;
  r.canonical_request.push_back('\n');
  r.canonical_request += effective_payload_hash(request, params, true);

  finish_signature(r, creds, params, scope);
  r.amz_date = scope.amz_date;

  // The request's own parameters first, in their order, then the signing
  // parameters in the order the AWS SDKs emit them.
  std::string out;
  auto add = [&out](std::string_view name, std::string_view value) {
    if (!out.empty()) out.push_back('&');
    append_encoded(out, name, true);
    out.push_back('=');
    append_encoded(out, value, true);
  };
  for (const auto& [name, value] : request.query) add(name, value);
  add("X-Amz-Algorithm", kAlgorithm);
  add("X-Amz-Credential", credential);
  add("X-Amz-Date", scope.amz_date);
  add("X-Amz-SignedHeaders", r.signed_headers);
  add("X-Amz-Expires", expires);
  if (with_token) add("X-Amz-Security-Token", creds.session_token);
  add("X-Amz-Signature", r.signature);

  if (details != nullptr) *details = std::move(r);
  return out;
}

}  // namespace mediastore::s3
