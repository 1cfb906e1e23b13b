// The S3 client against a real Ceph RGW (fixture rgw): credentials, timeouts,
// presigned URLs with curl, multipart with bounded memory and clean aborts,
// key encoding, listing, and interop with boto3.
//
// Environment (tests/integration/tests.cmake): MINIO_ENDPOINT,
// MINIO_ACCESS_KEY, MINIO_SECRET_KEY, MINIO_BUCKET_NAME, MS_TEST_CURL,
// MS_TEST_PYTHON, MS_TEST_BOTO3_SCRIPT.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/crypto.hpp"
#include "mediastore/storage.hpp"
#include "s3/client.hpp"

using namespace mediastore;
using mediastore::s3::Client;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') FAIL("environment variable " << name << " is not set");
  return v;
}

S3Settings settings() {
  S3Settings s;
  s.endpoint = env("MINIO_ENDPOINT");
  s.access_key = env("MINIO_ACCESS_KEY");
  s.secret_key = env("MINIO_SECRET_KEY");
  s.bucket = env("MINIO_BUCKET_NAME");
  s.path_style = true;
  s.connect_timeout = std::chrono::milliseconds(2000);
  s.low_speed_timeout = std::chrono::milliseconds(10000);
  return s;
}

std::shared_ptr<Client> make_client(const S3Settings& s) {
  auto c = Client::create(s);
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  return c.value();
}

// The shared client; creates the bucket once.
Client& client() {
  static std::shared_ptr<Client> c = [] {
    auto cl = make_client(settings());
    Status s = cl->head_bucket();
    if (s.is(ErrorCode::not_found)) s = cl->create_bucket();
    REQUIRE_MESSAGE(s.ok(), s.to_string());
    return cl;
  }();
  return *c;
}

std::string prefix() {
  static const std::string p = "it/" + detail::random_hex(6) + "/";
  return p;
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::string s(n, '\0');
  std::mt19937_64 gen(seed);
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    const std::uint64_t v = gen();
    std::memcpy(&s[i], &v, 8);
  }
  for (std::size_t i = n - n % 8; i < n; ++i) s[i] = static_cast<char>(gen());
  return s;
}

std::string sha256_hex(std::string_view d) { return detail::hex_lower(detail::sha256(d)); }

struct Run {
  int code = -1;
  std::string out;
};

// Runs a shell command, capturing stdout.
Run run(const std::string& cmd) {
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("ms-s3-it-" + detail::random_hex(4) + "-" + name)).string();
}

std::string get_string(Client& c, const std::string& key) {
  std::string out;
  s3::StringBody sink(out);
  Status s = c.get_object(key, sink);
  REQUIRE_MESSAGE(s.ok(), s.to_string());
  return out;
}

// A port on 127.0.0.1 where nothing listens.
int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

// A source that refuses to read past `fail_at` (random access or not).
class FailingSource final : public s3::BodySource {
 public:
  FailingSource(std::string_view data, std::uint64_t fail_at, bool random)
      : data_(data), fail_at_(fail_at), random_(random) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    auto r = read_at(pos_, buf, n);
    if (r.ok()) pos_ += *r;
    return r;
  }
  std::optional<std::uint64_t> size() const override { return data_.size(); }
  Status rewind() override {
    pos_ = 0;
    return Status::Ok();
  }
  Result<std::size_t> read_at(std::uint64_t off, void* buf, std::size_t n) override {
    if (off + n > fail_at_) return Status::IoError("injected read failure");
    const std::size_t k = std::min<std::size_t>(n, data_.size() - std::min<std::uint64_t>(off, data_.size()));
    std::memcpy(buf, data_.data() + off, k);
    return k;
  }
  bool random_access() const override { return random_; }

 private:
  std::string_view data_;
  std::uint64_t fail_at_;
  bool random_;
  std::uint64_t pos_ = 0;
};

// A sequential-only source of unknown size.
class StreamSource final : public s3::BodySource {
 public:
  explicit StreamSource(std::string_view data) : data_(data) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    const std::size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  std::optional<std::uint64_t> size() const override { return std::nullopt; }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

}  // namespace

