// The S3 backend under network faults: a fault-injecting proxy of our own
// (fault_proxy.hpp) sits between the client and a real Ceph RGW. Every call
// must end in success or a clear error within the configured timeouts, no
// damaged object may ever be stored (checked by reading back straight from
// RGW and comparing SHA-256), and a failed multipart upload must leave no
// upload behind (ListMultipartUploads, asked straight from RGW with libcurl's
// own SigV4 signer, independent of ours).
//
// Environment (set by tests/faults/tests.cmake from the rgw fixture):
//   MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY  the RGW under test
#include <curl/curl.h>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/crypto.hpp"
#include "faults/fault_proxy.hpp"
#include "mediastore/config.hpp"
#include "mediastore/storage.hpp"

using namespace mediastore;
using faults::Fault;
using faults::FaultProxy;
using faults::FaultRule;

namespace {

constexpr const char* kBucket = "ms-faults";
constexpr int kAttempts = 3;
// Short client timeouts keep the whole program quick; a call that takes longer
// than the hang bound is a hang (every configured timeout is far below it).
constexpr auto kLowSpeed = std::chrono::milliseconds(2000);
constexpr auto kConnect = std::chrono::milliseconds(1000);
constexpr auto kHangBound = std::chrono::seconds(90);
constexpr std::uint64_t kPart = 5ull << 20;            // RGW's minimum part size
constexpr std::uint64_t kMultipartSize = 11ull << 20;  // 3 parts: 5 + 5 + 1 MiB
constexpr std::uint64_t kSmall = 300 * 1024;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string rgw_endpoint() { return env("MINIO_ENDPOINT"); }

Config make_config(const std::string& endpoint, int attempts, const std::string& payload_signing = "auto") {
  auto cfg = Config::from_lookup([&](std::string_view name) -> std::optional<std::string> {
    if (name == "MEDIA_STORAGE_BACKEND") return std::string("minio");
    if (name == "MINIO_ENDPOINT") return endpoint;
    if (name == "MINIO_BUCKET_NAME") return std::string(kBucket);
    if (name == "MEDIA_AUTO_CREATE_BUCKET") return std::string("true");
    if (name == "AWS_MAX_ATTEMPTS") return std::to_string(attempts);
    if (name == "AWS_PROFILE" || name == "AWS_SHARED_CREDENTIALS_FILE") return std::nullopt;
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  });
  REQUIRE_MESSAGE(cfg.ok(), cfg.status().to_string());
  Config c = cfg.value();
  c.s3.connect_timeout = kConnect;
  c.s3.low_speed_timeout = kLowSpeed;
  c.s3.max_attempts = attempts;
  c.s3.multipart_threshold = 6ull << 20;
  c.s3.part_size = kPart;
  c.s3.parts_in_flight = 2;
  c.s3.payload_signing = payload_signing;
  return c;
}

std::shared_ptr<StorageBackend> make_backend(const std::string& endpoint, int attempts = kAttempts,
                                             const std::string& payload_signing = "auto") {
  auto b = make_storage(make_config(endpoint, attempts, payload_signing));
  REQUIRE_MESSAGE(b.ok(), b.status().to_string());
  return b.value();
}

// The RGW seen without the proxy: the reference for what is really stored.
StorageBackend& direct() {
  static std::shared_ptr<StorageBackend> b = [] {
    auto made = make_backend(rgw_endpoint());
    auto ping = made->ping();  // creates the bucket on first use
    REQUIRE_MESSAGE(ping.ok(), ping.to_string());
    return made;
  }();
  return *b;
}

std::string sha_hex(std::string_view data) { return detail::hex_lower(detail::sha256(data)); }

// Deterministic, key-specific content (so a mix-up of two objects shows).
std::string content(std::uint64_t n, std::string_view seed) {
  std::string out;
  out.reserve(n);
  std::uint64_t x = std::hash<std::string_view>{}(seed) | 1;
  while (out.size() < n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out.push_back(static_cast<char>(x & 0xff));
  }
  return out;
}

std::string run_id() {
  static std::string id = detail::random_hex(6);
  return id;
}

std::string key_for(std::string_view name) { return "faults/" + run_id() + "/" + std::string(name); }

// Runs fn on its own thread; if it does not finish within kHangBound the
// program stops with a message (a hung call is the failure this test exists
// to catch, and a hung thread cannot be joined).
template <class F>
auto bounded(const std::string& what, F fn) -> decltype(fn()) {
  using R = decltype(fn());
  auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
  auto fut = task->get_future();
  std::thread([task] { (*task)(); }).detach();
  if (fut.wait_for(kHangBound) != std::future_status::ready) {
    std::fprintf(stderr, "HANG: %s did not end within %lld s\n", what.c_str(),
                 static_cast<long long>(kHangBound.count()));
    std::fflush(stderr);
    std::_Exit(3);
  }
  return fut.get();
}

// What RGW really holds at key: its SHA-256, or nullopt if there is no object.
std::optional<std::string> stored_sha(const std::string& key) {
  auto got = direct().read_bytes(key);
  if (!got.ok()) {
    REQUIRE_MESSAGE(got.status().is(ErrorCode::not_found), got.status().to_string());
    return std::nullopt;
  }
  return sha_hex(got.value());
}

size_t append_cb(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

// Multipart uploads RGW still keeps under `prefix` (straight from RGW, signed
// by libcurl's own SigV4 implementation).
int open_uploads(const std::string& prefix) {
  CURL* h = curl_easy_init();
  REQUIRE(h != nullptr);
  char* esc = curl_easy_escape(h, prefix.c_str(), static_cast<int>(prefix.size()));
  std::string url = rgw_endpoint() + "/" + kBucket + "?prefix=" + esc + "&uploads=";
  curl_free(esc);
  std::string body;
  std::string user = env("MINIO_ACCESS_KEY") + ":" + env("MINIO_SECRET_KEY");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
  curl_easy_setopt(h, CURLOPT_USERPWD, user.c_str());
  curl_slist* headers = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(h);
  curl_slist_free_all(headers);
  REQUIRE_MESSAGE(rc == CURLE_OK, curl_easy_strerror(rc));
  REQUIRE_MESSAGE(code == 200, body);
  REQUIRE_MESSAGE(body.find("ListMultipartUploadsResult") != std::string::npos, body);
  int n = 0;
  for (auto pos = body.find("<Upload>"); pos != std::string::npos; pos = body.find("<Upload>", pos + 1)) ++n;
  return n;
}

struct Raw {
  CURLcode rc = CURLE_OK;
  long status = 0;
  std::string body;
};

// One request signed by libcurl itself (independent of the library under
// test), with an overall time limit.
Raw raw_request(const std::string& base, const std::string& method, const std::string& path,
                const std::string& upload = {}, long timeout_ms = 20000) {
  Raw out;
  CURL* h = curl_easy_init();
  REQUIRE(h != nullptr);
  std::string url = base + path;
  std::string user = env("MINIO_ACCESS_KEY") + ":" + env("MINIO_SECRET_KEY");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
  curl_easy_setopt(h, CURLOPT_USERPWD, user.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, upload.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(upload.size()));
  }
  // libcurl 7.88 leaves x-amz-content-sha256 out unless given; RGW needs it.
  curl_slist* headers = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  out.rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  curl_easy_cleanup(h);
  curl_slist_free_all(headers);
  return out;
}

// A proxy in front of RGW for one test case, and a fresh client (fresh
// connection pool and retry budget) that talks through it.
struct Rig {
  FaultProxy proxy{rgw_endpoint()};
  std::shared_ptr<StorageBackend> store;

