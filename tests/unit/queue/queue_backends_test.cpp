// The queue behaviour suite on the memory and sqlite backends (redis: see
// tests/queue/, which needs the redis-server fixture).
#include <unistd.h>

#include <filesystem>

#include "unit/queue/queue_suite.hpp"

namespace {

using namespace mediastore;

// One folder per test process, removed at exit.
const std::string& temp_dir() {
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("ms-queue-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  static const struct Cleanup {
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
    std::string dir;
  } cleanup{dir};
  return dir;
}

queue_suite::Fixture memory_fixture() {
  // One in-process queue per name, shared by every handle with that name.
  auto queues = std::make_shared<std::map<std::string, std::shared_ptr<JobQueue>>>();
  auto mu = std::make_shared<std::mutex>();
  return {[queues, mu](const QueueOptions& o) {
    std::lock_guard lock(*mu);
    auto& q = (*queues)[o.name];
    if (!q) q = make_memory_queue(o);
    return q;
  }};
}

queue_suite::Fixture sqlite_fixture() {
  return {[](const QueueOptions& o) -> std::shared_ptr<JobQueue> {
    auto q = make_sqlite_queue(temp_dir() + "/" + o.name + ".db", o);
    if (!q.ok()) FAIL_CHECK(q.status().to_string());
    return q.ok() ? q.value() : nullptr;
  }};
}

}  // namespace

MS_QUEUE_SUITE("memory", memory_fixture())
MS_QUEUE_SUITE("sqlite", sqlite_fixture())
MS_QUEUE_MULTIPROCESS_SUITE("sqlite", sqlite_fixture(), temp_dir() + "/busy.log")

TEST_CASE("sqlite: one file holds several named queues; sqlite:// prefix") {
  QueueOptions a, b;
  a.name = "qa";
  b.name = "qb";
  auto path = temp_dir() + "/shared.db";
  auto qa = make_sqlite_queue("sqlite://" + path, a);
  auto qb = make_sqlite_queue(path, b);
  REQUIRE(qa.ok());
  REQUIRE(qb.ok());
  REQUIRE(qa.value()->enqueue("x", "1").ok());
  CHECK(qb.value()->enqueue("x", "2").ok());
  CHECK(qb.value()->stats()->ready == 1);
  QueueOptions bad;
  bad.name = "no spaces";
  CHECK(make_sqlite_queue(path, bad).status().is(ErrorCode::invalid_argument));
  CHECK_FALSE(make_sqlite_queue("/proc/no-such-dir/y.db").ok());
  CHECK(make_sqlite_queue(temp_dir() + "/new/sub/dir/q.db").ok());
}

TEST_CASE("sqlite: ?synchronous= option") {
  QueueOptions o;
  o.name = "sync";
  auto path = temp_dir() + "/sync.db";
  auto normal = make_sqlite_queue("sqlite://" + path + "?synchronous=normal", o);
  REQUIRE(normal.ok());
  REQUIRE(normal.value()->enqueue("a", "1").ok());
  // The option is not part of the file name: the default opens the same file.
  auto full = make_sqlite_queue(path + "?synchronous=full", o);
  REQUIRE(full.ok());
  CHECK(full.value()->contains("a").value());
  CHECK(std::filesystem::exists(path));
  CHECK(make_sqlite_queue(path + "?synchronous=off", o).status().is(ErrorCode::invalid_argument));
  CHECK(make_sqlite_queue(path + "?journal=delete", o).status().is(ErrorCode::invalid_argument));
}

TEST_CASE("make_queue follows the configuration") {
  Config c;
  c.media_root = temp_dir() + "/media";
  auto m = make_queue(c);
  REQUIRE(m.ok());
  CHECK(m.value()->backend_name() == "memory");
  c.queue = QueueKind::sqlite;
  auto s = make_queue(c);
  REQUIRE(s.ok());
  CHECK(s.value()->backend_name() == "sqlite");
  // The default file is in the state folder, a sibling of MEDIA_ROOT.
  CHECK(std::filesystem::exists(temp_dir() + "/media.state/queue.sqlite3"));
  CHECK_FALSE(std::filesystem::exists(c.media_root));
  c.queue = QueueKind::redis;
  CHECK(make_queue(c).status().is(ErrorCode::invalid_argument));
  c.queue_url = "http://nope";
  CHECK(make_queue(c).status().is(ErrorCode::invalid_argument));
  c.queue_url = "redis://127.0.0.1:1/0";  // nothing listens on port 1
  CHECK(make_queue(c).status().is(ErrorCode::unavailable));
}
