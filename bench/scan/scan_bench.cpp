// The scan benchmark's driver (bench/scan/run.sh): the same files through
// ClamdScanner::scan_file (in this process, chunk sizes 64 KiB / 256 KiB /
// 1 MiB) and through `clamdscan --stream` (one process for all the files,
// as a host would call it), rounds interleaved, medians printed as markdown.
// Twice: against the real clamd, and against a sink that reads the stream
// and answers OK without scanning (tests/support/fake_clamd.hpp, TCP), which
// leaves the clients' own cost.
//
//   bench_scan ROUNDS CLAMD_URL CLAMD_CONF FILE...
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "mediastore/scan.hpp"
#include "support/fake_clamd.hpp"

using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Prints one table; false when a scan fails.
bool measure(const std::string& title, int rounds, const std::string& url, const std::string& conf,
             const std::vector<std::string>& files, std::uint64_t total_bytes) {
  const std::vector<std::size_t> chunks{64 << 10, 256 << 10, 1 << 20};
  std::vector<std::unique_ptr<mediastore::ClamdScanner>> scanners;
  for (std::size_t c : chunks) {
    mediastore::ClamdOptions o;
    o.url = url;
    o.chunk_bytes = c;
    auto s = mediastore::ClamdScanner::open(o);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().to_string().c_str());
      return false;
    }
    scanners.push_back(std::move(s).value());
  }
  std::string cmd = "clamdscan --stream --no-summary --quiet --config-file=" + quote(conf);
  for (const auto& f : files) cmd += " " + quote(f);

  std::vector<std::vector<double>> ours(chunks.size());
  std::vector<double> peer;
  for (int r = 0; r < rounds; ++r) {
    auto run_peer = [&] {
      const auto t0 = Clock::now();
      const int rc = std::system(cmd.c_str());
      peer.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        std::fprintf(stderr, "clamdscan failed or found something (status %d)\n", rc);
        std::exit(1);
      }
    };
    if (r % 2 == 1) run_peer();
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      const auto t0 = Clock::now();
      for (const auto& f : files) {
        auto v = scanners[i]->scan_file(f);
        if (!v.ok() || v->verdict != mediastore::ScanVerdict::clean) {
          std::fprintf(stderr, "%s: %s\n", f.c_str(),
                       v.ok() ? mediastore::scan_verdict_name(v->verdict) : v.status().to_string().c_str());
          return false;
        }
      }
      ours[i].push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    if (r % 2 == 0) run_peer();
    std::fprintf(stderr, "[bench] round %d/%d done\n", r + 1, rounds);
  }

  const double mib = static_cast<double>(total_bytes) / (1 << 20);
  const double peer_s = median(peer);
  std::printf("\n### %s\n\n%zu files, %.1f MiB, %d rounds (medians)\n\n", title.c_str(), files.size(), mib, rounds);
  std::printf("| client | s per set | MiB/s | vs clamdscan --stream |\n|---|---|---|---|\n");
  std::printf("| clamdscan --stream (one process) | %.3f | %.1f | 1.00 |\n", peer_s, mib / peer_s);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const double s = median(ours[i]);
    std::printf("| ClamdScanner, %zu KiB chunks | %.3f | %.1f | %.2f |\n", chunks[i] >> 10, s, mib / s, peer_s / s);
  }
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s ROUNDS CLAMD_URL CLAMD_CONF FILE...\n", argv[0]);
    return 2;
  }
  const int rounds = std::atoi(argv[1]);
  const std::string url = argv[2];
  const std::string conf = argv[3];
  std::vector<std::string> files(argv + 4, argv + argc);
  std::uint64_t total_bytes = 0;
  for (const auto& f : files) total_bytes += std::filesystem::file_size(f);

  if (!measure("clamd (" + url + ")", rounds, url, conf, files, total_bytes)) return 1;
  mediastore::test::FakeClamd sink(mediastore::test::FakeClamd::Mode::answer, std::string("stream: OK\0", 11));
  const std::string sink_conf = std::filesystem::temp_directory_path() / "ms-bench-scan-sink.conf";
  if (FILE* f = std::fopen(sink_conf.c_str(), "w")) {
    std::fprintf(f, "TCPSocket %d\nTCPAddr 127.0.0.1\n", sink.port());
    std::fclose(f);
  }
  const bool ok = measure("a sink that answers OK unscanned (the clients' own cost)", rounds, sink.url(), sink_conf,
                          files, total_bytes);
  std::filesystem::remove(sink_conf);
  if (!ok) return 1;
  return 0;
}
