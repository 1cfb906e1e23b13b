// UploadService::similar: near duplicates within an upload's dedup scope,
// from the scope index the deduplicating stage writes (dedup_index.hpp).
#include <fmt/format.h>

#include <algorithm>

#include "upload/dedup_index.hpp"
#include "upload/service_impl.hpp"

namespace mediastore {

namespace {

// Index entries read per scope at most.
constexpr std::size_t kMaxScopeEntries = 100000;

}  // namespace

Result<std::vector<SimilarUpload>> UploadService::similar(std::string_view id_in, int max_distance) {
  auto& im = *impl_;
  if (max_distance < 0 || max_distance > 64)
    return Status::InvalidArgument(fmt::format("similar: max_distance {} is not within 0..64", max_distance));
  const std::string key = im.options.dedup_scope_key.value_or(im.config.dedup_scope_key);
  if (key.empty())
    return Status::InvalidArgument(
        "similar: duplicate detection is off (MEDIA_DEDUP_SCOPE_KEY / UploadOptions::dedup_scope_key is empty)");
  const std::string id(id_in);
  auto self = im.load(id);
  if (!self.ok()) return self.status();
  if (self->state != UploadState::completed)
    return Status::Conflict(
        fmt::format("similar: upload '{}' is {}, not completed", id, upload_state_name(self->state)));
  std::vector<SimilarUpload> out;
  const auto scope = self->context.find(key);
  if (scope == self->context.end() || !self->result) return out;
  const auto ph = self->result->metadata.find("phash");
  if (ph == self->result->metadata.end() || ph->second.empty()) return out;
  auto mine = parse_perceptual_hash(ph->second);
  if (!mine.ok()) return mine.status().with_context(fmt::format("similar: upload '{}'", id));

  const std::string digest = detail::dedup_scope_digest(key, scope->second);
  auto entries = im.queue->list_records(detail::scope_index_state(digest), detail::now() + std::chrono::hours(24),
                                        kMaxScopeEntries);
  if (!entries.ok()) return entries.status();
  for (const JobRecord& e : entries.value()) {
    const std::string other = detail::scope_index_upload(digest, e.id);
    if (other.empty() || other == id) continue;
    auto theirs = parse_perceptual_hash(e.body);
    if (!theirs.ok()) continue;  // not written by this library
    const int d = hamming_distance(*mine, *theirs);
    if (d > max_distance) continue;
    // The entry is written before its upload completes: only completed ones count.
    auto st = im.load(other);
    if (st.status().is(ErrorCode::not_found)) continue;
    if (!st.ok()) return st.status();
    if (st->state == UploadState::completed) out.push_back({other, d});
  }
  std::sort(out.begin(), out.end(), [](const SimilarUpload& a, const SimilarUpload& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
  });
  return out;
}

}  // namespace mediastore
