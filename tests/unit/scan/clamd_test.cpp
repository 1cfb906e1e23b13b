// The clamd client against fakes (fault injection): address parsing, the
// INSTREAM framing, answers, stalls, closed ports. The real clamd runs in
// tests/scan/.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/clamd_url.hpp"
#include "mediastore/scan.hpp"
#include "scan/clamd.hpp"
#include "support/fake_clamd.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;
using mediastore::test::FakeClamd;

namespace {

std::unique_ptr<ClamdScanner> scanner_for(const std::string& url, std::uint64_t limit = 25ull << 20,
                                          std::size_t chunk = 64 << 10) {
  ClamdOptions o;
  o.url = url;
  o.stream_max_bytes = limit;
  o.timeout = std::chrono::milliseconds(300);
  o.chunk_bytes = chunk;
  auto s = ClamdScanner::open(o);
  REQUIRE(s.ok());
  return std::move(s).value();
}

// The data of an INSTREAM request, checking its framing; `chunks` gets each
// chunk's length.
std::string unframe(const std::string& request, std::vector<std::size_t>& chunks) {
  REQUIRE(request.size() >= 14);
  CHECK(request.substr(0, 10) == std::string("zINSTREAM\0", 10));
  std::string data;
  std::size_t at = 10;
  while (true) {
    REQUIRE(at + 4 <= request.size());
    const auto* b = reinterpret_cast<const unsigned char*>(request.data() + at);
    const std::size_t n = (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) | (std::size_t{b[2]} << 8) | b[3];
    at += 4;
    if (n == 0) break;
    REQUIRE(at + n <= request.size());
    chunks.push_back(n);
    data += request.substr(at, n);
    at += n;
  }
  CHECK(at == request.size());
  return data;
}

void check_transient(const Status& s, ErrorCode code, const std::string& url) {
  CAPTURE(s.to_string());
  CHECK(s.is(code));
  CHECK(s.transient());
  CHECK(s.message().find("clamd at " + url) != std::string::npos);
}

}  // namespace

TEST_CASE("MEDIA_CLAMD_URL: the two accepted forms") {
  auto u = detail::parse_clamd_url("unix:/run/clamav/clamd.ctl");
  REQUIRE(u.ok());
  CHECK(u->kind == detail::ClamdAddress::Kind::unix_socket);
  CHECK(u->path == "/run/clamav/clamd.ctl");
  auto t = detail::parse_clamd_url("tcp://127.0.0.1:3310");
  REQUIRE(t.ok());
  CHECK(t->kind == detail::ClamdAddress::Kind::tcp);
  CHECK(t->host == "127.0.0.1");
  CHECK(t->port == 3310);
  auto n = detail::parse_clamd_url("tcp://clamav.internal:65535");
  REQUIRE(n.ok());
  CHECK(n->host == "clamav.internal");
  CHECK(n->port == 65535);
  auto v6 = detail::parse_clamd_url("tcp://[::1]:3310");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->display == "tcp://[::1]:3310");
}

TEST_CASE("MEDIA_CLAMD_URL: every other form is invalid_argument naming the variable") {
  const std::string long_path = "unix:/" + std::string(120, 'a');
  for (const std::string& bad : std::vector<std::string>{"clamd",
                                                         "/run/clamav/clamd.ctl",
                                                         "unix:",
                                                         "unix:run/clamd.ctl",
                                                         "unix:/a\nb",
                                                         long_path,
                                                         "tcp://",
                                                         "tcp://host",
                                                         "tcp://host:",
                                                         "tcp://:3310",
                                                         "tcp://host:0",
                                                         "tcp://host:65536",
                                                         "tcp://host:3310/",
                                                         "tcp://host:3310?x",
                                                         "tcp://user@host:3310",
                                                         "tcp://[::1]",
                                                         "tcp://[::1]3310",
                                                         "tcp://[zz]:1",
                                                         "tcp://[]:1",
                                                         "tcp://host:33a",
                                                         "tcp://host:+1",
                                                         "tcp://-host:1",
                                                         "tcp://ho st:1",
                                                         "TCP://host:1",
                                                         "http://host:3310",
                                                         "tcp:/host:3310",
                                                         "tcp://host:3310:1"}) {
    CAPTURE(bad);
    auto r = detail::parse_clamd_url(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().is(ErrorCode::invalid_argument));
    CHECK(r.status().message().find("MEDIA_CLAMD_URL") != std::string::npos);
    ClamdOptions o;
    o.url = bad;
    auto s = ClamdScanner::open(o);
    CHECK(s.status().is(ErrorCode::invalid_argument));
    CHECK(s.status().message().find("MEDIA_CLAMD_URL") != std::string::npos);
  }
}

