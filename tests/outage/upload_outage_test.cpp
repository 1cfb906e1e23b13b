// Real storage outages during uploads (issue 5: "an RGW outage shorter than
// the retry window delays uploads but fails none"). The fixture rgw-outage
// runs a private Ceph cluster; this program stops, freezes and restarts its
// radosgw process (scripts/rgw.sh stop-gateway / start-gateway /
// freeze-gateway / thaw-gateway) while an UploadService with a Worker uploads
// real photos into it through the public API. The objects live in the OSD,
// so what was stored before an outage survives it. The long outage is
// started from a storage decorator right after an original is stored, so it
// certainly leaves a partially stored upload for the cleanup to remove.
//
// Environment (set by tests/outage/tests.cmake): MS_RGW_SCRIPT,
// MS_OUTAGE_RGW_DIR, MS_OUTAGE_RGW_PORT, MS_OUTAGE_ACCESS_KEY,
// MS_OUTAGE_SECRET_KEY, MS_OUTAGE_PHOTOS (a folder of JPEG photographs),
// MS_OUTAGE_PHOTO (one more photo).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/crypto.hpp"
#include "mediastore/upload.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE_MESSAGE((v && *v), "environment variable " << name << " is not set (run this test through ctest)");
  return v;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The private gateway and the script that controls it.
struct Gateway {
  std::string script = env("MS_RGW_SCRIPT");
  std::string dir = env("MS_OUTAGE_RGW_DIR");
  std::string port = env("MS_OUTAGE_RGW_PORT");
  std::string access_key = env("MS_OUTAGE_ACCESS_KEY");
  std::string secret_key = env("MS_OUTAGE_SECRET_KEY");

  std::string endpoint() const { return "http://127.0.0.1:" + port; }
  int run(const std::string& args) const { return std::system(("'" + script + "' " + args).c_str()); }
  void control(const std::string& args) const {
    REQUIRE_MESSAGE(run(args) == 0, "rgw.sh " << args.substr(0, args.find(' ')) << " failed");
  }
  void stop(const char* signal) const { control("stop-gateway '" + dir + "' " + signal); }
  void start() const { control("start-gateway '" + dir + "' " + access_key + " " + secret_key); }
  void freeze() const { control("freeze-gateway '" + dir + "'"); }
  void thaw() const { control("thaw-gateway '" + dir + "'"); }
};

// Whatever happens in a test case, the gateway runs again afterwards.
struct GatewayRestorer {
  const Gateway& gw;
  ~GatewayRestorer() {
    // Best effort in a destructor: a gateway that does not come back fails
    // the next test case that needs it.
    (void)gw.run("thaw-gateway '" + gw.dir + "' >/dev/null 2>&1");
    (void)gw.run("start-gateway '" + gw.dir + "' " + gw.access_key + " " + gw.secret_key + " >/dev/null");
  }
};

struct Photo {
  std::string name;
  std::string bytes;
  std::string sha256;
};

using mediastore::test::slurp;

// The `n` smallest JPEG photographs of MS_OUTAGE_PHOTOS (Debian's
// lomiri-wallpapers-16.04, 4-24 megapixels) plus MS_OUTAGE_PHOTO.
std::vector<Photo> load_photos(std::size_t n) {
  static std::vector<Photo> cache;
  if (cache.empty()) {
    std::vector<fs::path> files;
    std::error_code ec;
    const std::string dir = env("MS_OUTAGE_PHOTOS");
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file() && e.path().extension() == ".jpg") files.push_back(e.path());
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
      return fs::file_size(a) != fs::file_size(b) ? fs::file_size(a) < fs::file_size(b) : a < b;
    });
    REQUIRE_MESSAGE(files.size() >= 4, "fewer than 4 JPEG photos in " << dir
                                                                      << " (scripts/install-deps.sh installs them: "
                                                                         "lomiri-wallpapers-16.04)");
    files.resize(4);
    files.push_back(env("MS_OUTAGE_PHOTO"));
    for (const auto& f : files) {
      Photo p{f.filename().string(), slurp(f), ""};
      REQUIRE_MESSAGE(p.bytes.size() > 1000, "cannot read " << f);
      p.sha256 = detail::hex_lower(detail::sha256(p.bytes));
      cache.push_back(std::move(p));
    }
  }
  std::vector<Photo> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(cache[i % cache.size()]);
  return out;
}

// The shortest time an upload keeps retrying before it fails: the sum of its
// backoff delays, each at its smallest (jitter factor 0.5).
double min_retry_window_s(const UploadOptions& o) {
  double total = 0;
  for (int a = 1; a < o.max_attempts; ++a) {
    const double d = std::min<double>(static_cast<double>(o.backoff_base.count()) * std::pow(2.0, a - 1),
                                      static_cast<double>(o.backoff_max.count()));
    total += 0.5 * d / 1000.0;
  }
  return total;
}

