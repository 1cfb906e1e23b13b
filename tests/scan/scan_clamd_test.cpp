// ClamdScanner against a real clamd (scripts/clamd.sh: the fixture `clamd` on
// TCP and a Unix socket, and a private one this test stops and starts). The
// database is the script's own: MsTest.EICAR (the EICAR string anywhere) and
// MsTest.ClamExe (clamav-testfiles' clam.exe); clamd appends ".UNOFFICIAL".
// Its limits: StreamMaxLength 4 MiB, MaxFileSize/MaxScanSize 3 MiB,
// AlertExceedsMax yes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "mediastore/scan.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;
using mediastore::test::slurp;
using mediastore::test::spit;

namespace {

const std::string kEicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
const std::string kEicarSig = "MsTest.EICAR.UNOFFICIAL";
const std::string kClamExeSig = "MsTest.ClamExe.UNOFFICIAL";
const std::string kTestfiles = "/usr/share/clamav-testfiles";
constexpr std::uint64_t kClamdStreamMax = 4u << 20;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE_MESSAGE(v != nullptr, name, " is not set (run through ctest)");
  return v;
}

std::unique_ptr<ClamdScanner> open_scanner(const std::string& url, std::uint64_t limit = kClamdStreamMax) {
  ClamdOptions o;
  o.url = url;
  o.stream_max_bytes = limit;
  o.timeout = std::chrono::seconds(20);
  auto s = ClamdScanner::open(o);
  REQUIRE(s.ok());
  return std::move(s).value();
}

void check_infected(ClamdScanner& scanner, const std::string& path, const std::string& signature) {
  CAPTURE(path);
  auto r = scanner.scan_file(path);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(r->verdict == ScanVerdict::infected);
  CHECK(r->signature == signature);
  CHECK(r->bytes == std::filesystem::file_size(path));
}

// Clean photographs: the test photo and Debian's wallpapers (lomiri-wallpapers-16.04,
// scripts/install-deps.sh), each under clamd's 3 MiB MaxFileSize.
std::vector<std::string> clean_photos() {
  std::vector<std::string> out{env("MS_TEST_PHOTO")};
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/share/backgrounds", ec))
    if (e.path().extension() == ".jpg") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

int run(const std::string& command) {
  CAPTURE(command);
  return std::system(command.c_str());
}

}  // namespace

TEST_CASE("EICAR, EICAR after a JPEG, EICAR in a ZIP, clam.exe: the signature of our database fires") {
  test::TempDir dir;
  spit(dir / "eicar.com", kEicar);
  spit(dir / "photo-eicar.jpg", slurp(env("MS_TEST_PHOTO")) + kEicar);
  REQUIRE(run("/usr/bin/python3 -c \"import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w', "
              "zipfile.ZIP_DEFLATED); z.write(sys.argv[2], 'eicar.com'); z.close()\" " +
              dir / "eicar.zip " + dir / "eicar.com") == 0);
  // The ZIP compresses: the string is not in its bytes as such.
  REQUIRE(slurp(dir / "eicar.zip").find(kEicar) == std::string::npos);

  for (const std::string& url : std::vector<std::string>{env("MS_CLAMD_TCP_URL"), env("MS_CLAMD_UNIX_URL")}) {
    CAPTURE(url);
    auto scanner = open_scanner(url);
    CHECK(scanner->ping().ok());
    check_infected(*scanner, dir / "eicar.com", kEicarSig);
    check_infected(*scanner, dir / "photo-eicar.jpg", kEicarSig);
    check_infected(*scanner, dir / "eicar.zip", kEicarSig);
    check_infected(*scanner, kTestfiles + "/clam.exe", kClamExeSig);
    check_infected(*scanner, kTestfiles + "/clam.zip", kClamExeSig);
  }
}

