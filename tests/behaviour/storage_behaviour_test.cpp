// The storage behaviour suite: what every StorageBackend must do, run against
// whichever backend the environment configures (Config::from_environment():
// MEDIA_STORAGE_BACKEND=local + MEDIA_ROOT, or minio/s3 + their variables).
// Each run works under its own random prefix and removes what it stored.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "core/crypto.hpp"
#include "mediastore/mediastore.hpp"

using namespace mediastore;

namespace {

std::string random_token() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return fmt::format("{:016x}", gen());
}

struct Suite {
  std::shared_ptr<StorageBackend> backend;
  std::string prefix;  // "behaviour/<random>/"
  Status setup;
};

Suite& suite() {
  static Suite s = [] {
    Suite r;
    auto config = Config::from_environment();
    if (!config.ok()) {
      r.setup = config.status();
      return r;
    }
    auto backend = make_storage(*config);
    if (!backend.ok()) {
      r.setup = backend.status();
      return r;
    }
    r.backend = *backend;
    r.prefix = "behaviour/" + random_token() + "/";
    MESSAGE("backend " << r.backend->name() << ", prefix " << r.prefix);
    return r;
  }();
  return s;
}

StorageBackend& store() {
  Suite& s = suite();
  if (!s.backend) FAIL("no backend from the environment: " << s.setup.to_string());
  return *s.backend;
}

// A folder of its own for one test case; everything under it is removed at
// the end.
struct Scope {
  std::string dir;
  explicit Scope(std::string_view name) : dir(suite().prefix + std::string(name) + "/") {
    (void)store();  // opens the backend before the test case uses it
  }
  ~Scope() { clear(); }
  std::string operator()(std::string_view rel) const { return dir + std::string(rel); }
  void clear() const {
    auto all = suite().backend->list_all(dir);
    if (!all.ok() || all->empty()) return;
    std::vector<std::string> keys;
    for (auto& o : *all) keys.push_back(o.key);
    for (std::size_t i = 0; i < keys.size(); i += 1000) {
      std::vector<std::string> batch(keys.begin() + static_cast<std::ptrdiff_t>(i),
                                     keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + 1000)));
      (void)suite().backend->remove_many(batch);  // best-effort cleanup: the prefix is unique to this run
    }
  }
};

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Deterministic pseudo-random bytes of a given size, generated on the fly:
// rewindable and random-access, so no copy of the content is ever held.
class PatternSource final : public ByteSource {
 public:
  PatternSource(std::uint64_t size, std::uint64_t seed) : size_(size), seed_(seed) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    auto r = read_at(pos_, buf, n);
    if (r.ok()) pos_ += *r;
    return r;
  }
  std::optional<std::uint64_t> size() const override { return size_; }
  Status rewind() override {
    pos_ = 0;
    return Status::Ok();
  }
  Result<std::size_t> read_at(std::uint64_t offset, void* buf, std::size_t n) override {
    if (offset >= size_) return std::size_t{0};
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - offset));
    auto* out = static_cast<unsigned char*>(buf);
    for (std::size_t i = 0; i < k;) {
      const std::uint64_t o = offset + i;
      const std::uint64_t w = splitmix(seed_ ^ (o / 8));
      for (std::uint64_t b = o % 8; b < 8 && i < k; ++b, ++i) out[i] = static_cast<unsigned char>(w >> (b * 8));
    }
    return k;
  }
  bool random_access() const override { return true; }

 private:
  std::uint64_t size_;
  std::uint64_t seed_;
  std::uint64_t pos_ = 0;
};

std::string sha256_of(ByteSource& src) {
  detail::Hasher h;
  std::vector<char> buf(1 << 20);
  while (true) {
    auto r = src.read(buf.data(), buf.size());
    REQUIRE(r.ok());
    if (*r == 0) break;
    h.update(buf.data(), *r);
  }
  return detail::hex_lower(h.finish());
}

std::string sha256_of(std::string_view data) { return detail::hex_lower(detail::sha256(data)); }

// Hashes what it receives; never stores it.
class HashingSink final : public ByteSink {
 public:
  Status write(const void* data, std::size_t n) override {
    h_.update(data, n);
    bytes += n;
    return Status::Ok();
  }
  Status reset() override {
    h_.finish();
    bytes = 0;
    return Status::Ok();
  }
  std::string hex() { return detail::hex_lower(h_.finish()); }
  std::uint64_t bytes = 0;

