// Uploads through 2 `mediastore worker` processes that are SIGKILLed at
// random moments and restarted: every upload must end completed (or failed
// for the hostile files mixed in), with no duplicate or orphan objects, no
// spool file left behind and nothing left in the queue. Finally SIGTERM
// stops the workers, which must exit 0.
//
// Environment: MS_CLI (the mediastore binary), MS_KILL_QUEUE (sqlite|redis),
// MS_REDIS_URL (redis), MS_KILL_UPLOADS (default 1000).
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "mediastore/upload.hpp"
#include "queue/worker_proc.hpp"
#include "unit/upload/upload_support.hpp"

using namespace mediastore;
using namespace std::chrono_literals;

using queue_test::env_or;
using queue_test::ready;
using queue_test::spawn_worker;
using queue_test::WorkerProc;

TEST_CASE("uploads survive SIGKILLed worker processes") {
  const std::string cli = env_or("MS_CLI", "");
  REQUIRE_MESSAGE(!cli.empty(), "MS_CLI must name the mediastore binary");
  const std::string kind = env_or("MS_KILL_QUEUE", "sqlite");
  const int n = std::stoi(env_or("MS_KILL_UPLOADS", "1000"));
  upload_test::TempDir dir;
  const std::string root = dir.path() + "/media";
  std::filesystem::create_directories(root);
  setenv("MEDIA_STORAGE_BACKEND", "local", 1);
  setenv("MEDIA_ROOT", root.c_str(), 1);
  setenv("MEDIA_QUEUE_BACKEND", kind.c_str(), 1);
  if (kind == "redis") {
    std::string url = env_or("MS_REDIS_URL", "");
    REQUIRE_MESSAGE(!url.empty(), "MS_REDIS_URL is not set");
    // A database of its own, emptied first (the fixture server is shared).
    url = url.substr(0, url.rfind('/')) + "/7";
    std::string port = url.substr(url.rfind(':') + 1);
    port = port.substr(0, port.find('/'));
    REQUIRE(std::system(("redis-cli -p " + port + " -n 7 flushdb >/dev/null").c_str()) == 0);
    setenv("MEDIA_QUEUE_URL", url.c_str(), 1);
  } else {
    setenv("MEDIA_QUEUE_URL", (dir.path() + "/queue.db").c_str(), 1);
  }
  auto config = Config::from_environment();
  REQUIRE(config.ok());
  UploadOptions uo;
  uo.max_attempts = 100;
  auto svc_r = UploadService::open(config.value(), uo);
  REQUIRE_MESSAGE(svc_r.ok(), svc_r.status().to_string());
  auto svc = svc_r.value();

  // Small photos of varied sizes; every 10th upload hostile.
  std::map<std::string, bool> expect_ok;
  for (int i = 0; i < n; ++i) {
    UploadRequest r;
    bool hostile = i % 10 == 7;
    if (hostile) {
      switch (i % 3) {
        case 0: r.data = upload_test::hostile_html(); break;
        case 1: r.data = "GIF89a<?php system($_GET['c']); ?>"; break;
        default: {
          std::string j = upload_test::make_jpeg(64, 48, i);
          r.data = j.substr(0, j.size() / 2);
        }
      }
    } else {
      r.data = upload_test::make_jpeg(48 + (i % 5) * 16, 40 + (i % 3) * 16, i);
    }
    r.original_filename = "photo" + std::to_string(i) + ".jpg";
    auto id = svc->submit_upload(r);
    REQUIRE_MESSAGE(id.ok(), id.status().to_string());
    expect_ok[id.value()] = !hostile;
  }

  const std::string log = dir.path();
  WorkerProc workers[2] = {spawn_worker(cli, log), spawn_worker(cli, log)};
  std::mt19937 rng(std::random_device{}());
  int kills = 0;
  auto finished = [&] {
    auto m = svc->metrics();
    if (!m.ok()) return false;
    return m->states["completed"] + m->states["failed"] >= static_cast<std::uint64_t>(n);
  };
  auto deadline = std::chrono::steady_clock::now() + 240s;
  while (!finished() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 500));
    int w = static_cast<int>(rng() % 2);
    kill(workers[w].pid, SIGKILL);
    waitpid(workers[w].pid, nullptr, 0);
    ++kills;
    workers[w] = spawn_worker(cli, log);
  }
  bool done = finished();
  // A graceful stop: SIGTERM, exit 0.
  for (auto& w : workers)
    for (int i = 0; i < 1000 && !ready(w); ++i) std::this_thread::sleep_for(10ms);
  for (auto& w : workers) kill(w.pid, SIGTERM);
  for (auto& w : workers) {
    int status = 0;
    waitpid(w.pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  MESSAGE(kind << ": " << n << " uploads, " << kills << " worker processes SIGKILLed");
  REQUIRE_MESSAGE(done, "not every upload finished in time; see " << log << "/worker-*.log");

  // Every upload ended as expected; objects exactly as the result says.
  int completed = 0, failed = 0;
  std::set<std::string> expected_keys;
  for (auto& entry : expect_ok) {
    const std::string& id = entry.first;
    const bool good = entry.second;
    auto s = svc->status(id);
    REQUIRE(s.ok());
    if (good) {
      CHECK_MESSAGE(s->state == UploadState::completed, id << ": " << s->error_message);
      if (s->result) {
        CHECK(s->result->thumbnails.size() == 3);
        expected_keys.insert(s->result->original.key);
        for (auto& t : s->result->thumbnails) expected_keys.insert(t.key);
      }
      ++completed;
    } else {
      CHECK(s->state == UploadState::failed);
      CHECK(s->error_code != ErrorCode::ok);
      ++failed;
    }
  }
  auto listed = svc->storage().list_all("");
  REQUIRE(listed.ok());
  std::set<std::string> keys;
  for (auto& o : listed.value()) CHECK_MESSAGE(keys.insert(o.key).second, "duplicate " << o.key);
  CHECK(keys == expected_keys);  // no orphan, none missing
  CHECK(keys.size() == static_cast<std::size_t>(completed) * 4);
  // No spool file left.
  std::size_t spool_left = 0;
  if (std::filesystem::exists(config->effective_spool_dir()))
    for (auto& e : std::filesystem::directory_iterator(config->effective_spool_dir())) {
      (void)e;
      ++spool_left;
    }
  CHECK(spool_left == 0);
  auto st = svc->queue().stats();
  REQUIRE(st.ok());
  CHECK(st->ready + st->delayed + st->in_flight + st->dead == 0);
  MESSAGE(completed << " completed, " << failed << " failed (hostile)");
}