  explicit Rig(int attempts = kAttempts, const std::string& payload_signing = "auto") {
    direct();  // the bucket exists before any fault is armed
    auto err = proxy.start();
    REQUIRE_MESSAGE(err.empty(), err);
    store = make_backend(proxy.endpoint(), attempts, payload_signing);
  }
  ~Rig() { proxy.stop(); }

  Status put(const std::string& key, const std::string& data) {
    return bounded("put " + key, [&] { return store->put_bytes(key, data, PutOptions{}); });
  }
  Result<std::string> get(const std::string& key, std::optional<ByteRange> range = std::nullopt) {
    return bounded("read " + key, [&] { return store->read_bytes(key, range); });
  }
};

FaultRule rule(Fault f, std::string method, std::string key, int times, std::uint64_t after = 0) {
  FaultRule r;
  r.fault = f;
  r.method = std::move(method);
  r.path_contains = std::move(key);
  r.times = times;
  r.after_bytes = after;
  return r;
}

FaultRule on_part(FaultRule r, int part) {
  r.query = {"partNumber=" + std::to_string(part), "uploadId"};
  return r;
}

// A failure caused by the network: a transient code and a message.
void check_network_failure(const Status& s) {
  CHECK_FALSE(s.ok());
  CHECK_MESSAGE(s.transient(), s.to_string());
  CHECK_MESSAGE(!s.message().empty(), s.to_string());
}

}  // namespace