 private:
  detail::Hasher h_;
};

std::string md5_hex(std::string_view data) { return detail::hex_lower(detail::md5(data)); }

std::vector<std::string> keys_of(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o.key);
  return out;
}

// Stores `count` small objects in parallel; returns their keys (sorted).
std::vector<std::string> put_many(const Scope& scope, int count, const std::function<std::string(int)>& rel) {
  std::vector<std::string> keys(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) keys[static_cast<std::size_t>(i)] = scope(rel(i));
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::string first_error;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        const std::string& k = keys[static_cast<std::size_t>(i)];
        Status s = store().put_bytes(k, k, {});
        if (!s.ok()) {
          std::lock_guard lock(mu);
          if (failures++ == 0) first_error = s.to_string();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE_MESSAGE(failures.load() == 0, first_error);
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

TEST_CASE("the backend answers") {
  REQUIRE(store().ping().ok());
  CHECK_FALSE(store().name().empty());
}

TEST_CASE("round trips of 0 B, 1 B and 5 MiB compare by sha256") {
  Scope scope("roundtrip");
  for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{5} << 20}) {
    CAPTURE(size);
    const std::string key = scope(fmt::format("obj-{}", size));
    PatternSource src(size, size + 1);
    const std::string want = sha256_of(src);
    REQUIRE(src.rewind().ok());
    REQUIRE(store().put(key, src, {}).ok());
    auto got = store().read_bytes(key);
    REQUIRE(got.ok());
    CHECK(got->size() == size);
    CHECK(sha256_of(*got) == want);
    auto info = store().stat(key);
    REQUIRE(info.ok());
    CHECK(info->key == key);
    CHECK(info->size == size);
    CHECK_FALSE(info->etag.empty());
    CHECK(info->content_type == "application/octet-stream");
    const auto age = std::chrono::system_clock::now() - info->last_modified;
    CHECK(age < std::chrono::hours(1));
    CHECK(age > -std::chrono::hours(1));
  }
  // Single-part objects carry the MD5 of their content as etag.
  REQUIRE(store().put_bytes(scope("md5"), "etag me", {}).ok());
  CHECK(store().stat(scope("md5"))->etag == md5_hex("etag me"));
}

TEST_CASE("a 100 MiB object streams in and out without being held in memory") {
  Scope scope("large");
  const std::uint64_t size = std::uint64_t{100} << 20;
  PatternSource src(size, 42);
  const std::string want = sha256_of(src);
  REQUIRE(src.rewind().ok());
  std::uint64_t last_done = 0;
  bool monotonic = true;
  PutOptions o;
  o.content_type = "application/x-test";
  o.progress = [&](std::uint64_t done, std::uint64_t) {
    monotonic = monotonic && done >= last_done;
    last_done = done;
    return true;
  };
  const std::string key = scope("big.bin");
  const Status put = store().put(key, src, o);
  REQUIRE_MESSAGE(put.ok(), put.to_string());
  CHECK(monotonic);
  CHECK(last_done == size);
  HashingSink sink;
  std::uint64_t read_done = 0;
  REQUIRE(store()
              .read(key, sink, std::nullopt,
                    [&](std::uint64_t done, std::uint64_t) {
                      read_done = done;
                      return true;
                    })
              .ok());
  CHECK(sink.bytes == size);
  CHECK(sink.hex() == want);
  CHECK(read_done == size);
  auto info = store().stat(key);
  REQUIRE(info.ok());
  CHECK(info->size == size);
  CHECK(info->content_type == "application/x-test");
  // A range deep inside the big object.
  auto mid = store().read_bytes(key, ByteRange{size - 1000, 500});
  REQUIRE(mid.ok());
  std::string expect(500, '\0');
  REQUIRE(*src.read_at(size - 1000, expect.data(), 500) == 500);
  CHECK(*mid == expect);
}