TEST_CASE("put, head, get, range, copy, delete with metadata") {
  Client& c = client();
  const std::string key = prefix() + "basic/photo one+%~=.jpg";
  const std::string data = random_bytes(100000, 1);
  s3::PutObjectOptions o;
  o.content_type = "image/jpeg";
  o.cache_control = "max-age=60";
  o.content_disposition = "inline; filename=\"photo.jpg\"";
  o.metadata = {{"Owner", "alice"}, {"upload-id", "42"}};
  s3::MemoryBody src(data);
  REQUIRE(c.put_object(key, src, o).ok());

  auto h = c.head_object(key);
  REQUIRE_MESSAGE(h.ok(), h.status().to_string());
  CHECK(h->size == data.size());
  CHECK(h->content_type == "image/jpeg");
  CHECK(h->cache_control == "max-age=60");
  CHECK(h->content_disposition == "inline; filename=\"photo.jpg\"");
  CHECK(h->metadata.at("owner") == "alice");
  CHECK(h->metadata.at("upload-id") == "42");
  CHECK(h->etag == detail::hex_lower(detail::md5(data)));

  CHECK(get_string(c, key) == data);
  std::string part;
  s3::StringBody ps(part);
  REQUIRE(c.get_object(key, ps, 10, 20).ok());
  CHECK(part == data.substr(10, 20));
  part.clear();
  REQUIRE(c.get_object(key, ps, data.size() - 5, std::nullopt).ok());
  CHECK(part == data.substr(data.size() - 5));
  part.clear();
  REQUIRE(c.get_object(key, ps, data.size() + 10, std::nullopt).ok());
  CHECK(part.empty());

  const std::string copy = prefix() + "basic/copy of photo.jpg";
  auto cr = c.copy_object(key, copy);
  REQUIRE_MESSAGE(cr.ok(), cr.status().to_string());
  auto ch = c.head_object(copy);
  REQUIRE(ch.ok());
  CHECK(ch->content_type == "image/jpeg");
  CHECK(ch->metadata.at("owner") == "alice");
  CHECK(get_string(c, copy) == data);

  REQUIRE(c.delete_object(key).ok());
  REQUIRE(c.delete_object(key).ok());  // missing: still success
  auto gone = c.head_object(key);
  CHECK(gone.status().is(ErrorCode::not_found));
  std::string none;
  s3::StringBody ns(none);
  Status missing = c.get_object(key, ns);
  CHECK(missing.is(ErrorCode::not_found));
  CHECK(missing.message().find("NoSuchKey") != std::string::npos);
  CHECK(missing.message().find("request id") != std::string::npos);
}

TEST_CASE("keys with special characters round-trip and list back unchanged") {
  Client& c = client();
  const std::vector<std::string> names = {"a b",       "plus+sign", "per%cent",     "tilde~",     "équipe/été.png",
                                          "q?uestion", "hash#tag",  "amp&er",       "semi;colon", "eq=al",
                                          "star*",     "quote'\"",  "brackets[]{}", "comma,",     "dollar$@!"};
  std::set<std::string> want;
  for (const auto& n : names) {
    const std::string key = prefix() + "keys/" + n;
    want.insert(key);
    REQUIRE_MESSAGE(c.put_object_single(key, *std::make_unique<s3::MemoryBody>(n), n.size(), {}).ok(), key);
    CHECK(get_string(c, key) == n);
  }
  std::set<std::string> got;
  s3::ListRequest lr;
  lr.prefix = prefix() + "keys/";
  lr.max_keys = 4;
  int pages = 0;
  REQUIRE(c.list_all(lr, [&](const s3::ListObjectsV2Result& page) {
             ++pages;
             for (const auto& o : page.objects) got.insert(o.key);
             return true;
           }).ok());
  CHECK(got == want);
  CHECK(pages == 4);

  // Delimiter: one folder level.
  lr.delimiter = "/";
  lr.max_keys = 1000;
  auto page = c.list_objects_v2(lr);
  REQUIRE(page.ok());
  REQUIRE(page->common_prefixes.size() == 1);
  CHECK(page->common_prefixes[0] == prefix() + "keys/équipe/");
  CHECK(page->objects.size() == names.size() - 1);

  // DeleteObjects in batches of 1000: 1500 keys, 3 of them real.
  std::vector<std::string> del;
  for (int i = 0; i < 1500; ++i) del.push_back(prefix() + fmt::format("keys/missing-{}", i));
  del[0] = prefix() + "keys/a b";
  del[999] = prefix() + "keys/amp&er";
  del[1000] = prefix() + "keys/quote'\"";
  auto failures = c.delete_objects(del);
  REQUIRE_MESSAGE(failures.ok(), failures.status().to_string());
  CHECK(failures->empty());
  CHECK(c.head_object(del[0]).status().is(ErrorCode::not_found));
  CHECK(c.head_object(del[999]).status().is(ErrorCode::not_found));
  CHECK(c.head_object(del[1000]).status().is(ErrorCode::not_found));
  CHECK(c.head_object(prefix() + "keys/tilde~").ok());
}

TEST_CASE("a wrong secret is auth_failed, an unknown key id too") {
  S3Settings s = settings();
  s.secret_key += "x";
  s.max_attempts = 3;
  auto c = make_client(s);
  Status st = c->head_object(prefix() + "whatever").status();
  CHECK_MESSAGE(st.is(ErrorCode::auth_failed), st.to_string());
  s3::MemoryBody src("x");
  st = c->put_object(prefix() + "wrong-secret", src, {});
  CHECK_MESSAGE(st.is(ErrorCode::auth_failed), st.to_string());
  CHECK(st.message().find("SignatureDoesNotMatch") != std::string::npos);
  CHECK(st.message().find(s.secret_key) == std::string::npos);
  // A large body too: the refusal is read, not mistaken for a broken connection.
  const std::string big(15u << 20, 'b');
  s3::MemoryBody big_src(big);
  st = c->put_object(prefix() + "wrong-secret-big", big_src, {});
  CHECK_MESSAGE(st.is(ErrorCode::auth_failed), st.to_string());

  s = settings();
  s.access_key = "NOSUCHACCESSKEY00000";
  st = make_client(s)->put_object(prefix() + "wrong-key", src, {});
  CHECK_MESSAGE(st.is(ErrorCode::auth_failed), st.to_string());
  CHECK(st.message().find("InvalidAccessKeyId") != std::string::npos);
}

