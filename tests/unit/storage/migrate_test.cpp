// migrate(): local -> local copies with metadata, verification against a
// corrupting destination, resuming from the journal, delete_source ordering,
// dry runs, and the journal file itself.
#include "mediastore/migrate.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "core/crypto.hpp"
#include "storage/migrate_journal.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<StorageBackend> local_at(const std::string& root) {
  Config c;
  c.backend = BackendKind::local;
  c.media_root = root;
  auto s = make_storage(c);
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  return *s;
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

using mediastore::test::slurp;

// Fills `store` with n objects "obj/NNNN" carrying metadata; returns their bodies.
std::map<std::string, std::string> fill(StorageBackend& store, int n, std::size_t size = 100) {
  std::map<std::string, std::string> bodies;
  for (int i = 0; i < n; ++i) {
    const std::string key = fmt::format("obj/{:04}.bin", i);
    PutOptions po;
    po.content_type = i % 2 ? "image/jpeg" : "text/plain";
    po.cache_control = "max-age=60";
    po.content_disposition = fmt::format("attachment; filename=\"f{}.bin\"", i);
    po.user_metadata = {{"origin", "test"}, {"index", std::to_string(i)}};
    bodies[key] = pattern(size + static_cast<std::size_t>(i), static_cast<unsigned>(i));
    REQUIRE(store.put_bytes(key, bodies[key], po).ok());
  }
  return bodies;
}

// Records what happens on a backend, for ordering and counting checks.
struct EventLog {
  std::mutex mu;
  std::vector<std::string> events;  // "<tag> <op> <key>"
  void add(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(e);
  }
  std::size_t count(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu);
    return static_cast<std::size_t>(std::count(events.begin(), events.end(), e));
  }
  std::size_t count_prefix(const std::string& p) {
    std::lock_guard<std::mutex> lock(mu);
    std::size_t n = 0;
    for (const auto& e : events) n += e.rfind(p, 0) == 0;
    return n;
  }
  // Index of the last event equal to e, or npos.
  std::size_t last(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu);
    for (std::size_t i = events.size(); i-- > 0;)
      if (events[i] == e) return i;
    return std::string::npos;
  }
};

class Recording : public StorageWrapper {
 public:
  Recording(std::shared_ptr<StorageBackend> t, std::string tag, EventLog& log)
      : StorageWrapper(std::move(t)), tag_(std::move(tag)), log_(log) {}
  Status put(std::string_view key, ByteSource& s, const PutOptions& o) override {
    Status st = StorageWrapper::put(key, s, o);
    log_.add(fmt::format("{} put {}", tag_, key));
    return st;
  }
  Status read(std::string_view key, ByteSink& sink, const std::optional<ByteRange>& r, const ProgressFn& p) override {
    Status st = StorageWrapper::read(key, sink, r, p);
    log_.add(fmt::format("{} read {}", tag_, key));
    return st;
  }
  Status remove(std::string_view key) override {
    log_.add(fmt::format("{} remove {}", tag_, key));
    return StorageWrapper::remove(key);
  }

 private:
  std::string tag_;
  EventLog& log_;
};

// A source that flips one byte of what it passes on.
class FlippingSource final : public ByteSource {
 public:
  explicit FlippingSource(ByteSource& inner) : inner_(inner) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    auto r = inner_.read(buf, n);
    if (r.ok() && *r > 0 && pos_ == 0) static_cast<unsigned char*>(buf)[0] ^= 0x5a;
    if (r.ok()) pos_ += *r;
    return r;
  }
  std::optional<std::uint64_t> size() const override { return inner_.size(); }
  Status rewind() override {
    pos_ = 0;
    return inner_.rewind();
  }

 private:
  ByteSource& inner_;
  std::uint64_t pos_ = 0;
};

// A destination that stores damaged bytes for keys containing `needle`.
class Corrupting : public StorageWrapper {
 public:
  Corrupting(std::shared_ptr<StorageBackend> t, std::string needle)
      : StorageWrapper(std::move(t)), needle_(std::move(needle)) {}
  Status put(std::string_view key, ByteSource& s, const PutOptions& o) override {
    if (key.find(needle_) == std::string_view::npos) return StorageWrapper::put(key, s, o);
    FlippingSource bad(s);
    return StorageWrapper::put(key, bad, o);
  }

 private:
  std::string needle_;
};

