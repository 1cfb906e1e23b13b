// The pipeline's stages one by one, each run on its own with a context the
// test builds (src/upload/stages/), and the list build_pipeline makes.
#include <doctest/doctest.h>

#include <set>

#include "support/files.hpp"
#include "unit/upload/upload_support.hpp"
#include "upload/stages/pipeline.hpp"

using namespace mediastore;
using namespace mediastore::detail;
using upload_test::FaultyStorage;
using upload_test::TempDir;

namespace {

// One upload's context over a local backend, with the spool file written
// from `bytes`; checkpoints and reports recorded.
struct StageEnv {
  TempDir dir;
  Config config;
  UploadOptions options;
  ValidationPolicy policy;
  std::shared_ptr<FaultyStorage> storage;
  std::shared_ptr<JobQueue> queue = make_memory_queue();
  UploadStatus upload;
  std::string spool;
  std::string prefix = "uploads/u1/";
  UploadWork work;
  std::vector<double> checkpoints;
  std::vector<std::pair<UploadStage, double>> reports;
  int stop_after = -1;  // checkpoint() returns false from this call on (0 = the first)

  explicit StageEnv(const std::string& bytes, const std::string& filename = "IMG_1.jpg") {
    storage = std::make_shared<FaultyStorage>(upload_test::local_storage(config, dir.path()));
    upload.id = "u1";
    upload.original_filename = filename;
    upload.context = {{"keep_id", "42"}};
    spool = dir.path() + "/spool/u1.spool";
    test::spit(spool, bytes);
  }

  PipelineSettings settings() const { return {config, options, policy}; }

  Result<StageEnd> run(const Stage& stage) {
    StageContext ctx{upload, spool, prefix, *storage, *queue, work, {}, {}};
    ctx.checkpoint = [&](double fraction) {
      const bool go_on = stop_after < 0 || static_cast<int>(checkpoints.size()) < stop_after;
      checkpoints.push_back(fraction);
      return go_on;
    };
    ctx.report = [&](UploadStage step, double fraction) { reports.emplace_back(step, fraction); };
    return stage.run(ctx);
  }

  std::vector<std::string> keys() {
    auto all = storage->list_all(prefix);
    REQUIRE(all.ok());
    std::vector<std::string> out;
    for (auto& o : all.value()) out.push_back(o.key);
    return out;
  }
};

}  // namespace

TEST_CASE("pipeline: the default list, its order and traits") {
  StageEnv env("x");
  Pipeline p = build_pipeline(env.settings());
  std::vector<UploadStage> names;
  for (auto& s : p) {
    names.push_back(s->traits().stage);
    CHECK(s->traits().progress_share > 0);
  }
  CHECK(names == std::vector<UploadStage>{UploadStage::validating, UploadStage::storing_original,
                                          UploadStage::storing_thumbnails});
  // Refusals of the file are final; storage failures are retried.
  CHECK_FALSE(p[0]->traits().retry_transient);
  CHECK(p[1]->traits().retry_transient);
  CHECK(p[2]->traits().retry_transient);
  // The shares give the progress points the statuses always showed: 10 %
  // validating, 25 % making thumbnails, 50 % original, 70 % thumbnails.
  CHECK(p[0]->traits().progress_share + p[1]->traits().progress_share + p[2]->traits().progress_share == 85);
}

