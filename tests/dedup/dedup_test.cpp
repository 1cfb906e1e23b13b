// Duplicate detection through the upload workflow on the queue backend
// MS_DEDUP_QUEUE names (memory, sqlite, redis): exact duplicates (the
// deduplicating stage, its claims under concurrency and after failures) and
// near duplicates (UploadService::similar on the wallpaper corpus).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "mediastore/upload.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "unit/upload/upload_support.hpp"
#include "upload/dedup_index.hpp"

using namespace mediastore;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE_MESSAGE(v != nullptr, name, " is not set (run through ctest)");
  return v;
}

std::string photo() { return test::slurp(env("MS_TEST_PHOTO")); }

// Two services sharing one storage and one queue backend, as two processes
// would: memory shares the queue object; sqlite opens the file twice; redis
// connects twice to one namespace of its own.
struct Env {
  test::TempDir dir;
  Config config;
  std::shared_ptr<upload_test::FaultyStorage> storage;
  std::shared_ptr<UploadService> a, b;

  explicit Env(std::optional<std::string> scope_key = std::nullopt) {
    config.media_root = dir / "media";
    config.state_dir = dir / "state";
    std::filesystem::create_directories(config.media_root);
    auto local = make_storage(config);
    REQUIRE_MESSAGE(local.ok(), local.status().to_string());
    storage = std::make_shared<upload_test::FaultyStorage>(local.value());
    QueueOptions qo;
    qo.max_attempts = 1000;
    qo.name = "dedup_" + detail::random_hex(6);
    const std::string backend = env("MS_DEDUP_QUEUE");
    std::shared_ptr<JobQueue> qa, qb;
    if (backend == "memory") {
      qa = qb = make_memory_queue(qo);
    } else {
      auto open = [&]() -> std::shared_ptr<JobQueue> {
        auto q = backend == "sqlite" ? make_sqlite_queue(dir / "queue.sqlite3", qo)
                                     : make_redis_queue(env("MS_REDIS_URL"), qo);
        REQUIRE_MESSAGE(q.ok(), q.status().to_string());
        return q.value();
      };
      qa = open();
      qb = open();
    }
    UploadOptions o;
    o.max_attempts = 1000;
    o.backoff_base = std::chrono::milliseconds(10);
    o.backoff_max = std::chrono::milliseconds(50);
    o.dedup_scope_key = std::move(scope_key);
    auto sa = UploadService::create(config, storage, qa, o);
    auto sb = UploadService::create(config, storage, qb, o);
    REQUIRE_MESSAGE(sa.ok(), sa.status().to_string());
    REQUIRE_MESSAGE(sb.ok(), sb.status().to_string());
    a = sa.value();
    b = sb.value();
  }

  std::string submit(const std::string& data, const std::string& name, std::map<std::string, std::string> context) {
    UploadRequest r;
    r.data = data;
    r.original_filename = name;
    r.context = std::move(context);
    auto id = a->submit_upload(r);
    REQUIRE_MESSAGE(id.ok(), id.status().to_string());
    return id.value();
  }

  UploadStatus status(const std::string& id) { return upload_test::status_of(*a, id); }

  // Both services process until every upload of `ids` has ended (a bounded
  // number of rounds, not a time limit).
  void drain(const std::vector<std::string>& ids) {
    for (int round = 0; round < 2000; ++round) {
      bool open = false;
      for (auto& id : ids) {
        const UploadState s = status(id).state;
        open = open || (s != UploadState::completed && s != UploadState::failed);
      }
      if (!open) return;
      REQUIRE(a->process_next(4, std::chrono::milliseconds(20)).ok());
      REQUIRE(b->process_next(4, std::chrono::milliseconds(20)).ok());
    }
    FAIL("uploads did not end");
  }

  std::size_t objects_of(const std::string& id) {
    auto l = storage->list_all("uploads/" + id + "/");
    REQUIRE_MESSAGE(l.ok(), l.status().to_string());
    return l->size();
  }

  std::size_t spool_files() {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(config.effective_spool_dir(), ec);
         it != std::filesystem::recursive_directory_iterator(); ++it)
      if (it->is_regular_file()) ++n;
    return n;
  }
};

