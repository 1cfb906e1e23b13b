// The upload lifecycle: the end hook, ended_since, wait, list_by_context,
// retry, redrive_dead_letters, the record TTL and idempotency keys, on the
// memory and the sqlite queue (the record-store queries themselves run on
// every backend, Redis included, in the queue suite).
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/crypto.hpp"
#include "mediastore/upload.hpp"
#include "unit/upload/upload_support.hpp"

using namespace mediastore;
using namespace std::chrono_literals;
using upload_test::FaultyStorage;
using upload_test::TempDir;

namespace {

struct Env {
  TempDir dir;
  Config config;
  std::shared_ptr<FaultyStorage> storage;
  std::shared_ptr<JobQueue> queue;
  std::shared_ptr<UploadService> service;
  std::string kind;

  explicit Env(std::string kind_in, int max_attempts = 2) : kind(std::move(kind_in)) {
    storage = std::make_shared<FaultyStorage>(upload_test::local_storage(config, dir.path()));
    queue = open_queue(max_attempts);
    service = open_service(queue, max_attempts);
  }

  std::shared_ptr<JobQueue> open_queue(int max_attempts) {
    QueueOptions qo;
    qo.max_attempts = max_attempts;
    qo.lease_duration = 5s;
    if (kind == "memory") return queue ? queue : make_memory_queue(qo);
    auto q = make_sqlite_queue(dir.path() + "/queue.db", qo);
    REQUIRE_MESSAGE(q.ok(), q.status().to_string());
    return q.value();
  }

  std::shared_ptr<UploadService> open_service(std::shared_ptr<JobQueue> q, int max_attempts,
                                              std::chrono::seconds ttl = std::chrono::hours(24 * 30)) {
    UploadOptions uo;
    uo.max_attempts = max_attempts;
    uo.backoff_base = 1ms;
    uo.backoff_max = 2ms;
    uo.lease_duration = 5s;
    uo.heartbeat_interval = 1s;
    uo.record_ttl = ttl;
    auto s = UploadService::create(config, storage, std::move(q), uo);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    return s.value();
  }

  UploadRequest request(const std::string& keep_id, std::string bytes = upload_test::make_jpeg(160, 120)) {
    UploadRequest r;
    r.data = std::move(bytes);
    r.original_filename = "IMG_1.jpg";
    r.content_type = "image/jpeg";
    r.context = {{"keep_id", keep_id}};
    return r;
  }

  std::string submit(const std::string& keep_id = "1") {
    auto id = service->submit_upload(request(keep_id));
    REQUIRE_MESSAGE(id.ok(), id.status().to_string());
    return id.value();
  }

  UploadStatus status(const std::string& id) { return upload_test::status_of(*service, id); }

  UploadStatus run_until_done(const std::string& id) {
    return upload_test::process_until_ended(*service, *service, id, 100, 100ms);
  }

  std::string spool(const std::string& id) const { return config.effective_spool_dir() + "/" + id + ".spool"; }
};

const std::string kKinds[] = {"memory", "sqlite"};

// Records the hook's calls and, in each, what the record store said then.
struct HookLog {
  std::mutex mu;
  std::vector<UploadStatus> calls;
  std::vector<UploadState> stored_then;
};

void install_hook(Env& env, HookLog& log, std::function<Status()> outcome = {}) {
  auto svc = env.service.get();
  env.service->set_end_hook([&log, svc, outcome](const UploadStatus& s) -> Status {
    auto stored = svc->status(s.id);
    std::lock_guard lock(log.mu);
    log.calls.push_back(s);
    log.stored_then.push_back(stored.ok() ? stored->state : UploadState::pending);
    return outcome ? outcome() : Status::Ok();
  });
}

std::set<std::string> ids_of(const std::vector<UploadStatus>& v) {
  std::set<std::string> out;
  for (auto& s : v) out.insert(s.id);
  return out;
}

}  // namespace

