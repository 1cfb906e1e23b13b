#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/codecs.hpp"
#include "core/config_internal.hpp"
#include "core/log_internal.hpp"
#include "mediastore/config.hpp"
#include "mediastore/log.hpp"

using namespace mediastore;

namespace {

Config::Lookup env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("defaults are the service's") {
  auto c = Config::from_lookup(env({}));
  REQUIRE(c.ok());
  CHECK(c->backend == BackendKind::local);
  CHECK(c->max_upload_size == 104857600u);
  CHECK(c->queue == QueueKind::memory);
  // Paths are absolute; the library's own files are outside MEDIA_ROOT.
  const std::string cwd = std::filesystem::current_path().lexically_normal().string();
  CHECK(c->media_root == cwd + "/media");
  CHECK(c->effective_state_dir() == cwd + "/media.state");
  CHECK(c->effective_spool_dir() == cwd + "/media.state/spool");
  CHECK(c->effective_sqlite_path() == cwd + "/media.state/queue.sqlite3");
}

TEST_CASE("the state folder: MEDIA_STATE_DIR, explicit spool, sqlite file") {
  auto c = Config::from_lookup(env({{"MEDIA_ROOT", "/srv/media/"}}));
  REQUIRE(c.ok());
  CHECK(c->media_root == "/srv/media");
  CHECK(c->effective_state_dir() == "/srv/media.state");

  c = Config::from_lookup(env({{"MEDIA_ROOT", "/srv/media"}, {"MEDIA_STATE_DIR", "/var/lib/keeps"}}));
  REQUIRE(c.ok());
  CHECK(c->effective_spool_dir() == "/var/lib/keeps/spool");
  CHECK(c->effective_sqlite_path() == "/var/lib/keeps/queue.sqlite3");

  // An explicit spool folder without MEDIA_STATE_DIR keeps the queue file
  // where it was before MEDIA_STATE_DIR existed: inside the spool folder.
  c = Config::from_lookup(env({{"MEDIA_ROOT", "/srv/media"}, {"MEDIA_SPOOL_DIR", "/srv/media/.spool"}}));
  REQUIRE(c.ok());
  CHECK(c->effective_spool_dir() == "/srv/media/.spool");
  CHECK(c->effective_sqlite_path() == "/srv/media/.spool/queue.sqlite3");
  c = Config::from_lookup(
      env({{"MEDIA_ROOT", "/srv/media"}, {"MEDIA_SPOOL_DIR", "/tmp/sp"}, {"MEDIA_STATE_DIR", "/var/lib/keeps"}}));
  REQUIRE(c.ok());
  CHECK(c->effective_spool_dir() == "/tmp/sp");
  CHECK(c->effective_sqlite_path() == "/var/lib/keeps/queue.sqlite3");

  // Inside MEDIA_ROOT a web server serving the root would serve them.
  for (const char* inside : {"/srv/media", "/srv/media/state", "/srv/media/./x/../state"}) {
    CAPTURE(inside);
    c = Config::from_lookup(env({{"MEDIA_ROOT", "/srv/media"}, {"MEDIA_STATE_DIR", inside}}));
    CHECK(c.status().is(ErrorCode::invalid_argument));
    CHECK(c.status().message().find("MEDIA_STATE_DIR") != std::string::npos);
  }
  c = Config::from_lookup(env({{"MEDIA_ROOT", "/srv/media"}, {"MEDIA_STATE_DIR", "/srv/media-state"}}));
  CHECK(c.ok());
  c = Config::from_lookup(env({{"MEDIA_ROOT", "/"}}));
  CHECK(c.status().is(ErrorCode::invalid_argument));
  CHECK(c.status().message().find("MEDIA_STATE_DIR") != std::string::npos);
  // Only the local backend serves MEDIA_ROOT.
  c = Config::from_lookup(env({{"MEDIA_STORAGE_BACKEND", "s3"},
                               {"AWS_STORAGE_BUCKET_NAME", "b"},
                               {"MEDIA_ROOT", "/srv/media"},
                               {"MEDIA_STATE_DIR", "/srv/media/state"}}));
  CHECK(c.ok());
}

TEST_CASE("the former default spool folder is found only when it is left unused") {
  const auto base = std::filesystem::temp_directory_path() / ("ms-config-legacy-" + std::to_string(::getpid()));
  const std::string root = (base / "media").string();
  std::filesystem::create_directories(root + "/.spool");
  auto c = Config::from_lookup(env({{"MEDIA_ROOT", root}}));
  REQUIRE(c.ok());
  CHECK(detail::legacy_default_spool_dir(*c).empty());  // empty folder: nothing left behind
  { std::ofstream(root + "/.spool/abc.spool") << "x"; }
  CHECK(detail::legacy_default_spool_dir(*c) == root + "/.spool");
  // Kept on purpose, or a state folder chosen: no warning.
  c = Config::from_lookup(env({{"MEDIA_ROOT", root}, {"MEDIA_SPOOL_DIR", root + "/.spool"}}));
  REQUIRE(c.ok());
  CHECK(detail::legacy_default_spool_dir(*c).empty());
  c = Config::from_lookup(env({{"MEDIA_ROOT", root}, {"MEDIA_STATE_DIR", (base / "state").string()}}));
  REQUIRE(c.ok());
  CHECK(detail::legacy_default_spool_dir(*c).empty());
  std::filesystem::remove_all(base);
}

TEST_CASE("relative paths are resolved once, against the working folder of from_lookup") {
  const auto before = std::filesystem::current_path();
  const auto base = std::filesystem::temp_directory_path() / ("ms-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(base / "a");
  std::filesystem::create_directories(base / "b");
  std::filesystem::current_path(base / "a");
  auto c = Config::from_lookup(env({{"MEDIA_ROOT", "media"},
                                    {"MEDIA_STATE_DIR", "../state"},
                                    {"MEDIA_SPOOL_DIR", "./spool/"},
                                    {"MEDIA_QUEUE_BACKEND", "sqlite"},
                                    {"MEDIA_QUEUE_URL", "sqlite://q/jobs.db?synchronous=normal"}}));
  std::filesystem::current_path(base / "b");  // a later chdir changes nothing
  const std::string a = (base / "a").lexically_normal().string();
  REQUIRE(c.ok());
  CHECK(c->media_root == a + "/media");
  CHECK(c->effective_state_dir() == base.lexically_normal().string() + "/state");
  CHECK(c->effective_spool_dir() == a + "/spool");
  CHECK(c->queue_url == "sqlite://" + a + "/q/jobs.db?synchronous=normal");
  // A plain path and a redis URL.
  std::filesystem::current_path(base / "a");
  c = Config::from_lookup(env({{"MEDIA_QUEUE_BACKEND", "sqlite"}, {"MEDIA_QUEUE_URL", "jobs.db"}}));
  REQUIRE(c.ok());
  CHECK(c->queue_url == a + "/jobs.db");
  c = Config::from_lookup(env({{"MEDIA_QUEUE_BACKEND", "redis"}, {"MEDIA_QUEUE_URL", "redis://127.0.0.1:6379/0"}}));
  REQUIRE(c.ok());
  CHECK(c->queue_url == "redis://127.0.0.1:6379/0");
  std::filesystem::current_path(before);
  std::filesystem::remove_all(base);
}

TEST_CASE("bad values are invalid_argument naming the variable") {
  auto r = Config::from_lookup(env({{"MEDIA_STORAGE_BACKEND", "ftp"}}));
  CHECK(r.status().is(ErrorCode::invalid_argument));
  CHECK(r.status().message().find("MEDIA_STORAGE_BACKEND") != std::string::npos);

  r = Config::from_lookup(env({{"MAX_UPLOAD_SIZE", "10MB"}}));
  CHECK(r.status().is(ErrorCode::invalid_argument));
  CHECK(r.status().message().find("MAX_UPLOAD_SIZE") != std::string::npos);

  r = Config::from_lookup(env({{"MEDIA_STORAGE_BACKEND", "s3"}}));
  CHECK(r.status().is(ErrorCode::invalid_argument));
  CHECK(r.status().message().find("AWS_STORAGE_BUCKET_NAME") != std::string::npos);

  r = Config::from_lookup(env({{"MEDIA_STORAGE_BACKEND", "minio"}, {"MINIO_ENDPOINT", "localhost:9000"}}));
  CHECK(r.status().message().find("MINIO_BUCKET_NAME") != std::string::npos);

  r = Config::from_lookup(env({{"MEDIA_QUEUE_BACKEND", "rabbit"}}));
  CHECK(r.status().message().find("MEDIA_QUEUE_BACKEND") != std::string::npos);

  r = Config::from_lookup(env({{"MEDIA_AUTO_CREATE_BUCKET", "perhaps"}}));
  CHECK(r.status().message().find("MEDIA_AUTO_CREATE_BUCKET") != std::string::npos);

  for (const char* bad : {"0", "65", "four", "-1"}) {
    CAPTURE(bad);
    r = Config::from_lookup(env({{"MEDIA_S3_PARTS_IN_FLIGHT", bad}}));
    CHECK(r.status().is(ErrorCode::invalid_argument));
    CHECK(r.status().message().find("MEDIA_S3_PARTS_IN_FLIGHT") != std::string::npos);
  }
  r = Config::from_lookup(env({{"AWS_MAX_ATTEMPTS", "21"}}));
  CHECK(r.status().message() == "AWS_MAX_ATTEMPTS must be 1..20, got '21'");
  r = Config::from_lookup(env({{"MEDIA_S3_PAYLOAD_SIGNING", "sometimes"}}));
  CHECK(r.status().message().find("MEDIA_S3_PAYLOAD_SIGNING") != std::string::npos);
}

TEST_CASE("parts in flight and payload signing are read") {
  auto c = Config::from_lookup(env({}));
  REQUIRE(c.ok());
  CHECK(c->s3.parts_in_flight == 4);
  CHECK(c->s3.payload_signing == "auto");
  c = Config::from_lookup(env({{"MEDIA_S3_PARTS_IN_FLIGHT", "2"}, {"MEDIA_S3_PAYLOAD_SIGNING", "whole"}}));
  REQUIRE(c.ok());
  CHECK(c->s3.parts_in_flight == 2);
  CHECK(c->s3.payload_signing == "whole");
}

TEST_CASE("minio and s3 settings come from their own variables") {
  auto m = Config::from_lookup(env({{"MEDIA_STORAGE_BACKEND", "minio"},
                                    {"MINIO_ENDPOINT", "minio:9000"},
                                    {"MINIO_ACCESS_KEY", "AKIAMINIO"},
                                    {"MINIO_SECRET_KEY", "minio-secret-value"},
                                    {"MINIO_BUCKET_NAME", "keeps"}}));
  REQUIRE(m.ok());
  CHECK(m->s3.endpoint == "http://minio:9000");
  CHECK(m->s3.path_style);
  CHECK(m->s3.bucket == "keeps");

  auto s = Config::from_lookup(env({{"MEDIA_STORAGE_BACKEND", "s3"},
                                    {"AWS_STORAGE_BUCKET_NAME", "family-media"},
                                    {"AWS_DEFAULT_REGION", "eu-west-1"},
                                    {"AWS_ACCESS_KEY_ID", "AKIAEXAMPLE1234"},
                                    {"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
                                    {"AWS_SESSION_TOKEN", "session-token-value"},
                                    {"MEDIA_UPLOAD_GRANT_SECRET", "grant-secret-value"}}));
  REQUIRE(s.ok());
  CHECK(s->upload_grant_secret == "grant-secret-value");
  CHECK(s->s3.endpoint == "https://s3.eu-west-1.amazonaws.com");
  CHECK_FALSE(s->s3.path_style);
  CHECK(s->s3.region == "eu-west-1");

  std::string d = s->describe();
  CHECK(d.find("wJalrXUtnFEMI") == std::string::npos);
  CHECK(d.find("session-token-value") == std::string::npos);
  CHECK(d.find("grant-secret-value") == std::string::npos);
  CHECK(d.find("MEDIA_UPLOAD_GRANT_SECRET=****") != std::string::npos);
  CHECK(d.find("AKIAEXAMPLE1234") == std::string::npos);
  CHECK(d.find("AKIA****") != std::string::npos);
  CHECK(d.find("family-media") != std::string::npos);
}

TEST_CASE("redact removes signatures, credentials and authorization values") {
  std::string url =
      "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2F20250101%2Fus-east-1"
      "&X-Amz-Signature=abcdef0123&X-Amz-Security-Token=tok123";
  std::string r = redact(url);
  CHECK(r.find("abcdef0123") == std::string::npos);
  CHECK(r.find("tok123") == std::string::npos);
  CHECK(r.find("AKIAX") == std::string::npos);
  CHECK(r.find("X-Amz-Algorithm=AWS4-HMAC-SHA256") != std::string::npos);
  CHECK(redact("Authorization: AWS4-HMAC-SHA256 Credential=AK/x, Signature=ff").find("ff") == std::string::npos);
  CHECK(redact("/media/a.jpg?expires=1&sig=deadbeef").find("deadbeef") == std::string::npos);
}

TEST_CASE("log sink receives records at or above its level only") {
  std::vector<std::string> seen;
  set_log_sink([&](const LogRecord& r) { seen.emplace_back(r.message); }, LogLevel::info);
  CHECK(log_enabled(LogLevel::error));
  CHECK_FALSE(log_enabled(LogLevel::debug));
  set_log_sink(nullptr, LogLevel::trace);
  CHECK_FALSE(log_enabled(LogLevel::error));  // no sink, nothing enabled
  set_log_sink(nullptr, LogLevel::warn);
}

TEST_CASE("MS_LOG formats only when enabled and redacts what it delivers") {
  std::vector<std::string> seen;
  std::vector<std::string> fields;
  set_log_sink(
      [&](const LogRecord& r) {
        seen.emplace_back(r.message);
        for (const auto& f : *r.fields) fields.push_back(f.name + "=" + f.value);
      },
      LogLevel::info);
  int formatted = 0;
  auto count = [&] {
    ++formatted;
    return 1;
  };
  MS_LOG(debug, "test", "not delivered {}", count());
  CHECK(formatted == 0);
  MS_LOGF(info, "test", (std::vector<LogField>{{"url", "/k?X-Amz-Signature=secretsig"}}), "GET {} {}", "/k",
          "Authorization: AWS4-HMAC-SHA256 Signature=secretsig");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].find("secretsig") == std::string::npos);
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].find("secretsig") == std::string::npos);
  set_log_sink(nullptr, LogLevel::warn);
}

