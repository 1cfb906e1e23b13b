// The upload workflow on the local storage backend with the memory and the
// sqlite queue.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "core/crypto.hpp"
#include "mediastore/media.hpp"
#include "mediastore/upload.hpp"
#include "support/files.hpp"
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

  // kind: "memory" or "sqlite"
  explicit Env(const std::string& kind, int max_attempts = 4) {
    storage = std::make_shared<FaultyStorage>(upload_test::local_storage(config, dir.path()));
    QueueOptions qo;
    qo.max_attempts = max_attempts;
    qo.lease_duration = 5s;
    if (kind == "sqlite") {
      auto q = make_sqlite_queue(dir.path() + "/queue.db", qo);
      REQUIRE_MESSAGE(q.ok(), q.status().to_string());
      queue = q.value();
    } else {
      queue = make_memory_queue(qo);
    }
    service = open_service(max_attempts);
  }

  std::shared_ptr<UploadService> open_service(int max_attempts) {
    UploadOptions uo;
    uo.max_attempts = max_attempts;
    uo.backoff_base = 20ms;
    uo.backoff_max = 100ms;
    uo.lease_duration = 5s;
    uo.heartbeat_interval = 1s;
    auto s = UploadService::create(config, storage, queue, uo);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    return s.value();
  }

  std::string submit(std::string bytes, std::string name = "IMG_1.jpg") {
    UploadRequest r;
    r.data = std::move(bytes);
    r.original_filename = std::move(name);
    r.content_type = "image/jpeg";
    r.context = {{"keep_id", "42"}, {"caption", "a day at the beach"}};
    auto id = service->submit_upload(r);
    REQUIRE_MESSAGE(id.ok(), id.status().to_string());
    return id.value();
  }

  UploadStatus status(const std::string& id) { return upload_test::status_of(*service, id); }

  // Processes jobs until the upload ends (completed or failed).
  UploadStatus run_until_done(const std::string& id) {
    return upload_test::process_until_ended(*service, *service, id);
  }

  std::string spool(const std::string& id) const { return config.effective_spool_dir() + "/" + id + ".spool"; }

  std::vector<std::string> objects(const std::string& id) {
    auto all = storage->list_all("uploads/" + id + "/");
    REQUIRE(all.ok());
    std::vector<std::string> keys;
    for (auto& o : all.value()) keys.push_back(o.key);
    return keys;
  }
};

const std::string kKinds[] = {"memory", "sqlite"};

}  // namespace

TEST_CASE("upload: a photo completes with the original and 3 thumbnails") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    auto id = env.submit(upload_test::make_jpeg(1200, 900));
    CHECK(id.size() == 36);
    auto pending = env.status(id);
    CHECK(pending.state == UploadState::pending);
    CHECK(pending.progress_percentage == 0);
    CHECK(pending.context.at("keep_id") == "42");
    CHECK(std::filesystem::exists(env.spool(id)));

    auto s = env.run_until_done(id);
    REQUIRE(s.state == UploadState::completed);
    CHECK(s.stage == UploadStage::done);
    CHECK(s.progress_percentage == 100);
    CHECK(s.attempt == 1);
    CHECK(s.original_filename == "IMG_1.jpg");
    CHECK(s.context.at("caption") == "a day at the beach");
    REQUIRE(s.result);
    const auto& r = *s.result;
    CHECK(r.original.key == "uploads/" + id + "/original.jpg");
    CHECK(r.original.content_type == "image/jpeg");
    CHECK(r.original.width == 1200);
    CHECK(r.original.height == 900);
    CHECK_FALSE(r.original.url.empty());
    REQUIRE(r.thumbnails.size() == 3);
    std::set<std::string> names;
    for (auto& t : r.thumbnails) {
      names.insert(t.name);
      CHECK(t.format == "jpeg");
      CHECK(t.key == "uploads/" + id + "/thumb_" + t.name + ".jpg");
      CHECK(t.content_type == "image/jpeg");
      CHECK(t.width > 0);
      CHECK(t.height > 0);
      CHECK(t.width <= 800);
      CHECK_FALSE(t.url.empty());
      auto info = env.storage->stat(t.key);
      REQUIRE(info.ok());
      CHECK(info->size == t.bytes);
      CHECK(info->content_type == "image/jpeg");
    }
    CHECK(names == std::set<std::string>{"small", "medium", "large"});
    auto info = env.storage->stat(r.original.key);
    REQUIRE(info.ok());
    CHECK(info->content_type == "image/jpeg");
    CHECK(info->user_metadata.at("upload-id") == id);
    CHECK(info->size == r.original.bytes);
    CHECK(r.metadata.at("mime") == "image/jpeg");
    CHECK(r.metadata.at("sha256").size() == 64);
    CHECK(env.objects(id).size() == 4);
    CHECK_FALSE(std::filesystem::exists(env.spool(id)));
    // Nothing left in the queue.
    auto st = env.queue->stats();
    CHECK(st->ready + st->in_flight + st->delayed + st->dead == 0);
    auto m = env.service->metrics();
    REQUIRE(m.ok());
    CHECK(m->submitted == 1);
    CHECK(m->completed == 1);
    CHECK(m->time_count == 1);
    CHECK(m->states["completed"] == 1);
  }
}

