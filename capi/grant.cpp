// The C ABI of upload grants (mediastore/grant.hpp): issue, verify, check
// and consume.
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "internal.hpp"
#include "mediastore/grant.hpp"

using namespace mediastore::capi;

namespace {

constexpr unsigned int kKnownKinds = (1u << MS_KIND_PHOTO) | (1u << MS_KIND_VIDEO);

int kinds_arg(unsigned int mask, std::vector<ms::MediaKind>& out) {
  if ((mask & ~kKnownKinds) != 0)
    return invalid("kinds " + std::to_string(mask) + " holds a bit that is no ms_media_kind");
  if (mask & (1u << MS_KIND_PHOTO)) out.push_back(ms::MediaKind::photo);
  if (mask & (1u << MS_KIND_VIDEO)) out.push_back(ms::MediaKind::video);
  return MS_OK;
}

unsigned int kinds_mask(const std::vector<ms::MediaKind>& kinds) {
  unsigned int mask = 0;
  for (auto k : kinds) mask |= 1u << static_cast<int>(k);
  return mask;
}

ms::SystemTime from_ms(std::int64_t ms) { return ms::SystemTime(std::chrono::milliseconds(ms)); }

// The claims a C grant carries, as the C++ API takes them.
ms::GrantClaims claims_of(const ms_upload_grant& g) {
  ms::GrantClaims c;
  for (std::size_t i = 0; i < g.context_count; ++i) c.context[g.context_names[i]] = g.context_values[i];
  c.max_bytes = g.max_bytes;
  for (int k : {MS_KIND_PHOTO, MS_KIND_VIDEO})
    if (g.kinds & (1u << k)) c.kinds.push_back(static_cast<ms::MediaKind>(k));
  c.expires_at = from_ms(g.expires_at_ms);
  c.single_use = g.single_use != 0;
  c.nonce = g.nonce != nullptr ? g.nonce : "";
  return c;
}

void grant_free_whole(ms_upload_grant* g) {
  if (g == nullptr) return;
  free_string_array(g->context_names, g->context_count);
  free_string_array(g->context_values, g->context_count);
  std::free(g->nonce);
  std::free(g);
}

bool grant_arg(const ms_upload_grant* g, int& rc) {
  if (g == nullptr) {
    rc = invalid("grant must not be NULL");
    return false;
  }
  return true;
}

}  // namespace

extern "C" {

int ms_grant_claims_init(ms_grant_claims* claims, unsigned int version) {
  return init_struct(claims, "claims", version, MS_GRANT_CLAIMS_VERSION, "ms_grant_claims.version",
                     [](ms_grant_claims&) {});
}

int ms_upload_grant_issue(char** out, const char* secret, const ms_grant_claims* claims) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view key;
    if (!text_arg(secret, "secret", key, rc)) return rc;
    if (claims == nullptr) return invalid("claims must not be NULL");
    if ((rc = version_arg(claims->version, MS_GRANT_CLAIMS_VERSION, "ms_grant_claims.version")) != MS_OK) return rc;
    ms::GrantClaims c;
    if ((rc = string_pairs(claims->context_names, claims->context_values, claims->context_count, "context",
                           c.context)) != MS_OK)
      return rc;
    if ((rc = kinds_arg(claims->kinds, c.kinds)) != MS_OK) return rc;
    c.max_bytes = claims->max_bytes;
    c.expires_at = from_ms(claims->expires_at_ms);
    c.single_use = claims->single_use != 0;
    if (!optional_text_arg(claims->nonce, "nonce", c.nonce, rc)) return rc;
    auto token = ms::issue_upload_grant(key, c);
    if (!token.ok()) return fail(token.status());
    *out = dup_string(*token);
    return MS_OK;
  });
}

int ms_upload_grant_verify(ms_upload_grant** out, const char* secret, const char* token) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view key, tok;
    if (!text_arg(secret, "secret", key, rc)) return rc;
    // A NULL token is a missing grant, refused as the C++ API refuses "".
    if (token != nullptr && !text_arg(token, "token", tok, rc)) return rc;
    auto claims = ms::verify_upload_grant(key, tok);
    if (!claims.ok()) return fail(claims.status());
    CHolder<ms_upload_grant, grant_free_whole> g;
    g.p = static_cast<ms_upload_grant*>(calloc_or_throw(1, sizeof(ms_upload_grant)));
    fill_pairs(claims->context, &g.p->context_names, &g.p->context_values, &g.p->context_count);
    g.p->max_bytes = claims->max_bytes;
    g.p->kinds = kinds_mask(claims->kinds);
    g.p->expires_at_ms = to_ms(claims->expires_at);
    g.p->single_use = claims->single_use ? 1 : 0;
    g.p->nonce = dup_string(claims->nonce);
    *out = g.release();
    return MS_OK;
  });
}

void ms_upload_grant_free(ms_upload_grant* grant) { grant_free_whole(grant); }

int ms_upload_grant_check(const ms_upload_grant* grant, const char* const* context_names,
                          const char* const* context_values, size_t context_count, int64_t bytes, int kind) {
  return guard([&]() -> int {
    int rc = MS_OK;
    if (!grant_arg(grant, rc)) return rc;
    ms::GrantRequest r;
    if ((rc = string_pairs(context_names, context_values, context_count, "context", r.context)) != MS_OK) return rc;
    if (bytes < -1) return invalid("bytes must be -1 (unknown) or >= 0, got " + std::to_string(bytes));
    if (bytes >= 0) r.bytes = static_cast<std::uint64_t>(bytes);
    if (kind != -1) {
      ms::MediaKind k;
      if ((rc = media_kind_arg(kind, k)) != MS_OK) return rc;
      r.kind = k;
    }
    return check(ms::check_upload_grant(claims_of(*grant), r));
  });
}

int ms_upload_grant_consume(ms_uploads* uploads, const ms_upload_grant* grant) {
  return guard([&]() -> int {
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc) || !grant_arg(grant, rc)) return rc;
    return check(ms::consume_upload_grant(uploads->service->queue(), claims_of(*grant)));
  });
}

}  // extern "C"