// An original stored as usual: its own objects, no duplicate_of.
void check_original(Env& e, const UploadStatus& s) {
  CAPTURE(s.id);
  REQUIRE(s.state == UploadState::completed);
  CHECK(s.duplicate_of.empty());
  REQUIRE(s.result);
  CHECK(s.result->original.key.rfind("uploads/" + s.id + "/", 0) == 0);
  CHECK(e.objects_of(s.id) == 1 + s.result->thumbnails.size());
}

// A duplicate of `first`: completed, names it and points at its objects,
// stored nothing.
void check_duplicate(Env& e, const UploadStatus& s, const UploadStatus& first) {
  CAPTURE(s.id);
  REQUIRE(s.state == UploadState::completed);
  CHECK(s.duplicate_of == first.id);
  REQUIRE(s.result);
  REQUIRE(first.result);
  CHECK(s.result->original.key == first.result->original.key);
  CHECK(!s.result->original.url.empty());
  REQUIRE(s.result->thumbnails.size() == first.result->thumbnails.size());
  for (std::size_t i = 0; i < s.result->thumbnails.size(); ++i)
    CHECK(s.result->thumbnails[i].key == first.result->thumbnails[i].key);
  CHECK(e.objects_of(s.id) == 0);
  CHECK(s.result->metadata.at("sha256") == first.result->metadata.at("sha256"));
}

std::string sha256_hex(const std::string& data) { return detail::hex_lower(detail::sha256(data)); }

}  // namespace

TEST_CASE("two identical uploads processed at once by two services: one original, one duplicate") {
  Env e;
  const std::string data = photo();
  // Several rounds, each its own scope, for several interleavings.
  for (int round = 0; round < 4; ++round) {
    CAPTURE(round);
    const std::string circle = std::to_string(100 + round);
    const std::string x = e.submit(data, "grandma.jpg", {{"circle_id", circle}});
    const std::string y = e.submit(data, "again.jpg", {{"circle_id", circle}});
    std::thread t1([&] { CHECK(e.a->process_next(1, std::chrono::seconds(5)).ok()); });
    std::thread t2([&] { CHECK(e.b->process_next(1, std::chrono::seconds(5)).ok()); });
    t1.join();
    t2.join();
    e.drain({x, y});
    const UploadStatus sx = e.status(x), sy = e.status(y);
    REQUIRE(sx.duplicate_of.empty() != sy.duplicate_of.empty());
    const UploadStatus& first = sx.duplicate_of.empty() ? sx : sy;
    const UploadStatus& dup = sx.duplicate_of.empty() ? sy : sx;
    check_original(e, first);
    check_duplicate(e, dup, first);
    // The duplicate keeps its own name; its spool copy is gone.
    CHECK(dup.result->metadata.at("filename") == (dup.id == x ? "grandma.jpg" : "again.jpg"));
    CHECK(e.spool_files() == 0);
    // A third copy later: a duplicate of the same first upload.
    const std::string z = e.submit(data, "third.jpg", {{"circle_id", circle}});
    e.drain({z});
    check_duplicate(e, e.status(z), first);
  }
  // The claims and the scope index are records too, but not uploads.
  auto m = e.a->metrics();
  REQUIRE(m.ok());
  CHECK(m->states.at("completed") == 12);
  for (const auto& entry : m->states) {
    const std::string& state = entry.first;  // not a structured binding: CAPTURE's lambda takes it
    CAPTURE(state);
    CHECK((state == "pending" || state == "processing" || state == "retrying" || state == "completed" ||
           state == "failed"));
  }
}

