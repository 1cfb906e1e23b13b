// "Two hosts that share no disk": a web side (this process) submits uploads
// with storage staging, and `mediastore worker` processes run in mount
// namespaces of their own (unshare --mount) with a tmpfs over the web side's
// folders, so they provably cannot read them; Redis (the queue and the
// records) and RGW (the bytes) are all they share. Every upload must end as
// expected with its original and three thumbnails, nothing may be left under
// the staging prefix, and no multipart upload may stay open.
//
//   staging: two hosts ...         workers run to the end
//   staging: SIGKILLed workers ... workers SIGKILLed at random moments and
//                                  restarted, then cleanup: nothing lost,
//                                  nothing duplicated, no orphans
//
// Environment: MS_CLI (the mediastore binary), MS_REDIS_URL, the RGW
// variables (MS_RGW_ENV), MS_STAGING_UPLOADS (Default: 40; ~10 % hostile,
// plus two photos of 20+ MiB), MS_STAGING_KILLS (Default: 12).
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "mediastore/upload.hpp"
#include "queue/worker_proc.hpp"
#include "s3/client.hpp"
#include "unit/upload/upload_support.hpp"

using namespace mediastore;
using namespace std::chrono_literals;
using queue_test::env_or;
using queue_test::WorkerProc;

namespace {

// Exit status of the worker wrapper when the web side's folder is visible.
constexpr int kSawWebFolder = 3;

struct Hosts {
  upload_test::TempDir dir;
  std::string web, worker_state, logs, cli;
  Config config;  // the web side's
  std::shared_ptr<UploadService> svc;
  std::shared_ptr<s3::Client> s3;
  std::map<std::string, bool> expect_ok;  // upload id -> a photo that must complete

  Hosts(const std::string& bucket, int redis_db) {
    cli = env_or("MS_CLI", "");
    REQUIRE_MESSAGE(!cli.empty(), "MS_CLI must name the mediastore binary");
    web = dir.path() + "/web";
    worker_state = dir.path() + "/worker/state";
    logs = dir.path() + "/logs";
    for (const auto& d : {web + "/files", worker_state, logs}) std::filesystem::create_directories(d);
    std::string url = env_or("MS_REDIS_URL", "");
    REQUIRE_MESSAGE(!url.empty(), "MS_REDIS_URL is not set");
    url = url.substr(0, url.rfind('/')) + "/" + std::to_string(redis_db);
    std::string port = url.substr(url.rfind(':') + 1);
    port = port.substr(0, port.find('/'));
    REQUIRE(std::system(("redis-cli -p " + port + " -n " + std::to_string(redis_db) + " flushdb >/dev/null").c_str()) ==
            0);
    // Shared by both sides (the workers inherit them); MEDIA_STAGING is not
    // set: with Redis the default is storage.
    setenv("MINIO_BUCKET_NAME", bucket.c_str(), 1);
    setenv("MEDIA_QUEUE_BACKEND", "redis", 1);
    setenv("MEDIA_QUEUE_URL", url.c_str(), 1);
    setenv("MEDIA_ROOT", (web + "/media").c_str(), 1);
    setenv("MEDIA_STATE_DIR", (web + "/state").c_str(), 1);
    auto c = Config::from_environment();
    REQUIRE_MESSAGE(c.ok(), c.status().to_string());
    config = c.value();
    REQUIRE(config.backend == BackendKind::minio);
    REQUIRE(config.effective_staging() == StagingKind::storage);
    UploadOptions uo;
    uo.max_attempts = 100;
    auto s = UploadService::open(config, uo);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    svc = s.value();
    auto client = s3::Client::create(config.s3);
    REQUIRE_MESSAGE(client.ok(), client.status().to_string());
    s3 = client.value();
    empty_bucket();
  }

  // Earlier runs' objects and multipart uploads.
  void empty_bucket() {
    auto all = svc->storage().list_all("");
    REQUIRE(all.ok());
    for (auto& o : all.value()) REQUIRE(svc->storage().remove(o.key).ok());
    auto open = s3->list_multipart_uploads("");
    REQUIRE(open.ok());
    for (auto& u : open.value()) REQUIRE(s3->abort_multipart_upload(u.key, u.upload_id).ok());
  }

