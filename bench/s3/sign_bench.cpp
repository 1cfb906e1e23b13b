// SigV4 signatures per second on one core (issue 3 target: >= 500 000/s for
// a typical S3 PUT signed with the Authorization header).
// Usage: bench_sign [iterations]   (default 1 000 000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "s3/sigv4.hpp"

using namespace mediastore::s3;

namespace {

template <typename F>
double per_second(long n, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) f(i);
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  return static_cast<double>(n) / dt.count();
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  if (n <= 0) {
    std::fprintf(stderr, "usage: bench_sign [iterations]\n");
    return 2;
  }
  const Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  SigningParams params;
  params.region = "us-east-1";
  params.service = "s3";
  params.time = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));

  // A typical PUT of a photo: the headers the S3 client sends.
  SignableRequest put;
  put.method = "PUT";
  put.path = "/media-bucket/photos/2024/06/img_000123.jpg";
  put.headers = {{"Host", "127.0.0.1:7481"},
                 {"Content-Type", "image/jpeg"},
                 {"Content-Length", "1048576"},
                 {"Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="},
                 {"x-amz-meta-owner", "user-42"}};
  put.payload_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  add_signing_headers(put, creds, params);

  std::size_t sink = 0;
  const double sign_rate = per_second(n, [&](long) { sink += sign_request(put, creds, params).signature.size(); });

  SignableRequest bare = put;
  bare.headers.resize(5);
  const double full_rate = per_second(n, [&](long) {
    SignableRequest r = bare;
    add_signing_headers(r, creds, params);
    sink += sign_request(r, creds, params).authorization.size();
  });

  SignableRequest get;
  get.method = "GET";
  get.path = put.path;
  get.headers = {{"Host", "127.0.0.1:7481"}};
  get.payload_hash = "UNSIGNED-PAYLOAD";
  const double presign_rate = per_second(n, [&](long) { sink += presign_query(get, creds, params, 3600).size(); });

  std::printf("sign_request (S3 PUT, 7 headers):            %10.0f signatures/s\n", sign_rate);
  std::printf("copy + add_signing_headers + sign_request:   %10.0f signatures/s\n", full_rate);
  std::printf("presign_query (GET URL):                     %10.0f signatures/s\n", presign_rate);
  std::printf("(iterations %ld, checksum %zu)\n", n, sink);
  return 0;
}