// A destination whose first `fail_first` puts fail with a transient error.
class Flaky : public StorageWrapper {
 public:
  Flaky(std::shared_ptr<StorageBackend> t, int fail_first) : StorageWrapper(std::move(t)), left_(fail_first) {}
  Status put(std::string_view key, ByteSource& s, const PutOptions& o) override {
    if (left_.fetch_sub(1) > 0) return Status::NetworkError(fmt::format("simulated reset putting '{}'", key));
    return StorageWrapper::put(key, s, o);
  }

 private:
  std::atomic<int> left_;
};

MigrateOptions with_prefix(std::string prefix) {
  MigrateOptions o;
  o.prefix = std::move(prefix);
  return o;
}

MigrateOptions with_concurrency(int n) {
  MigrateOptions o;
  o.concurrency = n;
  return o;
}

// A source whose listing is refused.
class Unlistable : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;
  Result<ListPage> list(const ListOptions&) override { return Status::PermissionDenied("simulated: list refused"); }
};

void check_same(StorageBackend& dst, const std::map<std::string, std::string>& bodies, StorageBackend& src_meta) {
  for (const auto& kv : bodies) {
    const std::string& key = kv.first;
    const std::string& body = kv.second;
    auto got = dst.read_bytes(key);
    REQUIRE_MESSAGE(got.ok(), key << ": " << got.status().to_string());
    CHECK(*got == body);
    auto a = src_meta.stat(key);
    auto b = dst.stat(key);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(b->content_type == a->content_type);
    CHECK(b->cache_control == a->cache_control);
    CHECK(b->content_disposition == a->content_disposition);
    CHECK(b->user_metadata == a->user_metadata);
  }
}

}  // namespace

TEST_CASE("migrate copies every object with its bytes and metadata") {
  test::TempDir a, b, tmp;
  auto src = local_at(a / "root");
  auto dst = local_at(b / "root");
  auto bodies = fill(*src, 40);
  // An empty object and two larger than the in-memory staging limit.
  REQUIRE(src->put_bytes("empty", "", {}).ok());
  bodies["empty"] = "";
  PutOptions big;
  big.content_type = "video/mp4";
  big.user_metadata = {{"kind", "big"}};
  bodies["big/one"] = pattern(300000, 7);
  bodies["big/two"] = pattern(70001, 8);
  REQUIRE(src->put_bytes("big/one", bodies["big/one"], big).ok());
  REQUIRE(src->put_bytes("big/two", bodies["big/two"], big).ok());

  MigrateOptions opt;
  opt.concurrency = 4;
  opt.memory_stage_limit = 64 * 1024;
  opt.temp_dir = tmp.path();
  std::atomic<int> progress_calls{0};
  opt.progress = [&](const MigrateProgress&) { ++progress_calls; };
  auto rep = migrate(*src, *dst, opt);
  REQUIRE(rep.ok());
  CHECK(rep->ok());
  CHECK(rep->counts.listed == bodies.size());
  CHECK(rep->counts.copied == bodies.size());
  CHECK(rep->counts.skipped == 0);
  CHECK(rep->counts.failed == 0);
  CHECK(rep->counts.listing_done);
  std::uint64_t total = 0;
  for (const auto& [k, v] : bodies) total += v.size();
  CHECK(rep->counts.bytes == total);
  CHECK(progress_calls.load() >= static_cast<int>(bodies.size()));
  check_same(*dst, bodies, *src);
  // Staging files are unlinked: nothing is left in the temp folder.
  CHECK(fs::is_empty(tmp.path()));
  // The source is untouched.
  CHECK(src->list_all("")->size() == bodies.size());
}

TEST_CASE("migrate moves only keys under the prefix") {
  test::TempDir a, b;
  auto src = local_at(a / "root");
  auto dst = local_at(b / "root");
  fill(*src, 5);
  REQUIRE(src->put_bytes("other/x", "x", {}).ok());
  MigrateOptions opt;
  opt.prefix = "other/";
  auto rep = migrate(*src, *dst, opt);
  REQUIRE(rep.ok());
  CHECK(rep->counts.listed == 1);
  CHECK(rep->counts.copied == 1);
  auto all = dst->list_all("");
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(all->front().key == "other/x");
}

