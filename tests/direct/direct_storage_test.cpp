// Direct uploads at the storage level against a real Ceph RGW (fixture
// rgw): the test plays the client, sending each planned request with the
// project's HTTP client (libcurl) exactly as a browser or phone would, and
// RGW decides what it accepts.
//
// Environment (tests/direct/tests.cmake): MINIO_ENDPOINT, MINIO_ACCESS_KEY,
// MINIO_SECRET_KEY, MINIO_BUCKET_NAME, MEDIA_AUTO_CREATE_BUCKET.
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "core/crypto.hpp"
#include "mediastore/storage.hpp"
#include "s3/client.hpp"
#include "s3/http.hpp"

using namespace mediastore;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') FAIL("environment variable " << name << " is not set");
  return v;
}

Config rgw_config() {
  auto c = Config::from_environment();
  REQUIRE_MESSAGE(c.ok(), c.status().to_string());
  return c.value();
}

std::shared_ptr<StorageBackend> storage() {
  static std::shared_ptr<StorageBackend> s = [] {
    auto st = make_storage(rgw_config());
    REQUIRE_MESSAGE(st.ok(), st.status().to_string());
    return st.value();
  }();
  return s;
}

// The raw S3 client on the same bucket, for what StorageBackend does not
// show (ListMultipartUploads).
s3::Client& raw_client() {
  static std::shared_ptr<s3::Client> c = [] {
    auto cl = s3::Client::create(rgw_config().s3);
    REQUIRE_MESSAGE(cl.ok(), cl.status().to_string());
    return cl.value();
  }();
  return *c;
}

std::string prefix() {
  static const std::string p = "direct-it/" + detail::random_hex(6) + "/";
  return p;
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::string s(n, '\0');
  std::mt19937_64 gen(seed);
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

s3::HttpClient& http() {
  static s3::HttpClient h(s3::HttpOptions{});
  return h;
}

// Sends one planned request with `body` as a client does: every listed
// header but Content-Length, which libcurl sets from the body (as a browser
// does).
s3::HttpResponse send(const DirectRequest& r, std::string_view body) {
  s3::HttpRequest req;
  req.method = r.method;
  req.url = r.url;
  for (const auto& [name, value] : r.headers)
    if (name != "Content-Length") req.headers.emplace_back(name, value);
  req.body = body;
  auto resp = http().perform(req);
  REQUIRE_MESSAGE(resp.ok(), resp.status().to_string());
  return resp.value();
}

std::string part_of(const std::string& data, const DirectRequest& r) {
  return data.substr(static_cast<std::size_t>(r.offset), static_cast<std::size_t>(r.size));
}

// Sends every request of a multipart plan; returns the ETags.
std::vector<UploadedPart> send_all(const DirectUploadPlan& plan, const std::string& data) {
  std::vector<UploadedPart> parts;
  for (const auto& r : plan.requests) {
    auto resp = send(r, part_of(data, r));
    REQUIRE_MESSAGE(resp.status == 200, "part ", r.part_number, ": HTTP ", resp.status, " ", resp.body);
    auto etag = resp.header("etag");
    REQUIRE(etag.has_value());
    parts.push_back(UploadedPart{r.part_number, *etag});
  }
  return parts;
}

bool upload_listed(const std::string& key) {
  auto uploads = raw_client().list_multipart_uploads(key);
  REQUIRE_MESSAGE(uploads.ok(), uploads.status().to_string());
  return !uploads->empty();
}

DirectUploadSpec spec_of(std::uint64_t size) {
  DirectUploadSpec s;
  s.size = size;
  s.content_type = "application/x-test";
  return s;
}

DirectUploadSpec multipart_spec(std::uint64_t size) {
  DirectUploadSpec s = spec_of(size);
  s.multipart_threshold = 5 * MiB;
  s.part_size = 5 * MiB;
  return s;
}

}  // namespace