TEST_CASE("lifecycle: the end hook sees each ended upload once its final record is stored") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    HookLog log;
    install_hook(env, log);
    auto ok_id = env.submit();
    CHECK(env.run_until_done(ok_id).state == UploadState::completed);
    auto bad = env.request("1", "<html>not an image</html>");
    auto bad_id = env.service->submit_upload(bad);
    REQUIRE(bad_id.ok());
    CHECK(env.run_until_done(bad_id.value()).state == UploadState::failed);
    REQUIRE(log.calls.size() == 2);
    CHECK(log.calls[0].id == ok_id);
    CHECK(log.calls[0].state == UploadState::completed);
    REQUIRE(log.calls[0].result.has_value());
    CHECK(log.calls[0].result->thumbnails.size() == 3);
    CHECK(log.calls[0].context.at("keep_id") == "1");
    CHECK(log.stored_then[0] == UploadState::completed);  // durable before the hook
    CHECK(log.calls[1].id == bad_id.value());
    CHECK(log.calls[1].state == UploadState::failed);
    CHECK(log.calls[1].error_code == ErrorCode::unsupported_media);
    CHECK(log.stored_then[1] == UploadState::failed);
    // Cancelling ends an upload too.
    auto c = env.submit();
    REQUIRE(env.service->cancel(c).ok());
    REQUIRE(log.calls.size() == 3);
    CHECK(log.calls[2].error_code == ErrorCode::cancelled);
    // Cleared: no more calls.
    env.service->set_end_hook({});
    CHECK(env.run_until_done(env.submit()).state == UploadState::completed);
    CHECK(log.calls.size() == 3);
  }
}

TEST_CASE("lifecycle: a job delivered again after its upload ended calls the hook again (at least once)") {
  Env env("sqlite");
  HookLog log;
  install_hook(env, log);
  auto id = env.submit();
  CHECK(env.run_until_done(id).state == UploadState::completed);
  // A worker that died after the final record and before the ack: its job
  // comes back.
  auto st = env.status(id);
  REQUIRE(env.queue->enqueue(id, "{}").ok());
  REQUIRE(env.service->process_next(1, 1s).value() == 1);
  REQUIRE(log.calls.size() == 2);
  CHECK(log.calls[1].id == id);
  CHECK(log.calls[1].state == UploadState::completed);
  CHECK(env.queue->stats()->ready == 0);
  CHECK(env.queue->stats()->in_flight == 0);
}

TEST_CASE("lifecycle: a failing or throwing hook is logged and does not stop the worker") {
  for (int mode = 0; mode < 2; ++mode) {
    CAPTURE(mode);
    Env env("memory");
    HookLog log;
    install_hook(env, log, [mode]() -> Status {
      if (mode == 0) return Status::Unavailable("the host database is down");
      throw std::runtime_error("host bug");
    });
    Worker worker(env.service, WorkerOptions{1, 50ms, 60000ms, 3600s});
    REQUIRE(worker.start().ok());
    auto a = env.submit();
    auto b = env.submit();
    CHECK(env.service->wait(a, 60s)->state == UploadState::completed);
    CHECK(env.service->wait(b, 60s)->state == UploadState::completed);
    worker.stop();
    worker.wait();
    std::lock_guard lock(log.mu);
    CHECK(log.calls.size() == 2);
    CHECK(env.queue->stats()->in_flight == 0);
    CHECK(env.queue->stats()->ready == 0);
  }
}

TEST_CASE("lifecycle: ended_since lists the uploads that ended after a time") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    const auto t0 = std::chrono::system_clock::now() - 1s;
    auto a = env.submit();
    auto b = env.submit();
    auto pending = env.submit();
    env.run_until_done(a);
    env.run_until_done(b);
    auto all = env.service->ended_since(t0, 100);
    REQUIRE_MESSAGE(all.ok(), all.status().to_string());
    CHECK(ids_of(all.value()) == std::set<std::string>{a, b});  // not the pending one
    CHECK(all->front().updated_at <= all->back().updated_at);
    auto one = env.service->ended_since(t0, 1);
    REQUIRE(one.ok());
    CHECK(one->size() == 1);
    auto later = env.service->ended_since(all->back().updated_at + 1ms, 100);
    REQUIRE(later.ok());
    CHECK(later->empty());
    CHECK(env.service->ended_since(t0, 0).status().is(ErrorCode::invalid_argument));
    // Failed uploads count, also once cleanup has removed their leftovers.
    REQUIRE(env.service->cancel(pending).ok());
    REQUIRE(env.service->cleanup_failed_uploads(0s).ok());
    CHECK(ids_of(env.service->ended_since(t0, 100).value()) == std::set<std::string>{a, b, pending});
  }
}