TEST_CASE("upload: MEDIA_THUMBNAIL_FORMATS=jpeg,webp,avif stores every size in every format; hashes in the metadata") {
  REQUIRE(thumbnail_format_available(ThumbnailFormat::avif));
  Env env("memory");
  auto cfg = Config::from_lookup([](std::string_view name) -> std::optional<std::string> {
    if (name == "MEDIA_THUMBNAIL_FORMATS") return "jpeg,webp,avif";
    return std::nullopt;
  });
  REQUIRE_MESSAGE(cfg.ok(), cfg.status().to_string());
  env.config.thumbnail_formats = cfg->thumbnail_formats;
  env.service = env.open_service(4);
  REQUIRE(env.service->options().thumbnails);
  CHECK(env.service->options().thumbnails->size() == 3);
  auto id = env.submit(upload_test::make_jpeg(1200, 900));
  auto s = env.run_until_done(id);
  REQUIRE(s.state == UploadState::completed);
  const auto& r = *s.result;
  REQUIRE(r.thumbnails.size() == 9);
  // Each stored object decodes as what its name and content type say, at the size the result gives.
  ValidationPolicy any_image;
  any_image.photo_mime_types = {"image/jpeg", "image/webp", "image/avif"};
  const std::map<std::string, std::pair<std::string, std::string>> by_format{
      {"jpeg", {"jpg", "image/jpeg"}}, {"webp", {"webp", "image/webp"}}, {"avif", {"avif", "image/avif"}}};
  std::set<std::string> keys;
  for (const auto& t : r.thumbnails) {
    CAPTURE(t.key);
    REQUIRE(by_format.count(t.format) == 1);
    const auto& [ext, type] = by_format.at(t.format);
    CHECK(t.key == "uploads/" + id + "/thumb_" + t.name + "." + ext);
    CHECK(t.content_type == type);
    keys.insert(t.key);
    auto info = env.storage->stat(t.key);
    REQUIRE(info.ok());
    CHECK(info->content_type == type);
    CHECK(info->size == t.bytes);
    auto bytes = env.storage->read_bytes(t.key);
    REQUIRE(bytes.ok());
    auto mi = validate_media(*bytes, "thumb." + ext, MediaKind::photo, any_image);
    REQUIRE_MESSAGE(mi.ok(), mi.status().to_string());
    CHECK(mi->mime == type);
    CHECK(mi->display_width == t.width);
    CHECK(mi->display_height == t.height);
  }
  CHECK(keys.size() == 9);
  CHECK(env.objects(id).size() == 10);
  // Spec order, then format order.
  CHECK(r.thumbnails[0].name == "small");
  CHECK(r.thumbnails[0].format == "jpeg");
  CHECK(r.thumbnails[1].format == "webp");
  CHECK(r.thumbnails[2].format == "avif");
  CHECK(r.thumbnails[8].name == "large");
  CHECK(r.original.format.empty());
  // The placeholder and perceptual hash, as media computes them of the same photo.
  auto pm = process_media(upload_test::make_jpeg(1200, 900), "IMG_1.jpg", MediaKind::photo, default_thumbnail_specs());
  REQUIRE(pm.ok());
  CHECK(r.metadata.at("thumbhash") == pm->info.thumbhash);
  CHECK(r.metadata.at("phash") == pm->info.phash);
  CHECK(r.metadata.at("phash").size() == 16);
}

TEST_CASE("upload: an explicit thumbnail list wins over MEDIA_THUMBNAIL_FORMATS") {
  Env env("memory");
  env.config.thumbnail_formats = {ThumbnailFormat::jpeg, ThumbnailFormat::webp};
  UploadOptions uo;
  uo.thumbnails = std::vector<ThumbnailSpec>{ThumbnailSpec{"tiny", 32, 32}};
  auto svc = UploadService::create(env.config, env.storage, env.queue, uo);
  REQUIRE(svc.ok());
  env.service = svc.value();
  auto s = env.run_until_done(env.submit(upload_test::make_jpeg(200, 100)));
  REQUIRE(s.state == UploadState::completed);
  REQUIRE(s.result->thumbnails.size() == 1);
  CHECK(s.result->thumbnails[0].format == "jpeg");
  CHECK(s.result->thumbnails[0].width == 32);
}

