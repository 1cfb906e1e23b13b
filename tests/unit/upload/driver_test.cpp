// The workflow driver (src/upload/driver.cpp) with a pipeline of test
// stages: progress by shares, per-stage retry of transient failures, early
// completion, skipped stages, release at a boundary inside a stage, and
// cleanup after a failure.
#include <doctest/doctest.h>

#include <functional>

#include "support/files.hpp"
#include "unit/upload/upload_support.hpp"
#include "upload/record.hpp"
#include "upload/service_impl.hpp"
#include "upload/spool.hpp"

using namespace mediastore;
using namespace mediastore::detail;
using namespace std::chrono_literals;
using upload_test::TempDir;

namespace {

using RunFn = std::function<Result<StageEnd>(StageContext&)>;

class TestStage final : public Stage {
 public:
  TestStage(StageTraits traits, RunFn fn, bool applies = true) : Stage(traits), fn_(std::move(fn)), applies_(applies) {}
  bool applies(const UploadWork&) const override { return applies_; }
  Result<StageEnd> run(StageContext& ctx) const override {
    ++runs;
    return fn_(ctx);
  }
  mutable int runs = 0;

 private:
  RunFn fn_;
  bool applies_;
};

// An UploadService::Impl over a local backend and a memory queue, with the
// pipeline the test sets.
struct DriverEnv {
  TempDir dir;
  UploadService::Impl im;
  std::vector<TestStage*> stages;

  DriverEnv() {
    im.storage = upload_test::local_storage(im.config, dir.path());
    im.queue = make_memory_queue();
    im.options.backoff_base = 1ms;
    im.options.backoff_max = 2ms;
    im.spool_dir = dir.path() + "/spool";
  }

  TestStage& add(StageTraits traits, RunFn fn, bool applies = true) {
    auto s = std::make_unique<TestStage>(traits, std::move(fn), applies);
    stages.push_back(s.get());
    im.pipeline.push_back(std::move(s));
    return *stages.back();
  }

  std::string submit(const std::string& id = "u1") {
    UploadStatus s;
    s.id = id;
    s.original_filename = "IMG_1.jpg";
    test::spit(im.spool_file(id), "spooled bytes");
    REQUIRE(im.save(s).ok());
    REQUIRE(im.queue->enqueue(id, payload_to_json(s)).ok());
    return id;
  }

  // Leases one job and runs it through the driver.
  void process_one() {
    auto jobs = im.queue->lease(1, 5s, 0ms);
    REQUIRE(jobs.ok());
    REQUIRE(jobs->size() == 1);
    UploadService::Impl::InFlight f;
    f.job = jobs->front();
    im.register_job(&f);
    im.process(f);
    im.unregister_job(&f);
  }

  UploadStatus status(const std::string& id = "u1") {
    auto s = im.load(id);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    return s.value();
  }

  std::uint64_t queued() {
    auto st = im.queue->stats();
    REQUIRE(st.ok());
    return st->ready + st->delayed + st->in_flight;
  }
};

Result<StageEnd> next(StageContext&) { return StageEnd::next; }

}  // namespace

TEST_CASE("driver: progress follows the stages' shares; completion is 100 %") {
  DriverEnv env;
  std::vector<std::pair<UploadStage, int>> seen;
  auto observe = [&] {
    auto s = env.status();
    seen.emplace_back(s.stage, s.progress_percentage);
  };
  env.add({UploadStage::validating, 1, false}, [&](StageContext&) -> Result<StageEnd> {
    observe();
    return StageEnd::next;
  });
  env.add({UploadStage::storing_original, 3, true}, [&](StageContext& ctx) -> Result<StageEnd> {
    observe();
    REQUIRE(ctx.checkpoint(0.5));
    observe();
    ctx.report(UploadStage::making_thumbnails, 1.0);
    observe();
    return StageEnd::next;
  });
  env.submit();
  env.process_one();
  // 10 % at the start, 95 % at the end of the last stage, by shares 1 : 3.
  CHECK(seen == std::vector<std::pair<UploadStage, int>>{{UploadStage::validating, 10},
                                                         {UploadStage::storing_original, 31},
                                                         {UploadStage::storing_original, 63},
                                                         {UploadStage::making_thumbnails, 95}});
  auto s = env.status();
  CHECK(s.state == UploadState::completed);
  CHECK(s.stage == UploadStage::done);
  CHECK(s.progress_percentage == 100);
  CHECK(env.queued() == 0);
  CHECK_FALSE(std::filesystem::exists(env.im.spool_file("u1")));
}

