// The queue behaviour suite: every JobQueue backend must pass it.
//
//   MS_QUEUE_SUITE("sqlite", fixture)               in-process behaviour
//   MS_QUEUE_MULTIPROCESS_SUITE("sqlite", fixture)  SIGKILLed worker processes
//
// fixture.open(options) opens the backend; called again (also in a forked
// child) with the same options it must reach the same queue.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "mediastore/queue.hpp"
#include "support/gcc_workarounds.hpp"

// The suite builds many names as "prefix" + std::string: g++ 12 -O3 raises
// the -Wrestrict false positive of GCC PR 105651 at several of them.
MS_GCC_STRING_WRESTRICT_BEGIN

namespace queue_suite {

using namespace mediastore;
using namespace std::chrono_literals;

struct Fixture {
  std::function<std::shared_ptr<JobQueue>(const QueueOptions&)> open;
};

inline QueueOptions fresh_options(int max_attempts = 5) {
  QueueOptions o;
  o.name = "t" + detail::random_hex(6);
  o.max_attempts = max_attempts;
  return o;
}

inline std::shared_ptr<JobQueue> must_open(const Fixture& fx, const QueueOptions& o) {
  auto q = fx.open(o);
  REQUIRE(q);
  return q;
}

inline std::vector<LeasedJob> must_lease(JobQueue& q, std::size_t n, std::chrono::milliseconds lease_for,
                                         std::chrono::milliseconds wait) {
  auto r = q.lease(n, lease_for, wait);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  return r.value();
}

inline void basics(const Fixture& fx) {
  auto q = must_open(fx, fresh_options());
  CHECK(q->enqueue("a", "payload-a").ok());
  CHECK(q->enqueue("b", std::string("bin\0ary", 7)).ok());
  CHECK(q->enqueue("a", "again").is(ErrorCode::already_exists));
  CHECK(q->enqueue("", "x").is(ErrorCode::invalid_argument));
  auto st = q->stats();
  REQUIRE(st.ok());
  CHECK(st->ready == 2);
  CHECK(st->in_flight == 0);

  auto jobs = must_lease(*q, 10, 5s, 0ms);
  REQUIRE(jobs.size() == 2);
  std::map<std::string, LeasedJob> by_id;
  for (auto& j : jobs) by_id[j.id] = j;
  CHECK(by_id["a"].payload == "payload-a");
  CHECK(by_id["b"].payload == std::string("bin\0ary", 7));
  CHECK(by_id["a"].attempt == 1);
  CHECK(by_id["a"].lease_token != by_id["b"].lease_token);
  CHECK(by_id["a"].lease_expires > std::chrono::system_clock::now());
  st = q->stats();
  CHECK(st->ready == 0);
  CHECK(st->in_flight == 2);

  // Nothing else to lease: returns empty after the wait.
  CHECK(must_lease(*q, 1, 5s, 50ms).empty());
  // A leased id is still unique.
  CHECK(q->enqueue("a", "again").is(ErrorCode::already_exists));

  CHECK(q->ack(by_id["a"]).ok());
  CHECK(q->ack(by_id["b"]).ok());
  st = q->stats();
  CHECK(st->in_flight == 0);
  CHECK(st->ready == 0);
  // Once acked the id may be used again.
  CHECK(q->enqueue("a", "third").ok());
}

inline void lease_waits_for_enqueue(const Fixture& fx) {
  auto opts = fresh_options();
  auto q = must_open(fx, opts);
  auto producer = must_open(fx, opts);
  std::thread t([&] {
    std::this_thread::sleep_for(100ms);
    CHECK(producer->enqueue("late", "x").ok());
  });
  auto jobs = must_lease(*q, 1, 5s, 10s);
  t.join();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == "late");
}