TEST_CASE("upload: context and file name reach object metadata only when listed") {
  Env env("memory");
  auto id = env.submit(upload_test::make_jpeg(64, 48));
  auto s = env.run_until_done(id);
  REQUIRE(s.state == UploadState::completed);
  auto info = env.storage->stat(s.result->original.key);
  REQUIRE(info.ok());
  // Default: only what identifies the object, nothing the user wrote.
  CHECK(info->user_metadata == Metadata{{"upload-id", id}, {"sha256", info->user_metadata.at("sha256")}});
  CHECK(s.context.at("caption") == "a day at the beach");  // still in the status record

  UploadOptions uo;
  uo.metadata_context_keys = std::vector<std::string>{"caption", "original-filename"};
  auto listed = UploadService::create(env.config, env.storage, env.queue, uo);
  REQUIRE(listed.ok());
  env.service = listed.value();
  auto id2 = env.submit(upload_test::make_jpeg(64, 48, 3));
  auto s2 = env.run_until_done(id2);
  REQUIRE(s2.state == UploadState::completed);
  auto info2 = env.storage->stat(s2.result->original.key);
  REQUIRE(info2.ok());
  CHECK(info2->user_metadata.at("ctx-caption") == "a day at the beach");
  CHECK(info2->user_metadata.at("original-filename") == "IMG_1.jpg");
  CHECK(info2->user_metadata.count("ctx-keep_id") == 0);
}

TEST_CASE("upload: a hostile file fails with a reason, nothing kept") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    auto id = env.submit(upload_test::hostile_html(), "holiday.jpg");
    auto s = env.run_until_done(id);
    REQUIRE(s.state == UploadState::failed);
    CHECK(s.error_code == ErrorCode::unsupported_media);
    CHECK_FALSE(s.error_message.empty());
    MESSAGE("hostile file: " << s.error_message);
    CHECK_FALSE(s.result);
    CHECK(env.objects(id).empty());
    CHECK_FALSE(std::filesystem::exists(env.spool(id)));
    CHECK(env.service->metrics()->failed == 1);
    // Truncated JPEG: corrupt, also permanent.
    std::string jpeg = upload_test::make_jpeg(400, 300);
    auto id2 = env.submit(jpeg.substr(0, jpeg.size() / 3), "cut.jpg");
    auto s2 = env.run_until_done(id2);
    CHECK(s2.state == UploadState::failed);
    CHECK(s2.attempt == 1);
    CHECK(env.objects(id2).empty());
  }
}

TEST_CASE("upload: corrupt images fail with corrupt_media and store nothing") {
  const std::string jpeg = upload_test::make_jpeg(640, 480);
  const std::string png = upload_test::make_png(64, 48);
  struct Case {
    std::string name, bytes;
  };
  const Case cases[] = {
      {"cut.jpg", jpeg.substr(0, jpeg.size() / 2)},             // truncated JPEG
      {"cut.png", png.substr(0, png.size() / 2)},               // truncated PNG
      {"scrambled.jpg", upload_test::corrupt_jpeg_body(jpeg)},  // valid header, damaged entropy data
      {"short.png", upload_test::make_png(64, 48, 10)},         // valid chunks, 10 of 48 rows
  };
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    // The intact originals complete: the damage is what fails the others.
    for (const auto& good : {Case{"good.jpg", jpeg}, Case{"good.png", png}}) {
      auto s = env.run_until_done(env.submit(good.bytes, good.name));
      CHECK_MESSAGE(s.state == UploadState::completed, good.name << ": " << s.error_message);
    }
    const int puts_before = env.storage->puts.load();
    for (const auto& c : cases) {
      CAPTURE(c.name);
      auto id = env.submit(c.bytes, c.name);
      auto s = env.run_until_done(id);
      CHECK(s.state == UploadState::failed);
      CHECK(s.error_code == ErrorCode::corrupt_media);
      CHECK(s.attempt == 1);
      CHECK(s.error_message.find(c.name) != std::string::npos);
      CHECK_FALSE(s.result);
      CHECK(env.objects(id).empty());
      CHECK_FALSE(std::filesystem::exists(env.spool(id)));
    }
    CHECK(env.storage->puts.load() == puts_before);  // nothing was ever written
  }
}

TEST_CASE("upload: a thumbnail refusal is permanent, names the file and stores nothing") {
  // Validation without the strict decode: the (lenient) thumbnail decode,
  // which is the validation step's only decode, is the first to see the
  // damage, and it runs before the original is stored.
  Env env("memory");
  UploadOptions uo;
  uo.backoff_base = 20ms;
  uo.backoff_max = 100ms;
  uo.lease_duration = 5s;
  uo.heartbeat_interval = 1s;
  ValidationPolicy policy;
  policy.decode_images = false;
  uo.policy = policy;
  auto svc = UploadService::create(env.config, env.storage, env.queue, uo);
  REQUIRE_MESSAGE(svc.ok(), svc.status().to_string());
  env.service = svc.value();
  const std::string png = upload_test::make_png(64, 48);
  const std::pair<std::string, std::string> cases[] = {{"cut.png", png.substr(0, png.size() - 30)},
                                                       {"short.png", upload_test::make_png(64, 48, 10)}};
  for (const auto& c : cases) {
    const std::string& name = c.first;
    CAPTURE(name);
    auto id = env.submit(c.second, name);
    auto s = env.run_until_done(id);
    CHECK(s.state == UploadState::failed);
    CHECK(s.error_code == ErrorCode::corrupt_media);
    CHECK(s.attempt == 1);
    CHECK(s.stage == UploadStage::validating);
    MESSAGE(name << ": " << s.error_message);
    CHECK(s.error_message.find(name) != std::string::npos);
    CHECK(s.error_message.find(".spool") == std::string::npos);
    CHECK(env.objects(id).empty());
    CHECK_FALSE(std::filesystem::exists(env.spool(id)));
  }
  CHECK(env.storage->puts.load() == 0);
  CHECK(env.service->metrics()->failed == 2);
}