TEST_CASE("is_variable knows exactly the variables from_lookup reads") {
  // Every name read under each backend and queue (values chosen so that no
  // branch returns before its reads) is known; names outside are not.
  std::set<std::string> read;
  for (const char* backend : {"local", "minio", "s3"}) {
    for (const char* queue : {"memory", "sqlite", "redis"}) {
      auto r = Config::from_lookup([&](std::string_view name) -> std::optional<std::string> {
        read.emplace(name);
        if (name == "MEDIA_STORAGE_BACKEND") return backend;
        if (name == "MEDIA_QUEUE_BACKEND") return queue;
        if (name == "MINIO_ENDPOINT") return "127.0.0.1:9";
        if (name == "MINIO_BUCKET_NAME" || name == "AWS_STORAGE_BUCKET_NAME") return "b";
        if (name == "MEDIA_QUEUE_URL") return std::string(queue) == "redis" ? "redis://127.0.0.1:9/0" : "/tmp/q.db";
        return std::nullopt;
      });
      CHECK_MESSAGE(r.ok(), r.status().message());
    }
  }
  CHECK(read.size() >= 30);
  for (const auto& name : read) CHECK_MESSAGE(Config::is_variable(name), name);
  CHECK_FALSE(Config::is_variable("MEDIA_ROOTS"));
  CHECK_FALSE(Config::is_variable("media_root"));
  CHECK_FALSE(Config::is_variable(""));
}