TEST_CASE("an unreachable endpoint is network_error within the connect timeout") {
  S3Settings s = settings();
  s.endpoint = fmt::format("http://127.0.0.1:{}", closed_port());
  s.max_attempts = 1;
  s.connect_timeout = std::chrono::milliseconds(1000);
  auto c = make_client(s);
  const auto t0 = std::chrono::steady_clock::now();
  Status st = c->head_bucket();
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK_MESSAGE(st.is(ErrorCode::network_error), st.to_string());
  // Refused at once; the bound is the configured timeout, not a speed test.
  CHECK(took < s.connect_timeout);
}

TEST_CASE("a server that accepts but never answers is timeout after the low-speed limit") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(fd, 8) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  S3Settings s = settings();
  s.endpoint = fmt::format("http://127.0.0.1:{}", ntohs(a.sin_port));
  s.max_attempts = 1;
  s.low_speed_timeout = std::chrono::milliseconds(1000);
  auto c = make_client(s);
  Status st = c->head_bucket();
  close(fd);
  CHECK_MESSAGE(st.is(ErrorCode::timeout), st.to_string());
}

TEST_CASE("presigned GET and PUT work with curl; altered URLs are refused") {
  Client& c = client();
  const std::string curl = env("MS_TEST_CURL");
  const std::string key = prefix() + "presigned/file name é.bin";
  const std::string data = random_bytes(300000, 7);
  s3::MemoryBody src(data);
  REQUIRE(c.put_object(key, src, {}).ok());

  auto url = c.presign("GET", key, std::chrono::seconds(300));
  REQUIRE(url.ok());
  const std::string out = temp_path("get");
  Run r = run(fmt::format("{} -s -f -o {} {}", curl, shell_quote(out), shell_quote(*url)));
  CHECK(r.code == 0);
  {
    std::ifstream in(out, std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(got == data);
  }
  std::filesystem::remove(out);

  // Tampered signature, tampered key, tampered expiry: all 403.
  std::string bad_sig = *url;
  char& last = bad_sig.back();
  last = last == '0' ? '1' : '0';
  std::string bad_key = *url;
  bad_key.replace(bad_key.find("file%20name"), 4, "fila");
  std::string bad_exp = *url;
  bad_exp.replace(bad_exp.find("X-Amz-Expires=300"), 17, "X-Amz-Expires=301");
  for (const auto& u : {bad_sig, bad_key, bad_exp}) {
    Run b = run(fmt::format("{} -s -o /dev/null -w '%{{http_code}}' {}", curl, shell_quote(u)));
    CHECK(b.out == "403");
  }

  // PUT through a presigned URL, read back with the client.
  const std::string put_key = prefix() + "presigned/uploaded by curl.bin";
  auto put_url = c.presign("PUT", put_key, std::chrono::seconds(60));
  REQUIRE(put_url.ok());
  const std::string in_file = temp_path("put");
  const std::string pdata = random_bytes(200000, 8);
  std::ofstream(in_file, std::ios::binary) << pdata;
  r = run(fmt::format("{} -s -f -X PUT --data-binary @{} {}", curl, shell_quote(in_file), shell_quote(*put_url)));
  CHECK(r.code == 0);
  CHECK(get_string(c, put_key) == pdata);
  std::string tampered = *put_url;
  tampered.replace(tampered.find("uploaded%20by"), 8, "uploadex");
  Run b = run(fmt::format("{} -s -o /dev/null -w '%{{http_code}}' -X PUT --data-binary @{} {}", curl,
                          shell_quote(in_file), shell_quote(tampered)));
  CHECK(b.out == "403");
  std::filesystem::remove(in_file);

  CHECK(c.presign("GET", key, std::chrono::seconds(0)).status().is(ErrorCode::invalid_argument));
  CHECK(c.presign("GET", key, std::chrono::seconds(604801)).status().is(ErrorCode::invalid_argument));
  CHECK(c.presign("GET", key, std::chrono::seconds(604800)).ok());
}

TEST_CASE("a 64 MiB object goes up through multipart and comes back with the same sha256") {
  Client& c = client();
  REQUIRE(c.settings().multipart_threshold <= (64u << 20));
  const std::string key = prefix() + "multipart/64MiB.bin";
  const std::string data = random_bytes(64u << 20, 64);
  std::uint64_t last_done = 0, calls = 0;
  s3::PutObjectOptions o;
  o.content_type = "video/mp4";
  o.progress = [&](std::uint64_t done, std::uint64_t total) {
    ++calls;
    last_done = done;
    CHECK(total == data.size());
    return true;
  };
  s3::MemoryBody src(data);
  Status st = c.put_object(key, src, o);
  REQUIRE_MESSAGE(st.ok(), st.to_string());
  CHECK(calls > 0);
  CHECK(last_done == data.size());
  auto h = c.head_object(key);
  REQUIRE(h.ok());
  CHECK(h->size == data.size());
  CHECK(h->content_type == "video/mp4");
  CHECK(h->etag.find("-8") != std::string::npos);  // 8 parts of 8 MiB
  std::string got;
  got.reserve(data.size());
  s3::StringBody sink(got);
  REQUIRE(c.get_object(key, sink).ok());
  CHECK(sha256_hex(got) == sha256_hex(data));

  // A sequential source of unknown size: multipart above the threshold
  // (20 MiB = 8 + 8 + 4), one PutObject below it.
  const std::string skey = prefix() + "multipart/stream.bin";
  StreamSource stream(std::string_view(data).substr(0, 20u << 20));
  st = c.put_object(skey, stream, {});
  REQUIRE_MESSAGE(st.ok(), st.to_string());
  auto parts_etag = c.head_object(skey);
  REQUIRE(parts_etag.ok());
  CHECK(parts_etag->size == (20u << 20));
  CHECK(parts_etag->etag.find("-3") != std::string::npos);
  got.clear();
  REQUIRE(c.get_object(skey, sink).ok());
  CHECK(sha256_hex(got) == sha256_hex(std::string_view(data).substr(0, 20u << 20)));
  const std::string small_key = prefix() + "multipart/small-stream.bin";
  StreamSource small(std::string_view(data).substr(0, 1000));
  REQUIRE(c.put_object(small_key, small, {}).ok());
  auto small_head = c.head_object(small_key);
  REQUIRE(small_head.ok());
  CHECK(small_head->etag == detail::hex_lower(detail::md5(std::string_view(data).substr(0, 1000))));
  REQUIRE(c.delete_objects({key, skey, small_key}).ok());
}

TEST_CASE("a failure in the middle of a multipart upload leaves no upload behind") {
  Client& c = client();
  const std::string data = random_bytes(40u << 20, 40);
  for (bool random : {true, false}) {
    CAPTURE(random);
    const std::string key = prefix() + (random ? "mpfail/random.bin" : "mpfail/sequential.bin");
    FailingSource src(data, 21u << 20, random);  // parts 1 and 2 fine, part 3 fails
    Status st = c.put_object(key, src, {});
    CHECK_MESSAGE(st.is(ErrorCode::io_error), st.to_string());
    CHECK(st.message().find("injected read failure") != std::string::npos);
    auto uploads = c.list_multipart_uploads(prefix() + "mpfail/");
    REQUIRE_MESSAGE(uploads.ok(), uploads.status().to_string());
    CHECK(uploads->empty());
    CHECK(c.head_object(key).status().is(ErrorCode::not_found));
  }
  // Cancelled through progress: aborted too.
  const std::string key = prefix() + "mpfail/cancelled.bin";
  s3::PutObjectOptions o;
  o.progress = [](std::uint64_t done, std::uint64_t) { return done < (10u << 20); };
  s3::MemoryBody src(data);
  Status st = c.put_object(key, src, o);
  CHECK_MESSAGE(st.is(ErrorCode::cancelled), st.to_string());
  auto uploads = c.list_multipart_uploads(prefix() + "mpfail/");
  REQUIRE(uploads.ok());
  CHECK(uploads->empty());
}

TEST_CASE("multipart pieces: create, upload parts, list parts, complete, abort") {
  Client& c = client();
  const std::string key = prefix() + "mp-manual/obj";
  auto id = c.create_multipart_upload(key, {});
  REQUIRE(id.ok());
  const std::string p1 = random_bytes(5u << 20, 1), p2 = "tail";
  auto e1 = c.upload_part(key, *id, 1, p1);
  auto e2 = c.upload_part(key, *id, 2, p2);
  REQUIRE(e1.ok());
  REQUIRE(e2.ok());
  auto parts = c.list_parts(key, *id);
  REQUIRE(parts.ok());
  REQUIRE(parts->size() == 2);
  CHECK((*parts)[0].part_number == 1);
  CHECK((*parts)[0].etag == *e1);
  CHECK((*parts)[1].size == 4);
  REQUIRE(c.complete_multipart_upload(key, *id, *parts).ok());
  CHECK(get_string(c, key) == p1 + p2);

  auto id2 = c.create_multipart_upload(key + "2", {});
  REQUIRE(id2.ok());
  REQUIRE(c.upload_part(key + "2", *id2, 1, "abc").ok());
  REQUIRE(c.abort_multipart_upload(key + "2", *id2).ok());
  auto left = c.list_multipart_uploads(prefix() + "mp-manual/");
  REQUIRE(left.ok());
  CHECK(left->empty());
}

TEST_CASE("boto3 reads what this client writes, and this client reads what boto3 writes") {
  Client& c = client();
  const std::string py = env("MS_TEST_PYTHON");
  const std::string script = env("MS_TEST_BOTO3_SCRIPT");
  const std::string bucket = c.bucket();

  struct Case {
    std::string name;
    std::size_t size;
  };
  for (const Case& k : {Case{"small", 12345}, Case{"single PUT of 3 MiB", 3u << 20}, Case{"multipart", 20u << 20}}) {
    CAPTURE(k.name);
    const std::string key = prefix() + "interop/ours " + k.name + ".jpg";
    const std::string data = random_bytes(k.size, k.size);
    s3::PutObjectOptions o;
    o.content_type = "image/jpeg";
    o.cache_control = "public, max-age=3600";
    o.content_disposition = "attachment; filename=\"x.jpg\"";
    o.metadata = {{"owner", "bob"}, {"source", "mediastore"}};
    s3::MemoryBody src(data);
    REQUIRE(c.put_object(key, src, o).ok());
    Run r = run(fmt::format("{} {} describe {} {}", py, shell_quote(script), shell_quote(bucket), shell_quote(key)));
    REQUIRE_MESSAGE(r.code == 0, r.out);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["sha256"] == sha256_hex(data));
    CHECK(j["size"] == data.size());
    CHECK(j["content_type"] == "image/jpeg");
    CHECK(j["cache_control"] == "public, max-age=3600");
    CHECK(j["content_disposition"] == "attachment; filename=\"x.jpg\"");
    CHECK(j["metadata"]["owner"] == "bob");
    CHECK(j["metadata"]["source"] == "mediastore");
  }

  for (const std::string mode : {"single", "multipart"}) {
    CAPTURE(mode);
    const std::string key = prefix() + "interop/boto3 " + mode + ".png";
    const std::string data = random_bytes(mode == "single" ? 54321 : (12u << 20), 99);
    const std::string file = temp_path("boto3");
    std::ofstream(file, std::ios::binary) << data;
    Run r = run(fmt::format("{} {} put {} {} {} image/png {} {}", py, shell_quote(script), shell_quote(bucket),
                            shell_quote(key), shell_quote(file), shell_quote(R"({"owner": "carol", "n": "7"})"), mode));
    std::filesystem::remove(file);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    s3::ObjectHead head;
    std::string got;
    s3::StringBody sink(got);
    REQUIRE(c.get_object(key, sink, std::nullopt, std::nullopt, {}, &head).ok());
    CHECK(sha256_hex(got) == sha256_hex(data));
    CHECK(head.content_type == "image/png");
    CHECK(head.metadata["owner"] == "carol");
    CHECK(head.metadata["n"] == "7");
  }
}

