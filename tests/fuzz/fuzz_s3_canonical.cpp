// libFuzzer target for the SigV4 canonical-request builder: arbitrary method,
// path, query, headers, credentials and time, signed with the Authorization
// header and presigned, in S3 and generic mode. Must never crash.
//
// Input layout (lines split on '\n'):
//   byte 0        flags: bit0 s3_rules, bit1 normalize_path, bit2 session token,
//                 bit3 token sent but not signed, bit4 encode_slash for uri_encode
//   line 1        method
//   line 2        path
//   line 3        query "a=1&b&c=" (names and values taken as decoded)
//   line 4        secret
//   line 5        time, seconds since the epoch (digits, optional leading '-';
//                 capped near 8e9 so that system_clock cannot overflow)
//   lines 6...    headers "Name:value" (no ':' -> empty value)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "s3/sigv4.hpp"

using namespace mediastore::s3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  std::vector<std::string_view> lines;
  while (!in.empty()) {
    std::size_t nl = in.find('\n');
    lines.push_back(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  auto line = [&lines](std::size_t i) { return i < lines.size() ? lines[i] : std::string_view(); };

  SignableRequest req;
  req.method = std::string(line(0));
  req.path = std::string(line(1));
  std::string_view q = line(2);
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    std::size_t eq = part.find('=');
    req.query.emplace_back(std::string(part.substr(0, eq)),
                           eq == std::string_view::npos ? std::string() : std::string(part.substr(eq + 1)));
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
  }
  for (std::size_t i = 5; i < lines.size(); ++i) {
    std::size_t colon = lines[i].find(':');
    req.headers.emplace_back(std::string(lines[i].substr(0, colon)),
                             colon == std::string_view::npos ? std::string() : std::string(lines[i].substr(colon + 1)));
  }

  Credentials creds{"AKIDEXAMPLE", std::string(line(3)), (flags & 4) ? "token/+=" : ""};
  SigningParams params;
  params.region = "us-east-1";
  params.service = (flags & 1) ? "s3" : "service";
  params.s3_rules = (flags & 1) != 0;
  params.normalize_path = (flags & 2) != 0;
  params.sign_session_token = (flags & 8) == 0;
  long long secs = 0;
  for (char c : line(4)) {
    if (c >= '0' && c <= '9' && secs <= 800000000LL) secs = secs * 10 + (c - '0');
  }
  if (!line(4).empty() && line(4)[0] == '-') secs = -secs;
  params.time = std::chrono::system_clock::time_point(std::chrono::seconds(secs));

  SignableRequest with_headers = req;
  add_signing_headers(with_headers, creds, params);
  SigningResult r = sign_request(with_headers, creds, params);
  if (r.signature.size() != 64 || r.amz_date.size() != 16) __builtin_trap();

  SigningResult pr;
  std::string query = presign_query(req, creds, params, 3600, &pr);
  if (pr.signature.size() != 64 || query.find("X-Amz-Signature=" + pr.signature) == std::string::npos) {
    __builtin_trap();
  }

  // Only crashes matter to the fuzzer: results are dropped.
  (void)canonical_query(req.query);
  (void)uri_encode(req.path, flags & 16);
  return 0;
}