TEST_CASE("URL settings (django-storages' names), create-only multipart, metadata context keys") {
  auto d = Config::from_lookup(env({}));
  REQUIRE(d.ok());
  CHECK(d->s3.querystring_auth);
  CHECK(d->s3.querystring_expire == 3600);
  CHECK(d->s3.custom_domain.empty());
  CHECK(d->s3.url_protocol == "https:");
  CHECK_FALSE(d->s3.conditional_multipart);
  CHECK(d->metadata_context_keys.empty());
  auto c = Config::from_lookup(env({{"AWS_QUERYSTRING_AUTH", "false"},
                                    {"AWS_QUERYSTRING_EXPIRE", "600"},
                                    {"AWS_S3_CUSTOM_DOMAIN", "cdn.example.com"},
                                    {"AWS_S3_URL_PROTOCOL", "http:"},
                                    {"MEDIA_S3_PUBLIC_ENDPOINT", "http://localhost:9000"},
                                    {"MEDIA_S3_CONDITIONAL_MULTIPART", "true"},
                                    {"MEDIA_METADATA_CONTEXT_KEYS", " caption, keep_id ,,original-filename"}}));
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  CHECK_FALSE(c->s3.querystring_auth);
  CHECK(c->s3.querystring_expire == 600);
  CHECK(c->s3.custom_domain == "cdn.example.com");
  CHECK(c->s3.url_protocol == "http:");
  CHECK(c->s3.public_endpoint == "http://localhost:9000");
  CHECK(c->s3.conditional_multipart);
  CHECK(c->metadata_context_keys == std::vector<std::string>{"caption", "keep_id", "original-filename"});
  for (const auto& setting :
       std::vector<std::pair<std::string, std::string>>{{"AWS_QUERYSTRING_EXPIRE", "0"},
                                                        {"AWS_QUERYSTRING_AUTH", "maybe"},
                                                        {"AWS_S3_URL_PROTOCOL", "ftp:"},
                                                        {"MEDIA_METADATA_CONTEXT_KEYS", "caption,user id"}}) {
    const std::string& name = setting.first;  // not a structured binding: CAPTURE's lambda takes it
    const std::string& value = setting.second;
    CAPTURE(name);
    auto bad = Config::from_lookup(env({{name, value}}));
    REQUIRE(bad.status().is(ErrorCode::invalid_argument));
    CHECK(bad.status().message().find(name) != std::string::npos);
  }
}

