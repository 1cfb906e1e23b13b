// Upload grants: who may upload what, decided by the host and carried by the
// client as a short signed token.
//
//   GrantClaims claims{.context = {{"keep_id", "42"}}, .max_bytes = 50 << 20,
//                      .kinds = {MediaKind::photo}, .expires_at = now + 15min, .single_use = true};
//   std::string token = issue_upload_grant(config.upload_grant_secret, claims).value();
//   ...  // the client sends "Authorization: Bearer <token>"
//   auto g = verify_upload_grant(config.upload_grant_secret, token);          // signature, expiry
//   Status s = check_upload_grant(*g, {.context = {{"keep_id", "42"}}, .bytes = 1234, .kind = MediaKind::photo});
//   s = consume_upload_grant(queue, *g);                                      // single use: once only
//
// Token format (version 1): "msg1." + base64url(claims JSON) + "." +
// base64url(HMAC-SHA256(secret, "msg1." + base64url(claims JSON))), base64url
// without padding (RFC 4648 §5), so the token is URL-, header- and
// form-safe. The claims JSON is {"ctx": {...}, "max": N, "kinds": [...],
// "exp": unix seconds, "nonce": "32 hex", "once": true|false}. The MAC is
// compared in constant time. Anyone holding the secret can issue grants:
// keep MEDIA_UPLOAD_GRANT_SECRET as secret as a signing key.
//
// Refusals (the message starts "upload grant" and names the reason):
//   missing, malformed, bad signature (altered or another secret), expired
//     -> auth_failed (HTTP 401: get a new grant)
//   reused (single use), over its size, kind not allowed, wrong context
//     -> permission_denied (HTTP 403: this grant does not allow it)
//
// Thread-safety: every function here is safe to call from many threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mediastore/export.hpp"
#include "mediastore/media.hpp"
#include "mediastore/queue.hpp"
#include "mediastore/status.hpp"

namespace mediastore {

// What a grant allows. Plain value.
struct GrantClaims {
  // Context the upload must match and is recorded with ("circle_id",
  // "keep_id", "user_id", ...). Keys and values are free text. Default: none.
  std::map<std::string, std::string> context;
  // Largest upload in bytes; 0 = no limit of its own (MAX_UPLOAD_SIZE still
  // applies). Default: 0.
  std::uint64_t max_bytes = 0;
  // Media kinds allowed; empty = any. Default: any.
  std::vector<MediaKind> kinds;
  // When the grant stops being valid (whole seconds count). Required: a
  // grant without an expiry is refused by issue_upload_grant.
  SystemTime expires_at{};
  // If true the grant can be consumed once (consume_upload_grant). Default: false.
  bool single_use = false;
  // 32 lower-case hex characters identifying this grant; issue_upload_grant
  // draws a random one when empty.
  std::string nonce;
};

// The largest grant lifetime issue_upload_grant accepts: 7 days.
inline constexpr std::chrono::seconds kMaxGrantLifetime{7 * 24 * 3600};

// Signs claims into a token. invalid_argument for an empty secret, an expiry
// not in the future or more than kMaxGrantLifetime ahead of `now`, or a nonce
// that is not 32 lower-case hex characters. `now` defaults to the clock.
MS_API Result<std::string> issue_upload_grant(std::string_view secret, const GrantClaims& claims,
                                              std::optional<SystemTime> now = std::nullopt);

// Checks a token's format, signature (constant time) and expiry and returns
// its claims. auth_failed (missing: empty token; malformed; bad signature;
// expired) with the reason; invalid_argument for an empty secret.
MS_API Result<GrantClaims> verify_upload_grant(std::string_view secret, std::string_view token,
                                               std::optional<SystemTime> now = std::nullopt);

// What an upload asks for, checked against verified claims.
struct GrantRequest {
  // Every context entry of the grant must be present here with the same
  // value (extra entries here are allowed). Default: none.
  std::map<std::string, std::string> context;
  // The upload's size, or the declared size before reading; nullopt = not
  // known yet (check again once it is).
  std::optional<std::uint64_t> bytes;
  // The kind the upload declares; nullopt = not known yet.
  std::optional<MediaKind> kind;
};

// permission_denied naming the reason (wrong context, over its size, kind not
// allowed); ok otherwise. Does not consume a single-use grant.
MS_API Status check_upload_grant(const GrantClaims& claims, const GrantRequest& request);

// For a single-use grant: records its nonce as used in the queue backend's
// record store (record id "grant-<nonce>", state "grant_used", kept until
// the expiry has passed and remove_expired_grant_marks removes it), atomically
// across every process sharing the backend; the second call for the same
// grant is permission_denied ("reused"). A grant that is not single use: ok,
// nothing recorded. Errors of the queue backend are passed on.
MS_API Status consume_upload_grant(JobQueue& queue, const GrantClaims& claims);

// Removes used-grant marks whose grant expired before `now` (default: the
// clock); returns how many. At most `limit` per call.
MS_API Result<std::size_t> remove_expired_grant_marks(JobQueue& queue, std::size_t limit = 1000,
                                                      std::optional<SystemTime> now = std::nullopt);

// "photo" / "video" to a kind; invalid_argument naming the text otherwise.
MS_API Result<MediaKind> parse_media_kind(std::string_view text);

}  // namespace mediastore
