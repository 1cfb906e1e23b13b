// Storage staging (MEDIA_STAGING=storage) on the local backend: the accepted
// bytes live in the storage backend, a worker with its own spool folder
// processes them, and nothing is left under the staging prefix.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "mediastore/upload.hpp"
#include "unit/upload/upload_support.hpp"

using namespace mediastore;
using namespace std::chrono_literals;
using upload_test::FaultyStorage;
using upload_test::TempDir;

namespace {

// Fails read() of staged objects while `fail_reads` > 0 (counting down).
class FlakyReads : public FaultyStorage {
 public:
  using FaultyStorage::FaultyStorage;
  std::atomic<int> fail_reads{0};
  Status read(std::string_view key, ByteSink& sink, const std::optional<ByteRange>& range,
              const ProgressFn& progress) override {
    if (key.rfind("staging/", 0) == 0 && fail_reads.fetch_sub(1) > 0)
      return Status::Unavailable("injected: storage unavailable");
    return FaultyStorage::read(key, sink, range, progress);
  }
};

// A web side (submits) and a worker side (processes) sharing storage and a
// SQLite queue but not their spool folders.
struct Env {
  TempDir dir;
  Config web_config, worker_config;
  std::shared_ptr<FlakyReads> storage;
  std::shared_ptr<JobQueue> queue;
  std::shared_ptr<UploadService> web, worker;

  Env() {
    storage = std::make_shared<FlakyReads>(upload_test::local_storage(web_config, dir.path()));
    web_config.staging = StagingKind::storage;
    web_config.spool_dir = dir.path() + "/web-spool";
    worker_config = web_config;
    // The worker's own config says local: the record decides.
    worker_config.staging = StagingKind::local;
    worker_config.spool_dir = dir.path() + "/worker-spool";
    QueueOptions qo;
    qo.max_attempts = 4;
    qo.lease_duration = 5s;
    auto q = make_sqlite_queue(dir.path() + "/queue.db", qo);
    REQUIRE_MESSAGE(q.ok(), q.status().to_string());
    queue = q.value();
    web = open(web_config);
    worker = open(worker_config);
  }

  std::shared_ptr<UploadService> open(const Config& config, UploadOptions uo = {}) {
    uo.max_attempts = 4;
    uo.backoff_base = 10ms;
    uo.backoff_max = 20ms;
    uo.lease_duration = 5s;
    uo.heartbeat_interval = 1s;
    auto s = UploadService::create(config, storage, queue, uo);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    return s.value();
  }

  Result<std::string> submit(std::string bytes, std::string name = "IMG_1.jpg") {
    UploadRequest r;
    r.data = std::move(bytes);
    r.original_filename = std::move(name);
    r.content_type = "image/jpeg";
    return web->submit_upload(r);
  }

  UploadStatus status(const std::string& id) { return upload_test::status_of(*web, id); }

  UploadStatus run_until_done(const std::string& id) {
    return upload_test::process_until_ended(*worker, *web, id, 100, 100ms);
  }

  std::vector<std::string> keys(const std::string& prefix) {
    auto all = storage->list_all(prefix);
    REQUIRE_MESSAGE(all.ok(), all.status().to_string());
    std::vector<std::string> out;
    for (auto& o : all.value()) out.push_back(o.key);
    return out;
  }

  // Files in a folder (an absent folder has none).
  static std::size_t files_in(const std::string& folder) {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(folder, ec); !ec && it != std::filesystem::directory_iterator();
         ++it)
      ++n;
    return n;
  }
};

}  // namespace