TEST_CASE("MEDIA_THUMBNAIL_FORMATS: default jpeg, strict list of jpeg, webp, avif") {
  auto c = Config::from_lookup(env({}));
  REQUIRE(c.ok());
  CHECK(c->thumbnail_formats == std::vector<ThumbnailFormat>{ThumbnailFormat::jpeg});
  CHECK(c->describe().find("MEDIA_THUMBNAIL_FORMATS=jpeg\n") != std::string::npos);

  c = Config::from_lookup(env({{"MEDIA_THUMBNAIL_FORMATS", "webp,jpeg,avif"}}));
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  CHECK(c->thumbnail_formats ==
        std::vector<ThumbnailFormat>{ThumbnailFormat::webp, ThumbnailFormat::jpeg, ThumbnailFormat::avif});
  CHECK(c->describe().find("MEDIA_THUMBNAIL_FORMATS=webp,jpeg,avif\n") != std::string::npos);

  for (const char* bad : {"JPEG", "jpeg, webp", "jpeg,,webp", "jpeg,", ",webp", "gif", "jpg", "jpeg,jpeg"}) {
    CAPTURE(bad);
    auto r = Config::from_lookup(env({{"MEDIA_THUMBNAIL_FORMATS", bad}}));
    CHECK(r.status().is(ErrorCode::invalid_argument));
    CHECK(r.status().message().find("MEDIA_THUMBNAIL_FORMATS") != std::string::npos);
  }
  Config empty;
  empty.thumbnail_formats.clear();
  CHECK(empty.validate().is(ErrorCode::invalid_argument));
}