TEST_CASE("ClamdScanner::open checks its options") {
  ClamdOptions o;
  CHECK(ClamdScanner::open(o).status().message().find("MEDIA_CLAMD_URL") != std::string::npos);
  o.url = "tcp://127.0.0.1:3310";
  o.stream_max_bytes = 0;
  CHECK(ClamdScanner::open(o).status().message().find("MEDIA_CLAMD_STREAM_MAX_BYTES") != std::string::npos);
  o.stream_max_bytes = 1 << 20;
  o.timeout = std::chrono::milliseconds(0);
  CHECK(ClamdScanner::open(o).status().message().find("MEDIA_CLAMD_TIMEOUT") != std::string::npos);
  o.timeout = std::chrono::milliseconds(10);
  o.chunk_bytes = 10;
  CHECK(ClamdScanner::open(o).status().is(ErrorCode::invalid_argument));
  o.chunk_bytes = 4096;
  auto s = ClamdScanner::open(o);
  REQUIRE(s.ok());
  CHECK((*s)->describe() == "clamd at tcp://127.0.0.1:3310");
}

TEST_CASE("clamd's answers to INSTREAM") {
  const std::string who = "clamd at unix:/x";
  auto clean = detail::parse_instream_reply("stream: OK", who);
  REQUIRE(clean.ok());
  CHECK(clean->verdict == ScanVerdict::clean);

  auto found = detail::parse_instream_reply("stream: Win.Test.EICAR_HDB-1 FOUND", who);
  REQUIRE(found.ok());
  CHECK(found->verdict == ScanVerdict::infected);
  CHECK(found->signature == "Win.Test.EICAR_HDB-1");

  for (const char* limit : {"stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND",
                            "stream: Heuristics.Limits.Exceeded.MaxScanSize FOUND"}) {
    auto r = detail::parse_instream_reply(limit, who);
    REQUIRE(r.ok());
    CHECK(r->verdict == ScanVerdict::unscanned);
    CHECK(r->signature.rfind("Heuristics.Limits.Exceeded.", 0) == 0);
    CHECK(r->reason.find(who) != std::string::npos);
  }

  auto size = detail::parse_instream_reply("INSTREAM size limit exceeded. ERROR", who);
  REQUIRE(size.ok());
  CHECK(size->verdict == ScanVerdict::unscanned);
  CHECK(size->reason.find("StreamMaxLength") != std::string::npos);

  auto err = detail::parse_instream_reply("Can't allocate memory ERROR", who);
  CHECK(err.status().is(ErrorCode::unavailable));
  CHECK(err.status().message().find(who) != std::string::npos);

  for (const std::string& garbage : std::vector<std::string>{"", "OK", "stream: FOUND", "stream:  FOUND", "stream: ok",
                                                             "HTTP/1.1 200 OK", std::string("\x01\xff", 2)}) {
    CAPTURE(garbage);
    auto g = detail::parse_instream_reply(garbage, who);
    CHECK(g.status().is(ErrorCode::network_error));
  }
  CHECK(detail::printable(std::string("a\x01\\", 3)) == "a\\x01\\x5c");
}

TEST_CASE("INSTREAM framing: the data in chunks of at most chunk_bytes, a zero-length chunk last") {
  FakeClamd fake(FakeClamd::Mode::answer, std::string("stream: OK\0", 11));
  auto scanner = scanner_for(fake.url(), 1 << 20, 1024);
  std::string data;
  for (int i = 0; i < 5000; ++i) data += static_cast<char>(i * 7);
  auto r = scanner->scan_memory(data);
  REQUIRE(r.ok());
  CHECK(r->verdict == ScanVerdict::clean);
  CHECK(r->bytes == data.size());
  std::vector<std::size_t> chunks;
  CHECK(unframe(fake.last_request(), chunks) == data);
  REQUIRE(chunks.size() == 5);
  for (std::size_t c : chunks) CHECK(c <= 1024);

  // An empty input is one zero-length chunk.
  auto e = scanner->scan_memory("");
  REQUIRE(e.ok());
  CHECK(fake.last_request() == std::string("zINSTREAM\0\0\0\0\0", 14));
}

TEST_CASE("scan_file streams the file") {
  test::TempDir dir;
  FakeClamd fake(FakeClamd::Mode::answer, std::string("stream: Test.Sig FOUND\0", 23));
  auto scanner = scanner_for(fake.url(), 1 << 20, 4096);
  std::string data(100000, 'q');
  {
    FILE* f = std::fopen((dir / "f.bin").c_str(), "wb");
    REQUIRE(f);
    REQUIRE(std::fwrite(data.data(), 1, data.size(), f) == data.size());
    std::fclose(f);
  }
  auto r = scanner->scan_file(dir / "f.bin");
  REQUIRE(r.ok());
  CHECK(r->verdict == ScanVerdict::infected);
  CHECK(r->signature == "Test.Sig");
  std::vector<std::size_t> chunks;
  CHECK(unframe(fake.last_request(), chunks) == data);

  auto missing = scanner->scan_file(dir / "none.bin");
  CHECK(missing.status().is(ErrorCode::not_found));
  CHECK(missing.status().message().find("none.bin") != std::string::npos);
  CHECK(scanner->scan_file(dir.path()).status().is(ErrorCode::invalid_argument));
}

