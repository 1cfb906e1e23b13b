// The queue behaviour suite on Redis (a real redis-server: the ctest fixture
// `redis`, reached through MS_REDIS_URL), and a Redis restart in the middle
// of a run (on a private server this test starts and restarts itself).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "unit/queue/queue_suite.hpp"

namespace {

using namespace mediastore;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

queue_suite::Fixture redis_fixture(std::string url) {
  return {[url](const QueueOptions& o) -> std::shared_ptr<JobQueue> {
    REQUIRE_MESSAGE(!url.empty(), "MS_REDIS_URL is not set (run through ctest, which starts redis-server)");
    auto q = make_redis_queue(url, o);
    if (!q.ok()) FAIL_CHECK(q.status().to_string());
    return q.ok() ? q.value() : nullptr;
  }};
}

std::string log_path() {
  return (std::filesystem::temp_directory_path() / ("ms-queue-redis-" + std::to_string(getpid()) + ".log")).string();
}

int run(const std::string& cmd) { return std::system(cmd.c_str()); }

}  // namespace

MS_QUEUE_SUITE("redis", redis_fixture(env("MS_REDIS_URL")))
MS_QUEUE_MULTIPROCESS_SUITE("redis", redis_fixture(env("MS_REDIS_URL")), log_path())

// prefix + rest without `"literal" + std::string&&`, which g++ 12 at -O3
// flags with a -Wrestrict false positive (GCC PR 105651).
static std::string prefixed(const char* prefix, const std::string& rest) {
  std::string s(prefix);
  s += rest;
  return s;
}

TEST_CASE("redis: bad URLs and wrong addresses are reported") {
  CHECK(make_redis_queue("redis://127.0.0.1:notaport/0").status().is(ErrorCode::invalid_argument));
  CHECK(make_redis_queue("127.0.0.1:6379").status().is(ErrorCode::invalid_argument));
  auto s = make_redis_queue("redis://127.0.0.1:1/0").status();
  CHECK(s.is(ErrorCode::unavailable));
  CHECK(s.message().find("127.0.0.1:1") != std::string::npos);
}

TEST_CASE("redis: a restart in the middle of a run loses nothing") {
  std::string script = env("MS_REDIS_SCRIPT");
  std::string dir = env("MS_REDIS_RESTART_DIR");
  std::string port = env("MS_REDIS_RESTART_PORT");
  REQUIRE_MESSAGE(!script.empty(), "MS_REDIS_SCRIPT/MS_REDIS_RESTART_DIR/MS_REDIS_RESTART_PORT not set");
  std::filesystem::remove_all(dir);
  REQUIRE(run(script + " start " + dir + " " + port + " >/dev/null") == 0);
  struct Stop {
    std::string cmd;
    ~Stop() { std::system(cmd.c_str()); }
  } stop{script + " stop " + dir + " >/dev/null"};

  QueueOptions o;
  o.name = "restart";
  auto qr = make_redis_queue("redis://127.0.0.1:" + port + "/3", o);
  REQUIRE_MESSAGE(qr.ok(), qr.status().to_string());
  auto q = qr.value();
  constexpr int kJobs = 60;
  for (int i = 0; i < kJobs; ++i)
    REQUIRE(q->enqueue(prefixed("j", std::to_string(i)), prefixed("p", std::to_string(i))).ok());
  REQUIRE(q->put_record({"rec", "processing", {}, "body"}).ok());
  auto leased = q->lease(10, std::chrono::milliseconds(1500), std::chrono::milliseconds(0));
  REQUIRE(leased.ok());
  REQUIRE(leased->size() == 10);
  std::set<std::string> acked;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(q->ack(leased.value()[i]).ok());
    acked.insert(leased.value()[i].id);
  }

  REQUIRE(run(script + " stop " + dir + " >/dev/null") == 0);
  // While Redis is down, calls fail with unavailable (transient), never hang.
  CHECK(q->enqueue("during", "x").is(ErrorCode::unavailable));
  CHECK(q->stats().status().is(ErrorCode::unavailable));
  REQUIRE(run(script + " start " + dir + " " + port + " >/dev/null") == 0);

  // The same handle reconnects; everything is still there.
  auto st = q->stats();
  REQUIRE_MESSAGE(st.ok(), st.status().to_string());
  CHECK(st->ready == kJobs - 10);
  CHECK(st->in_flight == 5);
  auto rec = q->get_record("rec");
  REQUIRE(rec.ok());
  CHECK(rec->body == "body");
  // The lease held across the restart still works for its holder...
  LeasedJob held = leased.value()[5];
  CHECK(q->heartbeat(held, std::chrono::milliseconds(200)).ok());
  // ...and every job not acked is delivered again, exactly the missing ones.
  std::set<std::string> drained;
  for (;;) {
    auto jobs = q->lease(20, std::chrono::seconds(10), std::chrono::milliseconds(2500));
    REQUIRE(jobs.ok());
    if (jobs->empty()) break;
    for (auto& j : jobs.value()) {
      CHECK(drained.insert(j.id).second);
      CHECK(j.payload == prefixed("p", j.id.substr(1)));
      CHECK(q->ack(j).ok());
    }
  }
  CHECK(drained.size() == static_cast<std::size_t>(kJobs - 5));
  for (auto& id : acked) CHECK(drained.count(id) == 0);
  st = q->stats();
  REQUIRE(st.ok());
  CHECK(st->ready + st->in_flight + st->delayed + st->dead == 0);
}