TEST_CASE("upload: states in order, progress never decreases") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    std::vector<UploadStatus> seen;
    std::string id;
    // Observe the status at every storage write, i.e. inside each stage.
    env.storage->on_put = [&](std::string_view) {
      auto s = env.service->status(id);
      if (s.ok()) seen.push_back(s.value());
    };
    id = env.submit(upload_test::make_jpeg(800, 600));
    seen.push_back(env.status(id));
    env.storage->fail_puts = 1;  // one transient failure
    for (int i = 0; i < 100; ++i) {
      REQUIRE(env.service->process_next(1, 200ms).ok());
      seen.push_back(env.status(id));
      if (seen.back().state == UploadState::completed) break;
    }
    std::vector<std::string> states;
    for (auto& s : seen) {
      if (states.empty() || states.back() != upload_state_name(s.state)) states.push_back(upload_state_name(s.state));
    }
    CHECK(states == std::vector<std::string>{"pending", "processing", "retrying", "processing", "completed"});
    int last = -1;
    for (auto& s : seen) {
      CHECK(s.progress_percentage >= last);
      last = s.progress_percentage;
    }
    std::set<UploadStage> stages;
    for (auto& s : seen) stages.insert(s.stage);
    CHECK(stages.count(UploadStage::storing_original));
    CHECK(stages.count(UploadStage::storing_thumbnails));
    CHECK(seen.back().progress_percentage == 100);
  }
}

TEST_CASE("upload: a worker's statuses seen by a poller move forward only") {
  Env env("sqlite");
  env.storage->on_put = [](std::string_view) { std::this_thread::sleep_for(20ms); };
  auto id = env.submit(upload_test::make_jpeg(1600, 1200));
  std::vector<UploadStatus> seen;
  std::atomic<bool> done{false};
  std::thread poller([&] {
    while (!done) {
      auto s = env.service->status(id);
      if (s.ok()) seen.push_back(s.value());
      std::this_thread::sleep_for(2ms);
    }
  });
  Worker worker(env.service, {.threads = 1, .poll_wait = 50ms});
  REQUIRE(worker.start().ok());
  for (int i = 0; i < 500 && env.status(id).state != UploadState::completed; ++i) std::this_thread::sleep_for(10ms);
  done = true;
  poller.join();
  worker.stop();
  worker.wait();
  seen.push_back(env.status(id));
  auto rank = [](UploadState s) {
    switch (s) {
      case UploadState::pending: return 0;
      case UploadState::processing:
      case UploadState::retrying: return 1;
      default: return 2;
    }
  };
  int last_progress = -1, last_rank = -1;
  for (auto& s : seen) {
    CHECK(s.progress_percentage >= last_progress);
    CHECK(rank(s.state) >= last_rank);
    last_progress = s.progress_percentage;
    last_rank = rank(s.state);
  }
  CHECK(seen.back().state == UploadState::completed);
  CHECK(seen.size() > 2);
}

TEST_CASE("upload: transient failures are retried, then the upload completes") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    env.storage->fail_puts = 2;
    auto id = env.submit(upload_test::make_jpeg(640, 480));
    REQUIRE(env.service->process_next(1, 1s).value() == 1);
    auto s = env.status(id);
    CHECK(s.state == UploadState::retrying);
    CHECK(s.attempt == 1);
    CHECK(s.last_error.find("unavailable") != std::string::npos);
    CHECK(s.next_try > std::chrono::system_clock::now() - 1s);
    s = env.run_until_done(id);
    CHECK(s.state == UploadState::completed);
    CHECK(s.attempt == 3);
    CHECK(s.result->thumbnails.size() == 3);
    CHECK(env.objects(id).size() == 4);  // the same keys rewritten: no duplicates
    auto m = env.service->metrics();
    CHECK(m->retried == 2);
    CHECK(m->completed == 1);
  }
}

TEST_CASE("upload: transient failures beyond max attempts fail and dead-letter") {
  Env env("sqlite", 3);
  env.storage->fail_puts = 1000;
  env.storage->put_error = Status::Timeout("injected: request timed out");
  auto id = env.submit(upload_test::make_jpeg(320, 240));
  auto s = env.run_until_done(id);
  CHECK(s.state == UploadState::failed);
  CHECK(s.error_code == ErrorCode::timeout);
  CHECK(s.attempt == 3);
  CHECK(s.error_message.find("gave up after 3 attempts") != std::string::npos);
  auto dead = env.service->dead_letters();
  REQUIRE(dead.ok());
  REQUIRE(dead->size() == 1);
  CHECK(dead.value()[0].id == id);
  // A transient cause keeps the spool file for retry(), until cleanup.
  CHECK(std::filesystem::exists(env.spool(id)));
  CHECK(env.objects(id).empty());
  REQUIRE(env.service->cleanup_failed_uploads(std::chrono::seconds(0)).ok());
  CHECK_FALSE(std::filesystem::exists(env.spool(id)));
}