TEST_CASE("over the stream limit: unscanned, nothing sent when the size is known") {
  FakeClamd fake(FakeClamd::Mode::answer, std::string("stream: OK\0", 11));
  auto scanner = scanner_for(fake.url(), 4096, 1024);
  auto r = scanner->scan_memory(std::string(4097, 'x'));
  REQUIRE(r.ok());
  CHECK(r->verdict == ScanVerdict::unscanned);
  CHECK(r->reason.find("MEDIA_CLAMD_STREAM_MAX_BYTES") != std::string::npos);
  CHECK(r->bytes == 0);
  CHECK(fake.connections() == 0);

  // Exactly at the limit is scanned.
  auto at = scanner->scan_memory(std::string(4096, 'x'));
  REQUIRE(at.ok());
  CHECK(at->verdict == ScanVerdict::clean);

  // A source of unknown size is cut at the limit and never reported clean.
  std::size_t left = 10000;
  auto unknown = scanner->scan(
      [&](void* buf, std::size_t n) -> Result<std::size_t> {
        n = std::min(n, left);
        std::memset(buf, 'y', n);
        left -= n;
        return n;
      },
      std::nullopt);
  REQUIRE(unknown.ok());
  CHECK(unknown->verdict == ScanVerdict::unscanned);
}

TEST_CASE("a read error of the source is returned as it is") {
  FakeClamd fake(FakeClamd::Mode::answer, std::string("stream: OK\0", 11));
  auto scanner = scanner_for(fake.url());
  auto r = scanner->scan([](void*, std::size_t) -> Result<std::size_t> { return Status::IoError("disk on fire"); },
                         std::nullopt);
  CHECK(r.status().is(ErrorCode::io_error));
  CHECK(r.status().message() == "disk on fire");
}

TEST_CASE("a clamd that accepts and never answers: timeout") {
  FakeClamd fake(FakeClamd::Mode::stall);
  auto scanner = scanner_for(fake.url());
  check_transient(scanner->scan_memory("hello").status(), ErrorCode::timeout, fake.url());
  check_transient(scanner->ping(), ErrorCode::timeout, fake.url());
  // More than the socket buffers hold: the wait for clamd to take data times out.
  auto big = scanner_for(fake.url(), 64 << 20);
  auto r = big->scan_memory(std::string(32 << 20, 'z'));
  check_transient(r.status(), ErrorCode::timeout, fake.url());
  CHECK(r.status().message().find("MEDIA_CLAMD_TIMEOUT") != std::string::npos);
}

TEST_CASE("garbage, early or missing answers are transient errors naming clamd") {
  {
    FakeClamd fake(FakeClamd::Mode::answer, "HTTP/1.1 400 Bad Request\r\n\r\n");
    check_transient(scanner_for(fake.url())->scan_memory("hello").status(), ErrorCode::network_error, fake.url());
  }
  {
    FakeClamd fake(FakeClamd::Mode::answer, std::string(10000, 'A'));
    check_transient(scanner_for(fake.url())->scan_memory("hello").status(), ErrorCode::network_error, fake.url());
  }
  {
    FakeClamd fake(FakeClamd::Mode::answer, std::string("Can't allocate memory ERROR\0", 28));
    check_transient(scanner_for(fake.url())->scan_memory("hello").status(), ErrorCode::unavailable, fake.url());
  }
  {
    // "OK" before the data was all sent covers a part only.
    FakeClamd fake(FakeClamd::Mode::answer_early, std::string("stream: OK\0", 11));
    auto r = scanner_for(fake.url())->scan_memory(std::string(8 << 20, 'k'));
    check_transient(r.status(), ErrorCode::network_error, fake.url());
  }
  {
    FakeClamd fake(FakeClamd::Mode::answer_early, std::string("INSTREAM size limit exceeded. ERROR\0", 36));
    auto r = scanner_for(fake.url())->scan_memory(std::string(8 << 20, 'k'));
    REQUIRE(r.ok());
    CHECK(r->verdict == ScanVerdict::unscanned);
  }
  {
    FakeClamd fake(FakeClamd::Mode::close);
    check_transient(scanner_for(fake.url())->scan_memory("hello").status(), ErrorCode::network_error, fake.url());
  }
  {
    FakeClamd fake(FakeClamd::Mode::answer, std::string("PANG\0", 5));
    check_transient(scanner_for(fake.url())->ping(), ErrorCode::network_error, fake.url());
  }
  {
    FakeClamd fake(FakeClamd::Mode::answer, std::string("PONG\0", 5));
    CHECK(scanner_for(fake.url())->ping().ok());
  }
}

TEST_CASE("no clamd listening: unavailable") {
  std::string url;
  {
    FakeClamd gone(FakeClamd::Mode::close);  // a port that was free a moment ago
    url = gone.url();
  }
  check_transient(scanner_for(url)->scan_memory("hello").status(), ErrorCode::unavailable, url);
  check_transient(scanner_for(url)->ping(), ErrorCode::unavailable, url);
  test::TempDir dir;
  const std::string sock = "unix:" + dir / "no-clamd.sock";
  check_transient(scanner_for(sock)->scan_memory("hello").status(), ErrorCode::unavailable, sock);
}