TEST_CASE("staging: an upload staged in storage completes on a worker that shares no folder with the web side") {
  Env env;
  const std::string jpeg = upload_test::make_jpeg(640, 480);
  auto id = env.submit(jpeg);
  REQUIRE_MESSAGE(id.ok(), id.status().to_string());
  // Accepted = stored: the staged object holds the bytes, the spool nothing.
  auto st = env.status(*id);
  CHECK(st.staged_key == "staging/" + *id);
  auto staged = env.storage->read_bytes(st.staged_key);
  REQUIRE(staged.ok());
  CHECK(*staged == jpeg);
  auto info = env.storage->stat(st.staged_key);
  REQUIRE(info.ok());
  CHECK(info->content_type == "application/octet-stream");
  CHECK(info->user_metadata.at("upload-id") == *id);
  CHECK(Env::files_in(env.web_config.spool_dir) == 0);

  auto s = env.run_until_done(*id);
  REQUIRE_MESSAGE(s.state == UploadState::completed, s.error_message);
  REQUIRE(s.result);
  CHECK(s.result->thumbnails.size() == 3);
  // The original is a copy of the staged object with the original's metadata.
  auto orig = env.storage->read_bytes(s.result->original.key);
  REQUIRE(orig.ok());
  CHECK(*orig == jpeg);
  auto oi = env.storage->stat(s.result->original.key);
  REQUIRE(oi.ok());
  CHECK(oi->content_type == "image/jpeg");
  CHECK(oi->user_metadata.at("upload-id") == *id);
  CHECK(oi->user_metadata.at("sha256") == s.result->metadata.at("sha256"));
  // Nothing left: no staged object, no local copy on either side.
  CHECK(env.keys("staging/").empty());
  CHECK(Env::files_in(env.worker_config.spool_dir) == 0);
  CHECK(Env::files_in(env.web_config.spool_dir) == 0);
}

TEST_CASE("staging: submissions from a file; too large and empty sources are refused and leave nothing") {
  Env env;
  const std::string path = env.dir.path() + "/IMG_2.jpg";
  { std::ofstream(path, std::ios::binary) << upload_test::make_jpeg(320, 240); }
  UploadRequest r;
  r.source_path = path;
  r.original_filename = "IMG_2.jpg";
  auto id = env.web->submit_upload(r);
  REQUIRE_MESSAGE(id.ok(), id.status().to_string());
  CHECK(env.keys("staging/") == std::vector<std::string>{"staging/" + *id});
  CHECK(env.run_until_done(*id).state == UploadState::completed);
  CHECK(env.keys("staging/").empty());

  Config small = env.web_config;
  small.max_upload_size = 1000;
  auto svc = env.open(small);
  UploadRequest big;
  big.source_path = path;  // a few KiB
  big.original_filename = "IMG_2.jpg";
  auto too = svc->submit_upload(big);
  REQUIRE_FALSE(too.ok());
  CHECK(too.status().code() == ErrorCode::too_large);
  CHECK(too.status().message().find("IMG_2.jpg") != std::string::npos);
  big.source_path.clear();
  big.data = std::string(1001, 'x');
  too = svc->submit_upload(big);
  REQUIRE_FALSE(too.ok());
  CHECK(too.status().code() == ErrorCode::too_large);
  const std::string empty_path = env.dir.path() + "/empty.jpg";
  { std::ofstream(empty_path, std::ios::binary); }
  UploadRequest empty;
  empty.source_path = empty_path;
  empty.original_filename = "empty.jpg";
  auto e = svc->submit_upload(empty);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().code() == ErrorCode::invalid_argument);
  CHECK(e.status().message().find("empty.jpg is empty") != std::string::npos);
  UploadRequest missing;
  missing.source_path = env.dir.path() + "/nope.jpg";
  missing.original_filename = "nope.jpg";
  CHECK(svc->submit_upload(missing).status().code() == ErrorCode::not_found);
  CHECK(env.keys("staging/").empty());
  CHECK(env.queue->stats()->ready == 0);
}

TEST_CASE("staging: a hostile file fails and its staged object goes with it") {
  Env env;
  auto id = env.submit(upload_test::hostile_html(), "IMG_3.jpg");
  REQUIRE(id.ok());
  auto s = env.run_until_done(*id);
  CHECK(s.state == UploadState::failed);
  CHECK(s.error_code == ErrorCode::unsupported_media);
  CHECK(env.keys("staging/").empty());
  CHECK(env.keys("uploads/" + *id + "/").empty());
  CHECK(Env::files_in(env.worker_config.spool_dir) == 0);
}

TEST_CASE("staging: a vanished staged object fails for good, naming it; transient read errors are retried") {
  Env env;
  auto gone = env.submit(upload_test::make_jpeg(320, 240));
  REQUIRE(gone.ok());
  REQUIRE(env.storage->remove("staging/" + *gone).ok());
  auto s = env.run_until_done(*gone);
  CHECK(s.state == UploadState::failed);
  CHECK(s.error_code == ErrorCode::not_found);
  CHECK(s.attempt == 1);
  CHECK(s.error_message.find("staging/" + *gone) != std::string::npos);

  auto flaky = env.submit(upload_test::make_jpeg(320, 240, 3));
  REQUIRE(flaky.ok());
  env.storage->fail_reads = 2;
  auto f = env.run_until_done(*flaky);
  CHECK_MESSAGE(f.state == UploadState::completed, f.error_message);
  CHECK(f.attempt == 3);
  CHECK(env.keys("staging/").empty());
  CHECK(Env::files_in(env.worker_config.spool_dir) == 0);
}