TEST_CASE("MEDIA_THUMBNAIL_FORMATS: avif is refused at configuration time without an AV1 encoder") {
  // Debian 12's libheif has libaom's encoder; pretend it had none.
  detail::set_avif_encoder_available_for_testing(false);
  auto r = Config::from_lookup(env({{"MEDIA_THUMBNAIL_FORMATS", "jpeg,avif"}}));
  auto webp = Config::from_lookup(env({{"MEDIA_THUMBNAIL_FORMATS", "jpeg,webp"}}));
  detail::set_avif_encoder_available_for_testing(true);
  auto with_encoder = Config::from_lookup(env({{"MEDIA_THUMBNAIL_FORMATS", "avif"}}));
  detail::set_avif_encoder_available_for_testing(std::nullopt);
  CHECK(r.status().is(ErrorCode::invalid_argument));
  CHECK(r.status().message().find("MEDIA_THUMBNAIL_FORMATS includes avif") != std::string::npos);
  CHECK(r.status().message().find("no AV1 encoder") != std::string::npos);
  CHECK(webp.ok());
  CHECK(with_encoder.ok());
  // And the real answer on this machine.
  CHECK(detail::avif_encoder_available());
}

TEST_CASE("scanning: off without MEDIA_CLAMD_URL, required with it") {
  auto off = Config::from_lookup(env({}));
  REQUIRE(off.ok());
  CHECK(off->scan.mode == ScanMode::off);
  CHECK(off->scan.clamd_url.empty());
  CHECK(off->scan.stream_max_bytes == 26214400u);
  CHECK(off->scan.timeout == std::chrono::seconds(30));
  CHECK(off->scan.unscanned == UnscannedPolicy::refuse);

  auto on = Config::from_lookup(env({{"MEDIA_CLAMD_URL", "unix:/run/clamav/clamd.ctl"},
                                     {"MEDIA_CLAMD_STREAM_MAX_BYTES", "1048576"},
                                     {"MEDIA_CLAMD_TIMEOUT", "1500ms"},
                                     {"MEDIA_SCAN_UNSCANNED", "accept"}}));
  REQUIRE(on.ok());
  CHECK(on->scan.mode == ScanMode::required);
  CHECK(on->scan.stream_max_bytes == 1048576u);
  CHECK(on->scan.timeout == std::chrono::milliseconds(1500));
  CHECK(on->scan.unscanned == UnscannedPolicy::accept);
  CHECK(on->describe().find("MEDIA_CLAMD_URL=unix:/run/clamav/clamd.ctl\n") != std::string::npos);

  auto disabled = Config::from_lookup(env({{"MEDIA_CLAMD_URL", "tcp://clamav:3310"}, {"MEDIA_SCAN", "off"}}));
  REQUIRE(disabled.ok());
  CHECK(disabled->scan.mode == ScanMode::off);

  for (auto timeout : {std::pair{"7", 7000}, {"7s", 7000}, {"250ms", 250}, {"3600", 3600000}}) {
    const char* text = timeout.first;  // not a structured binding: CAPTURE's lambda takes it
    const int ms = timeout.second;
    CAPTURE(text);
    auto c = Config::from_lookup(env({{"MEDIA_CLAMD_TIMEOUT", text}}));
    REQUIRE(c.ok());
    CHECK(c->scan.timeout == std::chrono::milliseconds(ms));
  }
}