inline void expired_lease_requeues(const Fixture& fx) {
  auto q = must_open(fx, fresh_options());
  REQUIRE(q->enqueue("j", "p").ok());
  auto first = must_lease(*q, 1, 300ms, 0ms);
  REQUIRE(first.size() == 1);
  auto t0 = std::chrono::steady_clock::now();
  // Not available again while the lease runs (only the expiry gives it back).
  CHECK(must_lease(*q, 1, 300ms, 0ms).empty());
  // It comes back within the lease plus a little (the wait bounds it).
  auto second = must_lease(*q, 1, 5s, 1500ms);
  REQUIRE(second.size() == 1);
  CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
  CHECK(second[0].id == "j");
  CHECK(second[0].attempt == 2);
  CHECK(second[0].lease_token != first[0].lease_token);
  // The old holder lost it: every call with the old token is refused.
  CHECK(q->heartbeat(first[0], 5s).is(ErrorCode::conflict));
  CHECK(q->ack(first[0]).is(ErrorCode::conflict));
  CHECK(q->nack(first[0], std::chrono::system_clock::now(), "x").status().is(ErrorCode::conflict));
  CHECK(q->ack(second[0]).ok());
}

inline void heartbeat_keeps_lease(const Fixture& fx) {
  auto q = must_open(fx, fresh_options());
  REQUIRE(q->enqueue("hb", "p").ok());
  auto jobs = must_lease(*q, 1, 600ms, 0ms);
  REQUIRE(jobs.size() == 1);
  auto before = jobs[0].lease_expires;
  // For over two lease durations, heartbeating keeps anyone else from getting it.
  auto end = std::chrono::steady_clock::now() + 1500ms;
  int beats = 0;
  while (std::chrono::steady_clock::now() < end) {
    REQUIRE(q->heartbeat(jobs[0], 600ms).ok());
    ++beats;
    CHECK(must_lease(*q, 1, 600ms, 100ms).empty());
  }
  CHECK(beats >= 3);
  CHECK(jobs[0].lease_expires > before);
  CHECK(q->ack(jobs[0]).ok());
  CHECK(q->ack(jobs[0]).ok());  // idempotent
  auto st = q->stats();
  CHECK(st->in_flight == 0);
  CHECK(st->ready == 0);
  // A heartbeat after the ack finds no lease.
  CHECK(q->heartbeat(jobs[0], 300ms).is(ErrorCode::conflict));
}

inline void nack_retries_later(const Fixture& fx) {
  auto q = must_open(fx, fresh_options());
  REQUIRE(q->enqueue("n", "p").ok());
  auto jobs = must_lease(*q, 1, 5s, 0ms);
  REQUIRE(jobs.size() == 1);
  auto out = q->nack(jobs[0], std::chrono::system_clock::now() + 1h, "network_error: reset");
  REQUIRE(out.ok());
  CHECK(out.value() == NackOutcome::retry_scheduled);
  auto st = q->stats();
  CHECK(st->delayed == 1);
  CHECK(st->ready == 0);
  CHECK(st->in_flight == 0);
  CHECK(must_lease(*q, 1, 5s, 0ms).empty());
  // A job whose retry time has come is leased again with its history.
  REQUIRE(q->remove("n").ok());
  REQUIRE(q->enqueue("m", "p").ok());
  jobs = must_lease(*q, 1, 5s, 0ms);
  REQUIRE(jobs.size() == 1);
  REQUIRE(q->nack(jobs[0], std::chrono::system_clock::now(), "timeout: slow").ok());
  auto again = must_lease(*q, 1, 5s, 2s);
  REQUIRE(again.size() == 1);
  CHECK(again[0].id == "m");
  CHECK(again[0].attempt == 2);
  CHECK(again[0].last_error == "timeout: slow");
  CHECK(q->ack(again[0]).ok());
}