TEST_CASE("verification catches a corrupted destination and keeps the source") {
  test::TempDir a, b, j;
  auto src = local_at(a / "root");
  auto real_dst = local_at(b / "root");
  auto bodies = fill(*src, 10);
  auto dst = std::make_shared<Corrupting>(real_dst, "0003");
  MigrateOptions opt;
  opt.delete_source = true;
  opt.journal_path = j / "journal";
  auto rep = migrate(*src, *dst, opt);
  REQUIRE(rep.ok());
  CHECK_FALSE(rep->ok());
  CHECK(rep->counts.copied == 9);
  CHECK(rep->counts.deleted == 9);
  REQUIRE(rep->failures.size() == 1);
  CHECK(rep->failures[0].key == "obj/0003.bin");
  CHECK(rep->failures[0].status.is(ErrorCode::conflict));
  CHECK(rep->failures[0].status.message().find("sha256") != std::string::npos);
  // The source of the failed object is still there, the others are gone.
  CHECK(*src->exists("obj/0003.bin"));
  CHECK(src->list_all("")->size() == 1);
  // The journal does not claim the failed key.
  const std::string journal = slurp(j / "journal");
  CHECK(journal.find("obj/0003.bin") == std::string::npos);
  CHECK(journal.find("obj/0004.bin") != std::string::npos);

  // A second run without the fault repairs it.
  auto rep2 = migrate(*src, *real_dst, opt);
  REQUIRE(rep2.ok());
  CHECK(rep2->ok());
  CHECK(rep2->counts.copied == 1);
  CHECK(rep2->counts.deleted == 1);
  CHECK(src->list_all("")->empty());
  CHECK(*real_dst->read_bytes("obj/0003.bin") == bodies["obj/0003.bin"]);
}

TEST_CASE("an interrupted run resumes without copying finished objects again") {
  test::TempDir a, b, j;
  auto src = local_at(a / "root");
  auto real_dst = local_at(b / "root");
  auto bodies = fill(*src, 60);
  EventLog log;
  auto dst = std::make_shared<Recording>(real_dst, "dst", log);

  std::atomic<bool> stop{false};
  MigrateOptions opt;
  opt.concurrency = 3;
  opt.journal_path = j / "journal";
  opt.journal_scope = "a -> b";
  std::atomic<int> done{0};
  opt.on_object = [&](const std::string&, std::uint64_t, MigrateAction action, const Status&) {
    if (action == MigrateAction::copied && ++done == 20) stop = true;
  };
  opt.stop = &stop;
  auto rep = migrate(*src, *dst, opt);
  REQUIRE(rep.ok());
  CHECK(rep->cancelled);
  CHECK_FALSE(rep->ok());
  CHECK(rep->failures.empty());
  const auto first_copied = rep->counts.copied;
  CHECK(first_copied >= 20);
  CHECK(first_copied < bodies.size());

  // Restart: everything finished is skipped from the journal, the rest copied.
  stop = false;
  opt.on_object = nullptr;
  auto rep2 = migrate(*src, *dst, opt);
  REQUIRE(rep2.ok());
  CHECK(rep2->ok());
  CHECK(rep2->counts.skipped >= first_copied);
  CHECK(rep2->counts.copied + rep2->counts.skipped == bodies.size());
  check_same(*real_dst, bodies, *src);
  // No key was written twice over both runs, and every key was written.
  for (const auto& kv : bodies) CHECK_MESSAGE(log.count("dst put " + kv.first) == 1, kv.first);

  // A third run has nothing to do and reads nothing from the destination.
  const auto reads_before = log.count_prefix("dst read");
  auto rep3 = migrate(*src, *dst, opt);
  REQUIRE(rep3.ok());
  CHECK(rep3->counts.copied == 0);
  CHECK(rep3->counts.skipped == bodies.size());
  CHECK(log.count_prefix("dst read") == reads_before);

  // The journal of another migration is refused.
  MigrateOptions other = opt;
  other.journal_scope = "c -> d";
  auto rep4 = migrate(*src, *dst, other);
  CHECK(rep4.status().is(ErrorCode::invalid_argument));
}

TEST_CASE("a changed source object is copied again despite the journal") {
  test::TempDir a, b, j;
  auto src = local_at(a / "root");
  auto dst = local_at(b / "root");
  fill(*src, 3);
  MigrateOptions opt;
  opt.journal_path = j / "journal";
  REQUIRE(migrate(*src, *dst, opt)->counts.copied == 3);
  REQUIRE(src->put_bytes("obj/0001.bin", "new content", {}).ok());
  auto rep = migrate(*src, *dst, opt);
  REQUIRE(rep.ok());
  CHECK(rep->counts.copied == 1);
  CHECK(rep->counts.skipped == 2);
  CHECK(*dst->read_bytes("obj/0001.bin") == "new content");
}