TEST_CASE("process_media: an accepted photo gives its info, thumbnails and metadata") {
  StageEnv env(upload_test::make_jpeg(1200, 900));
  auto stage = make_process_media_stage(env.settings());
  auto end = env.run(*stage);
  REQUIRE_MESSAGE(end.ok(), end.status().to_string());
  CHECK(end.value() == StageEnd::next);
  REQUIRE(env.work.media);
  CHECK(env.work.media->mime == "image/jpeg");
  CHECK(env.work.media->display_width == 1200);
  REQUIRE(env.work.thumbnails.size() == 3);
  std::vector<std::string> names;
  for (auto& t : env.work.thumbnails) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"small", "medium", "large"});  // spec order
  const auto& md = env.work.result.metadata;
  CHECK(md.at("mime") == "image/jpeg");
  CHECK(md.at("sha256") == env.work.media->sha256);
  CHECK(md.at("width") == "1200");
  CHECK(md.at("filename") == "IMG_1.jpg");
  CHECK(md.count("note") == 0);
  // One report: the switch to making thumbnails once the file is accepted.
  REQUIRE(env.reports.size() == 1);
  CHECK(env.reports[0].first == UploadStage::making_thumbnails);
  CHECK(env.reports[0].second > 0);
  CHECK(env.reports[0].second < 1);
  CHECK(env.keys().empty());  // it stores nothing
}

TEST_CASE("process_media: refusals name the user's file and are final") {
  SUBCASE("hostile content") {
    StageEnv env(upload_test::hostile_html(), "beach.jpg");
    auto end = env.run(*make_process_media_stage(env.settings()));
    REQUIRE_FALSE(end.ok());
    CHECK(end.status().code() == ErrorCode::unsupported_media);
    CHECK_FALSE(end.status().transient());
    CHECK(end.status().message().find("beach.jpg") != std::string::npos);
    CHECK(end.status().message().find(".spool") == std::string::npos);
    CHECK_FALSE(env.work.media);
    CHECK(env.work.thumbnails.empty());
    CHECK(env.reports.empty());
  }
  SUBCASE("the spool is gone") {
    StageEnv env(upload_test::make_jpeg(64, 48));
    std::filesystem::remove(env.spool);
    auto end = env.run(*make_process_media_stage(env.settings()));
    REQUIRE_FALSE(end.ok());
    CHECK(end.status().code() == ErrorCode::not_found);
    CHECK(end.status().message() == "the spooled source of upload u1 is gone");
  }
}

TEST_CASE("process_media: the thumbnail specs come from the options") {
  StageEnv env(upload_test::make_jpeg(640, 480));
  env.options.thumbnails = std::vector<ThumbnailSpec>{ThumbnailSpec{"tiny", 32, 32}};
  auto end = env.run(*make_process_media_stage(env.settings()));
  REQUIRE_MESSAGE(end.ok(), end.status().to_string());
  REQUIRE(env.work.thumbnails.size() == 1);
  CHECK(env.work.thumbnails[0].name == "tiny");
  CHECK(env.work.thumbnails[0].width == 32);
}

TEST_CASE("store_original: the spooled file under its key with metadata") {
  const std::string jpeg = upload_test::make_jpeg(300, 200);
  StageEnv env(jpeg);
  env.options.metadata_context_keys = std::vector<std::string>{"keep_id"};  // context reaches metadata only when listed
  REQUIRE(env.run(*make_process_media_stage(env.settings())).ok());
  auto stage = make_store_original_stage(env.settings());
  CHECK(stage->applies(env.work));
  auto end = env.run(*stage);
  REQUIRE_MESSAGE(end.ok(), end.status().to_string());
  CHECK(end.value() == StageEnd::next);
  const StoredObject& o = env.work.result.original;
  CHECK(o.key == "uploads/u1/original.jpg");
  CHECK(o.name == "original");
  CHECK(o.content_type == "image/jpeg");
  CHECK(o.width == 300);
  CHECK(o.height == 200);
  CHECK(o.bytes == jpeg.size());
  CHECK(o.url.empty());  // the driver signs URLs at completion
  auto info = env.storage->stat(o.key);
  REQUIRE(info.ok());
  CHECK(info->size == jpeg.size());
  CHECK(info->content_type == "image/jpeg");
  CHECK(info->user_metadata.at("upload-id") == "u1");
  CHECK(info->user_metadata.at("sha256") == env.work.media->sha256);
  CHECK(info->user_metadata.at("ctx-keep_id") == "42");
  CHECK(env.keys() == std::vector<std::string>{"uploads/u1/original.jpg"});
}