inline void dead_letter_after_max_attempts(const Fixture& fx) {
  auto q = must_open(fx, fresh_options(2));
  REQUIRE(q->enqueue("d", "payload").ok());
  auto j1 = must_lease(*q, 1, 5s, 0ms);
  REQUIRE(j1.size() == 1);
  CHECK(q->nack(j1[0], std::chrono::system_clock::now(), "first").value() == NackOutcome::retry_scheduled);
  auto j2 = must_lease(*q, 1, 5s, 2s);
  REQUIRE(j2.size() == 1);
  CHECK(j2[0].attempt == 2);
  CHECK(q->nack(j2[0], std::chrono::system_clock::now(), "second").value() == NackOutcome::dead_lettered);
  CHECK(must_lease(*q, 1, 5s, 50ms).empty());
  auto st = q->stats();
  CHECK(st->dead == 1);
  CHECK(st->ready + st->delayed + st->in_flight == 0);
  auto dead = q->dead_letters(10);
  REQUIRE(dead.ok());
  REQUIRE(dead->size() == 1);
  CHECK(dead.value()[0].id == "d");
  CHECK(dead.value()[0].payload == "payload");
  CHECK(dead.value()[0].attempts == 2);
  CHECK(dead.value()[0].last_error == "second");
  CHECK(q->ack(j2[0]).is(ErrorCode::conflict));  // a dead job is not acked away silently
  CHECK(q->enqueue("d", "x").is(ErrorCode::already_exists));
  CHECK(q->remove("d").ok());
  CHECK(q->dead_letters(10)->empty());
  CHECK(q->enqueue("d", "x").ok());
}

inline void expired_last_attempt_dead_letters(const Fixture& fx) {
  auto q = must_open(fx, fresh_options(1));
  REQUIRE(q->enqueue("e", "p").ok());
  REQUIRE(must_lease(*q, 1, 150ms, 0ms).size() == 1);
  std::this_thread::sleep_for(300ms);
  auto moved = q->requeue_expired();
  REQUIRE(moved.ok());
  CHECK(moved.value() == 1);
  CHECK(must_lease(*q, 1, 5s, 0ms).empty());
  auto dead = q->dead_letters(10);
  REQUIRE(dead->size() == 1);
  CHECK(dead.value()[0].last_error == "lease expired");
}

inline void delayed_enqueue(const Fixture& fx) {
  auto q = must_open(fx, fresh_options());
  REQUIRE(q->enqueue("later", "p", std::chrono::system_clock::now() + 1h).ok());
  REQUIRE(q->enqueue("now", "p").ok());
  auto jobs = must_lease(*q, 10, 5s, 0ms);
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == "now");
  CHECK(q->stats()->delayed == 1);
}

inline void remove_cancels(const Fixture& fx) {
  auto q = must_open(fx, fresh_options());
  REQUIRE(q->enqueue("r1", "p").ok());
  REQUIRE(q->enqueue("r2", "p").ok());
  CHECK(q->contains("r1").value());
  CHECK_FALSE(q->contains("zz").value());
  CHECK(q->remove("r1").ok());
  CHECK(q->remove("r1").ok());
  CHECK_FALSE(q->contains("r1").value());
  auto jobs = must_lease(*q, 10, 5s, 0ms);
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == "r2");
  CHECK(q->remove("r2").ok());  // even while leased
  CHECK(q->heartbeat(jobs[0], 1s).is(ErrorCode::conflict));
  CHECK(q->stats()->in_flight == 0);
}

