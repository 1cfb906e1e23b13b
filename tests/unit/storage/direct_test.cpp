// Direct uploads offline: how objects are cut into parts, the composite
// ETag, single-PUT plans and what they sign, argument checks, and the
// local backend's not_supported. The requests themselves run against RGW in
// tests/direct/.
#include <doctest/doctest.h>

#include "core/crypto.hpp"
#include "mediastore/storage.hpp"
#include "s3/client.hpp"
#include "storage/s3_direct.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;
using namespace mediastore::detail;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

std::shared_ptr<s3::Client> offline_client() {
  S3Settings s;
  s.endpoint = "http://127.0.0.1:1";
  s.bucket = "media";
  s.access_key = "AKIDEXAMPLE";
  s.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  s.path_style = true;
  auto c = s3::Client::create(s);
  REQUIRE(c.ok());
  return c.value();
}

std::string header(const DirectRequest& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "<none>";
}

}  // namespace

TEST_CASE("direct layout: single PUT below the threshold, equal parts above, at most 10000") {
  auto small = direct_layout(1000, 16 * MiB, 8 * MiB);
  REQUIRE(small.ok());
  CHECK_FALSE(small->multipart);
  CHECK(small->part_size == 1000);
  CHECK(small->parts == 1);

  auto at = direct_layout(16 * MiB, 16 * MiB, 8 * MiB);
  REQUIRE(at.ok());
  CHECK(at->multipart);
  CHECK(at->part_size == 8 * MiB);
  CHECK(at->parts == 2);

  auto odd = direct_layout(20 * MiB + 1, 16 * MiB, 8 * MiB);
  REQUIRE(odd.ok());
  CHECK(odd->parts == 3);  // 8 + 8 + 4 MiB and one byte

  auto tiny_parts = direct_layout(12 * MiB, 1, 1 * MiB);  // part size raised to S3's minimum
  REQUIRE(tiny_parts.ok());
  CHECK(tiny_parts->part_size == 5 * MiB);
  CHECK(tiny_parts->parts == 3);

  const std::uint64_t huge = 200000 * MiB;
  auto many = direct_layout(huge, 16 * MiB, 8 * MiB);
  REQUIRE(many.ok());
  CHECK(many->parts <= 10000);
  CHECK(many->part_size % MiB == 0);

  // Above 5 GiB a single PUT is impossible whatever the threshold.
  auto big = direct_layout((5ull << 30) + 1, ~0ull, 8 * MiB);
  REQUIRE(big.ok());
  CHECK(big->multipart);
  CHECK(direct_layout((5ull << 40) + 1, 16 * MiB, 8 * MiB).status().is(ErrorCode::too_large));
  auto empty = direct_layout(0, 16 * MiB, 8 * MiB);
  REQUIRE(empty.ok());
  CHECK_FALSE(empty->multipart);
}

TEST_CASE("the composite ETag of parts is the MD5 of their MD5s and the count") {
  const std::string a = hex_lower(md5("part one"));
  const std::string b = hex_lower(md5("part two"));
  std::string binary;
  for (auto d : {md5("part one"), md5("part two")}) binary.append(reinterpret_cast<const char*>(d.data()), d.size());
  CHECK(multipart_etag({a, "\"" + b + "\""}) == hex_lower(md5(binary)) + "-2");
  CHECK(multipart_etag({a, "not-an-md5"}).empty());
}

TEST_CASE("a single-PUT plan signs Content-Length, Content-Type and the checksums the client gave") {
  auto client = offline_client();
  DirectUploadSpec spec;
  spec.size = 1234;
  spec.content_type = "image/jpeg";
  spec.sha256 = std::string(64, 'A');
  spec.content_md5 = base64_encode(std::string(16, '\x01'));
  spec.expires_in = std::chrono::seconds(600);
  spec.signed_at = std::chrono::system_clock::from_time_t(1440938160);  // 20150830T123600Z
  s3::Endpoint pub{"https", "media.example.com"};
  auto plan = s3_begin_direct_upload(*client, &pub, "staging/abc", spec);
  REQUIRE_MESSAGE(plan.ok(), plan.status().to_string());
  CHECK_FALSE(plan->multipart());
  CHECK(plan->part_count() == 1);
  CHECK(plan->sha256 == std::string(64, 'a'));
  CHECK(plan->expires_at == *spec.signed_at + std::chrono::seconds(600));
  REQUIRE(plan->requests.size() == 1);
  const DirectRequest& r = plan->requests[0];
  CHECK(r.method == "PUT");
  CHECK(r.size == 1234);
  CHECK(header(r, "Content-Length") == "1234");
  CHECK(header(r, "Content-Type") == "image/jpeg");
  CHECK(header(r, "Content-MD5") == spec.content_md5);
  CHECK(header(r, "x-amz-checksum-sha256") == base64_encode(std::string(32, '\xaa')));
  // On the public endpoint, every header signed.
  CHECK(r.url.rfind("https://media.example.com/media/staging/abc?", 0) == 0);
  CHECK(r.url.find("X-Amz-SignedHeaders=content-length%3Bcontent-md5%3Bcontent-type%3Bhost%3Bx-amz-checksum-sha256") !=
        std::string::npos);
  CHECK(r.url.find("X-Amz-Expires=600") != std::string::npos);
  CHECK(r.url.find("wJalr") == std::string::npos);

  // Another length, another signature.
  spec.size = 1235;
  auto other = s3_begin_direct_upload(*client, &pub, "staging/abc", spec);
  REQUIRE(other.ok());
  CHECK(other->requests[0].url != r.url);
}