TEST_CASE("a single presigned PUT of the declared length is stored and completes") {
  const std::string key = prefix() + "single/ok.bin";
  const std::string data = random_bytes(300000, 1);
  auto plan = storage()->begin_direct_upload(key, spec_of(data.size()));
  REQUIRE_MESSAGE(plan.ok(), plan.status().to_string());
  REQUIRE_FALSE(plan->multipart());
  REQUIRE(plan->requests.size() == 1);
  auto resp = send(plan->requests[0], data);
  CHECK_MESSAGE(resp.status == 200, resp.body);
  auto info = storage()->complete_direct_upload(*plan, {});
  REQUIRE_MESSAGE(info.ok(), info.status().to_string());
  CHECK(info->size == data.size());
  CHECK(info->content_type == "application/x-test");
  CHECK(storage()->read_bytes(key).value() == data);
  // Completing again checks the object once more and succeeds.
  CHECK(storage()->complete_direct_upload(*plan, {}).ok());
  CHECK(storage()->abort_direct_upload(*plan).ok());
  CHECK_FALSE(storage()->exists(key).value());
}

TEST_CASE("RGW refuses a presigned PUT with another Content-Length, Content-Type or key") {
  const std::string key = prefix() + "single/length.bin";
  const std::string data = random_bytes(100000, 2);
  auto plan = storage()->begin_direct_upload(key, spec_of(data.size()));
  REQUIRE(plan.ok());
  // One byte more, one byte less: the signed content-length differs.
  CHECK(send(plan->requests[0], data + "x").status == 403);
  CHECK(send(plan->requests[0], data.substr(1)).status == 403);
  DirectRequest other_type = plan->requests[0];
  for (auto& [n, v] : other_type.headers)
    if (n == "Content-Type") v = "text/html";
  CHECK(send(other_type, data).status == 403);
  DirectRequest other_key = plan->requests[0];
  other_key.url.replace(other_key.url.find("length.bin"), 10, "lengtx.bin");
  CHECK(send(other_key, data).status == 403);
  CHECK_FALSE(storage()->exists(key).value());
  // Nothing arrived: completion says so.
  auto done = storage()->complete_direct_upload(*plan, {});
  CHECK(done.status().is(ErrorCode::not_found));
  CHECK(done.status().message().find("PUT was not made") != std::string::npos);
}

TEST_CASE("RGW refuses an expired plan") {
  const std::string key = prefix() + "single/expired.bin";
  const std::string data = random_bytes(1000, 3);
  DirectUploadSpec spec = spec_of(data.size());
  spec.expires_in = std::chrono::seconds(60);
  spec.signed_at = std::chrono::system_clock::now() - std::chrono::hours(1);
  auto plan = storage()->begin_direct_upload(key, spec);
  REQUIRE(plan.ok());
  CHECK(plan->expires_at < std::chrono::system_clock::now());
  auto resp = send(plan->requests[0], data);
  CHECK(resp.status == 403);
  CHECK_MESSAGE(resp.body.find("AccessDenied") != std::string::npos, resp.body);
  CHECK_FALSE(storage()->exists(key).value());

  // The parts of an expired multipart plan are refused the same way.
  const std::string mkey = prefix() + "multi/expired.bin";
  DirectUploadSpec mspec = multipart_spec(6 * MiB);
  mspec.expires_in = std::chrono::seconds(60);
  mspec.signed_at = std::chrono::system_clock::now() - std::chrono::hours(1);
  auto mplan = storage()->begin_direct_upload(mkey, mspec);
  REQUIRE_MESSAGE(mplan.ok(), mplan.status().to_string());
  REQUIRE(mplan->multipart());
  CHECK(send(mplan->requests[0], random_bytes(static_cast<std::size_t>(mplan->requests[0].size), 4)).status == 403);
  CHECK(storage()->abort_direct_upload(*mplan).ok());
  CHECK_FALSE(upload_listed(mkey));
}

TEST_CASE("a signed Content-MD5 makes RGW refuse other bytes of the same length") {
  const std::string key = prefix() + "single/md5.bin";
  const std::string data = random_bytes(50000, 5);
  DirectUploadSpec spec = spec_of(data.size());
  const auto digest = detail::md5(data);
  spec.content_md5 = detail::base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), 16));
  auto plan = storage()->begin_direct_upload(key, spec);
  REQUIRE_MESSAGE(plan.ok(), plan.status().to_string());
  std::string damaged = data;
  damaged[100] = static_cast<char>(damaged[100] ^ 1);
  auto bad = send(plan->requests[0], damaged);
  CHECK(bad.status == 400);
  CHECK_MESSAGE(bad.body.find("BadDigest") != std::string::npos, bad.body);
  CHECK_FALSE(storage()->exists(key).value());
  CHECK(send(plan->requests[0], data).status == 200);
  CHECK(storage()->complete_direct_upload(*plan, {}).ok());
}