TEST_CASE("byte ranges, including past the end") {
  Scope scope("range");
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>('a' + i % 26);
  const std::string key = scope("r");
  REQUIRE(store().put_bytes(key, data, {}).ok());
  struct Case {
    std::uint64_t offset;
    std::optional<std::uint64_t> length;
    std::string want;
  };
  const Case cases[] = {
      {0, 10, data.substr(0, 10)},
      {10, std::nullopt, data.substr(10)},
      {990, 100, data.substr(990)},
      {999, 1, data.substr(999)},
      {500, 0, ""},
      {1000, std::nullopt, ""},
      {1000, 10, ""},
      {5000, 10, ""},
      {0, 1000000, data},
  };
  for (const auto& c : cases) {
    CAPTURE(c.offset);
    CAPTURE(c.length.value_or(0));
    auto got = store().read_bytes(key, ByteRange{c.offset, c.length});
    REQUIRE_MESSAGE(got.ok(), got.status().to_string());
    CHECK(*got == c.want);
  }
  REQUIRE(store().put_bytes(scope("empty"), "", {}).ok());
  CHECK(store().read_bytes(scope("empty"), ByteRange{0, 10})->empty());
  CHECK(store().read_bytes(scope("missing"), ByteRange{0, 10}).status().is(ErrorCode::not_found));
}

TEST_CASE("content type and metadata are stored with the object") {
  Scope scope("meta");
  const std::string key = scope("photo.jpg");
  PutOptions o;
  o.content_type = "image/jpeg";
  o.cache_control = "public, max-age=86400";
  o.content_disposition = "inline; filename=\"photo.jpg\"";
  o.user_metadata = {{"Original-Name", "Photo 1.JPG"}, {"uploader", "42"}};
  REQUIRE(store().put_bytes(key, "jpeg", o).ok());
  auto info = store().stat(key);
  REQUIRE(info.ok());
  CHECK(info->content_type == "image/jpeg");
  CHECK(info->cache_control == "public, max-age=86400");
  CHECK(info->content_disposition == "inline; filename=\"photo.jpg\"");
  CHECK(info->user_metadata == Metadata{{"original-name", "Photo 1.JPG"}, {"uploader", "42"}});
  CHECK(store().get_metadata(key)->size == 4);

  // Overwriting replaces content and metadata together.
  PutOptions o2;
  o2.content_type = "text/plain";
  o2.user_metadata = {{"v", "2"}};
  REQUIRE(store().put_bytes(key, "text", o2).ok());
  info = store().stat(key);
  REQUIRE(info.ok());
  CHECK(info->content_type == "text/plain");
  CHECK(info->user_metadata == Metadata{{"v", "2"}});
  CHECK(info->cache_control.empty());
  CHECK(*store().read_bytes(key) == "text");

  PutOptions bad;
  bad.user_metadata = {{"bad name", "x"}};
  CHECK(store().put_bytes(scope("bad-meta"), "x", bad).is(ErrorCode::invalid_argument));
  CHECK(store().stat(scope("bad-meta")).status().is(ErrorCode::not_found));
}

TEST_CASE("a SHA-256 given with a put is held to: a wrong one stores nothing, a malformed one is refused") {
  Scope scope("known-sha");
  const std::string data(300000, 'k');
  const std::string key = scope("a.bin");
  PutOptions right;
  right.sha256 = sha256_of(data);
  Status st = store().put_bytes(key, data, right);
  REQUIRE_MESSAGE(st.ok(), st.to_string());
  CHECK(sha256_of(*store().read_bytes(key)) == sha256_of(data));

  // Well-formed but wrong: nothing under a fresh key, the old object kept.
  PutOptions wrong;
  wrong.sha256 = sha256_of(data + "x");
  st = store().put_bytes(scope("b.bin"), data, wrong);
  MESSAGE(st.to_string());
  CHECK((st.is(ErrorCode::invalid_argument) || st.is(ErrorCode::network_error)));
  CHECK(store().stat(scope("b.bin")).status().is(ErrorCode::not_found));
  CHECK_FALSE(store().put_bytes(key, std::string(300000, 'j'), wrong).ok());
  CHECK(sha256_of(*store().read_bytes(key)) == sha256_of(data));

  // Not a lower-case hex SHA-256: refused before anything is written.
  for (const std::string& bad : {std::string(64, 'A'), std::string("0123"), std::string(64, 'z')}) {
    CAPTURE(bad);
    PutOptions o;
    o.sha256 = bad;
    st = store().put_bytes(scope("c.bin"), data, o);
    CHECK(st.is(ErrorCode::invalid_argument));
    CHECK(st.message().find("not 64 lower-case hex digits") != std::string::npos);
  }
  CHECK(store().stat(scope("c.bin")).status().is(ErrorCode::not_found));
}

