// Uploads through the scan stage with a real clamd (scripts/clamd.sh: the
// fixture `clamd`, and a private one this test stops and starts), and with a
// clamd that stalls (a fake: fault injection).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "mediastore/upload.hpp"
#include "support/fake_clamd.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;
using mediastore::test::slurp;
using mediastore::test::spit;

namespace {

const std::string kEicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE_MESSAGE(v != nullptr, name, " is not set (run through ctest)");
  return v;
}

int run(const std::string& command) {
  CAPTURE(command);
  return std::system(command.c_str());
}

// A service over a local backend and the memory queue, scanning with the
// clamd at `clamd_url`; retries come quickly and many times.
struct Env {
  test::TempDir dir;
  Config config;
  std::shared_ptr<StorageBackend> storage;
  std::shared_ptr<UploadService> service;

  explicit Env(const std::string& clamd_url, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    config.media_root = dir / "media";
    config.state_dir = dir / "state";
    config.scan.mode = ScanMode::required;
    config.scan.clamd_url = clamd_url;
    config.scan.stream_max_bytes = 4u << 20;  // scripts/clamd.sh's StreamMaxLength
    config.scan.timeout = timeout;
    std::filesystem::create_directories(config.media_root);
    auto st = make_storage(config);
    REQUIRE_MESSAGE(st.ok(), st.status().to_string());
    storage = st.value();
    UploadOptions o;
    o.max_attempts = 1000;
    o.backoff_base = std::chrono::milliseconds(20);
    o.backoff_max = std::chrono::milliseconds(100);
    auto s = UploadService::create(config, storage, make_memory_queue(), o);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    service = s.value();
  }

  std::string submit(const std::string& bytes, const std::string& name) {
    UploadRequest r;
    r.data = bytes;
    r.original_filename = name;
    auto id = service->submit_upload(r);
    REQUIRE_MESSAGE(id.ok(), id.status().to_string());
    return id.value();
  }

  UploadStatus status(const std::string& id) {
    auto s = service->status(id);
    REQUIRE(s.ok());
    return s.value();
  }

  // Processes jobs until `id` is completed or failed (at most `rounds` jobs).
  UploadStatus finish(const std::string& id, int rounds = 200) {
    for (int i = 0; i < rounds; ++i) {
      auto st = status(id);
      if (st.state == UploadState::completed || st.state == UploadState::failed) return st;
      auto n = service->process_next(1, std::chrono::milliseconds(500));
      REQUIRE_MESSAGE(n.ok(), n.status().to_string());
    }
    return status(id);
  }

  std::size_t objects_of(const std::string& id) {
    auto all = storage->list_all("uploads/" + id + "/");
    REQUIRE(all.ok());
    return all->size();
  }
};

}  // namespace

TEST_CASE("a clean photo is stored; EICAR after a JPEG and clamav's clam.exe are refused as malware") {
  Env e(env("MS_CLAMD_UNIX_URL"));
  const std::string photo = slurp(env("MS_TEST_PHOTO"));
  const std::string clean = e.submit(photo, "IMG_1.jpg");
  const std::string infected = e.submit(photo + kEicar, "IMG_2.jpg");
  const std::string exe = e.submit(slurp("/usr/share/clamav-testfiles/clam.exe"), "IMG_3.jpg");

  auto c = e.finish(clean);
  CHECK(c.state == UploadState::completed);
  REQUIRE(c.result);
  CHECK(c.result->metadata.at("scan") == "clean");

  auto i = e.finish(infected);
  CHECK(i.state == UploadState::failed);
  CHECK(i.error_code == refusal_reason_code(RefusalReason::malware));
  CHECK(i.refusal_reason == RefusalReason::malware);
  CHECK(i.error_message.find("IMG_2.jpg contains malware: MsTest.EICAR.UNOFFICIAL") != std::string::npos);
  CHECK(e.objects_of(infected) == 0);

  auto x = e.finish(exe);
  CHECK(x.state == UploadState::failed);
  CHECK(x.error_message.find("MsTest.ClamExe.UNOFFICIAL") != std::string::npos);
  CHECK(e.objects_of(exe) == 0);
}