TEST_CASE("a signed x-amz-checksum-sha256 is accepted with the right bytes (RGW 16 does not check it)") {
  // AWS S3 and R2 refuse a body whose SHA-256 differs; Ceph RGW before 19
  // ignores the header (docs/direct-uploads.md), which is why the upload
  // service checks the SHA-256 again in its worker.
  const std::string key = prefix() + "single/sha.bin";
  const std::string data = random_bytes(40000, 6);
  DirectUploadSpec spec = spec_of(data.size());
  spec.sha256 = detail::hex_lower(detail::sha256(data));
  auto plan = storage()->begin_direct_upload(key, spec);
  REQUIRE(plan.ok());
  CHECK(send(plan->requests[0], data).status == 200);
  auto info = storage()->complete_direct_upload(*plan, {});
  REQUIRE_MESSAGE(info.ok(), info.status().to_string());
  CHECK(storage()->read_bytes(key).value() == data);
}

TEST_CASE("a multipart plan: equal parts sent by the client, completed with their ETags") {
  const std::string key = prefix() + "multi/ok.bin";
  const std::string data = random_bytes(12 * MiB + 12345, 7);
  auto plan = storage()->begin_direct_upload(key, multipart_spec(data.size()));
  REQUIRE_MESSAGE(plan.ok(), plan.status().to_string());
  REQUIRE(plan->multipart());
  REQUIRE(plan->requests.size() == 3);
  CHECK(plan->part_size == 5 * MiB);
  CHECK(plan->requests[0].size == 5 * MiB);
  CHECK(plan->requests[1].size == 5 * MiB);
  CHECK(plan->requests[2].size == 2 * MiB + 12345);
  // A part of another length is refused like a single PUT.
  CHECK(send(plan->requests[2], part_of(data, plan->requests[2]) + "x").status == 403);
  auto parts = send_all(*plan, data);
  CHECK(upload_listed(key));
  auto info = storage()->complete_direct_upload(*plan, parts);
  REQUIRE_MESSAGE(info.ok(), info.status().to_string());
  CHECK(info->size == data.size());
  CHECK(info->content_type == "application/x-test");
  CHECK(detail::hex_lower(detail::sha256(storage()->read_bytes(key).value())) ==
        detail::hex_lower(detail::sha256(data)));
  CHECK_FALSE(upload_listed(key));
  // A second completion (a client retrying after a lost answer) succeeds.
  auto again = storage()->complete_direct_upload(*plan, parts);
  CHECK_MESSAGE(again.ok(), again.status().to_string());
  // ... but not with other ETags.
  auto other = parts;
  other[0].etag = "\"" + std::string(32, '0') + "\"";
  CHECK(storage()->complete_direct_upload(*plan, other).status().is(ErrorCode::conflict));
}