  // n uploads from files in the web side's folder: every 10th hostile, two
  // of more than 20 MiB (uncompressed PNGs; the second is a multipart
  // staged object).
  void submit(int n) {
    for (int i = 0; i < n; ++i) {
      std::string bytes;
      const bool hostile = i % 10 == 7;
      if (hostile) {
        switch (i % 3) {
          case 0: bytes = upload_test::hostile_html(); break;
          case 1: bytes = "GIF89a<?php system($_GET['c']); ?>"; break;
          default: {
            std::string j = upload_test::make_jpeg(64, 48, i);
            bytes = j.substr(0, j.size() / 2);
          }
        }
      } else if (i == 3 || i == 11) {
        bytes = upload_test::make_png(i == 3 ? 3000 : 3200, 2400);
      } else {
        bytes = upload_test::make_jpeg(64 + (i % 5) * 32, 48 + (i % 3) * 32, i);
      }
      const std::string name = "photo" + std::to_string(i) + (i == 3 || i == 11 ? ".png" : ".jpg");
      const std::string path = web + "/files/" + name;
      { std::ofstream(path, std::ios::binary) << bytes; }
      UploadRequest r;
      r.source_path = path;
      r.original_filename = name;
      auto id = svc->submit_upload(r);
      REQUIRE_MESSAGE(id.ok(), id.status().to_string());
      expect_ok[id.value()] = !hostile;
    }
  }

  // A worker on "another host": its own state folder, and a tmpfs over the
  // web side's folder in its mount namespace (exits kSawWebFolder if the
  // web side's files still show).
  WorkerProc spawn_worker() {
    std::vector<std::string> argv = {"/usr/bin/unshare",
                                     "--mount",
                                     "--propagation",
                                     "private",
                                     "/bin/sh",
                                     "-c",
                                     "mount -t tmpfs tmpfs \"$0\" && [ -z \"$(ls -A \"$0\")\" ] || exit " +
                                         std::to_string(kSawWebFolder) + "; exec \"$@\"",
                                     web};
    for (auto& a : queue_test::worker_args(cli)) argv.push_back(a);
    return queue_test::spawn_process(argv, logs, {"MEDIA_STATE_DIR=" + worker_state});
  }

  bool finished() {
    auto m = svc->metrics();
    if (!m.ok()) return false;
    return m->states["completed"] + m->states["failed"] >= expect_ok.size();
  }

  // SIGTERM, and each worker exits 0 (not kSawWebFolder).
  void stop(std::vector<WorkerProc>& workers) {
    for (auto& w : workers)
      for (int i = 0; i < 1000 && !queue_test::ready(w); ++i) std::this_thread::sleep_for(10ms);
    for (auto& w : workers) kill(w.pid, SIGTERM);
    for (auto& w : workers) {
      int status = 0;
      waitpid(w.pid, &status, 0);
      CHECK_MESSAGE(WIFEXITED(status), w.log);
      CHECK_MESSAGE(WEXITSTATUS(status) == 0, queue_test::read_log(w));
    }
  }

  // Every upload ended as expected; the bucket holds exactly the results'
  // objects (nothing staged, no duplicate); no multipart upload is open.
  void check_end_state() {
    int completed = 0;
    std::set<std::string> expected;
    for (auto& entry : expect_ok) {
      const std::string& id = entry.first;  // no structured binding: doctest's macros capture it
      const bool good = entry.second;
      auto s = svc->status(id);
      REQUIRE(s.ok());
      if (!good) {
        CHECK_MESSAGE(s->state == UploadState::failed, id);
        CHECK(s->error_code != ErrorCode::ok);
        continue;
      }
      CHECK_MESSAGE(s->state == UploadState::completed, id << ": " << s->error_message);
      if (!s->result) continue;
      ++completed;
      CHECK(s->result->thumbnails.size() == 3);
      expected.insert(s->result->original.key);
      for (auto& t : s->result->thumbnails) expected.insert(t.key);
      auto oi = svc->storage().stat(s->result->original.key);
      REQUIRE_MESSAGE(oi.ok(), oi.status().to_string());
      CHECK(oi->size == s->result->original.bytes);
      CHECK(oi->content_type == s->result->original.content_type);
      CHECK(oi->user_metadata["upload-id"] == id);
      CHECK(oi->user_metadata["sha256"] == s->result->metadata.at("sha256"));
    }
    auto listed = svc->storage().list_all("");
    REQUIRE(listed.ok());
    std::set<std::string> keys;
    for (auto& o : listed.value()) CHECK_MESSAGE(keys.insert(o.key).second, "duplicate " << o.key);
    auto staged = svc->storage().list_all(config.staging_prefix);
    REQUIRE(staged.ok());
    CHECK_MESSAGE(staged->empty(), staged->size() << " objects left under " << config.staging_prefix);
    CHECK(keys == expected);
    CHECK(keys.size() == static_cast<std::size_t>(completed) * 4);
    auto open = s3->list_multipart_uploads("");
    REQUIRE(open.ok());
    CHECK(open->empty());
    auto st = svc->queue().stats();
    REQUIRE(st.ok());
    CHECK(st->ready + st->delayed + st->in_flight + st->dead == 0);
    MESSAGE(completed << " completed, " << expect_ok.size() - completed << " failed (hostile)");
  }
};

bool empty_folder(const std::string& path) { return !std::filesystem::exists(path) || std::filesystem::is_empty(path); }

int upload_count() { return std::stoi(env_or("MS_STAGING_UPLOADS", "40")); }

}  // namespace

