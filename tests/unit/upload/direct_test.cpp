// Direct uploads in the upload workflow, offline: a storage wrapper plays
// the store's side of a plan over the local backend (the client's PUT is a
// put at the staged key), so the service's part is tested alone: limits
// before any plan, the awaiting_upload record, completion that queues once,
// idempotence, refusals, cancel and expiry. The S3 side runs against RGW in
// tests/direct/.
#include <doctest/doctest.h>

#include "mediastore/upload.hpp"
#include "unit/upload/upload_support.hpp"

using namespace mediastore;
using namespace std::chrono_literals;
using upload_test::TempDir;

namespace {

// Plans single PUTs on the local backend; expired ones when asked.
class PlanningStorage final : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;
  int begun = 0, aborted = 0;
  bool plan_expired = false;

  Result<DirectUploadPlan> begin_direct_upload(std::string_view key, const DirectUploadSpec& spec) override {
    ++begun;
    DirectUploadPlan p;
    p.key = std::string(key);
    p.size = spec.size;
    p.part_size = spec.size;
    p.sha256 = spec.sha256;
    p.expires_at =
        plan_expired ? std::chrono::system_clock::now() - 1h : std::chrono::system_clock::now() + spec.expires_in;
    p.requests.push_back(DirectRequest{0, 0, spec.size, "PUT", "http://store.invalid/" + p.key, {}});
    return p;
  }
  Result<ObjectInfo> complete_direct_upload(const DirectUploadPlan& plan, const std::vector<UploadedPart>&) override {
    auto info = stat(plan.key);
    if (!info.ok()) return info.status();
    if (info->size != plan.size) return Status::Conflict("size differs");
    return info;
  }
  Status abort_direct_upload(const DirectUploadPlan& plan) override {
    ++aborted;
    return remove(plan.key);
  }
};

struct Env {
  TempDir dir;
  Config config;
  std::shared_ptr<PlanningStorage> storage;
  std::shared_ptr<JobQueue> queue = make_memory_queue({});
  std::shared_ptr<UploadService> service;

  Env() {
    config.max_upload_size = 1000;
    storage = std::make_shared<PlanningStorage>(upload_test::local_storage(config, dir.path()));
    auto s = UploadService::create(config, storage, queue);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    service = s.value();
  }

  DirectUpload create(std::uint64_t size = 10) {
    DirectUploadRequest r;
    r.original_filename = "IMG_1.jpg";
    r.size = size;
    r.content_type = "image/jpeg";
    r.context = {{"keep_id", "42"}};
    auto d = service->create_direct_upload(r);
    REQUIRE_MESSAGE(d.ok(), d.status().to_string());
    return d.value();
  }
};

}  // namespace

TEST_CASE("direct: over MAX_UPLOAD_SIZE, empty or unnamed gets no plan and no record") {
  Env env;
  DirectUploadRequest r;
  r.original_filename = "big.mp4";
  r.size = 1001;
  auto big = env.service->create_direct_upload(r);
  CHECK(big.status().is(ErrorCode::too_large));
  CHECK(big.status().message().find("MAX_UPLOAD_SIZE") != std::string::npos);
  r.size = 0;
  CHECK(env.service->create_direct_upload(r).status().is(ErrorCode::invalid_argument));
  r.size = 10;
  r.original_filename.clear();
  CHECK(env.service->create_direct_upload(r).status().is(ErrorCode::invalid_argument));
  r.original_filename = "a.jpg";
  r.sha256 = "xyz";
  CHECK(env.service->create_direct_upload(r).status().is(ErrorCode::invalid_argument));
  // URLs that outlive the staging orphan age (cleanup would abort the plan).
  r.sha256.clear();
  r.expires_in = std::chrono::hours(24);
  auto too_long = env.service->create_direct_upload(r);
  CHECK(too_long.status().is(ErrorCode::invalid_argument));
  CHECK(too_long.status().message().find("staging_orphan_age") != std::string::npos);
  CHECK(env.storage->begun == 0);
  CHECK(env.queue->count_records().value().empty());
}

