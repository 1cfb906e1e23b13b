// UploadStatus <-> the JSON body kept in the queue's record store, and the
// job payload (internal).
#pragma once

#include <string>

#include "mediastore/upload.hpp"

namespace mediastore::detail {

// The record-store state of a status: the state's name, except failed uploads
// whose leftovers were already removed ("failed.cleaned").
inline constexpr const char* kFailedCleaned = "failed.cleaned";
// The record-store state of idempotency markers ("idem.<sha256 of key>" ->
// upload id; idempotency.cpp). Not an upload: metrics leave it out.
inline constexpr const char* kIdempotencyState = "idem";

std::string status_to_json(const UploadStatus& status);
Result<UploadStatus> status_from_json(const std::string& id, const std::string& body);

// The job payload: the request fields a worker needs (not the bytes).
std::string payload_to_json(const UploadStatus& status);
Result<UploadStatus> payload_from_json(const std::string& id, const std::string& payload);

// "malware" -> RefusalReason::malware; none for unknown names.
RefusalReason refusal_reason_from_name(std::string_view name);

// "timeout" -> ErrorCode::timeout; internal for unknown names.
ErrorCode error_code_from_name(std::string_view name);

}  // namespace mediastore::detail