TEST_CASE("upload: a permanent storage failure fails at once") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    env.storage->fail_puts = 1;
    env.storage->put_error = Status::PermissionDenied("injected: access denied to bucket");
    auto id = env.submit(upload_test::make_jpeg(320, 240));
    REQUIRE(env.service->process_next(1, 1s).value() == 1);
    auto s = env.status(id);
    CHECK(s.state == UploadState::failed);
    CHECK(s.attempt == 1);
    CHECK(s.error_code == ErrorCode::permission_denied);
    CHECK(s.error_message.find("access denied") != std::string::npos);
    CHECK(env.service->metrics()->retried == 0);
    CHECK_FALSE(std::filesystem::exists(env.spool(id)));
    CHECK(env.service->dead_letters()->empty());
  }
}

TEST_CASE("upload: unknown ids are not_found; bad submissions are refused") {
  Env env("memory");
  auto s = env.service->status("00000000-0000-4000-8000-000000000000");
  CHECK(s.status().is(ErrorCode::not_found));
  CHECK(s.status().message().find("00000000-0000-4000-8000-000000000000") != std::string::npos);
  CHECK(env.service->cancel("nope").is(ErrorCode::not_found));
  UploadRequest r;
  r.data = "x";
  CHECK(env.service->submit_upload(r).status().is(ErrorCode::invalid_argument));  // no name
  r.original_filename = "a.jpg";
  r.data.clear();
  CHECK(env.service->submit_upload(r).status().is(ErrorCode::invalid_argument));  // no source
  r.source_path = env.dir.path() + "/missing.jpg";
  CHECK(env.service->submit_upload(r).status().is(ErrorCode::not_found));
  r.source_path.clear();
  r.data = std::string(1000, 'x');
  env.config.max_upload_size = 100;
  auto small = env.open_service(3);
  CHECK(small->submit_upload(r).status().is(ErrorCode::too_large));
  // Nothing was spooled or queued by the refusals.
  auto files = std::filesystem::exists(env.config.effective_spool_dir())
                   ? std::distance(std::filesystem::directory_iterator(env.config.effective_spool_dir()), {})
                   : 0;
  CHECK(files == 0);
  CHECK(env.queue->stats()->ready == 0);
}

TEST_CASE("upload: submit from a file") {
  Env env("memory");
  std::string path = env.dir.path() + "/src.jpg";
  {
    std::ofstream out(path, std::ios::binary);
    out << upload_test::make_jpeg(300, 200);
  }
  UploadRequest r;
  r.source_path = path;
  r.original_filename = "src.jpg";
  auto id = env.service->submit_upload(r);
  REQUIRE(id.ok());
  auto s = env.run_until_done(id.value());
  CHECK(s.state == UploadState::completed);
  CHECK(std::filesystem::exists(path));  // the caller's file is left alone
}

TEST_CASE("upload: cancel") {
  Env env("sqlite");
  auto id = env.submit(upload_test::make_jpeg(320, 240));
  CHECK(env.service->cancel(id).ok());
  auto s = env.status(id);
  CHECK(s.state == UploadState::failed);
  CHECK(s.error_code == ErrorCode::cancelled);
  CHECK_FALSE(std::filesystem::exists(env.spool(id)));
  CHECK(env.service->process_next(1, 50ms).value() == 0);
  CHECK(env.service->cancel(id).is(ErrorCode::conflict));

  // Cancel while a worker is inside the job: the worker stops and what it
  // stored is removed.
  auto id2 = env.submit(upload_test::make_jpeg(320, 240));
  env.storage->on_put = [&](std::string_view key) {
    if (key.find("original") != std::string_view::npos) CHECK(env.service->cancel(id2).ok());
  };
  CHECK(env.service->process_next(1, 1s).value() == 1);
  CHECK(env.status(id2).state == UploadState::failed);
  CHECK(env.status(id2).error_code == ErrorCode::cancelled);
  CHECK(env.objects(id2).empty());
  CHECK_FALSE(std::filesystem::exists(env.spool(id2)));

  // A cancel that lands between the worker's lease check and its next status
  // write: the stale "processing" status is replaced by the cancellation.
  auto id3 = env.submit(upload_test::make_jpeg(320, 240));
  env.storage->on_put = [&](std::string_view key) {
    if (key.find("thumb_small") == std::string_view::npos) return;
    auto stale = env.queue->get_record(id3);  // the worker's "processing" status
    REQUIRE(stale.ok());
    REQUIRE(stale->state == "processing");
    CHECK(env.service->cancel(id3).ok());
    REQUIRE(env.queue->put_record(stale.value()).ok());  // its late write lands after the cancel
  };
  CHECK(env.service->process_next(1, 1s).value() == 1);
  auto s3 = env.status(id3);
  CHECK(s3.state == UploadState::failed);
  CHECK(s3.error_code == ErrorCode::cancelled);
  CHECK(env.objects(id3).empty());
  CHECK_FALSE(std::filesystem::exists(env.spool(id3)));
}