TEST_CASE("an identical destination is skipped without a journal; a different one is overwritten") {
  test::TempDir a, b;
  auto src = local_at(a / "root");
  auto real_dst = local_at(b / "root");
  auto bodies = fill(*src, 8);
  REQUIRE(migrate(*src, *real_dst, {})->counts.copied == 8);
  // Same size, different bytes.
  auto st = src->stat("obj/0002.bin");
  PutOptions po;
  po.content_type = st->content_type;
  po.cache_control = st->cache_control;
  po.content_disposition = st->content_disposition;
  po.user_metadata = st->user_metadata;
  std::string damaged = bodies["obj/0002.bin"];
  damaged[5] ^= 1;
  REQUIRE(real_dst->put_bytes("obj/0002.bin", damaged, po).ok());
  // Same bytes, different metadata.
  REQUIRE(real_dst->put_bytes("obj/0005.bin", bodies["obj/0005.bin"], {}).ok());

  EventLog log;
  auto dst = std::make_shared<Recording>(real_dst, "dst", log);
  auto rep = migrate(*src, *dst, {});
  REQUIRE(rep.ok());
  CHECK(rep->ok());
  CHECK(rep->counts.skipped == 6);
  CHECK(rep->counts.copied == 2);
  CHECK(log.count_prefix("dst put") == 2);
  CHECK(log.count("dst put obj/0002.bin") == 1);
  CHECK(log.count("dst put obj/0005.bin") == 1);
  check_same(*real_dst, bodies, *src);
}

TEST_CASE("delete_source removes a source object only after its copy is verified") {
  test::TempDir a, b;
  auto real_src = local_at(a / "root");
  auto real_dst = local_at(b / "root");
  auto bodies = fill(*real_src, 12);
  EventLog log;
  auto src = std::make_shared<Recording>(real_src, "src", log);
  auto dst = std::make_shared<Recording>(real_dst, "dst", log);
  MigrateOptions opt;
  opt.delete_source = true;
  opt.concurrency = 4;
  auto rep = migrate(*src, *dst, opt);
  REQUIRE(rep.ok());
  CHECK(rep->ok());
  CHECK(rep->counts.deleted == 12);
  CHECK(real_src->list_all("")->empty());
  for (const auto& [key, body] : bodies) {
    CHECK(*real_dst->read_bytes(key) == body);
    const auto put = log.last("dst put " + key);
    const auto verify = log.last("dst read " + key);
    const auto removed = log.last("src remove " + key);
    REQUIRE(put != std::string::npos);
    REQUIRE(verify != std::string::npos);
    REQUIRE(removed != std::string::npos);
    CHECK(put < verify);
    CHECK(verify < removed);
  }
}

TEST_CASE("a dry run changes nothing and lists what would move") {
  test::TempDir a, b, j;
  auto src = local_at(a / "root");
  auto dst = local_at(b / "root");
  auto bodies = fill(*src, 6);
  REQUIRE(migrate(*src, *dst, with_prefix("obj/0000")).ok());  // one already there
  MigrateOptions opt;
  opt.dry_run = true;
  opt.delete_source = true;
  opt.journal_path = j / "journal";
  auto rep = migrate(*src, *dst, opt);
  REQUIRE(rep.ok());
  CHECK(rep->ok());
  CHECK(rep->counts.copied == 0);
  CHECK(rep->counts.deleted == 0);
  CHECK(rep->counts.skipped == 1);
  CHECK(rep->counts.planned == 5);
  REQUIRE(rep->planned.size() == 5);
  CHECK(rep->planned.front() == "obj/0001.bin");
  CHECK(rep->planned.back() == "obj/0005.bin");
  CHECK(src->list_all("")->size() == 6);
  CHECK(dst->list_all("")->size() == 1);
  CHECK_FALSE(fs::exists(j / "journal"));
}