inline void records(const Fixture& fx) {
  auto opts = fresh_options();
  auto q = must_open(fx, opts);
  auto other = must_open(fx, opts);  // another handle on the same backend
  auto r = q->get_record("nope");
  CHECK(r.status().is(ErrorCode::not_found));
  CHECK(r.status().message().find("nope") != std::string::npos);
  auto t0 = std::chrono::system_clock::now() - 10min;
  REQUIRE(q->put_record({"u1", "pending", t0, "{\"a\":1}"}).ok());
  REQUIRE(q->put_record({"u2", "failed", t0 + 1min, "two"}).ok());
  REQUIRE(q->put_record({"u3", "failed", t0 + 2min, std::string("th\0ree", 6)}).ok());
  REQUIRE(q->put_record({"u1", "failed", {}, "one"}).ok());  // replaces; time = now
  auto got = other->get_record("u1");
  REQUIRE(got.ok());
  CHECK(got->state == "failed");
  CHECK(got->body == "one");
  CHECK(got->updated_at > t0 + 5min);
  CHECK(other->get_record("u3")->body == std::string("th\0ree", 6));
  auto old = other->list_records("failed", t0 + 5min, 10);
  REQUIRE(old.ok());
  REQUIRE(old->size() == 2);
  CHECK(old.value()[0].id == "u2");
  CHECK(old.value()[1].id == "u3");
  CHECK(other->list_records("failed", t0 + 5min, 1)->size() == 1);
  CHECK(other->list_records("pending", std::chrono::system_clock::now() + 1h, 10)->empty());
  auto counts = other->count_records();
  REQUIRE(counts.ok());
  CHECK(counts.value()["failed"] == 3);
  CHECK(counts.value().count("pending") == 0);
  CHECK(q->remove_record("u2").ok());
  CHECK(q->remove_record("u2").ok());
  CHECK(other->get_record("u2").status().is(ErrorCode::not_found));
  CHECK(other->count_records().value()["failed"] == 2);
}

inline std::vector<std::string> ids_of(const Result<std::vector<JobRecord>>& r) {
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  std::vector<std::string> out;
  for (auto& rec : r.value()) out.push_back(rec.id);
  return out;
}

// Tags (put_record with tags) and list_records_by_tag / list_records_since,
// seen through another handle: tags follow the record's replacement and
// removal; the queries answer oldest first, bounded by limit.
inline void record_tags_and_since(const Fixture& fx) {
  auto opts = fresh_options();
  auto q = must_open(fx, opts);
  auto other = must_open(fx, opts);
  using V = std::vector<std::string>;
  // Whole milliseconds: the backends keep times in ms.
  const SystemTime t0 =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() - 10min);
  REQUIRE(q->put_record({"a", "pending", t0, "A"}, {"keep=1", "user=x"}).ok());
  REQUIRE(q->put_record({"b", "completed", t0 + 1min, "B"}, {"keep=1", "keep=1"}).ok());  // duplicate counts once
  REQUIRE(q->put_record({"c", "completed", t0 + 2min, "C"}, {"keep=2"}).ok());
  REQUIRE(q->put_record({"d", "failed", t0 + 3min, "D"}).ok());
  CHECK(ids_of(other->list_records_by_tag("keep=1", 10)) == V{"a", "b"});
  CHECK(ids_of(other->list_records_by_tag("keep=1", 1)) == V{"a"});
  CHECK(ids_of(other->list_records_by_tag("user=x", 10)) == V{"a"});
  CHECK(ids_of(other->list_records_by_tag("keep=3", 10)).empty());
  auto full = other->list_records_by_tag("keep=2", 10);
  REQUIRE(full.ok());
  REQUIRE(full->size() == 1);
  CHECK(full.value()[0].state == "completed");
  CHECK(full.value()[0].body == "C");
  CHECK(full.value()[0].updated_at == t0 + 2min);
  // A put replaces the tags; a put without tags drops them; so does removal.
  REQUIRE(q->put_record({"a", "completed", t0 + 4min, "A2"}, {"keep=2"}).ok());
  CHECK(ids_of(other->list_records_by_tag("keep=1", 10)) == V{"b"});
  CHECK(ids_of(other->list_records_by_tag("user=x", 10)).empty());
  CHECK(ids_of(other->list_records_by_tag("keep=2", 10)) == V{"c", "a"});
  REQUIRE(q->put_record({"b", "completed", t0 + 1min, "B"}).ok());
  CHECK(ids_of(other->list_records_by_tag("keep=1", 10)).empty());
  REQUIRE(q->remove_record("c").ok());
  CHECK(ids_of(other->list_records_by_tag("keep=2", 10)) == V{"a"});
  // Bad tags are refused, naming the problem; the record is not written.
  Status bad = q->put_record({"e", "pending", {}, "E"}, {"ok", std::string("bad\ntag")});
  CHECK(bad.is(ErrorCode::invalid_argument));
  CHECK(bad.message().find("control characters") != std::string::npos);
  CHECK(q->put_record({"e", "pending", {}, "E"}, {""}).is(ErrorCode::invalid_argument));
  CHECK(q->put_record({"e", "pending", {}, "E"}, {std::string(513, 't')}).is(ErrorCode::invalid_argument));
  CHECK(other->get_record("e").status().is(ErrorCode::not_found));

  // Since: at or after the time, per state, oldest first.
  CHECK(ids_of(other->list_records_since("completed", t0, 10)) == V{"b", "a"});
  CHECK(ids_of(other->list_records_since("completed", t0 + 1min, 10)) == V{"b", "a"});
  CHECK(ids_of(other->list_records_since("completed", t0 + 1min + 1ms, 10)) == V{"a"});
  CHECK(ids_of(other->list_records_since("completed", t0, 1)) == V{"b"});
  CHECK(ids_of(other->list_records_since("failed", t0, 10)) == V{"d"});
  CHECK(ids_of(other->list_records_since("failed", t0 + 3min + 1ms, 10)).empty());
  CHECK(ids_of(other->list_records_since("completed", t0, 0)).empty());
}

