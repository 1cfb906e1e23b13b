// SigV4 signer: every case of the AWS SigV4 test suite (aws-c-auth vectors in
// tests/data/aws-sigv4-test-suite), byte for byte, plus the S3 documentation
// examples for S3 rules.
#include "s3/sigv4.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "support/gcc_workarounds.hpp"

namespace fs = std::filesystem;
using namespace mediastore::s3;

namespace {

fs::path suite_dir() { return fs::path(MS_TESTS_DIR) / "data" / "aws-sigv4-test-suite"; }

bool read_file(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

std::chrono::system_clock::time_point utc(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss};
}

// The raw text after "key": in a flat JSON object (enough for context.json).
bool json_raw(const std::string& json, const std::string& key, std::string& out) {
  std::size_t p = json.find("\"" + key + "\"");
  if (p == std::string::npos) return false;
  p = json.find(':', p);
  if (p == std::string::npos) return false;
  ++p;
  while (p < json.size() && std::isspace(static_cast<unsigned char>(json[p]))) ++p;
  if (p >= json.size()) return false;
  if (json[p] == '"') {
    out.clear();
    for (++p; p < json.size() && json[p] != '"'; ++p) {
      if (json[p] == '\\' && p + 1 < json.size()) ++p;
      out.push_back(json[p]);
    }
    return p < json.size();
  }
  std::size_t e = json.find_first_of(",}\n", p);
  if (e == std::string::npos) return false;
  out = json.substr(p, e - p);
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return true;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string pct_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A request.txt parsed: the signable request plus the raw text needed to
// rebuild the signed request exactly.
struct RawRequest {
  SignableRequest req;
  std::string raw_query;                 // as in the request line, without '?'
  std::vector<std::string> header_text;  // raw header lines (continuations included)
  std::string body;
};

bool parse_request(const std::string& text, RawRequest& out, std::string& why) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  std::size_t body_at = std::string::npos;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() && !lines.empty()) {
      body_at = nl == std::string::npos ? text.size() : nl + 1;
      break;
    }
    lines.push_back(line);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  if (body_at != std::string::npos) out.body = text.substr(body_at);
  if (lines.empty()) return why = "empty request", false;

  // Request line: METHOD SP target SP HTTP/x.y; the target may hold spaces.
  const std::string& rl = lines[0];
  std::size_t s1 = rl.find(' ');
  std::size_t s2 = rl.rfind(' ');
  if (s1 == std::string::npos || s2 == s1 || rl.compare(s2 + 1, 5, "HTTP/") != 0) {
    return why = "bad request line: " + rl, false;
  }
  out.req.method = rl.substr(0, s1);
  std::string target = rl.substr(s1 + 1, s2 - s1 - 1);
  std::size_t q = target.find('?');
  out.req.path = target.substr(0, q);
  if (q != std::string::npos) {
    out.raw_query = target.substr(q + 1);
    std::string_view rest = out.raw_query;
    while (!rest.empty()) {
      std::size_t amp = rest.find('&');
      std::string_view part = rest.substr(0, amp);
      std::size_t eq = part.find('=');
      out.req.query.emplace_back(pct_decode(part.substr(0, eq)),
                                 eq == std::string_view::npos ? std::string() : pct_decode(part.substr(eq + 1)));
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
  }

  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l[0] == ' ' || l[0] == '\t') {  // folded continuation of the previous header
      if (out.req.headers.empty()) return why = "continuation before any header", false;
      out.req.headers.back().second += " " + l;
      out.header_text.back() += "\n" + l;
      continue;
    }
    std::size_t colon = l.find(':');
    if (colon == std::string::npos || colon == 0) return why = "bad header line: " + l, false;
    out.req.headers.emplace_back(l.substr(0, colon), l.substr(colon + 1));
    out.header_text.push_back(l);
  }
  return true;
}

struct Context {
  Credentials creds;
  SigningParams params;
  long expires = 0;
  bool sign_body = false;
};

