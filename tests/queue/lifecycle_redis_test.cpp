// The upload lifecycle on Redis (a real redis-server: the ctest fixture
// `redis`, MS_REDIS_URL): two services on separate connections, as two web
// processes would be, share idempotency keys, the context index and
// ended_since; the record TTL removes the index entries with the records.
#include <doctest/doctest.h>

#include <cstdlib>
#include <set>
#include <thread>

#include "core/crypto.hpp"
#include "mediastore/upload.hpp"
#include "unit/upload/upload_support.hpp"

using namespace mediastore;
using namespace std::chrono_literals;

namespace {

struct RedisEnv {
  upload_test::TempDir dir;
  Config config;
  std::shared_ptr<StorageBackend> storage;
  std::string name = "lc" + detail::random_hex(6);  // a fresh queue namespace per test

  RedisEnv() { storage = upload_test::local_storage(config, dir.path()); }

  std::shared_ptr<UploadService> open(std::chrono::seconds ttl = std::chrono::hours(24 * 30)) {
    const char* url = std::getenv("MS_REDIS_URL");
    REQUIRE_MESSAGE(url != nullptr, "MS_REDIS_URL is not set (run through ctest, which starts redis-server)");
    QueueOptions qo;
    qo.name = name;
    auto q = make_redis_queue(url, qo);
    REQUIRE_MESSAGE(q.ok(), q.status().to_string());
    UploadOptions uo;
    uo.record_ttl = ttl;
    auto s = UploadService::create(config, storage, q.value(), uo);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    return s.value();
  }
};

UploadRequest request(const std::string& keep_id, const std::string& key = "") {
  UploadRequest r;
  r.data = upload_test::make_jpeg(160, 120);
  r.original_filename = "IMG_1.jpg";
  r.context = {{"keep_id", keep_id}};
  r.idempotency_key = key;
  return r;
}

std::set<std::string> ids_of(const Result<std::vector<UploadStatus>>& r) {
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  std::set<std::string> out;
  for (auto& s : r.value()) out.insert(s.id);
  return out;
}

}  // namespace

TEST_CASE("lifecycle on redis: one idempotency key, two services, one upload") {
  RedisEnv env;
  auto a = env.open();
  auto b = env.open();
  constexpr int kThreads = 8;
  std::vector<std::string> ids(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      auto id = (i % 2 ? a : b)->submit_upload(request("1", "post-1"));
      if (id.ok()) ids[static_cast<std::size_t>(i)] = id.value();
    });
  for (auto& t : threads) t.join();
  CHECK_FALSE(ids[0].empty());
  for (auto& id : ids) CHECK(id == ids[0]);
  CHECK(a->queue().stats()->ready == 1);
  CHECK(ids_of(b->list_by_context("keep_id", "1")) == std::set<std::string>{ids[0]});
}

TEST_CASE("lifecycle on redis: the context index, ended_since and the TTL") {
  RedisEnv env;
  auto web = env.open();
  auto worker = env.open(1h);
  const auto t0 = std::chrono::system_clock::now() - 1s;
  auto x = web->submit_upload(request("7")).value();
  auto y = web->submit_upload(request("7")).value();
  auto z = web->submit_upload(request("8")).value();
  CHECK(ids_of(worker->list_by_context("keep_id", "7")) == std::set<std::string>{x, y});
  int hooks = 0;
  worker->set_end_hook([&](const UploadStatus&) -> Status {
    ++hooks;
    return Status::Ok();
  });
  while (worker->process_next(1, 200ms).value() > 0) {
  }
  CHECK(hooks == 3);
  CHECK(ids_of(web->ended_since(t0, 100)) == std::set<std::string>{x, y, z});
  CHECK(ids_of(web->list_by_context("keep_id", "7")) == std::set<std::string>{x, y});
  // x's record ages past the worker's TTL: cleanup removes it and its index entry.
  auto rec = web->queue().get_record(x);
  REQUIRE(rec.ok());
  rec->updated_at = std::chrono::system_clock::now() - 2h;
  REQUIRE(web->queue().put_record(rec.value(), {"ctx:keep_id=7"}).ok());
  auto rep = worker->cleanup_failed_uploads(24h);
  REQUIRE_MESSAGE(rep.ok(), rep.status().to_string());
  CHECK(rep->records_expired == 1);
  CHECK(web->status(x).status().is(ErrorCode::not_found));
  CHECK(ids_of(web->list_by_context("keep_id", "7")) == std::set<std::string>{y});
}