TEST_CASE("the storage backend on RGW: ping, put/stat/read, url, list paging") {
  auto cfg = Config::from_environment();
  REQUIRE_MESSAGE(cfg.ok(), cfg.status().to_string());
  auto b = make_storage(*cfg);
  REQUIRE_MESSAGE(b.ok(), b.status().to_string());
  StorageBackend& store = **b;
  REQUIRE(store.ping().ok());
  const std::string key = prefix() + "backend/a.txt";
  PutOptions po;
  po.content_type = "text/plain";
  po.user_metadata = {{"k", "v"}};
  REQUIRE(store.put_bytes(key, "hello", po).ok());
  auto info = store.stat(key);
  REQUIRE(info.ok());
  CHECK(info->content_type == "text/plain");
  CHECK(info->user_metadata.at("k") == "v");
  CHECK(store.read_bytes(key).value_or("") == "hello");
  CHECK(store.read_bytes(key, ByteRange{1, 3}).value_or("") == "ell");
  auto url = store.get_url(key, std::chrono::seconds(60));
  REQUIRE(url.ok());
  Run r = run(fmt::format("{} -s -f {}", env("MS_TEST_CURL"), shell_quote(*url)));
  CHECK(r.out == "hello");
  CHECK(store.get_url(key, std::chrono::seconds(0)).status().is(ErrorCode::invalid_argument));
  CHECK(store.stat(prefix() + "backend/none").status().is(ErrorCode::not_found));
  CHECK(store.put_bytes("../escape", "x", po).is(ErrorCode::invalid_argument));
  CHECK(store.remove(key).ok());
}