TEST_CASE("listing with a delimiter") {
  Scope scope("delim");
  for (const char* rel : {"a/1", "a/2", "b/c/3", "d", "e.txt", "ü/日本 語.txt"})
    REQUIRE(store().put_bytes(scope(rel), rel, {}).ok());

  ListOptions lo;
  lo.prefix = scope.dir;
  lo.delimiter = "/";
  auto page = store().list(lo);
  REQUIRE(page.ok());
  CHECK(keys_of(page->objects) == std::vector<std::string>{scope("d"), scope("e.txt")});
  CHECK(page->common_prefixes == std::vector<std::string>{scope("a/"), scope("b/"), scope("ü/")});
  CHECK(page->next_page_token.empty());
  CHECK(page->objects[0].size == 1);

  lo.prefix = scope("a/");
  page = store().list(lo);
  REQUIRE(page.ok());
  CHECK(keys_of(page->objects) == std::vector<std::string>{scope("a/1"), scope("a/2")});
  CHECK(page->common_prefixes.empty());

  lo.prefix = scope("b/");
  page = store().list(lo);
  REQUIRE(page.ok());
  CHECK(page->objects.empty());
  CHECK(page->common_prefixes == std::vector<std::string>{scope("b/c/")});

  // A prefix that ends inside a name.
  lo.prefix = scope("e");
  page = store().list(lo);
  REQUIRE(page.ok());
  CHECK(keys_of(page->objects) == std::vector<std::string>{scope("e.txt")});

  // Flat listing sees everything, sorted.
  auto all = store().list_all(scope.dir);
  REQUIRE(all.ok());
  CHECK(keys_of(*all) == std::vector<std::string>{scope("a/1"), scope("a/2"), scope("b/c/3"), scope("d"),
                                                  scope("e.txt"), scope("ü/日本 語.txt")});
  CHECK(*store().read_bytes(scope("ü/日本 語.txt")) == "ü/日本 語.txt");

  lo.prefix = scope("nothing-here/");
  page = store().list(lo);
  REQUIRE(page.ok());
  CHECK(page->objects.empty());
  CHECK(page->common_prefixes.empty());
}

TEST_CASE("paging over thousands of keys") {
  Scope scope("paging");
  // 2500 keys in 50 folders of 50.
  const auto keys = put_many(scope, 2500, [](int i) { return fmt::format("f{:02}/k{:04}", i % 50, i); });

  ListOptions lo;
  lo.prefix = scope.dir;
  lo.max_keys = 1000;
  std::vector<std::string> seen;
  std::vector<std::size_t> sizes;
  while (true) {
    auto page = store().list(lo);
    REQUIRE(page.ok());
    sizes.push_back(page->objects.size());
    for (auto& o : page->objects) seen.push_back(o.key);
    if (page->next_page_token.empty()) break;
    REQUIRE(sizes.size() < 10);
    lo.page_token = page->next_page_token;
  }
  CHECK(sizes == std::vector<std::size_t>{1000, 1000, 500});
  CHECK(seen == keys);  // sorted, complete, no duplicates

  // Common prefixes page too.
  ListOptions d;
  d.prefix = scope.dir;
  d.delimiter = "/";
  d.max_keys = 20;
  std::vector<std::string> prefixes;
  int pages = 0;
  while (true) {
    auto page = store().list(d);
    REQUIRE(page.ok());
    ++pages;
    CHECK(page->objects.empty());
    for (auto& p : page->common_prefixes) prefixes.push_back(p);
    if (page->next_page_token.empty()) break;
    REQUIRE(pages < 10);
    d.page_token = page->next_page_token;
  }
  CHECK(pages == 3);
  REQUIRE(prefixes.size() == 50);
  CHECK(prefixes.front() == scope("f00/"));
  CHECK(prefixes.back() == scope("f49/"));
  CHECK(std::is_sorted(prefixes.begin(), prefixes.end()));

  // Bulk removal leaves nothing.
  auto failures = store().remove_many(keys);
  REQUIRE(failures.ok());
  CHECK(failures->empty());
  CHECK(store().list_all(scope.dir)->empty());
}