TEST_CASE("another scope, no scope key, duplicate detection off: every copy is stored") {
  const std::string data = photo();
  {
    Env e;
    const std::string x = e.submit(data, "a.jpg", {{"circle_id", "7"}});
    const std::string y = e.submit(data, "b.jpg", {{"circle_id", "8"}});
    const std::string u = e.submit(data, "c.jpg", {{"keep_id", "1"}});
    const std::string v = e.submit(data, "d.jpg", {{"keep_id", "1"}});
    e.drain({x, y, u, v});
    for (auto& id : {x, y, u, v}) check_original(e, e.status(id));
  }
  {
    Env e("");  // off
    const std::string x = e.submit(data, "a.jpg", {{"circle_id", "7"}});
    const std::string y = e.submit(data, "b.jpg", {{"circle_id", "7"}});
    e.drain({x, y});
    check_original(e, e.status(x));
    check_original(e, e.status(y));
  }
  {
    Env e("album");  // another key: circle_id no longer scopes
    const std::string x = e.submit(data, "a.jpg", {{"circle_id", "7"}});
    const std::string y = e.submit(data, "b.jpg", {{"circle_id", "7"}});
    const std::string p = e.submit(data, "c.jpg", {{"album", "summer"}});
    const std::string q = e.submit(data, "d.jpg", {{"album", "summer"}});
    e.drain({x, y, p, q});
    check_original(e, e.status(x));
    check_original(e, e.status(y));
    const UploadStatus sp = e.status(p);
    check_original(e, sp);
    check_duplicate(e, e.status(q), sp);
  }
}

TEST_CASE("an owner that failed after claiming the content: the next copy takes over") {
  Env e;
  const std::string data = photo();
  e.storage->put_error = Status(ErrorCode::permission_denied, "injected: storing refused");
  e.storage->fail_puts = 1000;
  const std::string x = e.submit(data, "a.jpg", {{"circle_id", "7"}});
  e.drain({x});
  e.storage->fail_puts = 0;
  const UploadStatus sx = e.status(x);
  REQUIRE(sx.state == UploadState::failed);
  auto claim = e.a->queue().get_record(detail::dedup_claim_id("circle_id", "7", sha256_hex(data), 0));
  REQUIRE(claim.ok());
  CHECK(claim->body == x);  // x claimed the content, then failed
  const std::string y = e.submit(data, "b.jpg", {{"circle_id", "7"}});
  e.drain({y});
  const UploadStatus sy = e.status(y);
  check_original(e, sy);
  const std::string z = e.submit(data, "c.jpg", {{"circle_id", "7"}});
  e.drain({z});
  check_duplicate(e, e.status(z), sy);
}

TEST_CASE("an owner abandoned after claiming (its job gone, never finished): the next copy takes over") {
  Env e;
  const std::string data = photo();
  const std::string x = e.submit(data, "a.jpg", {{"circle_id", "9"}});
  // As a crash would leave it: x's claim written, x still pending, its job gone.
  REQUIRE(e.a->queue().remove(x).ok());
  const std::string sha = sha256_hex(data);
  REQUIRE(e.a->queue()
              .create_record({detail::dedup_claim_id("circle_id", "9", sha, 0), detail::kDedupClaimState, {}, x})
              .ok());
  const std::string y = e.submit(data, "b.jpg", {{"circle_id", "9"}});
  e.drain({y});
  check_original(e, e.status(y));
  auto next = e.a->queue().get_record(detail::dedup_claim_id("circle_id", "9", sha, 1));
  REQUIRE(next.ok());
  CHECK(next->body == y);
  CHECK(e.status(x).state == UploadState::pending);  // untouched: cleanup_failed_uploads marks it later
}

TEST_CASE("a refused file: the status names the refusal reason") {
  Env e;
  const std::string x = e.submit(upload_test::hostile_html(), "a.jpg", {{"circle_id", "7"}});
  e.drain({x});
  const UploadStatus s = e.status(x);
  REQUIRE(s.state == UploadState::failed);
  CHECK(s.refusal_reason != RefusalReason::none);
  CHECK(refusal_reason_code(s.refusal_reason) == s.error_code);
  CHECK(s.duplicate_of.empty());
}

namespace {

// A minimal EXIF APP1 segment (an empty IFD0) after the SOI.
std::string with_exif(const std::string& jpeg) {
  const std::string payload = std::string("Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0", 20);
  std::string seg = "\xFF\xE1";
  seg += static_cast<char>((payload.size() + 2) >> 8);
  seg += static_cast<char>((payload.size() + 2) & 0xff);
  return jpeg.substr(0, 2) + seg + payload + jpeg.substr(2);
}

// The photo re-encoded through the library's own resize/encode: a box of
// w x h (never upscaled) at `quality`.
std::string reencoded(const std::string& jpeg, int w, int h, int quality) {
  ThumbnailSpec spec;
  spec.name = "variant";
  spec.width = w;
  spec.height = h;
  spec.quality = quality;
  auto t = make_thumbnails(jpeg, {spec});
  REQUIRE_MESSAGE(t.ok(), t.status().to_string());
  REQUIRE(t->size() == 1);
  return t->front().bytes;
}

}  // namespace