TEST_CASE("scanning: bad values are invalid_argument naming the variable") {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      {{{"MEDIA_SCAN", "required"}}, "MEDIA_CLAMD_URL"},
      {{{"MEDIA_SCAN", "maybe"}}, "MEDIA_SCAN"},
      {{{"MEDIA_SCAN_UNSCANNED", "ignore"}}, "MEDIA_SCAN_UNSCANNED"},
      {{{"MEDIA_CLAMD_URL", "clamd:3310"}}, "MEDIA_CLAMD_URL"},
      {{{"MEDIA_CLAMD_URL", "tcp://clamd"}}, "MEDIA_CLAMD_URL"},
      {{{"MEDIA_CLAMD_URL", "unix:clamd.ctl"}}, "MEDIA_CLAMD_URL"},
      {{{"MEDIA_CLAMD_URL", "tcp://clamav:3310"}, {"MEDIA_SCAN", "off"}, {"MEDIA_CLAMD_TIMEOUT", "0"}},
       "MEDIA_CLAMD_TIMEOUT"},
      {{{"MEDIA_CLAMD_TIMEOUT", "soon"}}, "MEDIA_CLAMD_TIMEOUT"},
      {{{"MEDIA_CLAMD_TIMEOUT", "3601s"}}, "MEDIA_CLAMD_TIMEOUT"},
      {{{"MEDIA_CLAMD_TIMEOUT", "ms"}}, "MEDIA_CLAMD_TIMEOUT"},
      {{{"MEDIA_CLAMD_STREAM_MAX_BYTES", "0"}}, "MEDIA_CLAMD_STREAM_MAX_BYTES"},
      {{{"MEDIA_CLAMD_STREAM_MAX_BYTES", "25M"}}, "MEDIA_CLAMD_STREAM_MAX_BYTES"},
  };
  for (const auto& c : cases) {
    const std::string& name = c.second;  // not a structured binding: CAPTURE's lambda takes it
    CAPTURE(name);
    auto r = Config::from_lookup(env(c.first));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().is(ErrorCode::invalid_argument));
    CHECK(r.status().message().find(name) != std::string::npos);
  }
}