TEST_CASE("store_original: a storage failure names the key and keeps its code") {
  StageEnv env(upload_test::make_jpeg(64, 48));
  REQUIRE(env.run(*make_process_media_stage(env.settings())).ok());
  env.storage->fail_puts = 1;
  auto end = env.run(*make_store_original_stage(env.settings()));
  REQUIRE_FALSE(end.ok());
  CHECK(end.status().code() == ErrorCode::unavailable);
  CHECK(end.status().transient());
  CHECK(end.status().message().find("uploads/u1/original.jpg") != std::string::npos);
  CHECK(env.work.result.original.key.empty());
}

TEST_CASE("store_original: before validation it is a bug, not a store") {
  StageEnv env(upload_test::make_jpeg(64, 48));
  auto end = env.run(*make_store_original_stage(env.settings()));
  REQUIRE_FALSE(end.ok());
  CHECK(end.status().code() == ErrorCode::internal);
  CHECK(env.storage->puts.load() == 0);
}

TEST_CASE("store_thumbnails: every thumbnail made, a boundary between two") {
  StageEnv env(upload_test::make_jpeg(1200, 900));
  REQUIRE(env.run(*make_process_media_stage(env.settings())).ok());
  auto stage = make_store_thumbnails_stage(env.settings());
  REQUIRE(stage->applies(env.work));
  auto end = env.run(*stage);
  REQUIRE_MESSAGE(end.ok(), end.status().to_string());
  CHECK(end.value() == StageEnd::next);
  CHECK(env.checkpoints == std::vector<double>{1.0 / 3, 2.0 / 3});
  REQUIRE(env.work.result.thumbnails.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const StoredObject& o = env.work.result.thumbnails[i];
    const Thumbnail& t = env.work.thumbnails[i];
    CHECK(o.name == t.name);
    CHECK(o.key == "uploads/u1/thumb_" + t.name + ".jpg");
    CHECK(o.content_type == "image/jpeg");
    CHECK(o.width == t.width);
    CHECK(o.bytes == t.jpeg.size());
    auto got = env.storage->read_bytes(o.key);
    REQUIRE(got.ok());
    CHECK(got.value() == t.jpeg);
    auto info = env.storage->stat(o.key);
    REQUIRE(info.ok());
    CHECK(info->content_type == "image/jpeg");
    CHECK(info->user_metadata.at("upload-id") == "u1");
  }
}

TEST_CASE("store_thumbnails: stops at a boundary that says so, storing no more") {
  StageEnv env(upload_test::make_jpeg(1200, 900));
  REQUIRE(env.run(*make_process_media_stage(env.settings())).ok());
  env.stop_after = 0;  // the first boundary (after one thumbnail) ends the attempt
  auto end = env.run(*make_store_thumbnails_stage(env.settings()));
  REQUIRE(end.ok());
  CHECK(end.value() == StageEnd::stop);
  CHECK(env.checkpoints.size() == 1);
  CHECK(env.keys().size() == 1);
  CHECK(env.work.result.thumbnails.size() == 1);
}

TEST_CASE("store_thumbnails: nothing to store, nothing to do; a failure names the key") {
  StageEnv env(upload_test::make_jpeg(64, 48));
  auto stage = make_store_thumbnails_stage(env.settings());
  CHECK_FALSE(stage->applies(env.work));
  REQUIRE(env.run(*make_process_media_stage(env.settings())).ok());
  REQUIRE(stage->applies(env.work));
  env.storage->fail_puts = 2;
  env.storage->put_error = Status::PermissionDenied("injected: denied");
  auto end = env.run(*stage);
  REQUIRE_FALSE(end.ok());
  CHECK(end.status().code() == ErrorCode::permission_denied);
  CHECK(end.status().message().find("uploads/u1/thumb_small.jpg") != std::string::npos);
  CHECK(env.work.result.thumbnails.empty());
}