TEST_CASE("virtual-hosted addressing (BUCKET.localhost) works like path style") {
  S3Settings s = settings();
  const auto at = s.endpoint.find("127.0.0.1");
  REQUIRE(at != std::string::npos);
  s.endpoint.replace(at, 9, "localhost");
  s.path_style = false;
  s.bucket = "ms-vhost-" + detail::random_hex(4);
  auto c = make_client(s);
  REQUIRE_MESSAGE(c->create_bucket().ok(), "CreateBucket through BUCKET.localhost");
  REQUIRE(c->head_bucket().ok());
  const std::string key = "dir/virtual hosted+é.txt";
  s3::MemoryBody src("vhost body");
  REQUIRE(c->put_object(key, src, {}).ok());
  CHECK(get_string(*c, key) == "vhost body");
  auto url = c->presign("GET", key, std::chrono::seconds(60));
  REQUIRE(url.ok());
  CHECK(url->rfind("http://" + s.bucket + ".localhost:", 0) == 0);
  Run r = run(fmt::format("{} -s -f {}", env("MS_TEST_CURL"), shell_quote(*url)));
  CHECK(r.out == "vhost body");
  s3::ListRequest lr;
  lr.prefix = "dir/";
  auto page = c->list_objects_v2(lr);
  REQUIRE(page.ok());
  REQUIRE(page->objects.size() == 1);
  CHECK(page->objects[0].key == key);
  // The same object through path style.
  S3Settings p = settings();
  p.bucket = s.bucket;
  CHECK(get_string(*make_client(p), key) == "vhost body");
  REQUIRE(c->delete_object(key).ok());
}

