// Idempotency keys: a marker record "idem.<sha256 of key>" -> upload id,
// made with JobQueue::create_record so that of concurrent submissions with
// one key (any process sharing the backend) exactly one binds it. See
// UploadService::Impl::bind_idempotency_key (service_impl.hpp).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "upload/record.hpp"
#include "upload/service_impl.hpp"

namespace mediastore {

using detail::now;
using detail::upload_field;

namespace {

using detail::kIdempotencyState;  // the markers' record state (expired by expire_records)
constexpr std::size_t kMaxKey = 1024;

std::string marker_id(std::string_view key) { return "idem." + detail::hex_lower(detail::sha256(key)); }

std::string marker_body(const std::string& id) { return nlohmann::json{{"upload", id}}.dump(); }

std::string marker_upload(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("upload") || !j["upload"].is_string()) return "";
  return j["upload"].get<std::string>();
}

}  // namespace

Result<std::string> UploadService::Impl::bind_idempotency_key(std::string_view key, const std::string& id) {
  if (key.empty() || key.size() > kMaxKey)
    return Status::InvalidArgument(
        fmt::format("idempotency key must have 1..{} bytes (it has {})", kMaxKey, key.size()));
  const std::string mid = marker_id(key);
  // A stale marker is replaced at most a few times; more means others keep
  // replacing it too (they then hold the key).
  for (int round = 0; round < 3; ++round) {
    Status made = queue->create_record(JobRecord{mid, kIdempotencyState, {}, marker_body(id)});
    if (made.ok()) return id;
    if (!made.is(ErrorCode::already_exists)) return made;
    auto rec = queue->get_record(mid);
    if (!rec.ok()) {
      if (rec.status().is(ErrorCode::not_found)) continue;  // removed meanwhile: try to make it again
      return rec.status();
    }
    const std::string earlier = marker_upload(rec->body);
    bool stale = earlier.empty() || (options.record_ttl.count() > 0 && rec->updated_at < now() - options.record_ttl);
    Result<JobRecord> up = Status::NotFound("");
    if (!stale) {
      up = queue->get_record(earlier);
      if (!up.ok() && !up.status().is(ErrorCode::not_found)) return up.status();
      stale = !up.ok();
    }
    if (stale) {
      // The marker outlived its upload. Two callers replacing the same stale
      // marker at once could both win (each removing the other's): only
      // possible for a key unused for record_ttl, so not guarded further.
      MS_LOGF(info, "upload", upload_field(id), "idempotency key of upload {}: replacing a stale marker (upload {})",
              id, earlier);
      MS_RETURN_IF_ERROR(queue->remove_record(mid));
      continue;
    }
    // The crash window: its submitter wrote the record and the marker and
    // died before queueing the job. Queue it for it (the record holds what
    // the job needs); a live submitter is past this point long before.
    auto pending = detail::status_from_json(earlier, up->body);
    if (up->state == upload_state_name(UploadState::pending) && pending.ok() &&
        up->updated_at < now() - options.lease_duration) {
      auto has = queue->contains(earlier);
      if (has.ok() && !has.value()) {
        Status q = queue->enqueue(earlier, detail::payload_to_json(pending.value()));
        if (q.ok())
          MS_LOGF(warn, "upload", upload_field(earlier),
                  "upload {}: was never queued (its submitter stopped); queued by a repeated submission", earlier);
        else if (!q.is(ErrorCode::already_exists))
          detail::warn_if_failed(earlier, "queueing the upload of a repeated submission", q);
      }
    }
    return earlier;
  }
  return Status::Conflict(
      fmt::format("idempotency key of upload {}: its marker keeps being replaced by other submissions", id));
}

Status UploadService::Impl::release_idempotency_key(std::string_view key, const std::string& id) {
  if (key.empty() || key.size() > kMaxKey) return Status::Ok();
  const std::string mid = marker_id(key);
  auto rec = queue->get_record(mid);
  if (!rec.ok()) return rec.status().is(ErrorCode::not_found) ? Status::Ok() : rec.status();
  if (marker_upload(rec->body) != id) return Status::Ok();
  return queue->remove_record(mid);
}

}  // namespace mediastore