TEST_CASE("lifecycle: wait returns the status at the end or at the timeout") {
  Env env("sqlite");
  auto id = env.submit();
  auto early = env.service->wait(id, 0ms);
  REQUIRE(early.ok());
  CHECK(early->state == UploadState::pending);  // no worker: the timeout ends the wait
  CHECK(env.service->wait("no-such-upload", 10ms).status().is(ErrorCode::not_found));
  Worker worker(env.service, WorkerOptions{1, 50ms, 60000ms, 3600s});
  REQUIRE(worker.start().ok());
  auto done = env.service->wait(id, 60s);
  REQUIRE(done.ok());
  CHECK(done->state == UploadState::completed);
}

TEST_CASE("lifecycle: list_by_context finds a keep's uploads through the record index") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    auto a = env.submit("7");
    auto b = env.submit("7");
    auto c = env.submit("8");
    std::string long_value(600, 'v');
    auto d = env.submit(long_value);  // hashed in the index
    auto seven = env.service->list_by_context("keep_id", "7");
    REQUIRE_MESSAGE(seven.ok(), seven.status().to_string());
    CHECK(ids_of(seven.value()) == std::set<std::string>{a, b});
    env.run_until_done(a);  // status rewrites keep the index
    CHECK(ids_of(env.service->list_by_context("keep_id", "7").value()) == std::set<std::string>{a, b});
    CHECK(ids_of(env.service->list_by_context("keep_id", "8").value()) == std::set<std::string>{c});
    CHECK(ids_of(env.service->list_by_context("keep_id", long_value).value()) == std::set<std::string>{d});
    CHECK(env.service->list_by_context("keep_id", "9")->empty());
    CHECK(env.service->list_by_context("keep_id", "7", 1)->size() == 1);
    CHECK(env.service->list_by_context("", "7").status().is(ErrorCode::invalid_argument));
    // Cleanup of a failed upload keeps it findable.
    REQUIRE(env.service->cancel(c).ok());
    REQUIRE(env.service->cleanup_failed_uploads(0s).ok());
    CHECK(ids_of(env.service->list_by_context("keep_id", "8").value()) == std::set<std::string>{c});
  }
}

TEST_CASE("lifecycle: retry runs a transiently failed upload again; permanent failures are refused") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind, 2);
    env.storage->fail_puts = 1000;
    env.storage->put_error = Status::Timeout("injected: request timed out");
    auto id = env.submit();
    auto s = env.run_until_done(id);
    REQUIRE(s.state == UploadState::failed);
    CHECK(s.error_code == ErrorCode::timeout);
    CHECK(std::filesystem::exists(env.spool(id)));  // kept for retry
    env.storage->fail_puts = 0;
    REQUIRE(env.service->retry(id).ok());
    s = env.status(id);
    CHECK(s.state == UploadState::pending);
    CHECK(s.attempt == 0);
    CHECK(s.error_code == ErrorCode::ok);
    CHECK(env.service->dead_letters()->empty());
    s = env.run_until_done(id);
    CHECK(s.state == UploadState::completed);
    CHECK_FALSE(std::filesystem::exists(env.spool(id)));

    Status again = env.service->retry(id);
    CHECK(again.is(ErrorCode::conflict));
    CHECK(again.message().find("only a failed upload") != std::string::npos);
    CHECK(env.service->retry("no-such-upload").is(ErrorCode::not_found));

    auto bad = env.service->submit_upload(env.request("1", "<html>not an image</html>"));
    REQUIRE(bad.ok());
    REQUIRE(env.run_until_done(bad.value()).state == UploadState::failed);
    Status perm = env.service->retry(bad.value());
    CHECK(perm.is(ErrorCode::conflict));
    CHECK(perm.message().find("permanent") != std::string::npos);
    CHECK(perm.message().find("unsupported_media") != std::string::npos);

    // Once cleanup removed the staged bytes, a retry fails clearly.
    env.storage->fail_puts = 1000;
    env.storage->put_error = Status::Unavailable("injected: down");
    auto gone = env.submit();
    REQUIRE(env.run_until_done(gone).state == UploadState::failed);
    REQUIRE(env.service->cleanup_failed_uploads(0s).ok());
    Status no_bytes = env.service->retry(gone);
    CHECK(no_bytes.is(ErrorCode::not_found));
    CHECK(no_bytes.message().find("staged bytes") != std::string::npos);
  }
}