// create_record: one winner among handles and threads racing on one id; the
// loser's body never overwrites the winner's.
inline void create_record_once(const Fixture& fx) {
  auto opts = fresh_options();
  auto q = must_open(fx, opts);
  auto other = must_open(fx, opts);
  CHECK(q->create_record({"", "used", {}, ""}).is(ErrorCode::invalid_argument));
  REQUIRE(q->create_record({"n1", "used", {}, "first"}).ok());
  Status again = other->create_record({"n1", "used", {}, "second"});
  CHECK(again.is(ErrorCode::already_exists));
  CHECK(again.message().find("n1") != std::string::npos);
  CHECK(other->get_record("n1")->body == "first");
  CHECK(other->count_records().value()["used"] == 1);
  // After removal the id can be created again.
  REQUIRE(q->remove_record("n1").ok());
  CHECK(other->create_record({"n1", "used", {}, "third"}).ok());

  constexpr int kThreads = 8;
  std::atomic<int> winners{0}, losers{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto h = i % 2 == 0 ? q : other;
      Status s = h->create_record({"race", "used", {}, std::to_string(i)});
      if (s.ok()) ++winners;
      if (s.is(ErrorCode::already_exists)) ++losers;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(winners.load() == 1);
  CHECK(losers.load() == kThreads - 1);
}

inline void concurrent_consumers_get_each_job_once(const Fixture& fx) {
  auto opts = fresh_options();
  auto q = must_open(fx, opts);
  constexpr int kJobs = 300;
  for (int i = 0; i < kJobs; ++i) REQUIRE(q->enqueue("c" + std::to_string(i), std::to_string(i)).ok());
  std::mutex mu;
  std::multiset<std::string> seen;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto mine = fx.open(opts);  // separate handles, like separate workers
      if (!mine) {
        errors++;
        return;
      }
      for (;;) {
        auto jobs = mine->lease(7, 10s, 100ms);
        if (!jobs.ok()) {
          errors++;
          return;
        }
        if (jobs->empty()) return;
        for (auto& j : jobs.value()) {
          {
            std::lock_guard lock(mu);
            seen.insert(j.id);
          }
          if (!mine->ack(j).ok()) errors++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors.load() == 0);
  CHECK(seen.size() == static_cast<std::size_t>(kJobs));
  std::set<std::string> unique(seen.begin(), seen.end());
  CHECK(unique.size() == static_cast<std::size_t>(kJobs));
  auto st = q->stats();
  CHECK(st->ready + st->in_flight + st->delayed + st->dead == 0);
}

// enqueue_batch / ack_batch: one Status per job, each what the single call
// would have returned; batches larger than a backend's chunk.
inline void batch_calls(const Fixture& fx) {
  auto q = must_open(fx, fresh_options());
  CHECK(q->enqueue_batch({}).empty());
  CHECK(q->ack_batch({}).empty());
  REQUIRE(q->enqueue("old", "x").ok());
  auto later = std::chrono::system_clock::now() + 1h;
  std::vector<NewJob> jobs{{"b1", "p1", {}},   {"old", "dup", {}},         {"b2", std::string("bi\0n", 4), {}},
                           {"", "bad id", {}}, {"b1", "dup in batch", {}}, {"late", "p", later}};
  auto res = q->enqueue_batch(jobs);
  REQUIRE(res.size() == jobs.size());
  CHECK(res[0].ok());
  CHECK(res[1].is(ErrorCode::already_exists));
  CHECK(res[2].ok());
  CHECK(res[3].is(ErrorCode::invalid_argument));
  CHECK(res[4].is(ErrorCode::already_exists));
  CHECK(res[5].ok());
  auto st = q->stats();
  REQUIRE(st.ok());
  CHECK(st->ready == 3);
  CHECK(st->delayed == 1);

  auto leased = must_lease(*q, 10, 5s, 0ms);
  REQUIRE(leased.size() == 3);
  std::map<std::string, LeasedJob> by_id;
  for (auto& j : leased) by_id[j.id] = j;
  CHECK(by_id["b1"].payload == "p1");
  CHECK(by_id["b2"].payload == std::string("bi\0n", 4));
  LeasedJob stale = by_id["old"];
  stale.lease_token = "not-the-token";
  std::vector<LeasedJob> acks{by_id["b1"], stale, by_id["b2"]};
  auto ar = q->ack_batch(acks);
  REQUIRE(ar.size() == 3);
  CHECK(ar[0].ok());
  CHECK(ar[1].is(ErrorCode::conflict));
  CHECK(ar[2].ok());
  // Acking again is ok (gone); the right token for "old" still works.
  ar = q->ack_batch({by_id["b1"], by_id["old"]});
  CHECK(ar[0].ok());
  CHECK(ar[1].ok());
  CHECK(q->contains("late").value());
  CHECK_FALSE(q->contains("old").value());
  REQUIRE(q->remove("late").ok());

  // More jobs than one script / transaction chunk.
  std::vector<NewJob> many;
  for (int i = 0; i < 600; ++i) many.push_back(NewJob{"m" + std::to_string(i), std::to_string(i), {}});
  for (auto& r : q->enqueue_batch(many)) CHECK(r.ok());
  std::vector<LeasedJob> all;
  for (;;) {
    auto got = must_lease(*q, 128, 10s, 0ms);
    if (got.empty()) break;
    all.insert(all.end(), got.begin(), got.end());
  }
  CHECK(all.size() == 600);
  std::set<std::string> ids;
  for (auto& j : all) {
    ids.insert(j.id);
    CHECK(j.payload == j.id.substr(1));
  }
  CHECK(ids.size() == 600);
  for (auto& r : q->ack_batch(all)) CHECK(r.ok());
  st = q->stats();
  CHECK(st->ready + st->in_flight + st->delayed + st->dead == 0);
}

// Many threads on ONE queue object (SQLite coalesces their transactions):
// every call keeps its own outcome, every accepted job is delivered once. The
// producers enqueue the same ids; an id is refused while it is queued and
// accepted again once it was acked.
inline void threads_sharing_one_handle(const Fixture& fx) {
  auto q = must_open(fx, fresh_options());
  constexpr int kIds = 200;
  std::atomic<int> duplicates{0}, errors{0};
  std::mutex mu;
  std::multiset<std::string> seen, accepted;
  std::atomic<int> producers_left{3};
  std::vector<std::thread> threads;
  // Three producers enqueue the same ids: each id is accepted once.
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIds; ++i) {
        std::string id = "s" + std::to_string(i);
        Status s;
        if (t == 2 && i % 10 == 0) {
          auto r = q->enqueue_batch({NewJob{id, id, {}}, NewJob{id + "x", id, {}}});
          s = r[0];
          if (r[1].ok()) {
            std::lock_guard lock(mu);
            accepted.insert(id + "x");
          } else if (!r[1].is(ErrorCode::already_exists)) {
            errors++;
          }
        } else {
          s = q->enqueue(id, id);
        }
        if (s.ok()) {
          std::lock_guard lock(mu);
          accepted.insert(id);
        } else if (s.is(ErrorCode::already_exists)) {
          duplicates++;
        } else {
          errors++;
        }
      }
      producers_left--;
    });
  }
  // Three consumers: single acks, batch acks, and nack-once-then-ack.
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        bool last_round = producers_left.load() == 0;
        auto jobs = q->lease(5, 10s, 20ms);
        if (!jobs.ok()) {
          errors++;
          return;
        }
        if (jobs->empty()) {
          if (last_round) return;
          continue;
        }
        std::vector<LeasedJob> done;
        for (auto& j : jobs.value()) {
          if (t == 2 && j.attempt == 1) {
            auto n = q->nack(j, std::chrono::system_clock::now(), "once more");
            if (!n.ok() || n.value() != NackOutcome::retry_scheduled) errors++;
            continue;
          }
          {
            std::lock_guard lock(mu);
            seen.insert(j.id);
          }
          done.push_back(j);
        }
        if (t == 1) {
          for (auto& s : q->ack_batch(done))
            if (!s.ok()) errors++;
        } else {
          for (auto& j : done) {
            LeasedJob copy = j;
            if (!q->heartbeat(copy, 10s).ok()) errors++;
            if (!q->ack(j).ok()) errors++;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(errors.load() == 0);
  CHECK(accepted.size() + static_cast<std::size_t>(duplicates.load()) == 3 * kIds + kIds / 10);
  CHECK(accepted.size() >= kIds + kIds / 10);
  CHECK(seen == accepted);
  auto st = q->stats();
  REQUIRE(st.ok());
  CHECK(st->ready + st->in_flight + st->delayed + st->dead == 0);
}

// A worker process leases a job and is SIGKILLed: the job comes back.
inline void killed_worker_process_loses_nothing(const Fixture& fx) {
  auto opts = fresh_options();
  auto q = must_open(fx, opts);
  REQUIRE(q->enqueue("k", "payload-k").ok());
  // No connection of ours may cross fork() (SQLite forbids it).
  q.reset();
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    auto mine = fx.open(opts);
    if (!mine) _exit(2);
    auto jobs = mine->lease(1, std::chrono::milliseconds(400), std::chrono::milliseconds(5000));
    char c = (jobs.ok() && jobs->size() == 1) ? 'L' : 'E';
    if (write(fds[1], &c, 1) != 1) _exit(3);
    for (;;) pause();
  }
  close(fds[1]);
  char c = 0;
  REQUIRE(read(fds[0], &c, 1) == 1);
  close(fds[0]);
  CHECK(c == 'L');
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  q = must_open(fx, opts);
  auto jobs = must_lease(*q, 1, 5s, 3s);
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == "k");
  CHECK(jobs[0].payload == "payload-k");
  CHECK(jobs[0].attempt == 2);
  CHECK(q->ack(jobs[0]).ok());
}

