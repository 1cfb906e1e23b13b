#include "upload/record.hpp"

#include <fmt/format.h>

#include <array>

#include <nlohmann/json.hpp>

#include "queue/common.hpp"

namespace mediastore {

const char* upload_state_name(UploadState state) noexcept {
  switch (state) {
    case UploadState::pending: return "pending";
    case UploadState::processing: return "processing";
    case UploadState::retrying: return "retrying";
    case UploadState::completed: return "completed";
    case UploadState::failed: return "failed";
    case UploadState::awaiting_upload: return "awaiting_upload";
  }
  return "unknown";
}

const char* upload_stage_name(UploadStage stage) noexcept {
  switch (stage) {
    case UploadStage::queued: return "queued";
    case UploadStage::validating: return "validating";
    case UploadStage::storing_original: return "storing_original";
    case UploadStage::making_thumbnails: return "making_thumbnails";
    case UploadStage::storing_thumbnails: return "storing_thumbnails";
    case UploadStage::done: return "done";
    case UploadStage::scanning: return "scanning";
    case UploadStage::deduplicating: return "deduplicating";
  }
  return "unknown";
}

namespace detail {
namespace {

using nlohmann::json;

template <typename E, typename Values>
bool enum_from(const std::string& name, const char* (*fn)(E) noexcept, const Values& values, E& out) {
  for (E v : values)
    if (name == fn(v)) {
      out = v;
      return true;
    }
  return false;
}

json object_to_json(const StoredObject& o) {
  return json{{"name", o.name},
              {"key", o.key},
              {"url", o.url},
              {"width", o.width},
              {"height", o.height},
              {"bytes", o.bytes},
              {"content_type", o.content_type},
              {"format", o.format}};
}

// `format_default`: what a record written before StoredObject::format
// existed means (thumbnails were JPEG only then).
StoredObject object_from_json(const json& j, const char* format_default) {
  StoredObject o;
  o.name = j.value("name", "");
  o.key = j.value("key", "");
  o.url = j.value("url", "");
  o.width = j.value("width", 0);
  o.height = j.value("height", 0);
  o.bytes = j.value("bytes", std::uint64_t{0});
  o.content_type = j.value("content_type", "");
  o.format = j.value("format", format_default);
  return o;
}

json request_json(const UploadStatus& s) {
  json j{{"filename", s.original_filename},
         {"content_type", s.content_type},
         {"media_kind", media_kind_name(s.media_kind)},
         {"context", s.context},
         {"created_ms", to_ms(s.created_at)},
         {"staged_key", s.staged_key}};
  if (s.direct) {
    j["direct"] = json{{"size", s.direct->size},
                       {"sha256", s.direct->sha256},
                       {"upload_id", s.direct->upload_id},
                       {"part_size", s.direct->part_size},
                       {"expires_ms", to_ms(s.direct->expires_at)},
                       {"completed", s.direct->completed}};
  }
  return j;
}

void request_from(const json& j, UploadStatus& s) {
  s.original_filename = j.value("filename", "");
  s.content_type = j.value("content_type", "");
  s.media_kind = j.value("media_kind", "photo") == std::string("video") ? MediaKind::video : MediaKind::photo;
  if (j.contains("context") && j["context"].is_object())
    s.context = j["context"].get<std::map<std::string, std::string>>();
  s.created_at = from_ms(j.value("created_ms", std::int64_t{0}));
  // Records and jobs written before storage staging existed: the local spool.
  s.staged_key = j.value("staged_key", "");
  if (j.contains("direct") && j["direct"].is_object()) {
    const json& d = j["direct"];
    UploadStatus::Direct direct;
    direct.size = d.value("size", std::uint64_t{0});
    direct.sha256 = d.value("sha256", "");
    direct.upload_id = d.value("upload_id", "");
    direct.part_size = d.value("part_size", std::uint64_t{0});
    direct.expires_at = from_ms(d.value("expires_ms", std::int64_t{0}));
    direct.completed = d.value("completed", false);
    s.direct = std::move(direct);
  }
}

}  // namespace

RefusalReason refusal_reason_from_name(std::string_view name) {
  // The reasons are numbered from none upwards; the first "unknown" ends them.
  for (int i = 0;; ++i) {
    const char* n = refusal_reason_name(static_cast<RefusalReason>(i));
    if (std::string_view(n) == "unknown") return RefusalReason::none;
    if (name == n) return static_cast<RefusalReason>(i);
  }
}

ErrorCode error_code_from_name(std::string_view name) {
  for (int i = 0; i < kErrorCodeCount; ++i)
    if (name == error_code_name(static_cast<ErrorCode>(i))) return static_cast<ErrorCode>(i);
  return ErrorCode::internal;
}

std::string status_to_json(const UploadStatus& s) {
  json j = request_json(s);
  j["state"] = upload_state_name(s.state);
  j["stage"] = upload_stage_name(s.stage);
  j["progress"] = s.progress_percentage;
  j["attempt"] = s.attempt;
  j["next_try_ms"] = to_ms(s.next_try);
  j["last_error"] = s.last_error;
  j["error_code"] = error_code_name(s.error_code);
  j["error_message"] = s.error_message;
  if (s.refusal_reason != RefusalReason::none) j["refusal_reason"] = refusal_reason_name(s.refusal_reason);
  if (!s.duplicate_of.empty()) j["duplicate_of"] = s.duplicate_of;
  j["updated_ms"] = to_ms(s.updated_at);
  if (s.result) {
    json r;
    r["original"] = object_to_json(s.result->original);
    r["thumbnails"] = json::array();
    for (auto& t : s.result->thumbnails) r["thumbnails"].push_back(object_to_json(t));
    r["metadata"] = s.result->metadata;
    j["result"] = std::move(r);
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<UploadStatus> status_from_json(const std::string& id, const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::Internal(fmt::format("upload '{}': the stored status is not valid JSON", id));
  try {
    UploadStatus s;
    s.id = id;
    request_from(j, s);
    static UploadState states[] = {UploadState::pending,   UploadState::processing, UploadState::retrying,
                                   UploadState::completed, UploadState::failed,     UploadState::awaiting_upload};
    static const auto stages = [] {
      std::array<UploadStage, kUploadStageCount> all{};
      for (int i = 0; i < kUploadStageCount; ++i) all[static_cast<std::size_t>(i)] = static_cast<UploadStage>(i);
      return all;
    }();
    if (!enum_from(j.value("state", ""), &upload_state_name, states, s.state) ||
        !enum_from(j.value("stage", ""), &upload_stage_name, stages, s.stage))
      return Status::Internal(fmt::format("upload '{}': the stored status has an unknown state", id));
    s.progress_percentage = j.value("progress", 0);
    s.attempt = j.value("attempt", 0);
    s.next_try = from_ms(j.value("next_try_ms", std::int64_t{0}));
    s.last_error = j.value("last_error", "");
    s.error_code = error_code_from_name(j.value("error_code", "ok"));
    s.error_message = j.value("error_message", "");
    s.refusal_reason = refusal_reason_from_name(j.value("refusal_reason", "none"));
    s.duplicate_of = j.value("duplicate_of", "");
    s.updated_at = from_ms(j.value("updated_ms", std::int64_t{0}));
    if (j.contains("result") && j["result"].is_object()) {
      const json& r = j["result"];
      UploadResult res;
      res.original = object_from_json(r.at("original"), "");
      for (auto& t : r.at("thumbnails")) res.thumbnails.push_back(object_from_json(t, "jpeg"));
      res.metadata = r.at("metadata").get<std::map<std::string, std::string>>();
      s.result = std::move(res);
    }
    return s;
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("upload '{}': malformed stored status: {}", id, e.what()));
  }
}

std::string payload_to_json(const UploadStatus& s) {
  return request_json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<UploadStatus> payload_from_json(const std::string& id, const std::string& payload) {
  json j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::Internal(fmt::format("upload '{}': the job payload is not valid JSON", id));
  try {
    UploadStatus s;
    s.id = id;
    request_from(j, s);
    return s;
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("upload '{}': malformed job payload: {}", id, e.what()));
  }
}

}  // namespace detail
}  // namespace mediastore