TEST_CASE("a multipart completion with a part missing, never sent or with a wrong ETag is refused clearly") {
  const std::string key = prefix() + "multi/refused.bin";
  const std::string data = random_bytes(11 * MiB, 8);
  auto plan = storage()->begin_direct_upload(key, multipart_spec(data.size()));
  REQUIRE(plan.ok());
  REQUIRE(plan->requests.size() == 3);
  std::vector<UploadedPart> parts;
  for (int i = 0; i < 2; ++i) {
    auto resp =
        send(plan->requests[static_cast<std::size_t>(i)], part_of(data, plan->requests[static_cast<std::size_t>(i)]));
    REQUIRE(resp.status == 200);
    parts.push_back(UploadedPart{i + 1, resp.header("etag").value_or("")});
  }
  // The client's list lacks part 3.
  auto missing = storage()->complete_direct_upload(*plan, parts);
  CHECK(missing.status().is(ErrorCode::invalid_argument));
  CHECK_MESSAGE(missing.status().message().find("part 3 of 3 is missing") != std::string::npos,
                missing.status().message());
  // The client claims part 3 it never sent.
  auto claimed = parts;
  claimed.push_back(UploadedPart{3, "\"" + std::string(32, 'a') + "\""});
  auto never = storage()->complete_direct_upload(*plan, claimed);
  CHECK(never.status().is(ErrorCode::not_found));
  CHECK_MESSAGE(never.status().message().find("part 3 of 3 was never uploaded") != std::string::npos,
                never.status().message());
  // Part 3 sent, but the ETag of part 2 is wrong.
  auto resp = send(plan->requests[2], part_of(data, plan->requests[2]));
  REQUIRE(resp.status == 200);
  parts.push_back(UploadedPart{3, resp.header("etag").value_or("")});
  auto wrong = parts;
  wrong[1].etag = parts[0].etag;
  auto bad_etag = storage()->complete_direct_upload(*plan, wrong);
  CHECK(bad_etag.status().is(ErrorCode::conflict));
  CHECK_MESSAGE(bad_etag.status().message().find("part 2 of 3") != std::string::npos, bad_etag.status().message());
  // Listed twice, out of range, no ETag.
  auto twice = parts;
  twice.push_back(parts[0]);
  CHECK(storage()->complete_direct_upload(*plan, twice).status().is(ErrorCode::invalid_argument));
  auto out_of_range = parts;
  out_of_range[2].part_number = 4;
  CHECK(storage()->complete_direct_upload(*plan, out_of_range).status().is(ErrorCode::invalid_argument));
  auto no_etag = parts;
  no_etag[0].etag = "\"\"";
  CHECK(storage()->complete_direct_upload(*plan, no_etag).status().is(ErrorCode::invalid_argument));
  // None of these completed it; the right list still does.
  CHECK_FALSE(storage()->exists(key).value());
  CHECK(storage()->complete_direct_upload(*plan, parts).ok());
}

TEST_CASE("a size other than the declared one is refused") {
  // Single PUT: the signature makes another length impossible, so another
  // writer is the only way; the completion still checks.
  const std::string key = prefix() + "single/size.bin";
  auto plan = storage()->begin_direct_upload(key, spec_of(1000));
  REQUIRE(plan.ok());
  REQUIRE(storage()->put_bytes(key, random_bytes(999, 9), {}).ok());
  auto single = storage()->complete_direct_upload(*plan, {});
  CHECK(single.status().is(ErrorCode::conflict));
  CHECK_MESSAGE(single.status().message().find("999 bytes, 1000 were declared") != std::string::npos,
                single.status().message());
  CHECK(storage()->abort_direct_upload(*plan).ok());

  // Multipart: a completion declaring another size than the parts hold.
  const std::string mkey = prefix() + "multi/size.bin";
  const std::string data = random_bytes(7 * MiB, 10);
  auto mplan = storage()->begin_direct_upload(mkey, multipart_spec(data.size()));
  REQUIRE(mplan.ok());
  auto parts = send_all(*mplan, data);
  DirectUploadPlan lied = *mplan;
  lied.size += 1;
  auto multi = storage()->complete_direct_upload(lied, parts);
  CHECK(multi.status().is(ErrorCode::conflict));
  CHECK_MESSAGE(multi.status().message().find("part 2 of 2 has") != std::string::npos, multi.status().message());
  CHECK(storage()->abort_direct_upload(*mplan).ok());
  CHECK_FALSE(upload_listed(mkey));
  // Aborted: completing is now not_found.
  CHECK(storage()->complete_direct_upload(*mplan, parts).status().is(ErrorCode::not_found));
  CHECK(storage()->abort_direct_upload(*mplan).ok());  // nothing left to drop
}

TEST_CASE("URLs are made on MEDIA_S3_PUBLIC_ENDPOINT and work there") {
  Config c = rgw_config();
  const std::string endpoint = env("MINIO_ENDPOINT");
  const auto colon = endpoint.rfind(':');
  REQUIRE(colon != std::string::npos);
  c.s3.public_endpoint = "http://localhost" + endpoint.substr(colon);
  auto st = make_storage(c);
  REQUIRE(st.ok());
  const std::string key = prefix() + "public/ok.bin";
  const std::string data = random_bytes(2000, 11);
  auto plan = (*st)->begin_direct_upload(key, spec_of(data.size()));
  REQUIRE(plan.ok());
  CHECK(plan->requests[0].url.rfind(c.s3.public_endpoint + "/", 0) == 0);
  CHECK(send(plan->requests[0], data).status == 200);
  CHECK((*st)->complete_direct_upload(*plan, {}).ok());
}