const char* const kBuckets[] = {"ms-outage-short", "ms-outage-long", "ms-outage-frozen"};

// Creates every bucket of this program once, with the default S3 timeouts,
// before any outage. After a radosgw was killed, RGW metadata writes such as
// CreateBucket can stall for many seconds on the new gateway (seen here: up to
// ~25 s), while object writes into existing buckets are prompt.
void create_buckets(const Config& base) {
  static bool done = false;
  if (done) return;
  for (const char* bucket : kBuckets) {
    Config setup = base;
    setup.s3 = S3Settings{};
    setup.s3.endpoint = base.s3.endpoint;
    setup.s3.access_key = base.s3.access_key;
    setup.s3.secret_key = base.s3.secret_key;
    setup.s3.path_style = true;
    setup.s3.auto_create_bucket = true;
    setup.s3.bucket = bucket;
    auto storage = make_storage(setup);
    REQUIRE_MESSAGE(storage.ok(), storage.status().to_string());
    const Status put = storage.value()->put_bytes("warm-up", "x", {});
    REQUIRE_MESSAGE(put.ok(), put.to_string());
    REQUIRE(storage.value()->remove("warm-up").ok());
  }
  done = true;
}

// An UploadService on the private RGW (the "minio" backend) with a sqlite
// queue, its spool and queue in a fresh folder.
struct Env {
  test::TempDir dir;
  Config config;
  std::shared_ptr<UploadService> service;
  std::vector<std::string> ids;
  std::map<std::string, Photo> photo_of;

  using Wrap = std::function<std::shared_ptr<StorageBackend>(std::shared_ptr<StorageBackend>)>;

  // wrap, when given, decorates the storage (observation hooks only).
  Env(const Gateway& gw, const std::string& bucket, const UploadOptions& options,
      std::chrono::milliseconds low_speed_timeout = 5000ms, const Wrap& wrap = {}) {
    config.backend = BackendKind::minio;
    config.media_root = dir / "media";
    config.s3.endpoint = gw.endpoint();
    config.s3.access_key = gw.access_key;
    config.s3.secret_key = gw.secret_key;
    config.s3.bucket = bucket;
    config.s3.path_style = true;
    config.s3.auto_create_bucket = true;
    // Every failed request reaches the upload workflow at once: its retries
    // (not the S3 client's) are what this test exercises.
    config.s3.max_attempts = 1;
    config.s3.connect_timeout = 1000ms;
    config.s3.low_speed_timeout = low_speed_timeout;
    config.queue = QueueKind::sqlite;
    config.queue_url = dir / "queue.sqlite3";
    const Status valid = config.validate();
    REQUIRE_MESSAGE(valid.ok(), valid.to_string());
    create_buckets(config);
    if (!wrap) {
      auto s = UploadService::open(config, options);
      REQUIRE_MESSAGE(s.ok(), s.status().to_string());
      service = s.value();
      return;
    }
    auto storage = make_storage(config);
    REQUIRE_MESSAGE(storage.ok(), storage.status().to_string());
    QueueOptions qo;
    qo.max_attempts = options.max_attempts;
    qo.lease_duration = options.lease_duration;
    auto queue = make_sqlite_queue(config.queue_url, qo);
    REQUIRE_MESSAGE(queue.ok(), queue.status().to_string());
    auto s = UploadService::create(config, wrap(storage.value()), queue.value(), options);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    service = s.value();
  }

  void submit(const std::vector<Photo>& photos) {
    for (const auto& p : photos) {
      UploadRequest r;
      r.data = p.bytes;
      r.original_filename = p.name;
      r.content_type = "image/jpeg";
      r.context = {{"keep_id", std::to_string(ids.size())}};
      auto id = service->submit_upload(r);
      REQUIRE_MESSAGE(id.ok(), id.status().to_string());
      ids.push_back(id.value());
      photo_of[id.value()] = p;
    }
  }

