// The pipeline's stages one by one, each run on its own with a context the
// test builds (src/upload/stages/), and the list build_pipeline makes.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include "core/crypto.hpp"
#include "support/files.hpp"
#include "unit/upload/upload_support.hpp"
#include "upload/dedup_index.hpp"
#include "upload/record.hpp"
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
  auto built = build_pipeline(env.settings());
  REQUIRE(built.ok());
  Pipeline p = std::move(built).value();
  std::vector<UploadStage> names;
  for (auto& s : p) {
    names.push_back(s->traits().stage);
    CHECK(s->traits().progress_share > 0);
  }
  // Duplicate detection (default scope key circle_id) after validation,
  // before anything is stored.
  CHECK(names == std::vector<UploadStage>{UploadStage::validating, UploadStage::deduplicating,
                                          UploadStage::storing_original, UploadStage::storing_thumbnails});
  // Refusals of the file are final; storage failures and "not yet" of a
  // duplicate are retried.
  CHECK_FALSE(p[0]->traits().retry_transient);
  CHECK(p[1]->traits().retry_transient);
  CHECK(p[2]->traits().retry_transient);
  CHECK(p[3]->traits().retry_transient);
  // The shares: validating 15, thumbnails 25 (of process_media's 40),
  // deduplicating 5, original 20, thumbnails 25.
  int total = 0;
  for (auto& s : p) total += s->traits().progress_share;
  CHECK(total == 90);

  // MEDIA_DEDUP_SCOPE_KEY empty (or the option ""): no deduplicating stage.
  env.options.dedup_scope_key = "";
  auto off = build_pipeline(env.settings());
  REQUIRE(off.ok());
  REQUIRE(off->size() == 3);
  CHECK((*off)[1]->traits().stage == UploadStage::storing_original);
  env.options.dedup_scope_key.reset();
  env.config.dedup_scope_key = "";
  off = build_pipeline(env.settings());
  REQUIRE(off.ok());
  CHECK(off->size() == 3);
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