TEST_CASE("similar: the same photo re-encoded, halved or stripped is near; other photos and scopes are not") {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator("/usr/share/backgrounds", ec))
    if (f.path().extension() == ".jpg") files.push_back(f.path());
  std::sort(files.begin(), files.end());
  REQUIRE_MESSAGE(files.size() >= 3, "lomiri-wallpapers-16.04 is missing: run scripts/install-deps.sh");
  const std::string original = with_exif(test::slurp(files[0]));
  auto info = validate_media(original, "w.jpg", MediaKind::photo);
  REQUIRE_MESSAGE(info.ok(), info.status().to_string());
  const int w = info->display_width, h = info->display_height;
  auto stripped = strip_jpeg_metadata(original, StripMode::all);
  REQUIRE(stripped.ok());
  REQUIRE(*stripped != original);

  Env e;
  const std::map<std::string, std::string> circle{{"circle_id", "7"}};
  const std::string o = e.submit(original, "w.jpg", circle);
  const std::string q60 = e.submit(reencoded(original, w, h, 60), "q60.jpg", circle);
  const std::string half = e.submit(reencoded(original, w / 2, h / 2, 85), "half.jpg", circle);
  const std::string bare = e.submit(*stripped, "bare.jpg", circle);
  const std::string other1 = e.submit(test::slurp(files[1]), "o1.jpg", circle);
  const std::string other2 = e.submit(test::slurp(files[2]), "o2.jpg", circle);
  const std::string elsewhere = e.submit(original, "w.jpg", {{"circle_id", "8"}});
  const std::string unscoped = e.submit(*stripped, "bare.jpg", {});
  e.drain({o, q60, half, bare, other1, other2, elsewhere, unscoped});
  for (auto& id : {o, q60, half, bare, other1, other2, elsewhere, unscoped}) check_original(e, e.status(id));

  auto near = e.a->similar(o, kSimilarImageDistance);
  REQUIRE_MESSAGE(near.ok(), near.status().to_string());
  std::set<std::string> ids;
  for (std::size_t i = 0; i < near->size(); ++i) {
    const SimilarUpload& s = (*near)[i];
    CAPTURE(s.id);
    ids.insert(s.id);
    CHECK(s.distance <= kSimilarImageDistance);
    if (i > 0) CHECK((*near)[i - 1].distance <= s.distance);
  }
  CHECK(ids == std::set<std::string>{q60, half, bare});

  // Every upload of the scope is within 64; none of another scope or none.
  auto all = e.b->similar(o, 64);
  REQUIRE(all.ok());
  std::set<std::string> scope;
  for (auto& s : *all) scope.insert(s.id);
  CHECK(scope == std::set<std::string>{q60, half, bare, other1, other2});
  for (auto& s : *all)
    if (s.id == other1 || s.id == other2) CHECK(s.distance > kSimilarImageDistance);

  auto none = e.a->similar(unscoped, 64);
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK(e.a->similar(o, 65).status().code() == ErrorCode::invalid_argument);
  CHECK(e.a->similar(o, -1).status().code() == ErrorCode::invalid_argument);
  CHECK(e.a->similar("no-such-upload", 5).status().code() == ErrorCode::not_found);
  const std::string pending = e.submit(original, "p.jpg", circle);
  CHECK(e.a->similar(pending, 5).status().code() == ErrorCode::conflict);
}

TEST_CASE("similar: duplicate detection off is invalid_argument") {
  Env e("");
  const std::string x = e.submit(photo(), "a.jpg", {{"circle_id", "7"}});
  e.drain({x});
  auto r = e.a->similar(x, 10);
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  CHECK(r.status().message().find("MEDIA_DEDUP_SCOPE_KEY") != std::string::npos);
}