TEST_SUITE("faults") {
  TEST_CASE("the proxy produces the faults it promises (seen by plain libcurl)") {
    auto bucket = raw_request(rgw_endpoint(), "PUT", std::string("/") + kBucket);
    REQUIRE_MESSAGE((bucket.status == 200 || bucket.status == 409), bucket.body);
    FaultProxy proxy(rgw_endpoint());
    REQUIRE(proxy.start().empty());
    auto key = key_for("proxy-self-test");
    auto data = content(kSmall, key);
    std::string path = std::string("/") + kBucket + "/" + key;
    auto put = raw_request(proxy.endpoint(), "PUT", path, data);
    REQUIRE_MESSAGE(put.rc == CURLE_OK, curl_easy_strerror(put.rc));
    REQUIRE_MESSAGE(put.status == 200, put.body);
    auto get = raw_request(proxy.endpoint(), "GET", path);
    CHECK(get.rc == CURLE_OK);
    CHECK(get.status == 200);
    CHECK(get.body == data);

    proxy.add_rule(rule(Fault::error_response, "GET", key, 1));
    get = raw_request(proxy.endpoint(), "GET", path);
    CHECK(get.status == 503);
    CHECK(get.body.find("<Code>SlowDown</Code>") != std::string::npos);

    proxy.add_rule(rule(Fault::truncate_response, "GET", key, 1, 1000));
    get = raw_request(proxy.endpoint(), "GET", path);
    CHECK_MESSAGE(get.rc == CURLE_PARTIAL_FILE, curl_easy_strerror(get.rc));
    CHECK(get.body.size() == 1000);

    proxy.add_rule(rule(Fault::reset_response, "GET", key, 1, 1000));
    get = raw_request(proxy.endpoint(), "GET", path);
    CHECK_MESSAGE(get.rc == CURLE_RECV_ERROR, curl_easy_strerror(get.rc));

    proxy.add_rule(rule(Fault::stall_response, "GET", key, 1, 1000));
    get = raw_request(proxy.endpoint(), "GET", path, {}, 1000);
    CHECK_MESSAGE(get.rc == CURLE_OPERATION_TIMEDOUT, curl_easy_strerror(get.rc));

    FaultRule stall;
    stall.fault = Fault::stall_connection;
    proxy.add_rule(stall);
    get = raw_request(proxy.endpoint(), "GET", path, {}, 1000);
    CHECK_MESSAGE(get.rc == CURLE_OPERATION_TIMEDOUT, curl_easy_strerror(get.rc));

    auto other = content(kSmall, key + "other");
    proxy.add_rule(rule(Fault::reset_request, "PUT", key, 1, 1000));
    put = raw_request(proxy.endpoint(), "PUT", path, other);
    CHECK_MESSAGE((put.rc == CURLE_SEND_ERROR || put.rc == CURLE_RECV_ERROR), curl_easy_strerror(put.rc));
    CHECK(raw_request(rgw_endpoint(), "GET", path).body == data);

    proxy.add_rule(rule(Fault::drop_response, "PUT", key, 1));
    put = raw_request(proxy.endpoint(), "PUT", path, other);
    CHECK(put.rc != CURLE_OK);
    CHECK(raw_request(rgw_endpoint(), "GET", path).body == other);
    CHECK(proxy.faults_applied() == 7);

    // Above 1 MiB libcurl sends "Expect: 100-continue": the interim answer
    // is relayed, and faults still strike in the body.
    auto big = content(3ull << 20, key + "big");
    put = raw_request(proxy.endpoint(), "PUT", path, big);
    CHECK_MESSAGE(put.rc == CURLE_OK, curl_easy_strerror(put.rc));
    CHECK(put.status == 200);
    CHECK(raw_request(rgw_endpoint(), "GET", path).body == big);
    proxy.add_rule(rule(Fault::reset_request, "PUT", key, 1, 1 << 20));
    put = raw_request(proxy.endpoint(), "PUT", path, content(3ull << 20, key + "big2"));
    CHECK_MESSAGE((put.rc == CURLE_SEND_ERROR || put.rc == CURLE_RECV_ERROR), curl_easy_strerror(put.rc));
    CHECK(raw_request(rgw_endpoint(), "GET", path).body == big);
    proxy.stop();
  }

  TEST_CASE("the proxy passes requests through unchanged") {
    Rig rig;
    auto key = key_for("clean");
    auto data = content(kSmall, key);
    REQUIRE(rig.put(key, data).ok());
    auto got = rig.get(key);
    REQUIRE_MESSAGE(got.ok(), got.status().to_string());
    CHECK(sha_hex(got.value()) == sha_hex(data));
    CHECK(stored_sha(key) == sha_hex(data));
    CHECK(rig.proxy.faults_applied() == 0);
  }

  TEST_CASE("a SlowDown burst shorter than the attempts is retried to success") {
    Rig rig;
    auto key = key_for("slowdown-short");
    auto data = content(kSmall, key);
    rig.proxy.add_rule(rule(Fault::error_response, "PUT", key, kAttempts - 1));
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.ok(), s.to_string());
    CHECK(rig.proxy.count("PUT", key) == kAttempts);
    CHECK(stored_sha(key) == sha_hex(data));
  }

  TEST_CASE("a SlowDown burst as long as the attempts ends throttled, with no more attempts") {
    Rig rig;
    auto key = key_for("slowdown-long");
    auto data = content(kSmall, key);
    rig.proxy.add_rule(rule(Fault::error_response, "PUT", key, -1));
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.is(ErrorCode::throttled), s.to_string());
    CHECK_MESSAGE(s.message().find("SlowDown") != std::string::npos, s.to_string());
    CHECK(rig.proxy.count("PUT", key) == kAttempts);
    CHECK(stored_sha(key) == std::nullopt);

    REQUIRE(direct().put_bytes(key, data, PutOptions{}).ok());
    rig.proxy.add_rule(rule(Fault::error_response, "GET", key, -1));
    auto got = rig.get(key);
    CHECK_MESSAGE(got.status().is(ErrorCode::throttled), got.status().to_string());
  }

  TEST_CASE("a 500 InternalError is retried, a 403 AccessDenied is not") {
    Rig rig;
    auto key = key_for("status-codes");
    auto data = content(kSmall, key);
    auto internal = rule(Fault::error_response, "PUT", key, 1);
    internal.status = 500;
    internal.s3_code = "InternalError";
    rig.proxy.add_rule(internal);
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.ok(), s.to_string());
    CHECK(rig.proxy.count("PUT", key) == 2);

    auto denied = rule(Fault::error_response, "GET", key, 1);
    denied.status = 403;
    denied.s3_code = "AccessDenied";
    rig.proxy.add_rule(denied);
    auto got = rig.get(key);
    CHECK_MESSAGE(got.status().is(ErrorCode::permission_denied), got.status().to_string());
    CHECK(rig.proxy.count("GET", key) == 1);
  }

  TEST_CASE("a connection reset in the middle of a PUT body is retried with the body rewound") {
    Rig rig;
    auto key = key_for("reset-put-once");
    auto data = content(kSmall, key);
    rig.proxy.add_rule(rule(Fault::reset_request, "PUT", key, 1, 100 * 1024));
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.ok(), s.to_string());
    CHECK(rig.proxy.count("PUT", key) == 2);
    CHECK(stored_sha(key) == sha_hex(data));
  }

  TEST_CASE("resets on every attempt fail the PUT and keep the previous object intact") {
    Rig rig;
    auto key = key_for("reset-put-always");
    auto old_data = content(kSmall, key + "old");
    REQUIRE(direct().put_bytes(key, old_data, PutOptions{}).ok());
    rig.proxy.add_rule(rule(Fault::reset_request, "PUT", key, -1, 100 * 1024));
    auto s = rig.put(key, content(kSmall, key));
    check_network_failure(s);
    // kAttempts attempts; libcurl itself may send a request once more when a
    // reused keep-alive connection dies under it, never more often.
    CHECK(rig.proxy.count("PUT", key) >= kAttempts);
    CHECK(rig.proxy.count("PUT", key) <= 2 * kAttempts);
    CHECK(stored_sha(key) == sha_hex(old_data));
  }

  TEST_CASE("streaming PUT: a reset in the second chunk is retried with the reader restarted") {
    Rig rig(kAttempts, "streaming");
    auto key = key_for("reset-streaming-put-once");
    auto data = content((2ull << 20) + 4321, key);  // 3 chunks of data + the final 0-byte chunk
    rig.proxy.add_rule(rule(Fault::reset_request, "PUT", key, 1, (1ull << 20) + 300 * 1024));
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.ok(), s.to_string());
    CHECK(rig.proxy.count("PUT", key) == 2);
    CHECK(stored_sha(key) == sha_hex(data));
  }

  TEST_CASE("streaming PUT: resets or stalls on every attempt fail and keep the previous object intact") {
    for (Fault f : {Fault::reset_request, Fault::stall_request}) {
      CAPTURE(faults::fault_name(f));
      Rig rig(kAttempts, "streaming");
      auto key = key_for(std::string("streaming-put-always-") + faults::fault_name(f));
      auto old_data = content(kSmall, key + "old");
      REQUIRE(direct().put_bytes(key, old_data, PutOptions{}).ok());
      rig.proxy.add_rule(rule(f, "PUT", key, -1, 1500 * 1024));
      auto s = rig.put(key, content((2ull << 20) + 1, key));
      CHECK_FALSE(s.ok());
      CHECK((s.is(ErrorCode::network_error) || s.is(ErrorCode::timeout)));
      CHECK(rig.proxy.count("PUT", key) >= kAttempts);
      CHECK(rig.proxy.count("PUT", key) <= 2 * kAttempts);
      CHECK(stored_sha(key) == sha_hex(old_data));
    }
  }

  TEST_CASE("an answer lost after the server stored the PUT is retried") {
    Rig rig;
    auto key = key_for("drop-put-answer");
    auto data = content(kSmall, key);
    rig.proxy.add_rule(rule(Fault::drop_response, "PUT", key, 1));
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.ok(), s.to_string());
    CHECK(stored_sha(key) == sha_hex(data));
  }

  TEST_CASE("a reset in the middle of a GET body restarts the download") {
    Rig rig;
    auto key = key_for("reset-get");
    auto data = content(kSmall, key);
    REQUIRE(direct().put_bytes(key, data, PutOptions{}).ok());
    rig.proxy.add_rule(rule(Fault::reset_response, "GET", key, 1, 64 * 1024));
    auto got = rig.get(key);
    REQUIRE_MESSAGE(got.ok(), got.status().to_string());
    CHECK(got.value().size() == data.size());
    CHECK(sha_hex(got.value()) == sha_hex(data));
    CHECK(rig.proxy.count("GET", key) == 2);

    rig.proxy.add_rule(rule(Fault::reset_response, "GET", key, -1, 64 * 1024));
    auto failed = rig.get(key);
    check_network_failure(failed.status());
  }

  TEST_CASE("a truncated GET answer never passes for the object") {
    Rig rig;
    auto key = key_for("truncate-get");
    auto data = content(kSmall, key);
    REQUIRE(direct().put_bytes(key, data, PutOptions{}).ok());
    rig.proxy.add_rule(rule(Fault::truncate_response, "GET", key, 1, 100 * 1024));
    auto got = rig.get(key);
    REQUIRE_MESSAGE(got.ok(), got.status().to_string());
    CHECK(sha_hex(got.value()) == sha_hex(data));

    // A ranged read, truncated once.
    rig.proxy.add_rule(rule(Fault::truncate_response, "GET", key, 1, 1000));
    auto part = rig.get(key, ByteRange{1000, 50000});
    REQUIRE_MESSAGE(part.ok(), part.status().to_string());
    CHECK(part.value() == data.substr(1000, 50000));

    // Truncated every time: an error, and no file appears.
    rig.proxy.add_rule(rule(Fault::truncate_response, "GET", key, -1, 100 * 1024));
    auto failed = rig.get(key);
    check_network_failure(failed.status());
    auto path = std::filesystem::temp_directory_path() / ("ms-faults-" + run_id() + ".bin");
    auto s = bounded("read_to_file " + key, [&] { return rig.store->read_to_file(key, path.string()); });
    check_network_failure(s);
    CHECK_FALSE(std::filesystem::exists(path));
    std::filesystem::remove(path);
  }

  TEST_CASE("a truncated listing is retried, never returned in part") {
    auto prefix = key_for("list/");
    for (int i = 0; i < 40; ++i) REQUIRE(direct().put_bytes(prefix + std::to_string(i), "x", PutOptions{}).ok());
    {
      Rig rig;
      auto list = rule(Fault::truncate_response, "GET", "", 1, 700);
      list.query = {"list-type=2"};
      rig.proxy.add_rule(list);
      auto all = bounded("list_all " + prefix, [&] { return rig.store->list_all(prefix); });
      REQUIRE_MESSAGE(all.ok(), all.status().to_string());
      CHECK(all->size() == 40);
      CHECK(rig.proxy.faults_applied() == 1);
    }
    Rig once(1);  // no retries: the truncated answer itself must be refused
    auto list = rule(Fault::truncate_response, "GET", "", -1, 700);
    list.query = {"list-type=2"};
    once.proxy.add_rule(list);
    auto all = bounded("list_all " + prefix, [&] { return once.store->list_all(prefix); });
    check_network_failure(all.status());
  }

  TEST_CASE("a connection accepted but never answered times out and is retried") {
    Rig rig;
    auto key = key_for("stall-accept");
    auto data = content(kSmall, key);
    FaultRule r;
    r.fault = Fault::stall_connection;
    r.times = 1;
    rig.proxy.add_rule(r);
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.ok(), s.to_string());
    CHECK(rig.proxy.faults_applied() == 1);
    CHECK(stored_sha(key) == sha_hex(data));

    // Every connection stalls: a timeout error, not a hang.
    Rig dead;
    r.times = -1;
    dead.proxy.add_rule(r);
    auto key2 = key_for("stall-accept-always");
    auto s2 = dead.put(key2, data);
    CHECK_MESSAGE(s2.is(ErrorCode::timeout), s2.to_string());
    CHECK(stored_sha(key2) == std::nullopt);
  }

  TEST_CASE("a GET that stops in the middle of the body times out and is retried") {
    Rig rig;
    auto key = key_for("stall-get");
    auto data = content(kSmall, key);
    REQUIRE(direct().put_bytes(key, data, PutOptions{}).ok());
    rig.proxy.add_rule(rule(Fault::stall_response, "GET", key, 1, 64 * 1024));
    auto got = rig.get(key);
    REQUIRE_MESSAGE(got.ok(), got.status().to_string());
    CHECK(sha_hex(got.value()) == sha_hex(data));
    CHECK(rig.proxy.count("GET", key) == 2);
  }

  TEST_CASE("a PUT whose body stops being read times out; nothing partial is stored") {
    Rig rig;
    auto key = key_for("stall-put");
    auto data = content(kSmall, key);
    rig.proxy.add_rule(rule(Fault::stall_request, "PUT", key, 1, 64 * 1024));
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.ok(), s.to_string());
    CHECK(rig.proxy.count("PUT", key) == 2);
    CHECK(stored_sha(key) == sha_hex(data));
  }

  TEST_CASE("multipart: transient faults on parts and on Complete still give the exact object") {
    Rig rig;
    auto key = key_for("mp-transient");
    auto data = content(kMultipartSize, key);
    rig.proxy.add_rule(on_part(rule(Fault::reset_request, "PUT", key, 1, 1 << 20), 1));
    rig.proxy.add_rule(on_part(rule(Fault::drop_response, "PUT", key, 1), 2));
    rig.proxy.add_rule(on_part(rule(Fault::error_response, "PUT", key, 1), 3));
    auto complete = rule(Fault::error_response, "POST", key, 1);
    complete.query = {"uploadId"};
    rig.proxy.add_rule(complete);
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.ok(), s.to_string());
    CHECK(rig.proxy.faults_applied() == 4);
    CHECK(rig.proxy.count("POST", "uploads") == 1);  // one upload, not a new one per fault
    CHECK(stored_sha(key) == sha_hex(data));
    auto info = direct().stat(key);
    REQUIRE(info.ok());
    CHECK(info->etag.size() > 2);
    CHECK(info->etag.substr(info->etag.size() - 2) == "-3");
    CHECK(open_uploads(key) == 0);
  }

  TEST_CASE("multipart: a part that keeps failing aborts the upload and leaves nothing") {
    Rig rig;
    auto key = key_for("mp-reset-always");
    auto data = content(kMultipartSize, key);
    rig.proxy.add_rule(on_part(rule(Fault::reset_request, "PUT", key, -1, 1 << 20), 2));
    auto s = rig.put(key, data);
    check_network_failure(s);
    CHECK(rig.proxy.count("DELETE", "uploadId") >= 1);
    CHECK(open_uploads(key) == 0);
    CHECK(stored_sha(key) == std::nullopt);
  }

  TEST_CASE("multipart: a SlowDown storm on the parts ends throttled and leaves nothing") {
    Rig rig;
    auto key = key_for("mp-slowdown");
    auto data = content(kMultipartSize, key);
    auto storm = rule(Fault::error_response, "PUT", key, -1);
    storm.query = {"uploadId"};
    rig.proxy.add_rule(storm);
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.is(ErrorCode::throttled), s.to_string());
    CHECK(open_uploads(key) == 0);
    CHECK(stored_sha(key) == std::nullopt);
  }

  TEST_CASE("multipart: a stalled part times out and the upload is aborted") {
    Rig rig(1);  // no retries: one stall is enough to fail the upload
    auto key = key_for("mp-stall");
    auto data = content(kMultipartSize, key);
    rig.proxy.add_rule(on_part(rule(Fault::stall_request, "PUT", key, 1, 256 * 1024), 3));
    auto s = rig.put(key, data);
    CHECK_MESSAGE(s.is(ErrorCode::timeout), s.to_string());
    CHECK(open_uploads(key) == 0);
    CHECK(stored_sha(key) == std::nullopt);
  }

  TEST_CASE("multipart: a lost Complete answer leaves the exact object or none, and no upload") {
    Rig rig;
    auto key = key_for("mp-complete-lost");
    auto data = content(kMultipartSize, key);
    auto lost = rule(Fault::drop_response, "POST", key, 1);
    lost.query = {"uploadId"};
    rig.proxy.add_rule(lost);
    auto s = rig.put(key, data);
    MESSAGE("a lost CompleteMultipartUpload answer: the put ended with ", s.to_string());
    auto sha = stored_sha(key);
    if (s.ok()) CHECK(sha == sha_hex(data));
    if (sha) CHECK(*sha == sha_hex(data));
    CHECK(open_uploads(key) == 0);
  }
}