  // Regular files left in the spool folder.
  std::vector<std::string> spool_files() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(config.effective_spool_dir(), ec))
      if (e.is_regular_file()) out.push_back(e.path().filename().string());
    return out;
  }

  std::set<std::string> object_keys(const std::string& id) {
    auto all = service->storage().list_all("uploads/" + id + "/");
    REQUIRE_MESSAGE(all.ok(), all.status().to_string());
    std::set<std::string> keys;
    for (const auto& o : all.value()) keys.insert(o.key);
    return keys;
  }

  // A completed upload: exactly its original and 3 thumbnails are stored,
  // the original byte-identical to the photo.
  void check_completed(const UploadStatus& s) {
    INFO("upload " << s.id);
    REQUIRE(s.state == UploadState::completed);
    REQUIRE(s.result.has_value());
    const UploadResult& r = *s.result;
    const Photo& p = photo_of.at(s.id);
    CHECK(r.thumbnails.size() == 3);
    std::set<std::string> expected{r.original.key};
    for (const auto& t : r.thumbnails) expected.insert(t.key);
    CHECK(expected.size() == 4);
    CHECK(object_keys(s.id) == expected);
    auto original = service->storage().read_bytes(r.original.key);
    REQUIRE_MESSAGE(original.ok(), original.status().to_string());
    CHECK(original->size() == p.bytes.size());
    CHECK(detail::hex_lower(detail::sha256(*original)) == p.sha256);
    CHECK(r.metadata.at("sha256") == p.sha256);
    for (const auto& t : r.thumbnails) {
      auto info = service->storage().stat(t.key);
      REQUIRE_MESSAGE(info.ok(), info.status().to_string());
      CHECK(info->size == t.bytes);
      CHECK(info->content_type == "image/jpeg");
      auto head = service->storage().read_bytes(t.key, ByteRange{0, 3});
      REQUIRE(head.ok());
      CHECK(*head == "\xff\xd8\xff");  // a JPEG
    }
  }
};

// Polls every upload's status and remembers the states each went through and
// the errors seen while retrying.
struct Tracker {
  Env& env;
  std::map<std::string, std::set<UploadState>> seen;
  std::map<std::string, UploadStatus> last;
  std::set<std::string> retry_errors;

  void poll() {
    for (const auto& id : env.ids) {
      auto s = env.service->status(id);
      REQUIRE_MESSAGE(s.ok(), s.status().to_string());
      seen[id].insert(s->state);
      if (s->state == UploadState::retrying) retry_errors.insert(s->last_error);
      last[id] = std::move(s.value());
    }
  }
  std::size_t count(UploadState state) const {
    return static_cast<std::size_t>(
        std::count_if(last.begin(), last.end(), [&](const auto& kv) { return kv.second.state == state; }));
  }
  std::size_t ended() const { return count(UploadState::completed) + count(UploadState::failed); }
  std::size_t went_through(UploadState state) const {
    return static_cast<std::size_t>(
        std::count_if(seen.begin(), seen.end(), [&](const auto& kv) { return kv.second.count(state) > 0; }));
  }
  // Polls until pred() holds; false when `limit` passes first.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      poll();
      if (pred()) return true;
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
  }
  bool saw_retry_error(const std::string& needle) const {
    return std::any_of(retry_errors.begin(), retry_errors.end(),
                       [&](const std::string& e) { return e.find(needle) != std::string::npos; });
  }
};

// Kills the gateway (SIGKILL) from inside the storage call that has just
// stored the n-th original, before that upload stores its thumbnails: the
// outage then certainly leaves a partially stored upload behind.
class KillAfterOriginal final : public StorageWrapper {
 public:
  KillAfterOriginal(std::shared_ptr<StorageBackend> target, const Gateway& gw, int n)
      : StorageWrapper(std::move(target)), gw_(gw), n_(n) {}
  Status put(std::string_view key, ByteSource& source, const PutOptions& options) override {
    Status st = StorageWrapper::put(key, source, options);
    if (st.ok() && key.ends_with("/original.jpg") && ++originals_ == n_) {
      std::lock_guard lock(mu_);
      killed_after_ = std::string(key);
      kill_rc_ = gw_.run("stop-gateway '" + gw_.dir + "' KILL");
    }
    return st;
  }
  // The key of the original stored just before the kill ("" if none yet),
  // and the script's exit status.
  std::pair<std::string, int> killed() {
    std::lock_guard lock(mu_);
    return {killed_after_, kill_rc_};
  }

 private:
  const Gateway& gw_;
  const int n_;
  std::atomic<int> originals_{0};
  std::mutex mu_;
  std::string killed_after_;
  int kill_rc_ = -1;
};

WorkerOptions worker_options() {
  WorkerOptions w;
  w.threads = 2;
  w.poll_wait = 50ms;
  return w;
}

}  // namespace