TEST_CASE("upload: cleanup removes spool files and partial objects") {
  for (const std::string& kind : kKinds) {
    CAPTURE(kind);
    Env env(kind);
    // 1. An abandoned upload: its job vanished after a partial object was
    //    written (a crash, a lost queue).
    auto abandoned = env.submit(upload_test::make_jpeg(320, 240));
    REQUIRE(env.queue->remove(abandoned).ok());
    REQUIRE(env.storage->put_bytes("uploads/" + abandoned + "/original.jpg", "partial", {}).ok());
    // 2. A failed upload whose cleanup could not remove its objects.
    env.storage->on_put = [&](std::string_view key) {
      if (key.find("thumb_small") != std::string_view::npos) {
        env.storage->put_error = Status::PermissionDenied("injected: denied");
        env.storage->fail_puts = 1;
        env.storage->remove_error = Status::Unavailable("injected: storage down during cleanup");
      }
    };
    auto failed = env.submit(upload_test::make_jpeg(640, 480));
    auto fs = env.run_until_done(failed);
    REQUIRE(fs.state == UploadState::failed);
    env.storage->on_put = nullptr;
    env.storage->remove_error.reset();
    CHECK_FALSE(env.objects(failed).empty());
    // 3. A spool file of no upload (crash before the record).
    std::string stray = env.config.effective_spool_dir() + "/deadbeef.spool";
    { std::ofstream(stray) << "x"; }
    // 4. A healthy pending upload must survive.
    auto healthy = env.submit(upload_test::make_jpeg(320, 240));

    // Too recent for a 1 hour threshold: nothing happens.
    auto rep = env.service->cleanup_failed_uploads(std::chrono::hours(1));
    REQUIRE(rep.ok());
    CHECK(rep->objects_removed == 0);
    CHECK(rep->spool_files_removed == 0);
    CHECK(std::filesystem::exists(stray));

    std::this_thread::sleep_for(20ms);
    rep = env.service->cleanup_failed_uploads(std::chrono::seconds(0));
    REQUIRE_MESSAGE(rep.ok(), rep.status().to_string());
    CHECK(rep->abandoned_uploads == 1);
    CHECK(rep->failed_uploads >= 1);
    CHECK(rep->objects_removed >= 2);
    CHECK(rep->spool_files_removed >= 2);
    CHECK(env.objects(abandoned).empty());
    CHECK(env.objects(failed).empty());
    CHECK_FALSE(std::filesystem::exists(env.spool(abandoned)));
    CHECK_FALSE(std::filesystem::exists(stray));
    CHECK(env.status(abandoned).state == UploadState::failed);
    CHECK(env.status(abandoned).error_message.find("abandoned") != std::string::npos);
    CHECK(env.status(failed).state == UploadState::failed);
    CHECK(env.status(healthy).state == UploadState::pending);
    CHECK(std::filesystem::exists(env.spool(healthy)));
    // Idempotent: a second run finds nothing new.
    auto again = env.service->cleanup_failed_uploads(std::chrono::seconds(0));
    REQUIRE(again.ok());
    CHECK(again->objects_removed == 0);
    CHECK(again->abandoned_uploads == 0);
    CHECK(again->failed_uploads == 0);
    CHECK(env.run_until_done(healthy).state == UploadState::completed);
  }
}

TEST_CASE("upload: a job whose worker died on its last attempt is marked failed by cleanup") {
  Env env("sqlite", 1);
  auto id = env.submit(upload_test::make_jpeg(320, 240));
  // A worker leases it and dies (the lease is short and never acked).
  auto jobs = env.queue->lease(1, 100ms, 0ms);
  REQUIRE(jobs->size() == 1);
  std::this_thread::sleep_for(200ms);
  REQUIRE(env.queue->requeue_expired().ok());
  CHECK(env.queue->stats()->dead == 1);
  auto rep = env.service->cleanup_failed_uploads(std::chrono::seconds(0));
  REQUIRE(rep.ok());
  CHECK(rep->dead_lettered == 1);
  auto s = env.status(id);
  CHECK(s.state == UploadState::failed);
  CHECK(s.error_message.find("gave up after 1 attempts") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(env.spool(id)));
}

