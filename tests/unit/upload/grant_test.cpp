// Upload grants: issue/verify round trip and every refusal.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "core/crypto.hpp"
#include "mediastore/grant.hpp"

using namespace mediastore;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kSecret = "grant-test-secret";

GrantClaims sample(SystemTime now) {
  GrantClaims c;
  c.context = {{"circle_id", "7"}, {"keep_id", "42"}};
  c.max_bytes = 1000;
  c.kinds = {MediaKind::photo};
  c.expires_at = now + 10min;
  return c;
}

bool says(const Status& s, std::string_view text) { return s.message().find(text) != std::string::npos; }

}  // namespace

TEST_CASE("grant: issue and verify round-trip the claims") {
  const auto now = std::chrono::system_clock::now();
  auto claims = sample(now);
  claims.single_use = true;
  auto token = issue_upload_grant(kSecret, claims, now);
  REQUIRE(token.ok());
  CHECK(token->rfind("msg1.", 0) == 0);
  CHECK(token->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
        std::string::npos);
  auto got = verify_upload_grant(kSecret, *token, now);
  REQUIRE(got.ok());
  CHECK(got->context == claims.context);
  CHECK(got->max_bytes == 1000);
  REQUIRE(got->kinds.size() == 1);
  CHECK(got->kinds[0] == MediaKind::photo);
  CHECK(std::chrono::duration_cast<std::chrono::seconds>(got->expires_at.time_since_epoch()) ==
        std::chrono::duration_cast<std::chrono::seconds>(claims.expires_at.time_since_epoch()));
  CHECK(got->single_use);
  CHECK(got->nonce.size() == 32);
  // Two grants of the same claims get distinct nonces.
  CHECK(verify_upload_grant(kSecret, *issue_upload_grant(kSecret, claims, now), now)->nonce != got->nonce);
}

TEST_CASE("grant: issue refuses bad claims") {
  const auto now = std::chrono::system_clock::now();
  auto c = sample(now);
  CHECK(issue_upload_grant("", c, now).status().is(ErrorCode::invalid_argument));
  c.expires_at = now - 1s;
  CHECK(issue_upload_grant(kSecret, c, now).status().is(ErrorCode::invalid_argument));
  c.expires_at = now + kMaxGrantLifetime + 1h;
  CHECK(issue_upload_grant(kSecret, c, now).status().is(ErrorCode::invalid_argument));
  c = sample(now);
  c.nonce = "not-hex";
  CHECK(issue_upload_grant(kSecret, c, now).status().is(ErrorCode::invalid_argument));
  c = sample(now);
  c.context["bad"] = std::string("\xff\xfe", 2);
  CHECK(issue_upload_grant(kSecret, c, now).status().is(ErrorCode::invalid_argument));
}

TEST_CASE("grant: missing, malformed, altered, other secret, expired are auth_failed") {
  const auto now = std::chrono::system_clock::now();
  const std::string token = issue_upload_grant(kSecret, sample(now), now).value();

  auto missing = verify_upload_grant(kSecret, "", now).status();
  CHECK(missing.is(ErrorCode::auth_failed));
  CHECK(says(missing, "missing"));

  for (std::string bad :
       {std::string("garbage"), std::string("msg1."), std::string("msg1.abc"), std::string("msg2.") + token.substr(5),
        std::string("msg1.!!!.") + token.substr(token.rfind('.') + 1), token.substr(0, token.rfind('.')) + ".short",
        token + "=", std::string(10000, 'a')}) {
    auto s = verify_upload_grant(kSecret, bad, now).status();
    CHECK_MESSAGE(s.is(ErrorCode::auth_failed), bad);
    CHECK_MESSAGE(says(s, "malformed"), bad);
  }

  // A signed payload that is not the claims JSON (a forged but well-signed
  // token is still checked for shape).
  const std::string body = "msg1." + detail::base64url_encode("{\"ctx\":{}}");
  const auto mac = detail::hmac_sha256(kSecret, body);
  const std::string odd =
      body + "." + detail::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
  CHECK(says(verify_upload_grant(kSecret, odd, now).status(), "malformed"));

  // One changed character of the claims: the signature no longer matches.
  std::string altered = token;
  altered[8] = altered[8] == 'A' ? 'B' : 'A';
  auto s = verify_upload_grant(kSecret, altered, now).status();
  CHECK(s.is(ErrorCode::auth_failed));
  CHECK((says(s, "bad signature") || says(s, "malformed")));
  // Claims re-encoded with a larger size, old signature kept.
  auto bigger = sample(now);
  bigger.max_bytes = 1u << 30;
  const std::string forged_claims = issue_upload_grant(kSecret, bigger, now).value();
  const std::string forged = forged_claims.substr(0, forged_claims.rfind('.')) + token.substr(token.rfind('.'));
  s = verify_upload_grant(kSecret, forged, now).status();
  CHECK(s.is(ErrorCode::auth_failed));
  CHECK(says(s, "bad signature"));

  s = verify_upload_grant("another-secret", token, now).status();
  CHECK(s.is(ErrorCode::auth_failed));
  CHECK(says(s, "bad signature"));

  s = verify_upload_grant(kSecret, token, now + 11min).status();
  CHECK(s.is(ErrorCode::auth_failed));
  CHECK(says(s, "expired"));
  CHECK(verify_upload_grant("", token, now).status().is(ErrorCode::invalid_argument));
}

