// Helper of the migration integration test (migrate_rgw_test.py):
//
//   migrate_fixture seed N            writes N objects under "m/" into the
//                                     backend of the environment (the usual
//                                     variables), each with its own content
//                                     type, cache control, disposition and
//                                     user metadata
//   migrate_fixture verify N PREFIX   checks that the backend configured by
//                                     the variables prefixed PREFIX holds
//                                     exactly those N objects under "m/",
//                                     byte for byte and with their metadata
//
// Exit status 0 when done / everything matches; 1 with one line per problem
// on stderr otherwise.
#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mediastore/storage.hpp"

using namespace mediastore;

namespace {

std::string key_of(int i) { return fmt::format("m/{:02}/obj-{:05}.bin", i % 64, i); }

std::string body_of(int i) {
  const std::size_t size = static_cast<std::size_t>(i * 37 % 1500);  // 0 .. 1499 bytes
  std::string s(size, '\0');
  std::uint32_t x = static_cast<std::uint32_t>(i) * 2654435761u + 7;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

PutOptions options_of(int i) {
  static const char* types[] = {"image/jpeg", "image/png", "text/plain; charset=utf-8", "application/octet-stream"};
  PutOptions po;
  po.content_type = types[i % 4];
  po.cache_control = fmt::format("public, max-age={}", 60 + i);
  if (i % 3 == 0) po.content_disposition = fmt::format("attachment; filename=\"obj-{}.bin\"", i);
  po.user_metadata = {{"index", std::to_string(i)}, {"origin", "migrate-test"}};
  return po;
}

std::optional<std::string> env(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

// Runs fn(i) for i in [0, n) on `threads` threads; returns the problems.
std::vector<std::string> parallel(int n, int threads, const std::function<std::string(int)>& fn) {
  std::atomic<int> next{0};
  std::mutex mu;
  std::vector<std::string> problems;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        std::string p = fn(i);
        if (!p.empty()) {
          std::lock_guard<std::mutex> lock(mu);
          problems.push_back(std::move(p));
        }
      }
    });
  for (auto& t : pool) t.join();
  return problems;
}

int seed(int n) {
  auto cfg = Config::from_environment();
  if (!cfg.ok()) return fmt::print(stderr, "seed: {}\n", cfg.status().to_string()), 1;
  auto store = make_storage(*cfg);
  if (!store.ok()) return fmt::print(stderr, "seed: {}\n", store.status().to_string()), 1;
  auto problems = parallel(n, 8, [&](int i) {
    Status st = (*store)->put_bytes(key_of(i), body_of(i), options_of(i));
    return st.ok() ? std::string() : st.to_string();
  });
  for (const auto& p : problems) fmt::print(stderr, "seed: {}\n", p);
  return problems.empty() ? 0 : 1;
}

int verify(int n, const std::string& prefix) {
  auto cfg = Config::from_lookup([&](std::string_view name) { return env(prefix + std::string(name)); });
  if (!cfg.ok()) return fmt::print(stderr, "verify: {}\n", cfg.status().to_string()), 1;
  auto store = make_storage(*cfg);
  if (!store.ok()) return fmt::print(stderr, "verify: {}\n", store.status().to_string()), 1;
  auto all = (*store)->list_all("m/");
  if (!all.ok()) return fmt::print(stderr, "verify: list: {}\n", all.status().to_string()), 1;
  int bad = 0;
  std::set<std::string> listed;
  for (const auto& o : *all)
    if (!listed.insert(o.key).second) {
      fmt::print(stderr, "verify: '{}' listed twice\n", o.key);
      ++bad;
    }
  std::set<std::string> expected;
  for (int i = 0; i < n; ++i) expected.insert(key_of(i));
  for (const auto& k : listed)
    if (!expected.count(k)) {
      fmt::print(stderr, "verify: unexpected key '{}'\n", k);
      ++bad;
    }
  if (all->size() != static_cast<std::size_t>(n)) {
    fmt::print(stderr, "verify: {} objects listed, {} expected\n", all->size(), n);
    ++bad;
  }
  auto problems = parallel(n, 16, [&](int i) -> std::string {
    const std::string key = key_of(i);
    auto info = (*store)->stat(key);
    if (!info.ok()) return fmt::format("stat '{}': {}", key, info.status().to_string());
    auto data = (*store)->read_bytes(key);
    if (!data.ok()) return fmt::format("read '{}': {}", key, data.status().to_string());
    if (*data != body_of(i)) return fmt::format("'{}': bytes differ ({} read)", key, data->size());
    const PutOptions want = options_of(i);
    if (info->content_type != want.content_type)
      return fmt::format("'{}': content type '{}' != '{}'", key, info->content_type, want.content_type);
    if (info->cache_control != want.cache_control)
      return fmt::format("'{}': cache control '{}' != '{}'", key, info->cache_control, want.cache_control);
    if (info->content_disposition != want.content_disposition)
      return fmt::format("'{}': content disposition '{}' != '{}'", key, info->content_disposition,
                         want.content_disposition);
    if (info->user_metadata != want.user_metadata) return fmt::format("'{}': user metadata differs", key);
    return {};
  });
  for (const auto& p : problems) fmt::print(stderr, "verify: {}\n", p);
  bad += static_cast<int>(problems.size());
  if (bad == 0) fmt::print("verify: {} objects present once, byte-identical, with metadata\n", n);
  return bad == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "seed" && argc == 3) return seed(std::atoi(argv[2]));
  if (mode == "verify" && argc == 4) return verify(std::atoi(argv[2]), argv[3]);
  fmt::print(stderr, "usage: migrate_fixture seed N | verify N PREFIX\n");
  return 2;
}
