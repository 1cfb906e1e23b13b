// Direct uploads in the upload workflow: create_direct_upload plans the
// client's requests for "<staging prefix><id>" and records the upload as
// awaiting_upload; complete_direct_upload checks what the store holds and
// queues it exactly as submit_upload does; cancel and cleanup drop what a
// plan left (the staged object, an unfinished multipart upload). The worker
// reads the staged object like any storage-staged upload (record.staged_key)
// and checks a declared SHA-256 in the process_media stage.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "queue/common.hpp"
#include "upload/record.hpp"
#include "upload/service_impl.hpp"

namespace mediastore {

using detail::now;
using detail::upload_field;
using detail::warn_if_failed;

namespace {

constexpr std::uint64_t kMaxDirectUpload = 5ull << 30;

bool is_sha256_hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

DirectUploadPlan UploadService::Impl::direct_plan_of(const UploadStatus& s) {
  DirectUploadPlan plan;
  plan.key = s.staged_key;
  if (s.direct) {
    plan.size = s.direct->size;
    plan.upload_id = s.direct->upload_id;
    plan.part_size = s.direct->part_size;
    plan.sha256 = s.direct->sha256;
    plan.expires_at = s.direct->expires_at;
  }
  return plan;
}

Status UploadService::Impl::drop_direct(const UploadStatus& s) {
  if (!s.direct || s.staged_key.empty()) return Status::Ok();
  return storage->abort_direct_upload(direct_plan_of(s));
}

Result<DirectUpload> UploadService::create_direct_upload(const DirectUploadRequest& request) {
  auto& im = *impl_;
  if (request.original_filename.empty())
    return Status::InvalidArgument("create_direct_upload: original_filename is required");
  if (request.size == 0)
    return Status::InvalidArgument(
        fmt::format("create_direct_upload: {}: the declared size is 0 (an empty file)", request.original_filename));
  if (request.size > im.config.max_upload_size)
    return Status::TooLarge(fmt::format("create_direct_upload: {}: {} bytes is over MAX_UPLOAD_SIZE ({} bytes)",
                                        request.original_filename, request.size, im.config.max_upload_size));
  // The worker stores the original with one server-side copy of the staged
  // object, which S3 allows up to 5 GiB.
  if (request.size > kMaxDirectUpload)
    return Status::TooLarge(fmt::format(
        "create_direct_upload: {}: {} bytes is over 5 GiB, the largest staged upload the worker can copy into place",
        request.original_filename, request.size));
  // Cleanup aborts multipart uploads under the staging prefix once older
  // than staging_orphan_age: a plan must end (with its grace) before that.
  if (request.expires_in + kDirectUploadGrace >= im.options.staging_orphan_age)
    return Status::InvalidArgument(
        fmt::format("create_direct_upload: {}: an expiry of {} s (plus the {} s grace) must stay below "
                    "UploadOptions::staging_orphan_age ({} s), after which cleanup aborts unfinished multipart uploads",
                    request.original_filename, request.expires_in.count(), kDirectUploadGrace.count(),
                    im.options.staging_orphan_age.count()));
  if (!request.sha256.empty() && !is_sha256_hex(request.sha256))
    return Status::InvalidArgument(
        fmt::format("create_direct_upload: {}: sha256 must be 64 hex digits", request.original_filename));

  const std::string id = detail::uuid4();
  UploadStatus s = detail::new_upload_status(id, UploadState::awaiting_upload, request.original_filename,
                                             request.content_type, request.media_kind, request.context);
  s.staged_key = im.staging_key(id);

  DirectUploadSpec spec;
  spec.size = request.size;
  spec.content_type = request.content_type.empty() ? "application/octet-stream" : request.content_type;
  spec.sha256 = lower(request.sha256);
  spec.content_md5 = request.content_md5;
  spec.expires_in = request.expires_in;
  auto plan = im.storage->begin_direct_upload(s.staged_key, spec);
  if (!plan.ok()) return plan.status().with_context(fmt::format("create_direct_upload: {}", request.original_filename));

  UploadStatus::Direct d;
  d.size = request.size;
  d.sha256 = spec.sha256;
  d.upload_id = plan->upload_id;
  d.part_size = plan->part_size;
  d.expires_at = plan->expires_at;
  s.direct = std::move(d);
  // The plan exists before its record (its upload ID goes in the record):
  // if the record cannot be written the plan is dropped; a crash in between
  // leaves a multipart upload of no record, which cleanup aborts once older
  // than UploadOptions::staging_orphan_age.
  Status st = im.save(s);
  if (!st.ok()) {
    warn_if_failed(id, "abort of the plan of a failed create_direct_upload", im.storage->abort_direct_upload(*plan));
    return st;
  }
  MS_LOGF(info, "upload", upload_field(id), "upload {}: direct upload of {} ({} bytes, {}) -> awaiting_upload", id,
          request.original_filename, request.size,
          plan->multipart() ? fmt::format("{} parts", plan->requests.size()) : std::string("one PUT"));
  return DirectUpload{id, std::move(plan).value()};
}

Result<UploadStatus> UploadService::complete_direct_upload(std::string_view id_in,
                                                           const std::vector<UploadedPart>& parts,
                                                           std::string_view sha256) {
  auto& im = *impl_;
  const std::string id(id_in);
  auto s = im.load(id);
  if (!s.ok()) return s.status();
  if (!s->direct || s->staged_key.empty())
    return Status::InvalidArgument(fmt::format("upload '{}' is not a direct upload (it was submitted)", id));
  UploadStatus& up = s.value();
  // Already queued by an earlier call: the same answer again.
  if (up.direct->completed) return up;
  if (up.state != UploadState::awaiting_upload)
    return Status::Conflict(fmt::format("direct upload '{}' was never completed and is {}: {}", id,
                                        upload_state_name(up.state), up.error_message));
  if (now() > up.direct->expires_at + kDirectUploadGrace)
    return Status::Conflict(fmt::format("direct upload '{}' expired: its URLs were valid until {} ms since the epoch",
                                        id, detail::to_ms(up.direct->expires_at)));
  if (!sha256.empty()) {
    if (!is_sha256_hex(sha256))
      return Status::InvalidArgument(fmt::format("complete_direct_upload '{}': sha256 must be 64 hex digits", id));
    const std::string given = lower(sha256);
    if (!up.direct->sha256.empty() && up.direct->sha256 != given)
      return Status::InvalidArgument(
          fmt::format("complete_direct_upload '{}': sha256 {} is not the one declared at create ({})", id, given,
                      up.direct->sha256));
    up.direct->sha256 = given;
  }

  auto info = im.storage->complete_direct_upload(im.direct_plan_of(up), parts);
  if (!info.ok()) return info.status().with_context(fmt::format("complete_direct_upload '{}'", id));

  // From here on exactly as submit_upload: the record, then the job.
  up.state = UploadState::pending;
  up.stage = UploadStage::queued;
  up.direct->completed = true;
  Status st = im.save(up);
  if (st.ok()) {
    st = im.queue->enqueue(id, detail::payload_to_json(up));
    // Queued by a concurrent completion of the same upload: one job.
    if (st.is(ErrorCode::already_exists)) st = Status::Ok();
  }
  if (!st.ok()) {
    // Back to awaiting_upload so that the client can complete again (the
    // store's side is idempotent); what cannot be undone is reported.
    up.state = UploadState::awaiting_upload;
    up.direct->completed = false;
    warn_if_failed(id, "reverting the record of a failed completion", im.save(up));
    return st.with_context(fmt::format("complete_direct_upload '{}': queueing", id));
  }
  im.submitted++;
  MS_LOGF(info, "upload", upload_field(id), "upload {}: direct upload completed ({} bytes at '{}') -> pending", id,
          info->size, up.staged_key);
  return up;
}

Status UploadService::Impl::expire_direct_uploads(CleanupReport& rep) {
  constexpr std::size_t kBatch = 500;
  const SystemTime cutoff = now() - kDirectUploadGrace;
  // Records updated before the cutoff are the only ones whose plan can have
  // expired that long ago (a plan expires after its record was written).
  auto recs = queue->list_records(upload_state_name(UploadState::awaiting_upload), cutoff, kBatch);
  if (!recs.ok()) return recs.status();
  for (auto& r : recs.value()) {
    auto s = detail::status_from_json(r.id, r.body);
    if (!s.ok() || !s->direct || s->direct->expires_at >= cutoff) continue;
    UploadStatus& up = s.value();
    up.state = UploadState::failed;
    up.error_code = ErrorCode::timeout;
    up.error_message = "expired: the direct upload was not completed before its URLs expired";
    MS_RETURN_IF_ERROR(save(up));
    MS_LOGF(info, "upload", upload_field(up.id), "upload {}: awaiting_upload -> failed: expired", up.id);
    rep.expired_direct_uploads++;
    // Its bytes (a staged object, an unfinished multipart upload) go now;
    // the record is then cleaned with the other failed ones.
    MS_RETURN_IF_ERROR(drop_direct(up));
  }
  return Status::Ok();
}

}  // namespace mediastore
