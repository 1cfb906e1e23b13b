#include <doctest/doctest.h>

#include <set>
#include <string>

#include "core/crypto.hpp"
#include "mediastore/status.hpp"

using namespace mediastore;

TEST_CASE("every error code has a distinct stable name") {
  std::set<std::string> names;
  for (int i = 0; i < kErrorCodeCount; ++i) {
    std::string n = error_code_name(static_cast<ErrorCode>(i));
    CHECK(n != "unknown");
    names.insert(n);
  }
  CHECK(names.size() == static_cast<std::size_t>(kErrorCodeCount));
  CHECK(std::string(error_code_name(static_cast<ErrorCode>(999))) == "unknown");
  CHECK(std::string(error_code_name(ErrorCode::not_found)) == "not_found");
}

TEST_CASE("Status carries code and message") {
  Status ok;
  CHECK(ok.ok());
  CHECK(ok.to_string() == "ok");
  Status s = Status::NotFound("no object at key 'a/b'");
  CHECK_FALSE(s.ok());
  CHECK(s.is(ErrorCode::not_found));
  CHECK(s.to_string() == "not_found: no object at key 'a/b'");
  CHECK(s.with_context("stat").message() == "stat: no object at key 'a/b'");
  CHECK(Status::Throttled("x").transient());
  CHECK_FALSE(Status::AuthFailed("x").transient());
}

TEST_CASE("Result holds a value or an error") {
  Result<int> r = 5;
  REQUIRE(r.ok());
  CHECK(*r == 5);
  Result<int> e = Status::IoError("disk full writing 'x'");
  CHECK_FALSE(e.ok());
  CHECK(e.status().is(ErrorCode::io_error));
  CHECK(e.value_or(7) == 7);
}

TEST_CASE("hashing and encodings") {
  using namespace mediastore::detail;
  CHECK(hex_lower(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex_lower(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2
  CHECK(hex_lower(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(base64_encode(std::string(reinterpret_cast<const char*>(md5("").data()), 16)) == "1B2M2Y8AsgTpgAmY7PhCfg==");
  std::string decoded;
  CHECK(base64_decode("aGVsbG8=", decoded));
  CHECK(decoded == "hello");
  CHECK_FALSE(base64_decode("abc", decoded));
  Hasher h;
  h.update("a", 1);
  h.update("bc", 2);
  CHECK(hex_lower(h.finish()) == hex_lower(sha256("abc")));
  std::string u = uuid4();
  CHECK(u.size() == 36);
  CHECK(u[14] == '4');
  CHECK(uuid4() != u);
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "ab"));
}