TEST_CASE("a gateway outage shorter than the retry window delays uploads but fails none") {
  Gateway gw;
  GatewayRestorer restorer{gw};
  UploadOptions uo;
  uo.max_attempts = 100;  // a window of >= 19 s, at least 4x the outage below
  uo.backoff_base = 100ms;
  uo.backoff_max = 400ms;
  Env env(gw, "ms-outage-short", uo);
  env.submit(load_photos(16));
  Tracker tr{env, {}, {}, {}};
  Worker worker(env.service, worker_options());
  REQUIRE(worker.start().ok());
  const auto t0 = Clock::now();

  // Down in the middle of the batch: some uploads are stored already, the
  // rest are in flight or queued.
  REQUIRE_MESSAGE(tr.wait_for([&] { return tr.count(UploadState::completed) >= 1; }, 60s),
                  "no upload completed before the outage");
  gw.stop("TERM");
  const auto down = Clock::now();
  const std::size_t done_before = tr.count(UploadState::completed);
  MESSAGE("gateway stopped after " << seconds_since(t0) << " s with " << done_before << " of " << env.ids.size()
                                   << " uploads completed");
  REQUIRE_MESSAGE(done_before < env.ids.size(), "every upload completed before the outage began");
  // The outage really hits: an upload fails and waits for its next try.
  REQUIRE_MESSAGE(tr.wait_for([&] { return tr.went_through(UploadState::retrying) >= 1; }, 20s),
                  "no upload went to retrying while the gateway was down");
  std::this_thread::sleep_until(down + 3s);
  gw.start();
  const double outage_s = seconds_since(down);
  MESSAGE("gateway down for " << outage_s << " s; shortest retry window " << min_retry_window_s(uo) << " s");
  REQUIRE(outage_s < min_retry_window_s(uo));  // the premise of this case

  REQUIRE_MESSAGE(tr.wait_for([&] { return tr.ended() == env.ids.size(); }, 90s), "uploads did not finish");
  MESSAGE("all " << env.ids.size() << " uploads ended " << seconds_since(t0) << " s after the start");
  worker.stop();
  worker.wait();

  for (const auto& id : env.ids) env.check_completed(tr.last.at(id));
  CHECK(tr.count(UploadState::completed) == env.ids.size());
  const std::size_t retried = tr.went_through(UploadState::retrying);
  MESSAGE(retried << " uploads went through retrying; errors seen: " << tr.retry_errors.size());
  CHECK(retried >= 1);
  CHECK(std::any_of(tr.last.begin(), tr.last.end(), [](const auto& kv) { return kv.second.attempt >= 2; }));
  // The errors name the unreachable endpoint.
  CHECK(tr.saw_retry_error("network_error"));
  CHECK(tr.saw_retry_error("127.0.0.1:" + gw.port));
  auto m = env.service->metrics();
  REQUIRE(m.ok());
  CHECK(m->retried >= 1);
  CHECK(m->failed == 0);
  CHECK(m->completed == env.ids.size());
  CHECK(env.spool_files().empty());
}