// ---------------------------------------------------------------- streaming (aws-chunked) single PUTs

namespace {

// The encoded stream of a ChunkedSigningSource with one byte flipped at
// `at`: a body damaged in transit.
class DamagingSource final : public s3::BodySource {
 public:
  DamagingSource(s3::ChunkedSigningSource& inner, std::uint64_t at) : inner_(inner), at_(at) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    auto r = inner_.read(buf, n);
    if (r.ok() && pos_ <= at_ && at_ < pos_ + *r) static_cast<char*>(buf)[at_ - pos_] ^= 0x01;
    if (r.ok()) pos_ += *r;
    return r;
  }
  std::optional<std::uint64_t> size() const override { return inner_.size(); }
  Status rewind() override {
    pos_ = 0;
    return inner_.rewind();
  }

 private:
  s3::ChunkedSigningSource& inner_;
  std::uint64_t at_;
  std::uint64_t pos_ = 0;
};

bool has_content_encoding(Client& c, const std::string& key) {
  Client::Op op;
  op.method = "HEAD";
  op.key = key;
  auto r = c.execute(op);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  return r->header("content-encoding").has_value();
}

}  // namespace

TEST_CASE("streaming PUT: bodies across chunk boundaries come back with the same sha256 and no aws-chunked") {
  (void)client();  // creates the bucket
  auto c = make_client(settings());
  c->set_payload_signing(s3::PayloadSigning::streaming);
  const std::uint64_t MiB = 1 << 20;  // the chunk size put_object_single uses
  const std::string data = random_bytes(3 * MiB + 17, 77);
  for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + 17}) {
    CAPTURE(size);
    const std::string key = prefix() + "streaming/" + std::to_string(size) + ".bin";
    const std::string_view body = std::string_view(data).substr(0, static_cast<std::size_t>(size));
    s3::MemoryBody src(body);
    std::uint64_t last_done = 0;
    s3::PutObjectOptions o;
    o.content_type = "video/mp4";
    o.metadata = {{"kind", "streamed"}};
    o.progress = [&](std::uint64_t done, std::uint64_t total) {
      CHECK(total == size);
      CHECK(done <= size);
      last_done = done;
      return true;
    };
    Status st = c->put_object(key, src, o);
    REQUIRE_MESSAGE(st.ok(), st.to_string());
    if (size > 0) CHECK(last_done == size);
    auto h = c->head_object(key);
    REQUIRE_MESSAGE(h.ok(), h.status().to_string());
    CHECK(h->size == size);
    CHECK(h->content_type == "video/mp4");
    CHECK(h->metadata.at("kind") == "streamed");
    CHECK(h->etag == detail::hex_lower(detail::md5(body)));
    CHECK_FALSE(has_content_encoding(*c, key));
    CHECK(sha256_hex(get_string(*c, key)) == sha256_hex(body));
    REQUIRE(c->delete_object(key).ok());
  }
}

TEST_CASE("streaming PUT: the default (automatic) streams large bodies, which read back intact") {
  (void)client();  // creates the bucket
  auto c = make_client(settings());
  CHECK(c->payload_signing() == s3::PayloadSigning::automatic);
  const std::string data = random_bytes(s3::kStreamingThreshold + 12345, 78);
  const std::string key = prefix() + "streaming/auto.bin";
  s3::MemoryBody src(data);
  Status st = c->put_object_single(key, src, data.size(), {});
  REQUIRE_MESSAGE(st.ok(), st.to_string());
  auto h = c->head_object(key);
  REQUIRE(h.ok());
  CHECK(h->etag == detail::hex_lower(detail::md5(data)));  // single part: the ETag is the MD5
  CHECK(sha256_hex(get_string(*c, key)) == sha256_hex(data));
  REQUIRE(c->delete_object(key).ok());
}

TEST_CASE("streaming PUT: a source failing in the middle stores nothing and says why") {
  (void)client();  // creates the bucket
  auto c = make_client(settings());
  c->set_payload_signing(s3::PayloadSigning::streaming);
  const std::string data = random_bytes(5u << 20, 79);
  const std::string key = prefix() + "streaming/failing.bin";
  FailingSource src(data, (2u << 20) + 4096, true);
  Status st = c->put_object_single(key, src, data.size(), {});
  REQUIRE_FALSE(st.ok());
  CHECK(st.is(ErrorCode::io_error));
  CHECK(st.message().find("injected read failure") != std::string::npos);
  CHECK(st.message().find(key) != std::string::npos);
  CHECK(c->head_object(key).status().is(ErrorCode::not_found));

  // A source shorter than announced: the same, with the byte counts.
  const std::string short_data = data.substr(0, 3u << 20);
  s3::MemoryBody short_src(short_data);
  st = c->put_object_single(key, short_src, data.size(), {});
  REQUIRE_FALSE(st.ok());
  CHECK(st.is(ErrorCode::io_error));
  MESSAGE(st.to_string());
  CHECK(st.message().find(fmt::format("ended after {} of {} bytes", short_data.size(), data.size())) !=
        std::string::npos);
  CHECK(c->head_object(key).status().is(ErrorCode::not_found));
}