TEST_CASE("copy keeps content, content type and metadata") {
  Scope scope("copy");
  PutOptions o;
  o.content_type = "image/png";
  o.user_metadata = {{"k", "v"}};
  REQUIRE(store().put_bytes(scope("src.png"), "png bytes", o).ok());
  REQUIRE(store().copy(scope("src.png"), scope("dst/copy.png")).ok());
  CHECK(*store().read_bytes(scope("dst/copy.png")) == "png bytes");
  auto info = store().stat(scope("dst/copy.png"));
  REQUIRE(info.ok());
  CHECK(info->content_type == "image/png");
  CHECK(info->user_metadata == Metadata{{"k", "v"}});
  // The copy is independent of its source.
  REQUIRE(store().put_bytes(scope("src.png"), "changed", o).ok());
  CHECK(*store().read_bytes(scope("dst/copy.png")) == "png bytes");
  REQUIRE(store().remove(scope("src.png")).ok());
  CHECK(*store().read_bytes(scope("dst/copy.png")) == "png bytes");
  CHECK(store().copy(scope("missing"), scope("x")).is(ErrorCode::not_found));
  CHECK(store().stat(scope("x")).status().is(ErrorCode::not_found));
}

TEST_CASE("copy_with gives the copy new content type and metadata; the source keeps its own") {
  Scope scope("copy_with");
  PutOptions o;
  o.content_type = "application/octet-stream";
  o.user_metadata = {{"upload-id", "u1"}};
  REQUIRE(store().put_bytes(scope("staged"), "jpeg bytes", o).ok());
  PutOptions n;
  n.content_type = "image/jpeg";
  n.user_metadata = {{"upload-id", "u1"}, {"sha256", "a"}};
  // The SHA-256 of "jpeg bytes": a backend that checks it accepts it.
  n.sha256 = "1b48e21282963dfba2ffff3a4c331471242fe42fd0a51161e56df72085c445c9";
  REQUIRE(store().copy_with(scope("staged"), scope("uploads/original.jpg"), n).ok());
  CHECK(*store().read_bytes(scope("uploads/original.jpg")) == "jpeg bytes");
  auto info = store().stat(scope("uploads/original.jpg"));
  REQUIRE(info.ok());
  CHECK(info->content_type == "image/jpeg");
  CHECK(info->user_metadata == Metadata{{"upload-id", "u1"}, {"sha256", "a"}});
  auto src = store().stat(scope("staged"));
  REQUIRE(src.ok());
  CHECK(src->content_type == "application/octet-stream");
  CHECK(src->user_metadata == Metadata{{"upload-id", "u1"}});
  CHECK(store().copy_with(scope("missing"), scope("x"), n).is(ErrorCode::not_found));
  CHECK(store().stat(scope("x")).status().is(ErrorCode::not_found));
  auto aborted = store().abort_multipart_uploads(scope("none/"), std::chrono::system_clock::now());
  REQUIRE(aborted.ok());
  CHECK(*aborted == 0);
}

TEST_CASE("delete, exists and missing keys") {
  Scope scope("delete");
  CHECK(store().remove(scope("never-stored")).ok());
  CHECK_FALSE(*store().exists(scope("never-stored")));
  CHECK(store().stat(scope("never-stored")).status().is(ErrorCode::not_found));
  const Status missing = store().read_bytes(scope("never-stored")).status();
  CHECK(missing.is(ErrorCode::not_found));
  CHECK(missing.message().find("never-stored") != std::string::npos);
  REQUIRE(store().put_bytes(scope("k"), "v", {}).ok());
  CHECK(*store().exists(scope("k")));
  REQUIRE(store().remove(scope("k")).ok());
  CHECK_FALSE(*store().exists(scope("k")));
  CHECK(store().remove(scope("k")).ok());
  CHECK(store().list_all(scope.dir)->empty());
}

TEST_CASE("save() returns a fresh dated key") {
  Scope scope("save");
  MemorySource src("saved");
  PutOptions o;
  o.content_type = "text/plain";
  auto key = store().save(src, "../../Some File.txt", o);
  REQUIRE(key.ok());
  CHECK(std::regex_match(*key, std::regex(R"(\d{4}/\d{2}/\d{2}/[0-9a-f]{16}_Some_File\.txt)")));
  CHECK(*store().read_bytes(*key) == "saved");
  CHECK(store().stat(*key)->content_type == "text/plain");
  REQUIRE(store().remove(*key).ok());
}