TEST_CASE("a gateway outage longer than the retry window fails uploads cleanly") {
  Gateway gw;
  GatewayRestorer restorer{gw};
  UploadOptions uo;
  uo.max_attempts = 3;
  uo.backoff_base = 100ms;
  uo.backoff_max = 200ms;
  std::shared_ptr<KillAfterOriginal> killer;
  Env env(gw, "ms-outage-long", uo, 5000ms, [&](std::shared_ptr<StorageBackend> storage) {
    killer = std::make_shared<KillAfterOriginal>(std::move(storage), gw, 3);
    return killer;
  });
  env.submit(load_photos(10));
  Tracker tr{env, {}, {}, {}};
  {
    Worker worker(env.service, worker_options());
    REQUIRE(worker.start().ok());
    const auto t0 = Clock::now();
    REQUIRE_MESSAGE(tr.wait_for([&] { return !killer->killed().first.empty(); }, 60s),
                    "the third original was never stored");
    REQUIRE(killer->killed().second == 0);
    MESSAGE("gateway killed " << seconds_since(t0) << " s after the start, right after storing "
                              << killer->killed().first);
    const auto down = Clock::now();
    REQUIRE_MESSAGE(tr.wait_for([&] { return tr.ended() == env.ids.size(); }, 60s),
                    "uploads did not end while the gateway was down");
    MESSAGE("every upload ended " << seconds_since(down) << " s into the outage: " << tr.count(UploadState::completed)
                                  << " completed, " << tr.count(UploadState::failed) << " failed");
    worker.stop();
    worker.wait();
  }
  const std::size_t failed = tr.count(UploadState::failed);
  REQUIRE_MESSAGE(failed >= 1, "the outage failed no upload");
  std::vector<std::string> failed_ids;
  for (const auto& kv : tr.last) {
    const std::string& id = kv.first;  // (clang 14 cannot capture structured bindings in INFO)
    const UploadStatus& s = kv.second;
    if (s.state != UploadState::failed) continue;
    failed_ids.push_back(id);
    INFO("upload " << id << ": " << error_code_name(s.error_code) << ": " << s.error_message);
    CHECK((s.error_code == ErrorCode::network_error || s.error_code == ErrorCode::unavailable));
    CHECK(s.error_message.find("gave up after 3 attempts") != std::string::npos);
    CHECK(s.error_message.find("127.0.0.1:" + gw.port) != std::string::npos);  // names the endpoint
    CHECK(!s.result.has_value());
  }
  // A transient cause: each failed upload keeps its spool file (for
  // UploadService::retry), until the cleanup below.
  CHECK(env.spool_files().size() == failed_ids.size());

  // Back up: the workflow's cleanup (the Worker's maintenance) removes what
  // the failed uploads left behind.
  gw.start();
  std::size_t partial = 0;
  for (const auto& id : failed_ids) partial += env.object_keys(id).empty() ? 0 : 1;
  MESSAGE(partial << " of " << failed << " failed uploads had partial objects before the cleanup");
  // The upload whose original was stored just before the kill failed with
  // its original stored and no thumbnail.
  const std::string killed_id = killer->killed().first.substr(8, 36);  // "uploads/<id>/original.jpg"
  REQUIRE(tr.last.count(killed_id) == 1);
  CHECK(tr.last.at(killed_id).state == UploadState::failed);
  CHECK(env.object_keys(killed_id) == std::set<std::string>{killer->killed().first});
  CHECK(partial >= 1);
  std::this_thread::sleep_for(50ms);  // strictly older than the cutoff of "now"
  auto rep = env.service->cleanup_failed_uploads(0s);
  REQUIRE_MESSAGE(rep.ok(), rep.status().to_string());
  for (const auto& id : failed_ids) {
    INFO("upload " << id);
    CHECK(env.object_keys(id).empty());
    auto s = env.service->status(id);
    REQUIRE(s.ok());
    CHECK(s->state == UploadState::failed);
    CHECK(s->error_code == tr.last.at(id).error_code);
  }
  CHECK(env.spool_files().empty());
  // What completed before the outage is intact.
  for (const auto& [id, s] : tr.last)
    if (s.state == UploadState::completed) env.check_completed(s);
}

TEST_CASE("a frozen gateway ends in a timeout and a retry, never a hang") {
  Gateway gw;
  GatewayRestorer restorer{gw};
  UploadOptions uo;
  uo.max_attempts = 20;
  uo.backoff_base = 100ms;
  uo.backoff_max = 400ms;
  // curl notices a stall after LOW_SPEED_TIME (whole seconds, averaged over
  // a few seconds): about 5-7 s with 2 s here.
  Env env(gw, "ms-outage-frozen", uo, 2000ms);
  env.submit(load_photos(8));
  Tracker tr{env, {}, {}, {}};
  Worker worker(env.service, worker_options());
  REQUIRE(worker.start().ok());
  REQUIRE_MESSAGE(tr.wait_for([&] { return tr.count(UploadState::completed) >= 1; }, 60s),
                  "no upload completed before the freeze");
  gw.freeze();
  const auto frozen = Clock::now();
  std::map<std::string, int> attempts_before;
  for (const auto& [id, s] : tr.last) attempts_before[id] = s.attempt;
  // An attempt made while frozen ends in a timeout and the upload retries.
  std::string timeout_error;
  REQUIRE_MESSAGE(tr.wait_for(
                      [&] {
                        for (const auto& [id, s] : tr.last)
                          if (s.state == UploadState::retrying && s.attempt > attempts_before[id] &&
                              s.last_error.rfind("timeout: ", 0) == 0) {
                            timeout_error = s.last_error;
                            return true;
                          }
                        return false;
                      },
                      60s),
                  "no upload timed out and retried while the gateway was frozen");
  MESSAGE("first timeout " << seconds_since(frozen) << " s after the freeze: " << timeout_error);
  CHECK(timeout_error.find("127.0.0.1:" + gw.port) != std::string::npos);
  gw.thaw();
  const auto thawed = Clock::now();
  REQUIRE_MESSAGE(tr.wait_for([&] { return tr.ended() == env.ids.size(); }, 90s), "uploads did not finish");
  MESSAGE("all uploads ended " << seconds_since(thawed) << " s after the thaw");
  worker.stop();
  worker.wait();
  for (const auto& id : env.ids) env.check_completed(tr.last.at(id));
  CHECK(tr.went_through(UploadState::retrying) >= 1);
  CHECK(env.spool_files().empty());
}