TEST_CASE("upload: a re-delivered job after a crash is idempotent") {
  Env env("sqlite");
  auto id = env.submit(upload_test::make_jpeg(640, 480));
  // Attempt 1 "crashes" after storing the original: simulate by leasing with a
  // short lease and writing the original as the dead worker would have.
  auto jobs = env.queue->lease(1, 100ms, 0ms);
  REQUIRE(jobs->size() == 1);
  REQUIRE(env.storage->put_bytes("uploads/" + id + "/original.jpg", "half-written by a dead worker", {}).ok());
  std::this_thread::sleep_for(200ms);
  auto s = env.run_until_done(id);
  CHECK(s.state == UploadState::completed);
  CHECK(s.attempt == 2);
  auto objs = env.objects(id);
  CHECK(objs.size() == 4);
  auto orig = env.storage->read_bytes("uploads/" + id + "/original.jpg");
  REQUIRE(orig.ok());
  CHECK(orig->size() == s.result->original.bytes);
}

TEST_CASE("upload: status is shared by every service on the same sqlite queue") {
  Env env("sqlite");
  auto id = env.submit(upload_test::make_jpeg(320, 240));
  QueueOptions qo;
  auto q2 = make_sqlite_queue(env.dir.path() + "/queue.db", qo);
  REQUIRE(q2.ok());
  auto other = UploadService::create(env.config, env.storage, q2.value());
  REQUIRE(other.ok());
  CHECK(other.value()->status(id)->state == UploadState::pending);
  // The other service's worker does the job.
  REQUIRE(other.value()->process_next(1, 1s).value() == 1);
  CHECK(env.status(id).state == UploadState::completed);
}

TEST_CASE("upload: worker threads process many uploads; metrics and Prometheus text") {
  Env env("memory");
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(env.submit(upload_test::make_jpeg(320 + i * 8, 240, i)));
  ids.push_back(env.submit(upload_test::hostile_html(), "evil.png"));
  Worker worker(env.service, {.threads = 3, .poll_wait = 50ms});
  REQUIRE(worker.start().ok());
  CHECK(worker.start().is(ErrorCode::invalid_argument));
  auto finished = [&] {
    for (auto& id : ids) {
      auto st = env.status(id).state;
      if (st != UploadState::completed && st != UploadState::failed) return false;
    }
    return true;
  };
  for (int i = 0; i < 1000 && !finished(); ++i) std::this_thread::sleep_for(10ms);
  worker.stop();
  worker.wait();
  CHECK_FALSE(worker.running());
  REQUIRE(finished());
  for (int i = 0; i < 8; ++i) CHECK(env.status(ids[i]).state == UploadState::completed);
  CHECK(env.status(ids[8]).state == UploadState::failed);
  auto m = env.service->metrics();
  REQUIRE(m.ok());
  CHECK(m->submitted == 9);
  CHECK(m->completed == 8);
  CHECK(m->failed == 1);
  CHECK(m->time_count == 9);
  CHECK(m->time_buckets.back() == 9);
  CHECK(m->in_flight == 0);
  CHECK(m->queue.ready == 0);
  CHECK(m->states["completed"] == 8);
  std::string text = to_prometheus(m.value());
  CHECK(text.find("# TYPE mediastore_uploads_completed_total counter\nmediastore_uploads_completed_total 8\n") !=
        std::string::npos);
  CHECK(text.find("mediastore_upload_processing_seconds_bucket{le=\"+Inf\"} 9\n") != std::string::npos);
  CHECK(text.find("mediastore_upload_processing_seconds_count 9\n") != std::string::npos);
  CHECK(text.find("mediastore_uploads{state=\"failed\"} 1\n") != std::string::npos);
  CHECK(text.find("mediastore_queue_depth 0\n") != std::string::npos);
}

TEST_CASE("upload: the default thread count is two per core; out-of-range counts are refused") {
  const unsigned cores = std::thread::hardware_concurrency();
  CHECK(default_worker_threads() == (cores == 0 ? 2 : static_cast<int>(std::min(2u * cores, 256u))));
  Env env("memory");
  for (int bad : {-1, 257}) {
    Worker w(env.service, {.threads = bad});
    Status st = w.start();
    CHECK(st.is(ErrorCode::invalid_argument));
    CHECK(st.message().find(std::to_string(bad)) != std::string::npos);
  }
  const std::string id = env.submit(upload_test::make_jpeg(320, 240));
  Worker worker(env.service, {.poll_wait = 50ms});  // threads 0: the default
  REQUIRE(worker.start().ok());
  for (int i = 0; i < 500 && env.status(id).state != UploadState::completed; ++i) std::this_thread::sleep_for(10ms);
  worker.stop();
  worker.wait();
  CHECK(env.status(id).state == UploadState::completed);
}

TEST_CASE("upload: stop(release) gives in-flight jobs back to the queue") {
  Env env("sqlite");
  std::atomic<bool> in_put{false};
  env.storage->on_put = [&](std::string_view) {
    in_put = true;
    std::this_thread::sleep_for(100ms);
  };
  auto id = env.submit(upload_test::make_jpeg(320, 240));
  {
    Worker worker(env.service, {.threads = 1, .poll_wait = 50ms});
    REQUIRE(worker.start().ok());
    for (int i = 0; i < 500 && !in_put; ++i) std::this_thread::sleep_for(5ms);
    REQUIRE(in_put);
    worker.stop(StopMode::release);
    worker.wait();
  }
  auto s = env.status(id);
  CHECK(s.state == UploadState::pending);
  CHECK(env.queue->stats()->ready == 1);
  env.storage->on_put = nullptr;
  CHECK(env.run_until_done(id).state == UploadState::completed);
}