bool parse_context(const std::string& json, Context& c, std::string& why) {
  std::string v;
  if (!json_raw(json, "access_key_id", c.creds.access_key_id)) return why = "no access_key_id", false;
  if (!json_raw(json, "secret_access_key", c.creds.secret_access_key)) return why = "no secret_access_key", false;
  json_raw(json, "token", c.creds.session_token);
  if (!json_raw(json, "region", c.params.region)) return why = "no region", false;
  if (!json_raw(json, "service", c.params.service)) return why = "no service", false;
  if (!json_raw(json, "expiration_in_seconds", v)) return why = "no expiration_in_seconds", false;
  c.expires = std::stol(v);
  if (!json_raw(json, "normalize", v)) return why = "no normalize", false;
  c.params.normalize_path = v == "true";
  if (!json_raw(json, "sign_body", v)) return why = "no sign_body", false;
  c.sign_body = v == "true";
  if (json_raw(json, "omit_session_token", v)) c.params.sign_session_token = v != "true";
  if (!json_raw(json, "timestamp", v)) return why = "no timestamp", false;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (std::sscanf(v.c_str(), "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &s) != 6) return why = "bad timestamp", false;
  c.params.time = utc(y, static_cast<unsigned>(mo), static_cast<unsigned>(d), h, mi, s);
  c.params.s3_rules = false;
  return true;
}

std::string rebuild(const RawRequest& raw, const std::string& query,
                    const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  std::string s = raw.req.method + " " + raw.req.path;
  if (!query.empty()) s += "?" + query;
  s += " HTTP/1.1\n";
  for (const auto& h : raw.header_text) s += h + "\n";
  for (const auto& [n, v] : extra_headers) s += n + ":" + v + "\n";
  s += "\n" + raw.body;
  return s;
}

}  // namespace

TEST_CASE("sigv4: every case of the AWS SigV4 test suite, header and query signing") {
  const fs::path dir = suite_dir();
  REQUIRE_MESSAGE(fs::is_directory(dir), dir.string());
  REQUIRE(fs::exists(dir / "LICENSE"));
  REQUIRE(fs::exists(dir / "NOTICE"));

  std::vector<fs::path> cases;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().filename() == "request.txt") cases.push_back(e.path().parent_path());
  }
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= 30);  // the suite has 38; zero would mean a broken copy
  int checked = 0;

  for (const auto& c : cases) {
    const std::string name = fs::relative(c, dir).string();
    CAPTURE(name);
    std::string text, json, why;
    REQUIRE(read_file(c / "request.txt", text));
    REQUIRE(read_file(c / "context.json", json));
    RawRequest raw;
    REQUIRE_MESSAGE(parse_request(text, raw, why), why);
    Context ctx;
    REQUIRE_MESSAGE(parse_context(json, ctx, why), why);
    raw.req.payload_hash = mediastore::detail::hex_lower(mediastore::detail::sha256(raw.body));

    auto expect = [&](const char* file, std::string& out) {
      INFO(file);
      REQUIRE(read_file(c / file, out));
    };
    std::string e_creq, e_sts, e_sig, e_sreq;

    // Header signing.
    {
      SignableRequest req = raw.req;
      const std::size_t before = req.headers.size();
      add_signing_headers(req, ctx.creds, ctx.params);
      if (ctx.sign_body) req.headers.emplace_back("x-amz-content-sha256", req.payload_hash);
      SigningResult r = sign_request(req, ctx.creds, ctx.params);
      expect("header-canonical-request.txt", e_creq);
      expect("header-string-to-sign.txt", e_sts);
      expect("header-signature.txt", e_sig);
      expect("header-signed-request.txt", e_sreq);
      CHECK(r.canonical_request == e_creq);
      CHECK(r.string_to_sign == e_sts);
      CHECK(r.signature == e_sig);
      CHECK(r.amz_date == amz_date(ctx.params.time));
      std::vector<std::pair<std::string, std::string>> added(req.headers.begin() + static_cast<long>(before),
                                                             req.headers.end());
      added.emplace_back("Authorization", r.authorization);
      CHECK(rebuild(raw, raw.raw_query, added) == e_sreq);
    }
    // Query (presigned) signing.
    {
      SigningResult r;
      const std::string q = presign_query(raw.req, ctx.creds, ctx.params, ctx.expires, &r);
      expect("query-canonical-request.txt", e_creq);
      expect("query-string-to-sign.txt", e_sts);
      expect("query-signature.txt", e_sig);
      expect("query-signed-request.txt", e_sreq);
      CHECK(r.canonical_request == e_creq);
      CHECK(r.string_to_sign == e_sts);
      CHECK(r.signature == e_sig);
      // presign_query returns the request's own parameters re-encoded, then
      // the signing parameters; the vectors keep the request line's original
      // spelling of the former.
      std::string own;
      for (const auto& [n, v] : raw.req.query)
        own += (own.empty() ? "" : "&") + uri_encode(n, true) + "=" + uri_encode(v, true);
      REQUIRE(q.compare(0, own.size(), own) == 0);
      std::string signing_part = q.substr(own.empty() ? 0 : own.size() + 1);
      std::string full = raw.raw_query.empty() ? signing_part : raw.raw_query + "&" + signing_part;
      CHECK(rebuild(raw, full, {}) == e_sreq);
    }
    ++checked;
  }
  CHECK(checked == static_cast<int>(cases.size()));
  MESSAGE("checked ", checked, " AWS SigV4 suite cases");
}