TEST_CASE("MEDIA_DEDUP_SCOPE_KEY: default circle_id, set but empty turns duplicate detection off") {
  auto c = Config::from_lookup(env({}));
  REQUIRE(c.ok());
  CHECK(c->dedup_scope_key == "circle_id");
  CHECK(c->describe().find("MEDIA_DEDUP_SCOPE_KEY=circle_id\n") != std::string::npos);
  c = Config::from_lookup(env({{"MEDIA_DEDUP_SCOPE_KEY", "album_id"}}));
  REQUIRE(c.ok());
  CHECK(c->dedup_scope_key == "album_id");
  c = Config::from_lookup(env({{"MEDIA_DEDUP_SCOPE_KEY", ""}}));
  REQUIRE(c.ok());
  CHECK(c->dedup_scope_key.empty());
  auto bad = Config::from_lookup(env({{"MEDIA_DEDUP_SCOPE_KEY", "circle id"}}));
  CHECK(bad.status().is(ErrorCode::invalid_argument));
  CHECK(bad.status().message().find("MEDIA_DEDUP_SCOPE_KEY") != std::string::npos);
}

TEST_CASE("MEDIA_STAGING follows the queue unless set; MEDIA_STAGING_PREFIX must be a folder prefix") {
  auto d = Config::from_lookup(env({}));
  REQUIRE(d.ok());
  CHECK_FALSE(d->staging.has_value());
  CHECK(d->effective_staging() == StagingKind::local);
  CHECK(d->staging_prefix == "staging/");
  auto r = Config::from_lookup(env({{"MEDIA_QUEUE_BACKEND", "redis"}, {"MEDIA_QUEUE_URL", "redis://127.0.0.1:9/0"}}));
  REQUIRE(r.ok());
  CHECK(r->effective_staging() == StagingKind::storage);
  auto s = Config::from_lookup(env({{"MEDIA_QUEUE_BACKEND", "sqlite"}, {"MEDIA_STAGING", "storage"}}));
  REQUIRE(s.ok());
  CHECK(s->effective_staging() == StagingKind::storage);
  auto l = Config::from_lookup(env({{"MEDIA_QUEUE_BACKEND", "redis"},
                                    {"MEDIA_QUEUE_URL", "redis://127.0.0.1:9/0"},
                                    {"MEDIA_STAGING", "local"},
                                    {"MEDIA_STAGING_PREFIX", "tmp/incoming/"}}));
  REQUIRE(l.ok());
  CHECK(l->effective_staging() == StagingKind::local);
  CHECK(l->staging_prefix == "tmp/incoming/");
  CHECK(l->describe().find("MEDIA_STAGING=local\n") != std::string::npos);
  CHECK(l->describe().find("MEDIA_STAGING_PREFIX=tmp/incoming/\n") != std::string::npos);
  auto bad = Config::from_lookup(env({{"MEDIA_STAGING", "disk"}}));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == ErrorCode::invalid_argument);
  CHECK(bad.status().message().find("MEDIA_STAGING") != std::string::npos);
  for (const char* prefix : {"staging", "/staging/", "a/../b/"}) {
    auto p = Config::from_lookup(env({{"MEDIA_STAGING_PREFIX", prefix}}));
    REQUIRE_FALSE_MESSAGE(p.ok(), prefix);
    CHECK(p.status().code() == ErrorCode::invalid_argument);
    CHECK(p.status().message().find("MEDIA_STAGING_PREFIX") != std::string::npos);
  }
  CHECK(Config::is_variable("MEDIA_STAGING"));
  CHECK(Config::is_variable("MEDIA_STAGING_PREFIX"));
  CHECK(std::string(staging_kind_name(StagingKind::storage)) == "storage");
}