TEST_CASE("transient failures are retried; permanent ones are reported per key") {
  test::TempDir a, b;
  auto src = local_at(a / "root");
  auto real_dst = local_at(b / "root");
  fill(*src, 4);
  SUBCASE("retried") {
    auto dst = std::make_shared<Flaky>(real_dst, 2);
    MigrateOptions opt;
    opt.concurrency = 1;
    auto rep = migrate(*src, *dst, opt);
    REQUIRE(rep.ok());
    CHECK(rep->ok());
    CHECK(rep->counts.copied == 4);
  }
  SUBCASE("out of attempts") {
    auto dst = std::make_shared<Flaky>(real_dst, 1000);
    MigrateOptions opt;
    opt.attempts = 2;
    auto rep = migrate(*src, *dst, opt);
    REQUIRE(rep.ok());
    CHECK(rep->counts.failed == 4);
    REQUIRE(rep->failures.size() == 4);
    CHECK(rep->failures[0].key == "obj/0000.bin");
    CHECK(rep->failures[0].status.is(ErrorCode::network_error));
    CHECK(rep->failures[0].status.message().find("obj/0000.bin") != std::string::npos);
  }
}

TEST_CASE("a source that cannot be listed ends the run with an error") {
  test::TempDir a, b;
  auto src = std::make_shared<Unlistable>(local_at(a / "root"));
  auto dst = local_at(b / "root");
  auto rep = migrate(*src, *dst, {});
  REQUIRE(rep.ok());
  CHECK_FALSE(rep->ok());
  CHECK(rep->error.is(ErrorCode::permission_denied));
  CHECK(rep->error.message().find("listing the source") != std::string::npos);
  CHECK(rep->counts.listed == 0);
}

TEST_CASE("migrate refuses bad options") {
  test::TempDir a, b;
  auto src = local_at(a / "root");
  auto dst = local_at(b / "root");
  CHECK(migrate(*src, *dst, with_concurrency(0)).status().is(ErrorCode::invalid_argument));
  CHECK(migrate(*src, *dst, with_concurrency(1000)).status().is(ErrorCode::invalid_argument));
  CHECK(migrate(*src, *dst, with_prefix("../x")).status().is(ErrorCode::invalid_argument));
  CHECK(migrate(*src, *src, {}).status().is(ErrorCode::invalid_argument));
  MigrateOptions opt;
  opt.temp_dir = a / "missing";
  CHECK(migrate(*src, *dst, opt).status().is(ErrorCode::invalid_argument));
}

TEST_CASE("journal: entries survive reopening, torn lines are cut, a second writer is refused") {
  test::TempDir d;
  const std::string path = d / "j";
  const std::string sha(64, 'a');
  {
    auto j = detail::Journal::open(path, "scope", false);
    REQUIRE(j.ok());
    CHECK((*j)->record("a/b c.jpg", 12, "etag1", sha).ok());
    CHECK((*j)->record("d", 0, "", sha).ok());
    // Another run cannot open it meanwhile.
    CHECK(detail::Journal::open(path, "scope", false).status().is(ErrorCode::conflict));
    CHECK((*j)->flush().ok());
  }
  {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << "V\t5\tetag2\t" << sha << "\ttorn";  // no newline: a torn write
  }
  {
    auto j = detail::Journal::open(path, "scope", false);
    REQUIRE(j.ok());
    CHECK((*j)->size() == 2);
    auto e = (*j)->find("a/b c.jpg");
    REQUIRE(e);
    CHECK(e->size == 12);
    CHECK(e->etag == "etag1");
    CHECK(e->sha256 == sha);
    CHECK_FALSE((*j)->find("torn"));
    CHECK((*j)->record("e", 1, "x", sha).ok());
  }
  const std::string text = slurp(path);
  CHECK(text.find("torn") == std::string::npos);
  CHECK(text.substr(text.size() - 2) == "e\n");
  auto ro = detail::Journal::open(path, "", true);
  REQUIRE(ro.ok());
  CHECK((*ro)->size() == 3);
  CHECK(detail::Journal::open(path, "other", false).status().is(ErrorCode::invalid_argument));
  {
    std::ofstream out(d / "notjournal");
    out << "hello\n";
  }
  CHECK(detail::Journal::open(d / "notjournal", "", false).status().is(ErrorCode::invalid_argument));
  auto missing = detail::Journal::open(d / "missing", "", true);
  REQUIRE(missing.ok());
  CHECK((*missing)->size() == 0);
  CHECK_FALSE(fs::exists(d / "missing"));
}