TEST_CASE("grant: wrong context, over its size, kind not allowed are permission_denied") {
  const auto now = std::chrono::system_clock::now();
  const auto claims = verify_upload_grant(kSecret, issue_upload_grant(kSecret, sample(now), now).value(), now).value();
  const std::map<std::string, std::string> ctx = {{"circle_id", "7"}, {"keep_id", "42"}, {"caption", "x"}};

  CHECK(check_upload_grant(claims, {ctx, 1000, MediaKind::photo}).ok());
  CHECK(check_upload_grant(claims, {ctx, std::nullopt, std::nullopt}).ok());

  auto s = check_upload_grant(claims, {{{"circle_id", "7"}, {"keep_id", "43"}}, 10, MediaKind::photo});
  CHECK(s.is(ErrorCode::permission_denied));
  CHECK(says(s, "another context"));
  s = check_upload_grant(claims, {{{"keep_id", "42"}}, 10, MediaKind::photo});  // circle_id absent
  CHECK(says(s, "another context"));

  s = check_upload_grant(claims, {ctx, 1001, MediaKind::photo});
  CHECK(s.is(ErrorCode::permission_denied));
  CHECK(says(s, "over its size"));

  s = check_upload_grant(claims, {ctx, 10, MediaKind::video});
  CHECK(s.is(ErrorCode::permission_denied));
  CHECK(says(s, "does not allow media kind 'video'"));

  // No limits of its own: any size, any kind, any context.
  GrantClaims open;
  CHECK(check_upload_grant(open, {{}, 1ull << 40, MediaKind::video}).ok());
}

TEST_CASE("grant: a single-use grant is consumed once, across queue handles") {
  const auto now = std::chrono::system_clock::now();
  auto queue = make_memory_queue();
  auto c = sample(now);
  c.single_use = true;
  const auto claims = verify_upload_grant(kSecret, issue_upload_grant(kSecret, c, now).value(), now).value();
  REQUIRE(consume_upload_grant(*queue, claims).ok());
  auto s = consume_upload_grant(*queue, claims);
  CHECK(s.is(ErrorCode::permission_denied));
  CHECK(says(s, "reused"));

  // A reusable grant records nothing and can be used again.
  auto reusable = verify_upload_grant(kSecret, issue_upload_grant(kSecret, sample(now), now).value(), now).value();
  CHECK(consume_upload_grant(*queue, reusable).ok());
  CHECK(consume_upload_grant(*queue, reusable).ok());
  CHECK(queue->count_records().value()["grant_used"] == 1);

  // Marks go once their grant expired.
  CHECK(remove_expired_grant_marks(*queue, 100, now).value() == 0);
  CHECK(remove_expired_grant_marks(*queue, 100, now + 11min).value() == 1);
  CHECK(queue->count_records().value()["grant_used"] == 0);
}

TEST_CASE("grant: parse_media_kind") {
  CHECK(parse_media_kind("photo").value() == MediaKind::photo);
  CHECK(parse_media_kind("video").value() == MediaKind::video);
  CHECK(parse_media_kind("Photo").status().is(ErrorCode::invalid_argument));
}

TEST_CASE("base64url: strict and canonical") {
  std::string out;
  CHECK(detail::base64url_encode(std::string("\xfb\xff", 2)) == "-_8");
  CHECK(detail::base64url_decode("-_8", out));
  CHECK(out == std::string("\xfb\xff", 2));
  CHECK_FALSE(detail::base64url_decode("-_9", out));   // non-zero unused bits
  CHECK_FALSE(detail::base64url_decode("+/8", out));   // standard alphabet
  CHECK_FALSE(detail::base64url_decode("-_8=", out));  // padding
  CHECK_FALSE(detail::base64url_decode("a", out));
  CHECK_FALSE(detail::base64url_decode("ab c", out));
  CHECK(detail::base64url_decode("", out));
  CHECK(out.empty());
}