TEST_CASE("lifecycle: redrive_dead_letters queues dead jobs again") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind, 2);
    env.storage->fail_puts = 1000;
    auto a = env.submit();
    auto b = env.submit();
    REQUIRE(env.run_until_done(a).state == UploadState::failed);
    REQUIRE(env.run_until_done(b).state == UploadState::failed);
    REQUIRE(env.service->dead_letters()->size() == 2);
    std::filesystem::remove(env.spool(b));  // b cannot run again
    env.storage->fail_puts = 0;
    auto n = env.service->redrive_dead_letters(10);
    REQUIRE_MESSAGE(n.ok(), n.status().to_string());
    CHECK(n.value() == 1);
    auto dead = env.service->dead_letters();
    REQUIRE(dead->size() == 1);
    CHECK(dead.value()[0].id == b);
    CHECK(env.run_until_done(a).state == UploadState::completed);
    CHECK(env.status(b).state == UploadState::failed);
    CHECK(env.service->redrive_dead_letters(0).status().is(ErrorCode::invalid_argument));
  }
}

TEST_CASE("lifecycle: cleanup removes ended records older than record_ttl") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    auto old_id = env.submit();
    auto new_id = env.submit();
    auto pending = env.submit();
    env.run_until_done(old_id);
    env.run_until_done(new_id);
    // Age one completed record past the TTL (1 hour here).
    auto rec = env.queue->get_record(old_id);
    REQUIRE(rec.ok());
    rec->updated_at = std::chrono::system_clock::now() - 2h;
    REQUIRE(env.queue->put_record(rec.value()).ok());
    auto svc = env.open_service(env.queue, 2, 1h);
    auto rep = svc->cleanup_failed_uploads(24h);
    REQUIRE_MESSAGE(rep.ok(), rep.status().to_string());
    CHECK(rep->records_expired == 1);
    CHECK(svc->status(old_id).status().is(ErrorCode::not_found));
    CHECK(svc->status(new_id)->state == UploadState::completed);
    CHECK(svc->status(pending)->state == UploadState::pending);  // never an unfinished one
    // An idempotency marker expires with the same TTL: the key is free again.
    auto keyed = env.request("1");
    keyed.idempotency_key = "old-post";
    auto first = svc->submit_upload(keyed);
    REQUIRE(first.ok());
    const std::string marker = "idem." + detail::hex_lower(detail::sha256("old-post"));
    auto mrec = env.queue->get_record(marker);
    REQUIRE(mrec.ok());
    mrec->updated_at = std::chrono::system_clock::now() - 2h;
    REQUIRE(env.queue->put_record(mrec.value()).ok());
    rep = svc->cleanup_failed_uploads(24h);
    REQUIRE(rep.ok());
    CHECK(rep->records_expired == 1);
    CHECK(env.queue->get_record(marker).status().is(ErrorCode::not_found));
    auto second = svc->submit_upload(keyed);
    REQUIRE(second.ok());
    CHECK(second.value() != first.value());
    // 0 keeps records forever.
    auto forever = env.open_service(env.queue, 2, 0s);
    rec = env.queue->get_record(new_id);
    rec->updated_at = std::chrono::system_clock::now() - 24h * 365;
    REQUIRE(env.queue->put_record(rec.value()).ok());
    CHECK(forever->cleanup_failed_uploads(24h)->records_expired == 0);
    CHECK(forever->status(new_id).ok());
  }
}

