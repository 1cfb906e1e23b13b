// Endpoints, addressing styles, key encoding and presigned URL checks (offline).
#include <doctest/doctest.h>

#include "s3/client.hpp"
#include "s3/url.hpp"

using namespace mediastore;
using namespace mediastore::s3;

TEST_CASE("endpoints") {
  auto e = parse_endpoint("http://127.0.0.1:7481");
  REQUIRE(e.ok());
  CHECK(e->scheme == "http");
  CHECK(e->host == "127.0.0.1:7481");
  auto s = parse_endpoint("https://s3.eu-west-1.amazonaws.com/");
  REQUIRE(s.ok());
  CHECK(s->scheme == "https");
  CHECK(s->host == "s3.eu-west-1.amazonaws.com");
  CHECK(parse_endpoint("127.0.0.1:7481").status().is(ErrorCode::invalid_argument));
  CHECK(parse_endpoint("http://").status().is(ErrorCode::invalid_argument));
  CHECK(parse_endpoint("http://h/path").status().is(ErrorCode::invalid_argument));
  CHECK(parse_endpoint("http://user@h").status().is(ErrorCode::invalid_argument));
  CHECK(parse_endpoint("ftp://h").status().is(ErrorCode::invalid_argument));
}

TEST_CASE("keys are encoded once per segment, slashes kept") {
  CHECK(encode_key("a/b/c.jpg") == "a/b/c.jpg");
  CHECK(encode_key("photo one.jpg") == "photo%20one.jpg");
  CHECK(encode_key("a+b=c&d") == "a%2Bb%3Dc%26d");
  CHECK(encode_key("already%20encoded") == "already%2520encoded");  // no double decoding either
  CHECK(encode_key("~user/-_.") == "~user/-_.");
  CHECK(encode_key("été/ü") == "%C3%A9t%C3%A9/%C3%BC");
  CHECK(encode_key("q?#[]") == "q%3F%23%5B%5D");
}

TEST_CASE("path-style and virtual-hosted targets") {
  Endpoint ep{"http", "127.0.0.1:7481"};
  auto p = make_target(ep, "media", "a b/c.jpg", true);
  CHECK(p.host == "127.0.0.1:7481");
  CHECK(p.path == "/media/a%20b/c.jpg");
  CHECK(make_target(ep, "media", "", true).path == "/media");
  Endpoint aws{"https", "s3.us-east-1.amazonaws.com"};
  auto v = make_target(aws, "media", "a b/c.jpg", false);
  CHECK(v.host == "media.s3.us-east-1.amazonaws.com");
  CHECK(v.path == "/a%20b/c.jpg");
  CHECK(make_target(aws, "media", "", false).path == "/");
}

TEST_CASE("query strings") {
  CHECK(encode_query({{"uploads", ""}}) == "uploads=");
  CHECK(encode_query({{"list-type", "2"}, {"prefix", "a b/"}, {"continuation-token", "x+y/z="}}) ==
        "list-type=2&prefix=a%20b%2F&continuation-token=x%2By%2Fz%3D");
}

TEST_CASE("presigned URLs: expiry bounds, shape, no secret") {
  S3Settings s;
  s.endpoint = "http://127.0.0.1:1";
  s.bucket = "media";
  s.access_key = "AKIDEXAMPLE";
  s.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  s.path_style = true;
  auto c = Client::create(s);
  REQUIRE(c.ok());
  const auto t = std::chrono::system_clock::from_time_t(1440938160);  // 20150830T123600Z
  CHECK((*c)->presign("GET", "k", std::chrono::seconds(0), t).status().is(ErrorCode::invalid_argument));
  CHECK((*c)->presign("GET", "k", std::chrono::seconds(604801), t).status().is(ErrorCode::invalid_argument));
  CHECK((*c)->presign("POST", "k", std::chrono::seconds(10), t).status().is(ErrorCode::invalid_argument));
  CHECK((*c)->presign("GET", "k", std::chrono::seconds(1), t).ok());
  auto u = (*c)->presign("GET", "a b/c.jpg", std::chrono::seconds(604800), t);
  REQUIRE(u.ok());
  CHECK(u->rfind("http://127.0.0.1:1/media/a%20b/c.jpg?", 0) == 0);
  CHECK(u->find("X-Amz-Algorithm=AWS4-HMAC-SHA256") != std::string::npos);
  CHECK(u->find("X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request") != std::string::npos);
  CHECK(u->find("X-Amz-Date=20150830T123600Z") != std::string::npos);
  CHECK(u->find("X-Amz-Expires=604800") != std::string::npos);
  CHECK(u->find("X-Amz-SignedHeaders=host") != std::string::npos);
  CHECK(u->find("X-Amz-Signature=") != std::string::npos);
  CHECK(u->find("wJalr") == std::string::npos);
  // Same inputs, same URL; another key, another signature.
  CHECK(*u == (*c)->presign("GET", "a b/c.jpg", std::chrono::seconds(604800), t).value());
  CHECK(*u != (*c)->presign("GET", "a b/d.jpg", std::chrono::seconds(604800), t).value());
}

TEST_CASE("part sizes grow to stay within 10000 parts") {
  constexpr std::uint64_t MiB = 1 << 20;
  CHECK(effective_part_size(8 * MiB, 64 * MiB) == 8 * MiB);
  CHECK(effective_part_size(8 * MiB, std::nullopt) == 8 * MiB);
  CHECK(effective_part_size(1 * MiB, 10 * MiB) == 5 * MiB);  // S3's minimum
  const std::uint64_t huge = 200000 * MiB;                   // ~195 GiB
  const std::uint64_t ps = effective_part_size(8 * MiB, huge);
  CHECK(ps % MiB == 0);
  CHECK((huge + ps - 1) / ps <= 10000);
  CHECK(ps == 20 * MiB);
}
