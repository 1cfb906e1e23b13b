#include <doctest/doctest.h>

#include <filesystem>

#include "storage/local_backend.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;
using detail::LocalOptions;
using detail::LocalStorageBackend;
using std::chrono::seconds;
using std::chrono::system_clock;

namespace {

std::int64_t expires_of(const std::string& url) {
  const auto p = url.find("expires=");
  return std::stoll(url.substr(p + 8, url.find('&', p) - p - 8));
}

system_clock::time_point at(std::int64_t unix) { return system_clock::time_point(seconds(unix)); }

}  // namespace

TEST_CASE("signed local URLs verify, and tampered or expired ones do not") {
  test::TempDir t;
  LocalStorageBackend b(LocalOptions{t / "root", "https://cdn.example.com/media/", "s3cr3t-signing-key", ""});
  auto url = b.get_url("photos/a b.jpg", seconds(600));
  REQUIRE(url.ok());
  const std::string u = *url;
  CHECK(u.rfind("https://cdn.example.com/media/photos/a%20b.jpg?expires=", 0) == 0);
  CHECK(u.find("&sig=") != std::string::npos);
  CHECK(u.find("s3cr3t") == std::string::npos);
  const std::int64_t exp = expires_of(u);
  const auto now = system_clock::now();
  CHECK(exp >= std::chrono::duration_cast<seconds>(now.time_since_epoch()).count() + 590);

  CHECK(verify_local_url(u, "s3cr3t-signing-key").ok());
  CHECK(verify_local_url(u, "s3cr3t-signing-key", at(exp)).ok());
  // The path and query alone (what a web server sees) verify as well.
  const std::string path_only = u.substr(std::string("https://cdn.example.com").size());
  CHECK(verify_local_url(path_only, "s3cr3t-signing-key").ok());

  SUBCASE("expired") {
    const Status s = verify_local_url(u, "s3cr3t-signing-key", at(exp + 1));
    CHECK(s.is(ErrorCode::permission_denied));
    CHECK(s.message().find("expired") != std::string::npos);
    CHECK(s.message().find("/media/photos/a%20b.jpg") != std::string::npos);
  }
  SUBCASE("another key") { CHECK(verify_local_url(u, "other-key").is(ErrorCode::permission_denied)); }
  SUBCASE("tampered path") {
    std::string v = u;
    v.replace(v.find("a%20b"), 5, "c%20d");
    CHECK(verify_local_url(v, "s3cr3t-signing-key").is(ErrorCode::permission_denied));
  }
  SUBCASE("tampered expiry") {
    std::string v = u;
    const std::string e = std::to_string(exp);
    v.replace(v.find(e), e.size(), std::to_string(exp + 100000));
    CHECK(verify_local_url(v, "s3cr3t-signing-key").is(ErrorCode::permission_denied));
  }
  SUBCASE("tampered signature") {
    std::string v = u;
    char& last = v.back();
    last = last == '0' ? '1' : '0';
    const Status s = verify_local_url(v, "s3cr3t-signing-key");
    CHECK(s.is(ErrorCode::permission_denied));
    CHECK(s.message().find("sig") != std::string::npos);
  }
  SUBCASE("malformed") {
    const std::string base = u.substr(0, u.find('?'));
    for (const std::string& v : {base, base + "?expires=1", base + "?sig=" + std::string(64, 'a'),
                                 base + "?expires=x&sig=" + std::string(64, 'a'), base + "?expires=1&sig=abc",
                                 base + "?expires=1&sig=" + std::string(64, 'a') + "&extra=1",
                                 base + "?expires=1&expires=2&sig=" + std::string(64, 'a')}) {
      CHECK_MESSAGE(verify_local_url(v, "s3cr3t-signing-key").is(ErrorCode::invalid_argument), v);
    }
    CHECK(verify_local_url(u, "").is(ErrorCode::invalid_argument));
  }
}

TEST_CASE("the signature covers the URL path and expiry") {
  const std::string s1 = detail::local_url_signature("k", "/media/a", 100);
  CHECK(s1.size() == 64);
  CHECK(s1 != detail::local_url_signature("k", "/media/b", 100));
  CHECK(s1 != detail::local_url_signature("k", "/media/a", 101));
  CHECK(s1 != detail::local_url_signature("k2", "/media/a", 100));
  CHECK(detail::url_path_of("https://h:8080/m/a?x=1") == "/m/a");
  CHECK(detail::url_path_of("https://h") == "/");
  CHECK(detail::url_path_of("/m/a#frag") == "/m/a");
}

// A web server that serves MEDIA_ROOT with signed URLs serves only what
// verify_local_url accepts, and that is only what get_url signed: the
// backend's own files under the root (metadata sidecars in .mediastore/,
// temp files, a spool folder configured inside the root) get no URL, and a
// signature taken from an object's URL does not open them.
TEST_CASE("the backend's own files under MEDIA_ROOT get no URL and no signature carries over to them") {
  test::TempDir t;
  const std::string key = "signing-key-for-the-reserved-test";
  LocalStorageBackend b(LocalOptions{t / "root", "/media/", key, t / "root/spool-inside"});
  REQUIRE(b.put_bytes("photos/a.jpg", "jpeg bytes", PutOptions{}).ok());
  REQUIRE(std::filesystem::is_regular_file(t / "root/.mediastore/meta/photos/a.jpg"));
  for (const char* own : {".mediastore/meta/photos/a.jpg", ".mediastore", "photos/.mediastore-tmp.0123456789abcdef",
                          "spool-inside/x.spool", "spool-inside"}) {
    CAPTURE(own);
    CHECK(b.get_url(own, seconds(60)).status().is(ErrorCode::invalid_argument));
    CHECK(b.stat(own).status().is(ErrorCode::invalid_argument));
  }
  auto url = b.get_url("photos/a.jpg", seconds(600));
  REQUIRE(url.ok());
  REQUIRE(verify_local_url(*url, key).ok());
  const std::string query = url->substr(url->find('?'));
  for (const char* own : {"/media/.mediastore/meta/photos/a.jpg", "/media/%2Emediastore/meta/photos/a.jpg",
                          "/media/photos/../.mediastore/meta/photos/a.jpg", "/media/spool-inside/x.spool"}) {
    CAPTURE(own);
    CHECK(verify_local_url(own + query, key).is(ErrorCode::permission_denied));
  }
  // And with no signing key there is nothing to verify: unsigned serving
  // must deny dot-names itself (docs/operations.md).
  CHECK(verify_local_url("/media/.mediastore/meta/photos/a.jpg" + query, "").is(ErrorCode::invalid_argument));
}