TEST_CASE("process_media: a direct upload's declared SHA-256 must be the bytes' (final corrupt_media otherwise)") {
  const std::string jpeg = upload_test::make_jpeg(64, 48);
  {
    StageEnv env(jpeg);
    env.upload.direct = UploadStatus::Direct{};
    env.upload.direct->sha256 = std::string(64, '0');
    auto end = env.run(*make_process_media_stage(env.settings()));
    REQUIRE_FALSE(end.ok());
    CHECK(end.status().code() == ErrorCode::corrupt_media);
    CHECK_FALSE(end.status().transient());
    CHECK(end.status().message().find("IMG_1.jpg") != std::string::npos);
    CHECK(end.status().message().find("the client declared " + std::string(64, '0')) != std::string::npos);
    CHECK(env.work.thumbnails.empty());
  }
  {
    StageEnv env(jpeg);
    env.upload.direct = UploadStatus::Direct{};
    env.upload.direct->sha256 = detail::hex_lower(detail::sha256(jpeg));
    auto end = env.run(*make_process_media_stage(env.settings()));
    REQUIRE_MESSAGE(end.ok(), end.status().to_string());
    CHECK(env.work.thumbnails.size() == 3);
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

namespace {

// A scanner with a fixed answer; counts its calls and checks it reads the
// spooled bytes.
class FixedScanner final : public Scanner {
 public:
  explicit FixedScanner(Result<ScanResult> answer) : answer_(std::move(answer)) {}
  Result<ScanResult> scan(const ScanReadFn& read, std::optional<std::uint64_t> size) override {
    ++calls;
    char buf[4096];
    std::uint64_t n = 0;
    while (true) {
      auto r = read(buf, sizeof buf);
      if (!r.ok()) return r.status();
      if (*r == 0) break;
      n += *r;
    }
    bytes_read = n;
    size_given = size;
    return answer_;
  }
  Status ping() override { return Status::Ok(); }
  std::string describe() const override { return "fixed scanner"; }
  int calls = 0;
  std::uint64_t bytes_read = 0;
  std::optional<std::uint64_t> size_given;

 private:
  Result<ScanResult> answer_;
};

ScanResult verdict(ScanVerdict v, std::string signature = {}, std::string reason = {}) {
  ScanResult r;
  r.verdict = v;
  r.signature = std::move(signature);
  r.reason = std::move(reason);
  return r;
}

}  // namespace

TEST_CASE("pipeline: the scan stage comes first when scanning is on, and only then") {
  StageEnv env("x");
  env.options.scanner = std::make_shared<FixedScanner>(verdict(ScanVerdict::clean));
  auto built = build_pipeline(env.settings());
  REQUIRE(built.ok());
  REQUIRE(built->size() == 5);
  CHECK((*built)[0]->traits().stage == UploadStage::scanning);
  CHECK((*built)[0]->traits().retry_transient);  // clamd down: the upload waits

  StageEnv from_config("x");
  from_config.config.scan.mode = ScanMode::required;
  from_config.config.scan.clamd_url = "unix:/run/clamav/clamd.ctl";
  auto clamd = build_pipeline(from_config.settings());
  REQUIRE(clamd.ok());
  CHECK((*clamd)[0]->traits().stage == UploadStage::scanning);

  from_config.config.scan.clamd_url = "clamd:3310";
  CHECK(build_pipeline(from_config.settings()).status().message().find("MEDIA_CLAMD_URL") != std::string::npos);
  from_config.config.scan.mode = ScanMode::off;
  from_config.config.scan.clamd_url.clear();
  auto off = build_pipeline(from_config.settings());
  REQUIRE(off.ok());
  CHECK((*off)[0]->traits().stage == UploadStage::validating);
}

TEST_CASE("scan stage: clean goes on, the whole spool scanned") {
  const std::string photo = upload_test::make_jpeg(64, 48);
  StageEnv env(photo);
  auto scanner = std::make_shared<FixedScanner>(verdict(ScanVerdict::clean));
  env.options.scanner = scanner;
  auto stage = make_scan_stage(env.settings());
  REQUIRE(stage.ok());
  auto end = env.run(**stage);
  REQUIRE(end.ok());
  CHECK(*end == StageEnd::next);
  CHECK(scanner->bytes_read == photo.size());
  CHECK(scanner->size_given == photo.size());
  CHECK(env.work.result.metadata["scan"] == "clean");
  CHECK(env.keys().empty());
}

TEST_CASE("scan stage: infected fails with the signature, unscanned is refused unless accepted") {
  StageEnv env("x");
  env.options.scanner = std::make_shared<FixedScanner>(verdict(ScanVerdict::infected, "Win.Test.EICAR_HDB-1"));
  auto infected = env.run(*make_scan_stage(env.settings()).value());
  CHECK(infected.status().is(refusal_reason_code(RefusalReason::malware)));
  CHECK_FALSE(infected.status().transient());
  CHECK(infected.status().message().find("IMG_1.jpg contains malware: Win.Test.EICAR_HDB-1") != std::string::npos);

  env.options.scanner = std::make_shared<FixedScanner>(verdict(ScanVerdict::unscanned, "", "over the limit"));
  auto refused = env.run(*make_scan_stage(env.settings()).value());
  CHECK(refused.status().is(refusal_reason_code(RefusalReason::unscanned)));
  CHECK(refused.status().message().find("not scanned in full") != std::string::npos);
  CHECK(refused.status().message().find("over the limit") != std::string::npos);

  env.config.scan.unscanned = UnscannedPolicy::accept;
  auto accepted = env.run(*make_scan_stage(env.settings()).value());
  REQUIRE(accepted.ok());
  CHECK(*accepted == StageEnd::next);
  CHECK(env.work.result.metadata["scan"] == "unscanned");
}

TEST_CASE("scan stage: a scanner that cannot answer is a transient failure naming it, not the spool") {
  StageEnv env("x");
  env.options.scanner =
      std::make_shared<FixedScanner>(Status::Unavailable("clamd at unix:/x: cannot connect: No such file"));
  auto r = env.run(*make_scan_stage(env.settings()).value());
  CHECK(r.status().is(ErrorCode::unavailable));
  CHECK(r.status().transient());
  CHECK(r.status().message() == "scanning IMG_1.jpg: clamd at unix:/x: cannot connect: No such file");

  std::filesystem::remove(env.spool);
  auto gone = env.run(*make_scan_stage(env.settings()).value());
  CHECK(gone.status().is(ErrorCode::not_found));
  CHECK(gone.status().message().find(env.spool) == std::string::npos);
}

TEST_CASE("pipeline: strip_location runs before store_original when turned on") {
  StageEnv env("x");
  env.config.strip_location = true;
  auto built = build_pipeline(env.settings());
  REQUIRE(built.ok());
  std::vector<UploadStage> names;
  for (auto& s : *built) names.push_back(s->traits().stage);
  // After duplicate detection (a duplicate stores nothing); it prepares the
  // original, so it shows as storing_original.
  CHECK(names == std::vector<UploadStage>{UploadStage::validating, UploadStage::deduplicating,
                                          UploadStage::storing_original, UploadStage::storing_original,
                                          UploadStage::storing_thumbnails});
  CHECK_FALSE((*built)[2]->traits().retry_transient);
  env.options.strip_location = false;  // the service's option wins over the configuration
  auto off = build_pipeline(env.settings());
  REQUIRE(off.ok());
  CHECK(off->size() == 4);
}

TEST_CASE("strip_location: the stripped copy is what store_original stores; it goes with the work") {
  const std::string tagged = upload_test::with_gps_exif(upload_test::make_jpeg(200, 150));
  StageEnv env(tagged);
  REQUIRE(env.run(*make_process_media_stage(env.settings())).ok());
  auto strip = make_strip_location_stage(env.settings());
  CHECK(strip->applies(env.work));
  auto end = env.run(*strip);
  REQUIRE_MESSAGE(end.ok(), end.status().to_string());
  CHECK(end.value() == StageEnd::next);
  CHECK(env.work.original_path == env.config.effective_spool_dir() + "/u1.noloc.tmp");
  const std::string stripped = test::slurp(env.work.original_path);
  CHECK(stripped.size() == tagged.size());
  CHECK(stripped != tagged);
  CHECK(env.work.original_bytes == stripped.size());
  CHECK(env.work.original_sha256 == hex_lower(sha256(stripped)));
  CHECK(env.work.result.metadata.at("location_stripped") == "true");
  CHECK(test::slurp(env.spool) == tagged);  // the spool is read only

  REQUIRE(env.run(*make_store_original_stage(env.settings())).ok());
  auto info = env.storage->stat("uploads/u1/original.jpg");
  REQUIRE(info.ok());
  CHECK(info->size == stripped.size());
  CHECK(info->user_metadata.at("sha256") == env.work.original_sha256);
  CHECK(env.work.result.original.bytes == stripped.size());

  const std::string path = env.work.original_path;
  env.work.original_scratch.reset();
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("strip_location: a failure names the user's file, never the spool path") {
  StageEnv env("this is not a video", "clip.mp4");
  MediaInfo mi;
  mi.type = MediaType::mp4;
  env.work.media = mi;
  auto end = env.run(*make_strip_location_stage(env.settings()));
  REQUIRE_FALSE(end.ok());
  CHECK(end.status().code() == ErrorCode::corrupt_media);
  CHECK(end.status().message().find("clip.mp4") != std::string::npos);
  CHECK(end.status().message().find(env.spool) == std::string::npos);
  CHECK(env.work.original_path.empty());
  CHECK_FALSE(std::filesystem::exists(env.config.effective_spool_dir() + "/u1.noloc.tmp"));
  CHECK(end.status().message().find(env.config.effective_spool_dir()) == std::string::npos);
}

namespace {

// The context of the deduplicating stage: validation done (SHA-256, pHash),
// the upload in circle 7.
void validated(StageEnv& env) {
  MediaInfo mi;
  mi.sha256 = std::string(64, 'a');
  mi.phash = "0123456789abcdef";
  env.work.media = mi;
  env.work.thumbnails.push_back(Thumbnail{});
  env.upload.context["circle_id"] = "7";
}

// A status record of another upload `id` in `state`, with a result when completed.
void put_upload(JobQueue& q, const std::string& id, UploadState state) {
  UploadStatus s;
  s.id = id;
  s.state = state;
  if (state == UploadState::completed) {
    UploadResult r;
    r.original = StoredObject{"original", "uploads/" + id + "/original.jpg", "", 4, 3, 10, "image/jpeg", ""};
    r.thumbnails.push_back(
        StoredObject{"small", "uploads/" + id + "/thumb_small.jpg", "", 4, 3, 5, "image/jpeg", "jpeg"});
    s.result = r;
  }
  REQUIRE(q.put_record({id, upload_state_name(state), {}, status_to_json(s)}).ok());
}

std::string claim0() { return dedup_claim_id("circle_id", "7", std::string(64, 'a'), 0); }

}  // namespace

TEST_CASE("dedup stage: traits; no scope value: goes on, claims nothing") {
  StageEnv env("x");
  auto stage = make_dedup_stage(env.settings());
  REQUIRE(stage);
  CHECK(stage->traits().stage == UploadStage::deduplicating);
  CHECK(stage->traits().retry_transient);
  CHECK(stage->traits().progress_share > 0);
  CHECK_FALSE(stage->applies(env.work));  // before validation: nothing to compare
  validated(env);
  CHECK(stage->applies(env.work));
  env.upload.context.erase("circle_id");
  auto end = env.run(*stage);
  REQUIRE(end.ok());
  CHECK(end.value() == StageEnd::next);
  CHECK(env.queue->get_record(claim0()).status().is(ErrorCode::not_found));
  env.options.dedup_scope_key = "";
  CHECK_FALSE(make_dedup_stage(env.settings()));
}

TEST_CASE("dedup stage: the first upload claims the content and indexes its pHash; a re-run finds its claim") {
  StageEnv env("x");
  validated(env);
  auto stage = make_dedup_stage(env.settings());
  for (int run = 0; run < 2; ++run) {
    auto end = env.run(*stage);
    REQUIRE_MESSAGE(end.ok(), end.status().to_string());
    CHECK(end.value() == StageEnd::next);
  }
  auto claim = env.queue->get_record(claim0());
  REQUIRE(claim.ok());
  CHECK(claim->body == "u1");
  CHECK(claim->state == kDedupClaimState);
  const std::string digest = dedup_scope_digest("circle_id", "7");
  auto entry = env.queue->get_record(scope_index_id(digest, "u1"));
  REQUIRE(entry.ok());
  CHECK(entry->body == "0123456789abcdef");
  CHECK(entry->state == scope_index_state(digest));
  CHECK(scope_index_upload(digest, entry->id) == "u1");
  CHECK(scope_index_upload(digest, "scope.other.u1").empty());
  CHECK(env.work.duplicate_of.empty());
}

TEST_CASE("dedup stage: a completed owner makes this upload its duplicate, storing nothing") {
  StageEnv env("x");
  validated(env);
  put_upload(*env.queue, "u0", UploadState::completed);
  REQUIRE(env.queue->create_record({claim0(), kDedupClaimState, {}, "u0"}).ok());
  auto stage = make_dedup_stage(env.settings());
  auto end = env.run(*stage);
  REQUIRE_MESSAGE(end.ok(), end.status().to_string());
  CHECK(end.value() == StageEnd::complete);
  CHECK(env.work.duplicate_of == "u0");
  CHECK(env.work.result.original.key == "uploads/u0/original.jpg");
  REQUIRE(env.work.result.thumbnails.size() == 1);
  CHECK(env.work.result.thumbnails[0].key == "uploads/u0/thumb_small.jpg");
  CHECK(env.work.thumbnails.empty());
  CHECK(env.storage->puts == 0);
}

TEST_CASE("dedup stage: an owner still queued is a transient \"not yet\"; a failed one is taken over") {
  StageEnv env("x");
  validated(env);
  auto stage = make_dedup_stage(env.settings());
  put_upload(*env.queue, "u0", UploadState::retrying);
  REQUIRE(env.queue->enqueue("u0", "{}").ok());
  REQUIRE(env.queue->create_record({claim0(), kDedupClaimState, {}, "u0"}).ok());
  auto end = env.run(*stage);
  REQUIRE_FALSE(end.ok());
  CHECK(end.status().transient());
  CHECK(end.status().message().find("u0") != std::string::npos);
  CHECK(end.status().message().find("IMG_1.jpg") != std::string::npos);

  put_upload(*env.queue, "u0", UploadState::failed);
  end = env.run(*stage);
  REQUIRE_MESSAGE(end.ok(), end.status().to_string());
  CHECK(end.value() == StageEnd::next);
  auto next = env.queue->get_record(dedup_claim_id("circle_id", "7", std::string(64, 'a'), 1));
  REQUIRE(next.ok());
  CHECK(next->body == "u1");
}