TEST_CASE("clean photos are clean") {
  auto photos = clean_photos();
  REQUIRE(photos.size() >= 10);
  auto scanner = open_scanner(env("MS_CLAMD_UNIX_URL"));
  for (const auto& p : photos) {
    CAPTURE(p);
    auto r = scanner->scan_file(p);
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->verdict == ScanVerdict::clean);
    CHECK(r->signature.empty());
    CHECK(r->bytes == std::filesystem::file_size(p));
  }
}

TEST_CASE("scans on many threads at once keep their verdicts apart") {
  auto scanner = open_scanner(env("MS_CLAMD_TCP_URL"));
  const std::string photo = slurp(env("MS_TEST_PHOTO"));
  std::vector<std::thread> threads;
  std::vector<int> wrong(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const bool infected = (t + i) % 2 == 0;
        auto r = scanner->scan_memory(infected ? photo + kEicar : photo);
        if (!r.ok() || r->verdict != (infected ? ScanVerdict::infected : ScanVerdict::clean)) ++wrong[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int w : wrong) CHECK(w == 0);
}

TEST_CASE("what clamd did not scan in full is unscanned, never clean") {
  auto scanner = open_scanner(env("MS_CLAMD_TCP_URL"));

  SUBCASE("over the configured stream limit: not sent") {
    auto small = open_scanner(env("MS_CLAMD_TCP_URL"), 1u << 20);
    auto r = small->scan_memory(std::string((1u << 20) + 1, 'x'));
    REQUIRE(r.ok());
    CHECK(r->verdict == ScanVerdict::unscanned);
    CHECK(r->bytes == 0);
    // Even EICAR: nothing of it was looked at.
    auto e = small->scan_memory(kEicar + std::string(1u << 20, 'x'));
    REQUIRE(e.ok());
    CHECK(e->verdict == ScanVerdict::unscanned);
  }
  SUBCASE("configured above clamd's StreamMaxLength: clamd's size-limit error") {
    auto big = open_scanner(env("MS_CLAMD_TCP_URL"), 8u << 20);
    auto r = big->scan_memory(std::string(5u << 20, 'x'));
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->verdict == ScanVerdict::unscanned);
    CHECK(r->reason.find("StreamMaxLength") != std::string::npos);
  }
  SUBCASE("over clamd's MaxFileSize with AlertExceedsMax: the limit signature") {
    auto r = scanner->scan_memory(std::string((3u << 20) + 100000, 'x'));
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(r->verdict == ScanVerdict::unscanned);
    CHECK(r->signature == "Heuristics.Limits.Exceeded.MaxFileSize");
  }
  SUBCASE("under the limits: scanned to the end") {
    auto c = scanner->scan_memory(std::string((3u << 20) - 1000, 'x') + kEicar);
    REQUIRE_MESSAGE(c.ok(), c.status().to_string());
    CHECK(c->verdict == ScanVerdict::infected);
    CHECK(c->signature == kEicarSig);
  }
}

TEST_CASE("clamd stopped: a transient error at once; started again: scans again") {
  const std::string script = env("MS_CLAMD_SCRIPT");
  const std::string dir = env("MS_CLAMD_PRIVATE_DIR");
  REQUIRE(run(script + " start " + dir + " unix >/dev/null") == 0);
  auto scanner = open_scanner("unix:" + dir + "/clamd.sock");
  check_infected(*scanner, kTestfiles + "/clam.exe", kClamExeSig);

  REQUIRE(run(script + " stop " + dir + " >/dev/null") == 0);
  auto down = scanner->scan_memory(kEicar);
  CAPTURE(down.status().to_string());
  CHECK(down.status().is(ErrorCode::unavailable));
  CHECK(down.status().transient());
  CHECK(down.status().message().find("clamd at unix:" + dir + "/clamd.sock") != std::string::npos);
  CHECK(scanner->ping().is(ErrorCode::unavailable));

  REQUIRE(run(script + " start " + dir + " unix >/dev/null") == 0);
  CHECK(scanner->ping().ok());
  check_infected(*scanner, kTestfiles + "/clam.exe", kClamExeSig);
  REQUIRE(run(script + " stop " + dir + " >/dev/null") == 0);
}
