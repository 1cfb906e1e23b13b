// libmediastore's side of the S3 benchmark (bench/s3/run.sh drives it): one
// operation per run through the public storage API, measured inside the
// process (wall time, CPU user+system, peak RSS) and printed as one JSON line.
//
// Usage:
//   bench_s3 put FILE KEY [single|multipart]   upload a file
//   bench_s3 get KEY FILE                      download into a file
//   bench_s3 small-puts COUNT SIZE PREFIX      COUNT sequential PUTs of SIZE bytes
//   bench_s3 rm-prefix PREFIX                  delete every object under PREFIX (not measured)
//
// The store comes from the environment (MEDIA_STORAGE_BACKEND=minio,
// MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY, MINIO_BUCKET_NAME, ...).
// "single" forces one PUT (multipart threshold above the size); "multipart"
// (the default) keeps the configured threshold, part size and parts in flight.
// MEDIA_S3_PAYLOAD_SIGNING=whole|streaming|auto chooses how the single PUT
// signs its body (docs/configuration.md).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mediastore/config.hpp"
#include "mediastore/storage.hpp"

using namespace mediastore;

namespace {

struct Usage {
  double wall = 0;
  double cpu = 0;
};

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

template <class F>
Usage measure(F&& fn) {
  const double c0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  return {dt.count(), cpu_seconds() - c0};
}

int fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "bench_s3: %s: %s\n", what.c_str(), s.to_string().c_str());
  return 1;
}

void report(const char* op, std::uint64_t bytes, long requests, const Usage& u, const Config& c) {
  std::printf(
      "{\"tool\": \"mediastore\", \"op\": \"%s\", \"bytes\": %llu, \"requests\": %ld, \"seconds\": %.6f, "
      "\"cpu\": %.6f, \"maxrss_kb\": %ld, \"part_size\": %llu, \"parts_in_flight\": %d}\n",
      op, static_cast<unsigned long long>(bytes), requests, u.wall, u.cpu, peak_rss_kb(),
      static_cast<unsigned long long>(c.s3.part_size), c.s3.parts_in_flight);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fprintf(stderr,
                 "usage: bench_s3 put FILE KEY [single|multipart] | get KEY FILE | small-puts COUNT SIZE PREFIX | "
                 "rm-prefix PREFIX\n");
    return 2;
  }
  auto cfg = Config::from_environment();
  if (!cfg.ok()) return fail("configuration", cfg.status());
  Config config = cfg.value();
  const std::string& cmd = args[0];

  if (cmd == "put" && (args.size() == 3 || args.size() == 4)) {
    auto src = FileSource::open(args[1]);
    if (!src.ok()) return fail(args[1], src.status());
    const std::uint64_t size = *src.value()->size();
    const bool single = args.size() == 4 && args[3] == "single";
    if (single) config.s3.multipart_threshold = size + 1;
    auto store = make_storage(config);
    if (!store.ok()) return fail("make_storage", store.status());
    Status st;
    PutOptions opts;
    opts.content_type = "application/octet-stream";
    Usage u = measure([&] { st = store.value()->put(args[2], *src.value(), opts); });
    if (!st.ok()) return fail("put " + args[2], st);
    report(single ? "put-single" : "put-multipart", size, 1, u, config);
    return 0;
  }
  if (cmd == "get" && args.size() == 3) {
    auto store = make_storage(config);
    if (!store.ok()) return fail("make_storage", store.status());
    Status st;
    Usage u = measure([&] { st = store.value()->read_to_file(args[1], args[2]); });
    if (!st.ok()) return fail("get " + args[1], st);
    auto info = store.value()->stat(args[1]);
    if (!info.ok()) return fail("stat " + args[1], info.status());
    report("get", info->size, 1, u, config);
    return 0;
  }
  if (cmd == "small-puts" && args.size() == 4) {
    const long count = std::atol(args[1].c_str());
    const std::size_t size = static_cast<std::size_t>(std::atol(args[2].c_str()));
    auto store = make_storage(config);
    if (!store.ok()) return fail("make_storage", store.status());
    std::string body(size, 'x');
    // One request first so that the bucket check and the first connection
    // are not counted.
    Status st = store.value()->put_bytes(args[3] + "warmup", body, PutOptions{});
    if (!st.ok()) return fail("put " + args[3] + "warmup", st);
    Usage u = measure([&] {
      for (long i = 0; i < count && st.ok(); ++i) st = store.value()->put_bytes(args[3] + std::to_string(i), body, {});
    });
    if (!st.ok()) return fail("small put", st);
    report("small-puts", static_cast<std::uint64_t>(count) * size, count, u, config);
    return 0;
  }
  if (cmd == "rm-prefix" && args.size() == 2) {
    auto store = make_storage(config);
    if (!store.ok()) return fail("make_storage", store.status());
    auto all = store.value()->list_all(args[1]);
    if (!all.ok()) return fail("list " + args[1], all.status());
    std::vector<std::string> keys;
    for (const auto& o : all.value()) keys.push_back(o.key);
    if (keys.empty()) return 0;
    auto failed = store.value()->remove_many(keys);
    if (!failed.ok()) return fail("delete under " + args[1], failed.status());
    if (!failed->empty()) return fail("delete " + failed->front().first, failed->front().second);
    return 0;
  }
  std::fprintf(stderr, "bench_s3: bad arguments (run without arguments for usage)\n");
  return 2;
}