TEST_CASE("streaming PUT: a chunk damaged in transit is refused and nothing is stored") {
  (void)client();  // creates the bucket
  auto c = make_client(settings());
  const std::string data = random_bytes(3u << 20, 80);
  for (std::uint64_t at : {std::uint64_t{200}, std::uint64_t{(2u << 20) + 500}}) {
    CAPTURE(at);
    const std::string key = prefix() + "streaming/damaged-" + std::to_string(at) + ".bin";
    s3::MemoryBody src(data);
    s3::ChunkedSigningSource chunked(src, data.size());
    DamagingSource damaged(chunked, at);
    Client::Op op;
    op.method = "PUT";
    op.key = key;
    op.headers.emplace_back("x-amz-decoded-content-length", std::to_string(data.size()));
    op.payload_hash = std::string(s3::kStreamingPayload);
    op.source = &damaged;
    op.source_size = *chunked.size();
    op.chunked = &chunked;
    auto r = c->execute(op);
    REQUIRE_FALSE(r.ok());
    MESSAGE(r.status().to_string());
    // RGW: SignatureDoesNotMatch (auth_failed); never retried into success.
    CHECK((r.status().is(ErrorCode::auth_failed) || r.status().is(ErrorCode::network_error)));
    CHECK(c->head_object(key).status().is(ErrorCode::not_found));
  }
}