TEST_CASE("direct: awaiting_upload with the staged key, then completed once and queued like a submission") {
  Env env;
  DirectUpload d = env.create();
  CHECK(d.plan.key == "staging/" + d.id);
  auto st = env.service->status(d.id);
  REQUIRE(st.ok());
  CHECK(st->state == UploadState::awaiting_upload);
  CHECK(std::string(upload_state_name(st->state)) == "awaiting_upload");
  CHECK(st->staged_key == d.plan.key);
  REQUIRE(st->direct.has_value());
  CHECK(st->direct->size == 10);
  CHECK_FALSE(st->direct->completed);
  CHECK(st->context.at("keep_id") == "42");
  CHECK_FALSE(env.queue->contains(d.id).value());

  // Nothing uploaded yet: not_found, still awaiting.
  auto early = env.service->complete_direct_upload(d.id, {});
  CHECK(early.status().is(ErrorCode::not_found));
  CHECK(env.service->status(d.id)->state == UploadState::awaiting_upload);
  // The client's PUT of the wrong size: conflict, still awaiting.
  REQUIRE(env.storage->put_bytes(d.plan.key, "123", {}).ok());
  CHECK(env.service->complete_direct_upload(d.id, {}).status().is(ErrorCode::conflict));
  // The right bytes.
  REQUIRE(env.storage->put_bytes(d.plan.key, "0123456789", {}).ok());
  auto done = env.service->complete_direct_upload(d.id, {}, std::string(64, 'A'));
  REQUIRE_MESSAGE(done.ok(), done.status().to_string());
  CHECK(done->state == UploadState::pending);
  CHECK(done->direct->completed);
  CHECK(done->direct->sha256 == std::string(64, 'a'));
  CHECK(env.queue->contains(d.id).value());
  CHECK(env.service->metrics()->submitted == 1);
  // Again: the same status, no second job.
  auto again = env.service->complete_direct_upload(d.id, {});
  REQUIRE(again.ok());
  CHECK(again->state == UploadState::pending);
  CHECK(env.service->metrics()->submitted == 1);
  CHECK(env.queue->stats()->ready == 1);
}

TEST_CASE("direct: unknown ids, submitted uploads and a second SHA-256 are refused") {
  Env env;
  CHECK(env.service->complete_direct_upload("no-such-id", {}).status().is(ErrorCode::not_found));
  UploadRequest r;
  r.data = "bytes";
  r.original_filename = "a.jpg";
  auto id = env.service->submit_upload(r);
  REQUIRE(id.ok());
  CHECK(env.service->complete_direct_upload(*id, {}).status().is(ErrorCode::invalid_argument));
  DirectUploadRequest dr;
  dr.original_filename = "b.jpg";
  dr.size = 3;
  dr.sha256 = std::string(64, 'b');
  auto d = env.service->create_direct_upload(dr);
  REQUIRE(d.ok());
  REQUIRE(env.storage->put_bytes(d->plan.key, "abc", {}).ok());
  auto other = env.service->complete_direct_upload(d->id, {}, std::string(64, 'c'));
  CHECK(other.status().is(ErrorCode::invalid_argument));
  CHECK(other.status().message().find("declared at create") != std::string::npos);
}

TEST_CASE("direct: cancel drops the plan; an expired one is failed by cleanup and its bytes removed") {
  Env env;
  DirectUpload d = env.create();
  REQUIRE(env.service->cancel(d.id).ok());
  CHECK(env.storage->aborted == 1);
  CHECK(env.service->status(d.id)->state == UploadState::failed);
  CHECK(env.service->complete_direct_upload(d.id, {}).status().is(ErrorCode::conflict));

  env.storage->plan_expired = true;
  DirectUpload e = env.create();
  REQUIRE(env.storage->put_bytes(e.plan.key, "0123456789", {}).ok());
  // Completion after the grace is refused.
  auto late = env.service->complete_direct_upload(e.id, {});
  CHECK(late.status().is(ErrorCode::conflict));
  CHECK(late.status().message().find("expired") != std::string::npos);
  // Cleanup only looks at records last written before the grace: none yet.
  auto rep = env.service->cleanup_failed_uploads(0s);
  REQUIRE(rep.ok());
  CHECK(rep->expired_direct_uploads == 0);
  CHECK(env.service->status(e.id)->state == UploadState::awaiting_upload);
  // The same record as if written an hour ago.
  auto rec = env.queue->get_record(e.id);
  REQUIRE(rec.ok());
  rec->updated_at = std::chrono::system_clock::now() - 1h;
  REQUIRE(env.queue->put_record(rec.value()).ok());
  rep = env.service->cleanup_failed_uploads(24h);
  REQUIRE(rep.ok());
  CHECK(rep->expired_direct_uploads == 1);
  auto st = env.service->status(e.id);
  CHECK(st->state == UploadState::failed);
  CHECK(st->error_code == ErrorCode::timeout);
  CHECK(st->error_message.find("expired") != std::string::npos);
  CHECK(env.storage->aborted == 2);
  CHECK_FALSE(env.storage->exists(e.plan.key).value());
}