TEST_CASE("staging: a re-run of a job whose upload completed removes the staged object and acks") {
  Env env;
  auto id = env.submit(upload_test::make_jpeg(320, 240));
  REQUIRE(id.ok());
  REQUIRE(env.run_until_done(*id).state == UploadState::completed);
  // A worker that died after the completed record, before removing the
  // staged object and acking: the object is still there and the job comes back.
  REQUIRE(env.storage->put_bytes("staging/" + *id, "the staged bytes", {}).ok());
  REQUIRE(env.queue->enqueue(*id, "{}").ok());
  auto n = env.worker->process_next(1, 100ms);
  REQUIRE(n.ok());
  CHECK(*n == 1);
  CHECK(env.keys("staging/").empty());
  CHECK(env.queue->stats()->ready == 0);
  CHECK(env.status(*id).state == UploadState::completed);
  CHECK(env.keys("uploads/" + *id + "/").size() == 4);
}

TEST_CASE("staging: cancel removes the staged object") {
  Env env;
  auto id = env.submit(upload_test::make_jpeg(320, 240));
  REQUIRE(id.ok());
  REQUIRE(env.web->cancel(*id).ok());
  CHECK(env.keys("staging/").empty());
}

TEST_CASE("staging: cleanup removes orphan staged objects once old enough, never a pending upload's") {
  Env env;
  // A submission that died between its staged object and its record.
  REQUIRE(env.storage->put_bytes("staging/0badc0de-0000-4000-8000-000000000000", "orphan", {}).ok());
  // A completed upload whose worker died before removing its staged object.
  auto done = env.submit(upload_test::make_jpeg(320, 240));
  REQUIRE(done.ok());
  REQUIRE(env.run_until_done(*done).state == UploadState::completed);
  REQUIRE(env.storage->put_bytes("staging/" + *done, "left over", {}).ok());
  // A pending upload: its staged object is its only copy.
  auto pending = env.submit(upload_test::make_jpeg(320, 240, 5));
  REQUIRE(pending.ok());

  // Younger than the default 24 h: staged objects stay.
  auto rep = env.web->cleanup_failed_uploads(0s);
  REQUIRE_MESSAGE(rep.ok(), rep.status().to_string());
  CHECK(rep->staging_objects_removed == 0);
  CHECK(env.keys("staging/").size() == 3);
  CHECK(env.web->options().staging_orphan_age == 24h);

  UploadOptions uo;
  uo.staging_orphan_age = 0s;
  auto cleaner = env.open(env.worker_config, uo);
  std::this_thread::sleep_for(20ms);
  rep = cleaner->cleanup_failed_uploads(0s);
  REQUIRE_MESSAGE(rep.ok(), rep.status().to_string());
  CHECK(rep->staging_objects_removed == 2);
  CHECK(rep->multipart_uploads_aborted == 0);  // the local backend has none
  CHECK(env.keys("staging/") == std::vector<std::string>{"staging/" + *pending});
  CHECK(Env::files_in(env.worker_config.spool_dir) == 0);
  CHECK(env.status(*pending).state == UploadState::pending);
  CHECK(env.run_until_done(*pending).state == UploadState::completed);
  CHECK(env.keys("staging/").empty());
}

TEST_CASE("staging: create refuses a staging prefix overlapping the key prefix, and storage staging above 5 GiB") {
  Env env;
  for (const char* prefix : {"uploads/", "uploads/staging/"}) {
    Config c = env.web_config;
    c.staging_prefix = prefix;
    auto s = UploadService::create(c, env.storage, env.queue, {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == ErrorCode::invalid_argument);
    CHECK(s.status().message().find("overlaps UploadOptions.key_prefix") != std::string::npos);
  }
  UploadOptions uo;
  uo.key_prefix = "staging/media/";
  auto s = UploadService::create(env.web_config, env.storage, env.queue, uo);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == ErrorCode::invalid_argument);
  Config huge = env.web_config;
  huge.max_upload_size = (5ull << 30) + 1;
  s = UploadService::create(huge, env.storage, env.queue, {});
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("5 GiB") != std::string::npos);
  huge.staging = StagingKind::local;
  CHECK(UploadService::create(huge, env.storage, env.queue, {}).ok());
}