namespace {

// The storage backend for the RGW environment plus `extra` variables.
std::shared_ptr<StorageBackend> store_with(std::map<std::string, std::string> extra) {
  auto cfg = Config::from_lookup([extra = std::move(extra)](std::string_view name) -> std::optional<std::string> {
    auto it = extra.find(std::string(name));
    if (it != extra.end()) return it->second;
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
  REQUIRE_MESSAGE(cfg.ok(), cfg.status().to_string());
  auto b = make_storage(*cfg);
  REQUIRE_MESSAGE(b.ok(), b.status().to_string());
  return b.value();
}

// The response headers curl receives for a GET (names lower-case), and the
// status line's code.
std::pair<std::string, std::string> curl_headers(const std::string& url, const std::string& extra = "") {
  Run r = run(fmt::format("{} -s -o /dev/null -D - {} {}", env("MS_TEST_CURL"), extra, shell_quote(url)));
  std::string lowered;
  for (char ch : r.out) lowered.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  const auto sp = r.out.find(' ');
  return {lowered, sp == std::string::npos ? "" : r.out.substr(sp + 1, 3)};
}

}  // namespace

TEST_CASE("url(): response-header overrides come back as asked; a tampered override is refused") {
  auto store = store_with({});
  const std::string key = prefix() + "urls/IMG 0001.jpg";
  PutOptions po;
  po.content_type = "image/jpeg";
  po.content_disposition = "inline";
  REQUIRE(store->put_bytes(key, "jpeg bytes", po).ok());

  UrlOptions o;
  o.expires_in = std::chrono::seconds(120);
  o.response_headers = {{"content-disposition", "attachment; filename=\"IMG_0001.jpg\""},
                        {"content-type", "application/octet-stream"},
                        {"cache-control", "no-store"}};
  auto url = store->url(key, o);
  REQUIRE_MESSAGE(url.ok(), url.status().to_string());
  CHECK(url->find("response-content-disposition=") != std::string::npos);
  CHECK(url->find("X-Amz-Expires=120") != std::string::npos);
  auto [headers, code] = curl_headers(*url);
  CHECK(code == "200");
  CHECK(headers.find("content-disposition: attachment; filename=\"img_0001.jpg\"") != std::string::npos);
  CHECK(headers.find("content-type: application/octet-stream") != std::string::npos);
  CHECK(headers.find("cache-control: no-store") != std::string::npos);
  // The stored headers are unchanged for a plain URL.
  auto plain = store->get_url(key, std::chrono::seconds(60));
  REQUIRE(plain.ok());
  CHECK(curl_headers(*plain).first.find("content-disposition: inline") != std::string::npos);

  // The override is part of the signature: changing it is 403.
  std::string tampered = *url;
  const auto at = tampered.find("IMG_0001.jpg");
  REQUIRE(at != std::string::npos);
  tampered.replace(at, 12, "IMG_0001.exe");
  CHECK(curl_headers(tampered).second == "403");

  // HEAD and PUT URLs.
  UrlOptions head;
  head.http_method = "HEAD";
  auto head_url = store->url(key, head);
  REQUIRE(head_url.ok());
  CHECK(curl_headers(*head_url, "-I").second == "200");
  UrlOptions put;
  put.http_method = "PUT";
  const std::string put_key = prefix() + "urls/put.bin";
  auto put_url = store->url(put_key, put);
  REQUIRE(put_url.ok());
  Run r = run(
      fmt::format("{} -s -f -X PUT --data-binary 'put through a URL' {}", env("MS_TEST_CURL"), shell_quote(*put_url)));
  CHECK(r.code == 0);
  CHECK(store->read_bytes(put_key).value_or("") == "put through a URL");

  // Refusals before anything is signed.
  UrlOptions bad = o;
  bad.response_headers = {{"x-amz-meta-owner", "x"}};
  CHECK(store->url(key, bad).status().is(ErrorCode::invalid_argument));
  bad = o;
  bad.signed_url = false;  // S3 refuses response-* overrides on anonymous requests
  CHECK(store->url(key, bad).status().is(ErrorCode::invalid_argument));
  bad = UrlOptions{};
  bad.http_method = "DELETE";
  CHECK(store->url(key, bad).status().is(ErrorCode::invalid_argument));
  CHECK(store->remove(key).ok());
  CHECK(store->remove(put_key).ok());
}

TEST_CASE("URL settings: plain URLs (AWS_QUERYSTRING_AUTH=false), a custom domain, a public endpoint") {
  const std::string key = prefix() + "urls/a b.txt";
  auto store = store_with({});
  REQUIRE(store->put_bytes(key, "public?", {}).ok());

  auto plain_store = store_with({{"AWS_QUERYSTRING_AUTH", "false"}});
  auto plain = plain_store->get_url(key, std::chrono::seconds(60));
  REQUIRE(plain.ok());
  CHECK(*plain == env("MINIO_ENDPOINT") + "/" + env("MINIO_BUCKET_NAME") + "/" + prefix() + "urls/a%20b.txt");
  // The bucket is private: a plain URL is refused, which shows it carries no
  // signature (a public bucket or a CDN would serve it).
  CHECK(curl_headers(*plain).second == "403");

  auto cdn = store_with({{"AWS_S3_CUSTOM_DOMAIN", "media.example.com"}});
  auto cdn_url = cdn->get_url(key, std::chrono::seconds(60));
  REQUIRE(cdn_url.ok());
  CHECK(*cdn_url == "https://media.example.com/" + prefix() + "urls/a%20b.txt");
  UrlOptions put;
  put.http_method = "PUT";
  CHECK(cdn->url(key, put).status().is(ErrorCode::invalid_argument));

  // The endpoint as browsers reach it (here: the same RGW by another name).
  std::string public_endpoint = env("MINIO_ENDPOINT");
  public_endpoint.replace(public_endpoint.find("127.0.0.1"), 9, "localhost");
  auto pub = store_with({{"MEDIA_S3_PUBLIC_ENDPOINT", public_endpoint}});
  auto pub_url = pub->get_url(key, std::chrono::seconds(60));
  REQUIRE(pub_url.ok());
  CHECK(pub_url->rfind(public_endpoint + "/", 0) == 0);
  Run r = run(fmt::format("{} -s -f {}", env("MS_TEST_CURL"), shell_quote(*pub_url)));
  CHECK(r.out == "public?");  // signed for the public host, accepted there
  CHECK(store->remove(key).ok());
}

TEST_CASE("create-only puts on RGW: If-None-Match on PutObject is honoured, on CompleteMultipartUpload it is not") {
  Client& c = client();
  const std::string key = prefix() + "create-only/k.bin";
  s3::PutObjectOptions once;
  once.if_none_match = true;
  s3::MemoryBody first("first");
  REQUIRE(c.put_object(key, first, once).ok());
  s3::MemoryBody second("second");
  CHECK(c.put_object(key, second, once).is(ErrorCode::already_exists));
  CHECK(get_string(c, key) == "first");

  // RGW 16 ignores the header on CompleteMultipartUpload and replaces the
  // object: that is why create-only puts stay single PutObjects unless
  // MEDIA_S3_CONDITIONAL_MULTIPART says the server honours it. If this check
  // fails, the server now refuses (412 -> already_exists) and the setting
  // can be turned on for it.
  auto upload = c.create_multipart_upload(key, {});
  REQUIRE(upload.ok());
  auto etag = c.upload_part(key, *upload, 1, "replaced by multipart");
  REQUIRE(etag.ok());
  Status complete = c.complete_multipart_upload(key, *upload, {s3::PartInfo{1, *etag, 0}}, true);
  CHECK(complete.ok());
  CHECK(get_string(c, key) == "replaced by multipart");

  // Above the multipart threshold a create-only put is still one PutObject
  // and still refused when the key exists.
  S3Settings small = settings();
  small.multipart_threshold = 5 << 20;
  auto sc = make_client(small);
  const std::string big_key = prefix() + "create-only/big.bin";
  const std::string big = random_bytes(6 << 20, 11);
  s3::MemoryBody b1(big);
  REQUIRE(sc->put_object(big_key, b1, once).ok());
  const std::string other = random_bytes(6 << 20, 12);
  s3::MemoryBody b2(other);
  CHECK(sc->put_object(big_key, b2, once).is(ErrorCode::already_exists));
  CHECK(sha256_hex(get_string(*sc, big_key)) == sha256_hex(big));
  CHECK(c.delete_object(key).ok());
  CHECK(c.delete_object(big_key).ok());
}