// A busy worker process (lease, log, ack in a loop) is SIGKILLed at an
// arbitrary moment: every job was either logged as done or is still there.
inline void busy_worker_killed_at_random_loses_nothing(const Fixture& fx, const std::string& log_path) {
  auto opts = fresh_options();
  auto q = must_open(fx, opts);
  constexpr int kJobs = 400;
  for (int i = 0; i < kJobs; ++i) REQUIRE(q->enqueue("b" + std::to_string(i), "p").ok());
  q.reset();  // no connection of ours may cross fork()
  ::unlink(log_path.c_str());
  for (int round = 0; round < 3; ++round) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      auto mine = fx.open(opts);
      if (!mine || fd < 0) _exit(2);
      for (;;) {
        auto jobs = mine->lease(3, std::chrono::milliseconds(300), std::chrono::milliseconds(50));
        if (!jobs.ok()) continue;
        for (auto& j : jobs.value()) {
          std::string line = j.id + "\n";
          if (write(fd, line.data(), line.size()) < 0) _exit(3);
          (void)mine->ack(j);  // a lost ack re-delivers the job: what the test counts
        }
      }
    }
    unsigned delay = 20 + static_cast<unsigned>(detail::random_hex(1)[0]) % 60;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
  }
  std::set<std::string> done;
  {
    std::ifstream in(log_path);
    std::string line;
    while (std::getline(in, line)) done.insert(line);
  }
  // Drain the rest here (leases the dead processes held run out first).
  q = must_open(fx, opts);
  std::set<std::string> drained;
  for (;;) {
    auto jobs = must_lease(*q, 50, 10s, 1000ms);
    if (jobs.empty()) break;
    for (auto& j : jobs) {
      drained.insert(j.id);
      CHECK(q->ack(j).ok());
    }
  }
  std::set<std::string> all(done);
  all.insert(drained.begin(), drained.end());
  CHECK(all.size() == static_cast<std::size_t>(kJobs));
  auto st = q->stats();
  CHECK(st->ready + st->in_flight + st->delayed + st->dead == 0);
  MESSAGE("done by killed workers: " << done.size() << ", drained after: " << drained.size());
}

}  // namespace queue_suite