TEST_CASE("lifecycle: an idempotency key returns the same upload for a repeated submission") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    auto r = env.request("1");
    r.idempotency_key = "post-123";
    auto first = env.service->submit_upload(r);
    REQUIRE_MESSAGE(first.ok(), first.status().to_string());
    auto second = env.service->submit_upload(r);
    REQUIRE(second.ok());
    CHECK(second.value() == first.value());
    CHECK(env.queue->stats()->ready == 1);  // one job
    CHECK(env.service->list_by_context("keep_id", "1")->size() == 1);
    std::size_t spooled = 0;
    for (auto& e : std::filesystem::directory_iterator(env.config.effective_spool_dir()))
      spooled += e.path().extension() == ".spool";
    CHECK(spooled == 1);
    CHECK(env.service->metrics()->states.count("idem") == 0);  // markers are not uploads
    // Still the same once it ended.
    env.run_until_done(first.value());
    CHECK(env.service->submit_upload(r).value() == first.value());
    r.idempotency_key = "post-124";
    auto other = env.service->submit_upload(r);
    REQUIRE(other.ok());
    CHECK(other.value() != first.value());
    r.idempotency_key = std::string(1025, 'k');
    auto too_long = env.service->submit_upload(r);
    CHECK(too_long.status().is(ErrorCode::invalid_argument));
    CHECK(too_long.status().message().find("idempotency key") != std::string::npos);
  }
}

TEST_CASE("lifecycle: concurrent submissions with one key through two queue handles make one upload") {
  Env env("sqlite");
  auto svc2 = env.open_service(env.open_queue(2), 2);
  constexpr int kThreads = 6;
  std::vector<std::string> ids(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      auto r = env.request("5");
      r.idempotency_key = "race";
      auto id = (i % 2 ? svc2 : env.service)->submit_upload(r);
      if (id.ok()) ids[static_cast<std::size_t>(i)] = id.value();
    });
  for (auto& t : threads) t.join();
  for (auto& id : ids) CHECK(id == ids[0]);
  CHECK_FALSE(ids[0].empty());
  CHECK(env.queue->stats()->ready == 1);
  CHECK(env.service->list_by_context("keep_id", "5")->size() == 1);
}

TEST_CASE("lifecycle: idempotency markers: a crashed submission is queued, a stale marker replaced") {
  Env env("sqlite");
  // A submitter that wrote the record and the marker, then died before
  // queueing: the job is gone, the record older than the lease.
  auto r = env.request("1");
  r.idempotency_key = "crashed";
  auto id = env.service->submit_upload(r);
  REQUIRE(id.ok());
  REQUIRE(env.queue->remove(id.value()).ok());
  auto rec = env.queue->get_record(id.value());
  rec->updated_at = std::chrono::system_clock::now() - 1h;
  REQUIRE(env.queue->put_record(rec.value()).ok());
  auto again = env.service->submit_upload(r);
  REQUIRE(again.ok());
  CHECK(again.value() == id.value());
  CHECK(env.queue->contains(id.value()).value());
  CHECK(env.run_until_done(id.value()).state == UploadState::completed);

  // A marker whose upload record is gone binds the key anew.
  r.idempotency_key = "expired";
  auto gone = env.service->submit_upload(r);
  REQUIRE(gone.ok());
  REQUIRE(env.service->cancel(gone.value()).ok());
  REQUIRE(env.queue->remove_record(gone.value()).ok());
  auto fresh = env.service->submit_upload(r);
  REQUIRE(fresh.ok());
  CHECK(fresh.value() != gone.value());
  CHECK(env.service->submit_upload(r).value() == fresh.value());
}