TEST_CASE("upload: a storage outage shorter than the retry window delays uploads but fails none") {
  Env env("sqlite", 50);
  env.storage->fail_puts = 1 << 30;  // down
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(env.submit(upload_test::make_jpeg(200, 150, i)));
  Worker worker(env.service, {.threads = 2, .poll_wait = 20ms});
  REQUIRE(worker.start().ok());
  // Wait until every upload has failed at least once, then end the outage.
  auto all_retrying = [&] {
    for (auto& id : ids) {
      auto s = env.status(id);
      if (s.state != UploadState::retrying && s.attempt < 2) return false;
    }
    return true;
  };
  for (int i = 0; i < 500 && !all_retrying(); ++i) std::this_thread::sleep_for(10ms);
  CHECK(all_retrying());
  env.storage->fail_puts = 0;  // back up
  auto finished = [&] {
    for (auto& id : ids)
      if (env.status(id).state != UploadState::completed && env.status(id).state != UploadState::failed) return false;
    return true;
  };
  for (int i = 0; i < 1000 && !finished(); ++i) std::this_thread::sleep_for(10ms);
  worker.stop();
  worker.wait();
  for (auto& id : ids) {
    auto s = env.status(id);
    CHECK(s.state == UploadState::completed);
    CHECK(s.attempt >= 2);
  }
  CHECK(env.service->metrics()->retried >= 5);
}

TEST_CASE("upload: MEDIA_STRIP_LOCATION stores the original without GPS; off keeps it byte for byte") {
  const std::string tagged = upload_test::with_gps_exif(upload_test::make_jpeg(320, 240));
  auto tagged_info = validate_media(tagged, "IMG_1.jpg", MediaKind::photo);
  REQUIRE(tagged_info.ok());
  REQUIRE(tagged_info->has_gps);
  auto sos = [](const std::string& j) { return j.substr(j.find("\xff\xda")); };

  // Off, on, and on with the upload staged in storage (the stripped copy is
  // put instead of the server-side copy of the staged object).
  for (const auto& mode : {std::pair{false, false}, std::pair{true, false}, std::pair{true, true}}) {
    const bool on = mode.first, staged = mode.second;
    CAPTURE(on);
    CAPTURE(staged);
    Env env("sqlite");
    env.config.strip_location = on;
    if (staged) env.config.staging = StagingKind::storage;
    env.service = env.open_service(4);
    auto id = env.submit(tagged);
    CHECK(env.status(id).staged_key.empty() != staged);
    auto s = env.run_until_done(id);
    REQUIRE_MESSAGE(s.state == UploadState::completed, s.last_error);
    const std::string stored = test::slurp(env.config.media_root + "/" + s.result->original.key);
    auto info = env.storage->stat(s.result->original.key);
    REQUIRE(info.ok());
    const std::string sha = detail::hex_lower(detail::sha256(stored));
    CHECK(info->user_metadata.at("sha256") == sha);
    CHECK(s.result->original.bytes == stored.size());
    // The upload's metadata describes the uploaded file.
    CHECK(s.result->metadata.at("has_gps") == "true");
    CHECK(s.result->metadata.at("sha256") == detail::hex_lower(detail::sha256(tagged)));
    if (!on) {
      CHECK(stored == tagged);
      CHECK(s.result->metadata.count("location_stripped") == 0);
    } else {
      CHECK(stored != tagged);
      CHECK(stored.size() == tagged.size());
      CHECK(s.result->metadata.at("location_stripped") == "true");
      auto v = validate_media(stored, "IMG_1.jpg", MediaKind::photo);
      REQUIRE(v.ok());
      CHECK(!v->has_gps);
      CHECK(v->orientation == 6);
      CHECK(sos(stored) == sos(tagged));
      CHECK(stored.find(std::string("\x25\x88", 2)) == std::string::npos);  // no GPSInfo tag left
    }
    // Neither the spool file nor the stripped copy stays behind.
    CHECK_FALSE(std::filesystem::exists(env.spool(id)));
    CHECK_FALSE(std::filesystem::exists(env.config.effective_spool_dir() + "/" + id + ".noloc.tmp"));
    CHECK(env.objects(id).size() == 4);
  }

  // On, a file without location is stored as it is.
  Env env("memory");
  UploadOptions uo;
  uo.strip_location = true;
  auto svc = UploadService::create(env.config, env.storage, env.queue, uo);
  REQUIRE(svc.ok());
  env.service = svc.value();
  const std::string plain = upload_test::make_jpeg(64, 48);
  auto id = env.submit(plain);
  auto s = env.run_until_done(id);
  REQUIRE(s.state == UploadState::completed);
  CHECK(test::slurp(env.config.media_root + "/" + s.result->original.key) == plain);
  CHECK(s.result->metadata.at("location_stripped") == "false");
}