#define MS_QUEUE_SUITE(NAME, FX)                                                                                       \
  TEST_CASE(NAME ": enqueue, lease, ack") { queue_suite::basics(FX); }                                                 \
  TEST_CASE(NAME ": lease waits for an enqueue") { queue_suite::lease_waits_for_enqueue(FX); }                         \
  TEST_CASE(NAME ": an expired lease goes back to the queue") { queue_suite::expired_lease_requeues(FX); }             \
  TEST_CASE(NAME ": heartbeats keep a lease; ack is idempotent") { queue_suite::heartbeat_keeps_lease(FX); }           \
  TEST_CASE(NAME ": nack schedules a retry") { queue_suite::nack_retries_later(FX); }                                  \
  TEST_CASE(NAME ": dead-letter after max attempts") { queue_suite::dead_letter_after_max_attempts(FX); }              \
  TEST_CASE(NAME ": an expired last attempt is dead-lettered") { queue_suite::expired_last_attempt_dead_letters(FX); } \
  TEST_CASE(NAME ": delayed enqueue") { queue_suite::delayed_enqueue(FX); }                                            \
  TEST_CASE(NAME ": remove") { queue_suite::remove_cancels(FX); }                                                      \
  TEST_CASE(NAME ": record store") { queue_suite::records(FX); }                                                       \
  TEST_CASE(NAME ": create_record has one winner") { queue_suite::create_record_once(FX); }                            \
  TEST_CASE(NAME ": record tags and time queries") { queue_suite::record_tags_and_since(FX); }                         \
  TEST_CASE(NAME ": concurrent consumers get each job once") {                                                         \
    queue_suite::concurrent_consumers_get_each_job_once(FX);                                                           \
  }                                                                                                                    \
  TEST_CASE(NAME ": enqueue_batch and ack_batch") { queue_suite::batch_calls(FX); }                                    \
  TEST_CASE(NAME ": threads sharing one queue object") { queue_suite::threads_sharing_one_handle(FX); }

#define MS_QUEUE_MULTIPROCESS_SUITE(NAME, FX, LOG_PATH)                        \
  TEST_CASE(NAME ": a SIGKILLed worker process loses nothing") {               \
    queue_suite::killed_worker_process_loses_nothing(FX);                      \
  }                                                                            \
  TEST_CASE(NAME ": busy worker processes SIGKILLed at random lose nothing") { \
    queue_suite::busy_worker_killed_at_random_loses_nothing(FX, LOG_PATH);     \
  }

MS_GCC_STRING_WRESTRICT_END