TEST_CASE("get_url names the key") {
  Scope scope("url");
  REQUIRE(store().put_bytes(scope("a b.jpg"), "x", {}).ok());
  auto url = store().get_url(scope("a b.jpg"), std::chrono::seconds(300));
  REQUIRE(url.ok());
  CHECK(url->find("a%20b.jpg") != std::string::npos);
  CHECK(store().get_url(scope("a b.jpg"), std::chrono::seconds(0)).status().is(ErrorCode::invalid_argument));
}

TEST_CASE("url() with options: a GET URL like get_url, bad methods and expiries refused") {
  Scope scope("url-options");
  REQUIRE(store().put_bytes(scope("a b.jpg"), "x", {}).ok());
  UrlOptions o;
  o.expires_in = std::chrono::seconds(120);
  auto url = store().url(scope("a b.jpg"), o);
  REQUIRE_MESSAGE(url.ok(), url.status().to_string());
  CHECK(url->find("a%20b.jpg") != std::string::npos);
  o.http_method = "DELETE";
  CHECK(store().url(scope("a b.jpg"), o).status().is(ErrorCode::invalid_argument));
  o.http_method = "GET";
  o.expires_in = std::chrono::seconds(0);
  CHECK(store().url(scope("a b.jpg"), o).status().is(ErrorCode::invalid_argument));
  CHECK(store().url("../x", UrlOptions{}).status().is(ErrorCode::invalid_argument));
}

TEST_CASE("concurrent writers to one key: the last complete write wins, never a mix") {
  Scope scope("race");
  const std::string key = scope("contended");
  constexpr int kWriters = 6;
  constexpr std::size_t kSize = 1 << 20;
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      const std::string body(kSize, static_cast<char>('A' + w));
      PutOptions o;
      o.user_metadata = {{"writer", std::string(1, static_cast<char>('A' + w))}};
      for (int round = 0; round < 3; ++round)
        if (!store().put_bytes(key, body, o).ok()) ++failures;
    });
  }
  std::thread reader([&] {
    // Reads until the writers are done, then once more; stops early only if
    // nothing could be read at all after they finished.
    while (true) {
      const bool last = stop.load();
      auto got = store().read_bytes(key);
      if (got.ok()) {
        ++reads;
        if (got->size() != kSize || got->find_first_not_of(got->front()) != std::string::npos) ++torn;
      }
      if (last && (reads.load() > 0 || !got.ok())) break;
    }
  });
  for (auto& t : threads) t.join();
  stop = true;
  reader.join();
  CHECK(failures.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(torn.load() == 0);
  auto final_body = store().read_bytes(key);
  REQUIRE(final_body.ok());
  REQUIRE(final_body->size() == kSize);
  CHECK(final_body->find_first_not_of(final_body->front()) == std::string::npos);
  auto info = store().stat(key);
  REQUIRE(info.ok());
  // Metadata belongs to the same write as the content.
  CHECK(info->user_metadata.at("writer") == std::string(1, final_body->front()));
  CHECK(info->etag == md5_hex(*final_body));

  // Sequential writes: the later one wins.
  REQUIRE(store().put_bytes(key, "first", {}).ok());
  REQUIRE(store().put_bytes(key, "second", {}).ok());
  CHECK(*store().read_bytes(key) == "second");
}

TEST_CASE("create-only puts (if_none_match): already_exists when the key holds an object") {
  Scope scope("create-only");
  PutOptions once;
  once.if_none_match = true;
  const std::string key = scope("photo.jpg");
  REQUIRE(store().put_bytes(key, "first", once).ok());
  auto again = store().put_bytes(key, "second", once);
  REQUIRE(again.is(ErrorCode::already_exists));
  CHECK(again.message().find("photo.jpg") != std::string::npos);
  CHECK(*store().read_bytes(key) == "first");
  // Without the option the put replaces, as before.
  REQUIRE(store().put_bytes(key, "third", {}).ok());
  CHECK(*store().read_bytes(key) == "third");
  // After a delete the key can be created again.
  REQUIRE(store().remove(key).ok());
  REQUIRE(store().put_bytes(key, "fourth", once).ok());
  CHECK(*store().read_bytes(key) == "fourth");
}