TEST_CASE("direct upload specs: bad values are invalid_argument naming the field") {
  auto client = offline_client();
  auto fails = [&](const DirectUploadSpec& spec, const char* word) {
    auto p = s3_begin_direct_upload(*client, nullptr, "staging/x", spec);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().is(ErrorCode::invalid_argument));
    CHECK_MESSAGE(p.status().message().find(word) != std::string::npos, p.status().message());
  };
  DirectUploadSpec s;
  s.size = 10;
  s.expires_in = std::chrono::seconds(0);
  fails(s, "expiry");
  s.expires_in = std::chrono::seconds(604801);
  fails(s, "expiry");
  s = {};
  s.sha256 = "abc";
  fails(s, "sha256");
  s = {};
  s.content_md5 = "not base64!";
  fails(s, "content_md5");
  s = {};
  s.content_type = "image/jpeg\r\nX-Evil: 1";
  fails(s, "content type");
  s = {};
  s.part_size = 1 * MiB;
  fails(s, "part_size");
  CHECK(s3_begin_direct_upload(*client, nullptr, "../escape", {}).status().is(ErrorCode::invalid_argument));
  // A multipart plan cannot carry one Content-MD5 for several requests
  // (refused before the upload is created: the client is offline).
  s = {};
  s.size = 40 * MiB;
  s.content_md5 = base64_encode(std::string(16, '\x02'));
  fails(s, "Content-MD5");
}

TEST_CASE("presigned URLs with headers refuse what cannot be signed") {
  auto client = offline_client();
  s3::Client::PresignRequest pr;
  pr.headers = {{"Host", "elsewhere"}};
  CHECK(client->presign("PUT", "k", std::chrono::seconds(60), pr).status().is(ErrorCode::invalid_argument));
  pr.headers = {{"X-Amz-Date", "20150830T123600Z"}};
  CHECK(client->presign("PUT", "k", std::chrono::seconds(60), pr).status().is(ErrorCode::invalid_argument));
  pr.headers = {{"Content-Type", "a\nb"}};
  CHECK(client->presign("PUT", "k", std::chrono::seconds(60), pr).status().is(ErrorCode::invalid_argument));
  pr.headers = {{"Content-Length", "5"}};
  pr.query = {{"partNumber", "2"}, {"uploadId", "u/1"}};
  auto u = client->presign("PUT", "k", std::chrono::seconds(60), pr);
  REQUIRE(u.ok());
  CHECK(u->find("?partNumber=2&uploadId=u%2F1&") != std::string::npos);
  CHECK(u->find("X-Amz-SignedHeaders=content-length%3Bhost") != std::string::npos);
}

TEST_CASE("the local backend has no direct uploads: not_supported, pointing to the alternatives") {
  test::TempDir t;
  Config c;
  c.media_root = t.path();
  auto storage = make_storage(c);
  REQUIRE(storage.ok());
  DirectUploadSpec spec;
  spec.size = 10;
  auto p = (*storage)->begin_direct_upload("staging/x", spec);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().is(ErrorCode::not_supported));
  CHECK(p.status().message().find("submit_upload") != std::string::npos);
  CHECK(p.status().message().find("tus") != std::string::npos);
  DirectUploadPlan plan;
  plan.key = "staging/x";
  CHECK((*storage)->complete_direct_upload(plan, {}).status().is(ErrorCode::not_supported));
  CHECK((*storage)->abort_direct_upload(plan).is(ErrorCode::not_supported));
}