TEST_CASE("driver: a transient failure is retried only where the stage retries") {
  for (bool retry : {false, true}) {
    CAPTURE(retry);
    DriverEnv env;
    auto& failing = env.add({UploadStage::validating, 1, retry},
                            [](StageContext&) -> Result<StageEnd> { return Status::Unavailable("scanner down"); });
    auto& later = env.add({UploadStage::storing_original, 1, true}, next);
    env.submit();
    env.process_one();
    auto s = env.status();
    CHECK(failing.runs == 1);
    CHECK(later.runs == 0);
    CHECK(s.attempt == 1);
    if (retry) {
      CHECK(s.state == UploadState::retrying);
      CHECK(s.last_error == "unavailable: scanner down");
      CHECK(s.next_try != SystemTime{});
      CHECK(env.queued() == 1);
      CHECK(env.im.retried.load() == 1);
      CHECK(std::filesystem::exists(env.im.spool_file("u1")));
    } else {
      CHECK(s.state == UploadState::failed);
      CHECK(s.error_code == ErrorCode::unavailable);
      CHECK(s.error_message == "scanner down");
      CHECK(env.queued() == 0);
      CHECK(env.im.queue->stats()->dead == 0);  // acked, not dead-lettered
      CHECK(env.im.failed.load() == 1);
      // Transient: the spool file stays for UploadService::retry() (until cleanup).
      CHECK(std::filesystem::exists(env.im.spool_file("u1")));
    }
  }
}

TEST_CASE("driver: a stage may complete the upload early; the later stages do not run") {
  DriverEnv env;
  env.add({UploadStage::validating, 1, false}, [&](StageContext& ctx) -> Result<StageEnd> {
    // e.g. an exact duplicate: the result points at objects that exist already.
    REQUIRE(ctx.storage.put_bytes("uploads/first/original.jpg", "first", {}).ok());
    ctx.work.result.original.key = "uploads/first/original.jpg";
    ctx.work.result.metadata["duplicate_of"] = "first";
    return StageEnd::complete;
  });
  auto& later = env.add({UploadStage::storing_original, 1, true}, next);
  env.submit();
  env.process_one();
  CHECK(later.runs == 0);
  auto s = env.status();
  CHECK(s.state == UploadState::completed);
  CHECK(s.progress_percentage == 100);
  REQUIRE(s.result);
  CHECK(s.result->original.key == "uploads/first/original.jpg");
  CHECK_FALSE(s.result->original.url.empty());  // the driver signs every object
  CHECK(s.result->metadata.at("duplicate_of") == "first");
  CHECK(env.queued() == 0);
  CHECK_FALSE(std::filesystem::exists(env.im.spool_file("u1")));
}

TEST_CASE("driver: a stage that does not apply is skipped without a status") {
  DriverEnv env;
  std::vector<UploadStage> stages_seen;
  auto& skipped = env.add({UploadStage::storing_original, 5, true}, next, /*applies=*/false);
  env.add({UploadStage::storing_thumbnails, 5, true}, [&](StageContext&) -> Result<StageEnd> {
    stages_seen.push_back(env.status().stage);
    CHECK(env.status().progress_percentage == 52);  // the skipped share counts as done
    return StageEnd::next;
  });
  env.submit();
  env.process_one();
  CHECK(skipped.runs == 0);
  CHECK(stages_seen == std::vector<UploadStage>{UploadStage::storing_thumbnails});
  CHECK(env.status().state == UploadState::completed);
}

TEST_CASE("driver: release at a boundary inside a stage gives the job back") {
  DriverEnv env;
  env.add({UploadStage::storing_thumbnails, 1, true}, [&](StageContext& ctx) -> Result<StageEnd> {
    env.im.release_requested = true;  // Worker::stop(StopMode::release)
    if (!ctx.checkpoint(0.5)) return StageEnd::stop;
    FAIL("the checkpoint should have ended the attempt");
    return StageEnd::next;
  });
  auto& later = env.add({UploadStage::done, 1, true}, next);
  env.submit();
  env.process_one();
  CHECK(later.runs == 0);
  auto s = env.status();
  CHECK(s.state == UploadState::pending);
  CHECK(s.stage == UploadStage::queued);
  CHECK(env.im.queue->stats()->ready == 1);
  CHECK(std::filesystem::exists(env.im.spool_file("u1")));
}

TEST_CASE("driver: stopping without a boundary is a bug; a failure removes what was stored") {
  SUBCASE("stop without a checkpoint") {
    DriverEnv env;
    env.add({UploadStage::validating, 1, true}, [](StageContext&) -> Result<StageEnd> { return StageEnd::stop; });
    env.submit();
    env.process_one();
    auto s = env.status();
    CHECK(s.state == UploadState::failed);
    CHECK(s.error_code == ErrorCode::internal);
    CHECK(env.queued() == 0);
  }
  SUBCASE("a permanent failure after a store") {
    DriverEnv env;
    env.add({UploadStage::storing_original, 1, true}, [](StageContext& ctx) -> Result<StageEnd> {
      REQUIRE(ctx.storage.put_bytes(ctx.object_prefix + "original.jpg", "x", {}).ok());
      return StageEnd::next;
    });
    env.add({UploadStage::storing_thumbnails, 1, true},
            [](StageContext&) -> Result<StageEnd> { return Status::PermissionDenied("bucket policy"); });
    env.submit();
    env.process_one();
    auto s = env.status();
    CHECK(s.state == UploadState::failed);
    CHECK(s.error_code == ErrorCode::permission_denied);
    CHECK(s.stage == UploadStage::storing_thumbnails);
    auto left = env.im.storage->list_all("uploads/u1/");
    REQUIRE(left.ok());
    CHECK(left->empty());
    CHECK_FALSE(std::filesystem::exists(env.im.spool_file("u1")));
  }
}