TEST_CASE("two create-only writers of one key: exactly one succeeds, the other gets already_exists") {
  Scope scope("create-race");
  constexpr int kRounds = 8;
  constexpr std::size_t kSize = 256 << 10;
  for (int round = 0; round < kRounds; ++round) {
    CAPTURE(round);
    const std::string key = scope(fmt::format("name-{}", round));
    Status results[2];
    std::atomic<int> ready{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
      writers.emplace_back([&, w] {
        PutOptions o;
        o.if_none_match = true;
        o.user_metadata = {{"writer", std::to_string(w)}};
        PatternSource body(kSize, static_cast<std::uint64_t>(round * 2 + w));
        ++ready;
        while (ready.load() < 2) std::this_thread::yield();
        results[w] = store().put(key, body, o);
      });
    }
    for (auto& t : writers) t.join();
    const int ok = results[0].ok() + results[1].ok();
    REQUIRE_MESSAGE(ok == 1, results[0].to_string() << " / " << results[1].to_string());
    const int winner = results[0].ok() ? 0 : 1;
    CHECK(results[1 - winner].is(ErrorCode::already_exists));
    // Nothing lost or mixed: the object is the winner's, whole, with its metadata.
    auto got = store().read_bytes(key);
    REQUIRE(got.ok());
    PatternSource expected(kSize, static_cast<std::uint64_t>(round * 2 + winner));
    std::string want(kSize, '\0');
    REQUIRE(expected.read_at(0, want.data(), kSize).ok());
    CHECK(*got == want);
    auto info = store().stat(key);
    REQUIRE(info.ok());
    CHECK(info->user_metadata.at("writer") == std::to_string(winner));
  }
}

TEST_CASE("each bad key form is invalid_argument naming the key, on every operation") {
  Scope scope("badkeys");
  REQUIRE(store().put_bytes(scope("good"), "g", {}).ok());
  struct Bad {
    std::string key;
    std::string shown;
  };
  const Bad bad[] = {
      {"../../etc/passwd", "../../etc/passwd"},
      {scope("../escape"), "/../escape"},
      {scope("./dot"), "/./dot"},
      {"/absolute/key", "/absolute/key"},
      {scope("back\\slash"), "back\\\\slash"},
      {scope(std::string("nul\0byte", 8)), "nul\\x00byte"},
      {scope("new\nline"), "new\\x0aline"},
      {scope("tab\tchar"), "tab\\x09char"},
      {scope("empty//segment"), "empty//segment"},
      {scope("trailing/"), "trailing/"},
      {scope("bad\xc3\x28utf8"), "bad\\xc3(utf8"},
      {"", "''"},
      {scope(std::string(1100, 'x')), "xxxxxxxx"},
  };
  MemorySource src("data");
  for (const auto& b : bad) {
    CAPTURE(b.shown);
    const auto check = [&](const Status& s) {
      CHECK(s.is(ErrorCode::invalid_argument));
      CHECK_MESSAGE(s.message().find(b.shown) != std::string::npos, s.message());
    };
    check(store().put_bytes(b.key, "data", {}));
    check(store().put(b.key, src, {}));
    check(store().read_bytes(b.key).status());
    check(store().stat(b.key).status());
    check(store().remove(b.key));
    check(store().copy(scope("good"), b.key));
    check(store().copy(b.key, scope("copy")));
    check(store().get_url(b.key, std::chrono::seconds(60)).status());
    check(store().exists(b.key).status());
  }
  // The longest valid key works.
  std::string longest = scope("");
  while (longest.size() < 1024) longest += longest.size() % 200 == 199 ? '/' : 'y';
  if (longest.back() == '/') longest.back() = 'y';
  REQUIRE(longest.size() == 1024);
  const Status s = store().put_bytes(longest, "long", {});
  CHECK_MESSAGE(s.ok(), s.to_string());
  CHECK(*store().read_bytes(longest) == "long");
  CHECK(store().list_all(scope.dir)->size() == 2);
}

TEST_CASE("the run leaves nothing behind") {
  auto left = store().list_all(suite().prefix);
  REQUIRE(left.ok());
  CHECK(keys_of(*left).empty());
}