TEST_CASE("staging: two hosts that share no disk, only Redis and RGW") {
  Hosts h("ms-staging-hosts", 8);
  h.submit(upload_count());
  // The web side's folder holds the submitted files; the workers cannot see it.
  REQUIRE_FALSE(std::filesystem::is_empty(h.web + "/files"));
  std::vector<WorkerProc> workers = {h.spawn_worker(), h.spawn_worker()};
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!h.finished() && std::chrono::steady_clock::now() < deadline) {
    for (auto& w : workers) {
      int status = 0;
      // A worker that exited (say, because it saw the web folder) fails the test at once.
      REQUIRE_MESSAGE(waitpid(w.pid, &status, WNOHANG) == 0, queue_test::read_log(w));
    }
    std::this_thread::sleep_for(100ms);
  }
  const bool done = h.finished();
  h.stop(workers);
  REQUIRE_MESSAGE(done, "not every upload finished in time; see " << h.logs);
  h.check_end_state();
  // The workers' local copies are gone too.
  CHECK(empty_folder(h.worker_state + "/spool"));
}

TEST_CASE("staging: SIGKILLed workers on hosts that share no disk lose, duplicate and leave nothing") {
  Hosts h("ms-staging-kill", 9);
  // A web process that died in the middle of a multipart staged upload.
  auto mp = h.s3->create_multipart_upload(h.config.staging_prefix + "00000000-dead-4000-8000-000000000000", {});
  REQUIRE_MESSAGE(mp.ok(), mp.status().to_string());
  REQUIRE(h.s3->upload_part(h.config.staging_prefix + "00000000-dead-4000-8000-000000000000", mp.value(), 1,
                            std::string(5 << 20, 'x'))
              .ok());
  h.submit(upload_count());
  std::vector<WorkerProc> workers = {h.spawn_worker(), h.spawn_worker()};
  std::mt19937 rng(std::random_device{}());
  // A fixed number of kills at random moments, then the workers run to the
  // end: killing until the end could starve the large photos, whose
  // processing takes longer than the time between two kills.
  const int max_kills = std::stoi(env_or("MS_STAGING_KILLS", "12"));
  int kills = 0;
  const auto deadline = std::chrono::steady_clock::now() + 150s;
  while (!h.finished() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 600));
    if (kills >= max_kills) continue;
    const std::size_t w = rng() % workers.size();
    kill(workers[w].pid, SIGKILL);
    waitpid(workers[w].pid, nullptr, 0);
    ++kills;
    workers[w] = h.spawn_worker();
  }
  const bool done = h.finished();
  h.stop(workers);
  MESSAGE(h.expect_ok.size() << " uploads, " << kills << " worker processes SIGKILLed");
  REQUIRE_MESSAGE(done, "not every upload finished in time; see " << h.logs);
  // The killed workers' local copies had no name: nothing is left of them.
  CHECK(empty_folder(h.worker_state + "/spool"));

  // Cleanup as an operator runs it on a worker host (the workers' spool),
  // with no age threshold: orphan staged objects, stale multipart uploads.
  Config worker_config = h.config;
  worker_config.state_dir = h.worker_state;
  UploadOptions uo;
  uo.staging_orphan_age = 0s;
  auto cleaner = UploadService::open(worker_config, uo);
  REQUIRE_MESSAGE(cleaner.ok(), cleaner.status().to_string());
  auto rep = cleaner.value()->cleanup_failed_uploads(0s);
  REQUIRE_MESSAGE(rep.ok(), rep.status().to_string());
  CHECK(rep->multipart_uploads_aborted == 1);
  MESSAGE("cleanup: " << rep->staging_objects_removed << " orphan staged objects removed");
  h.check_end_state();
}