TEST_CASE("a file over the stream limit is refused as unscanned, never stored") {
  Env e(env("MS_CLAMD_TCP_URL"));
  e.config.scan.stream_max_bytes = 1000;  // the service keeps its own copy of the config
  UploadOptions o;
  auto small = UploadService::create(e.config, e.storage, make_memory_queue(), o);
  REQUIRE(small.ok());
  e.service = small.value();
  const std::string id = e.submit(slurp(env("MS_TEST_PHOTO")), "IMG_1.jpg");
  auto st = e.finish(id);
  CHECK(st.state == UploadState::failed);
  CHECK(st.error_code == refusal_reason_code(RefusalReason::unscanned));
  CHECK(st.refusal_reason == RefusalReason::unscanned);
  CHECK(st.error_message.find("not scanned in full") != std::string::npos);
  CHECK(e.objects_of(id) == 0);
}

TEST_CASE("clamd stopped mid-run: uploads wait, retrying, and complete once it is back") {
  const std::string script = env("MS_CLAMD_SCRIPT");
  const std::string dir = env("MS_CLAMD_PRIVATE_DIR") + "-upload";
  REQUIRE(run(script + " start " + dir + " unix >/dev/null") == 0);
  Env e("unix:" + dir + "/clamd.sock");
  const std::string photo = slurp(env("MS_TEST_PHOTO"));
  CHECK(e.finish(e.submit(photo, "before.jpg")).state == UploadState::completed);

  REQUIRE(run(script + " stop " + dir + " >/dev/null") == 0);
  std::vector<std::string> ids{e.submit(photo, "during-1.jpg"), e.submit(photo + kEicar, "during-2.jpg")};
  for (int i = 0; i < 6; ++i) REQUIRE(e.service->process_next(1, std::chrono::milliseconds(500)).ok());
  for (const auto& id : ids) {
    auto st = e.status(id);
    CAPTURE(st.last_error);
    CHECK(st.state == UploadState::retrying);
    CHECK(st.stage == UploadStage::scanning);
    CHECK(st.attempt >= 2);
    CHECK(st.last_error.find("clamd at unix:" + dir + "/clamd.sock") != std::string::npos);
    CHECK(e.objects_of(id) == 0);
  }

  REQUIRE(run(script + " start " + dir + " unix >/dev/null") == 0);
  auto clean = e.finish(ids[0]);
  CHECK(clean.state == UploadState::completed);
  auto infected = e.finish(ids[1]);
  CHECK(infected.state == UploadState::failed);
  CHECK(infected.error_message.find("MsTest.EICAR.UNOFFICIAL") != std::string::npos);
  CHECK(e.objects_of(ids[1]) == 0);
  REQUIRE(run(script + " stop " + dir + " >/dev/null") == 0);
}

TEST_CASE("a clamd that stalls: the scan times out and the upload is retried, not accepted") {
  test::FakeClamd stall(test::FakeClamd::Mode::stall);
  Env e(stall.url(), std::chrono::milliseconds(200));
  const std::string id = e.submit(slurp(env("MS_TEST_PHOTO")), "IMG_1.jpg");
  for (int i = 0; i < 3; ++i) REQUIRE(e.service->process_next(1, std::chrono::milliseconds(500)).ok());
  auto st = e.status(id);
  CAPTURE(st.last_error);
  CHECK(st.state == UploadState::retrying);
  CHECK(st.attempt >= 2);
  CHECK(st.last_error.find("timeout") != std::string::npos);
  CHECK(st.last_error.find("MEDIA_CLAMD_TIMEOUT") != std::string::npos);
  CHECK(e.objects_of(id) == 0);
}