TEST_CASE("sigv4: the test parser refuses what it cannot parse") {
  RawRequest raw;
  std::string why;
  CHECK_FALSE(parse_request("GARBAGE\n", raw, why));
  RawRequest raw2;
  CHECK_FALSE(parse_request("GET / HTTP/1.1\nNoColonHere\n", raw2, why));
}

namespace {
const Credentials kS3Creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

SigningParams s3_params() {
  SigningParams p;
  p.region = "us-east-1";
  p.service = "s3";
  p.time = utc(2013, 5, 24, 0, 0, 0);
  p.s3_rules = true;
  return p;
}
}  // namespace

TEST_CASE("sigv4 s3: GET object with a range (S3 documentation example)") {
  SignableRequest req;
  req.method = "GET";
  req.path = "/test.txt";
  req.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}};
  req.payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  add_signing_headers(req, kS3Creds, s3_params());
  SigningResult r = sign_request(req, kS3Creds, s3_params());
  CHECK(r.canonical_request ==
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(r.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  CHECK(r.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  CHECK(r.authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_CASE("sigv4 s3: PUT object, path used as sent, no double encoding (S3 documentation example)") {
  SignableRequest req;
  req.method = "PUT";
  req.path = "/test%24file.text";
  req.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                 {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  req.payload_hash = mediastore::detail::hex_lower(mediastore::detail::sha256("Welcome to Amazon S3."));
  CHECK(req.payload_hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  add_signing_headers(req, kS3Creds, s3_params());
  SigningResult r = sign_request(req, kS3Creds, s3_params());
  CHECK(r.canonical_request.find("\n/test%24file.text\n") != std::string::npos);
  CHECK(r.signed_headers == "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  CHECK(r.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST_CASE("sigv4 s3: list objects with a query (S3 documentation example)") {
  SignableRequest req;
  req.method = "GET";
  req.path = "/";
  req.query = {{"max-keys", "2"}, {"prefix", "J"}};
  req.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
  req.payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  add_signing_headers(req, kS3Creds, s3_params());
  SigningResult r = sign_request(req, kS3Creds, s3_params());
  CHECK(r.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_CASE("sigv4 s3: GET bucket lifecycle, a key without value (S3 documentation example)") {
  SignableRequest req;
  req.method = "GET";
  req.path = "/";
  req.query = {{"lifecycle", ""}};
  req.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
  req.payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  add_signing_headers(req, kS3Creds, s3_params());
  SigningResult r = sign_request(req, kS3Creds, s3_params());
  CHECK(r.canonical_request.find("\n/\nlifecycle=\n") != std::string::npos);
  CHECK(r.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST_CASE("sigv4 s3: presigned GET URL (S3 documentation example, expiry 86400)") {
  SignableRequest req;
  req.method = "GET";
  req.path = "/test.txt";
  req.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
  req.payload_hash = "UNSIGNED-PAYLOAD";
  SigningResult r;
  const std::string q = presign_query(req, kS3Creds, s3_params(), 86400, &r);
  CHECK(r.canonical_request ==
        "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-"
        "1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
        "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
  CHECK(r.signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  CHECK(q ==
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_"
        "request&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=86400&X-Amz-Signature="
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");

  // An empty payload hash under S3 rules presigns as UNSIGNED-PAYLOAD.
  req.payload_hash.clear();
  SigningResult r2;
  CHECK(presign_query(req, kS3Creds, s3_params(), 86400, &r2) == q);
}

TEST_CASE("sigv4 s3: no path normalisation and no double encoding") {
  SignableRequest req;
  req.method = "GET";
  req.path = "/bucket//a/./b/../photo%20one.jpg";
  req.headers = {{"Host", "h"}};
  SigningParams p = s3_params();
  add_signing_headers(req, kS3Creds, p);
  const SigningResult s3 = sign_request(req, kS3Creds, p);
  CHECK(s3.canonical_request.rfind("GET\n/bucket//a/./b/../photo%20one.jpg\n", 0) == 0);
  p.s3_rules = false;
  const SigningResult generic = sign_request(req, kS3Creds, p);
  CHECK(generic.canonical_request.rfind("GET\n/bucket/a/photo%2520one.jpg\n", 0) == 0);
  CHECK(s3.signature != generic.signature);
}

TEST_CASE("sigv4 s3: session token in headers and in presigned queries") {
  Credentials creds = kS3Creds;
  creds.session_token = "TOKEN/with+chars=";
  SignableRequest req;
  req.method = "PUT";
  req.path = "/b/k";
  req.headers = {{"Host", "h"}};
  req.payload_hash = "UNSIGNED-PAYLOAD";
  SignableRequest signed_req = req;
  add_signing_headers(signed_req, creds, s3_params());
  // Added in the order the SDKs send them, and only once.
  REQUIRE(signed_req.headers.size() == 4);
  CHECK(signed_req.headers[1] == std::pair<std::string, std::string>("X-Amz-Security-Token", creds.session_token));
  CHECK(signed_req.headers[2] == std::pair<std::string, std::string>("X-Amz-Date", "20130524T000000Z"));
  CHECK(signed_req.headers[3] == std::pair<std::string, std::string>("x-amz-content-sha256", "UNSIGNED-PAYLOAD"));
  add_signing_headers(signed_req, creds, s3_params());
  CHECK(signed_req.headers.size() == 4);
  SigningResult r = sign_request(signed_req, creds, s3_params());
  CHECK(r.signed_headers == "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
  CHECK(r.canonical_request.find("x-amz-security-token:TOKEN/with+chars=\n") != std::string::npos);

  SigningResult pr;
  const std::string q = presign_query(req, creds, s3_params(), 60, &pr);
  CHECK(pr.canonical_request.find("&X-Amz-Security-Token=TOKEN%2Fwith%2Bchars%3D&") != std::string::npos);
  CHECK(q.find("&X-Amz-Expires=60&X-Amz-Security-Token=TOKEN%2Fwith%2Bchars%3D&X-Amz-Signature=") != std::string::npos);
  CHECK(pr.canonical_request.substr(pr.canonical_request.rfind('\n') + 1) == "UNSIGNED-PAYLOAD");
}

TEST_CASE("sigv4: helpers") {
  CHECK(amz_date(utc(2015, 8, 30, 12, 36, 0)) == "20150830T123600Z");
  CHECK(amz_day(utc(2015, 8, 30, 12, 36, 0)) == "20150830");
  CHECK(amz_date(utc(2000, 2, 29, 23, 59, 59)) == "20000229T235959Z");
  CHECK(amz_date(utc(1970, 1, 1, 0, 0, 0)) == "19700101T000000Z");
  CHECK(uri_encode("a b/c~%", false) == "a%20b/c~%25");
  CHECK(uri_encode("a b/c", true) == "a%20b%2Fc");
  CHECK(uri_encode("\xe1\x88\xb4", true) == "%E1%88%B4");
  CHECK(canonical_query({{"b", "2"}, {"a", ""}, {"a", "1"}, {"A", "z"}}) == "A=z&a=&a=1&b=2");
  CHECK(canonical_query({}).empty());
}

MS_GCC_STRING_WRESTRICT_BEGIN  // "s" + std::to_string(...): GCC PR 105651
TEST_CASE("sigv4: signing key matches the documented derivation and is cached safely across threads") {
  // AWS documentation example: secret, 20120215, us-east-1, iam.
  const std::string key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam");
  CHECK(mediastore::detail::hex_lower(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
  // Different inputs give different keys, also when served from the cache.
  const std::string other = signing_key("another-secret", "20120215", "us-east-1", "iam");
  CHECK(other != key);
  CHECK(signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam") == key);

  // Many threads, more distinct keys than the cache holds.
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &ok, &key] {
      for (int i = 0; i < 200; ++i) {
        const std::string day = "201201" + std::to_string(10 + (i + t) % 90);
        const std::string k1 = signing_key("s" + std::to_string(i % 7), day, "r", "s3");
        const std::string k2 = signing_key("s" + std::to_string(i % 7), day, "r", "s3");
        if (k1 == k2 && k1.size() == 32 &&
            signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam") == key) {
          ++ok[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int v : ok) CHECK(v == 200);
}
MS_GCC_STRING_WRESTRICT_END
