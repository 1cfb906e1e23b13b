// Direct uploads on S3: plans of presigned PUT / UploadPart requests whose
// signatures fix Content-Length (and Content-Type, Content-MD5,
// x-amz-checksum-sha256 of a single PUT), their completion checked part by
// part and then by HEAD, and their abort.
#include "storage/s3_direct.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "storage/key.hpp"

namespace mediastore::detail {

namespace {

constexpr std::uint64_t kMiB = 1ull << 20;
constexpr std::uint64_t kMinPart = 5 * kMiB;
constexpr std::uint64_t kMaxObject = 5ull << 40;  // 5 TiB, S3's largest object
constexpr std::uint64_t kMaxParts = 10000;

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// An ETag as the client sent it back: quotes and a weak prefix dropped,
// compared case-insensitively.
std::string normal_etag(std::string_view etag) {
  std::string_view e = etag;
  while (!e.empty() && std::isspace(static_cast<unsigned char>(e.front()))) e.remove_prefix(1);
  while (!e.empty() && std::isspace(static_cast<unsigned char>(e.back()))) e.remove_suffix(1);
  if (e.substr(0, 2) == "W/") e.remove_prefix(2);
  return lower(s3::unquote_etag(e));
}

std::uint64_t part_length(const DirectUploadPlan& plan, std::uint64_t number, std::uint64_t count) {
  if (number < count) return plan.part_size;
  return plan.size - plan.part_size * (count - 1);
}

Status check_spec(std::string_view key, const DirectUploadSpec& spec) {
  MS_RETURN_IF_ERROR(validate_key(key));
  const std::string k = escape_for_message(key);
  if (spec.expires_in.count() < 1 || spec.expires_in.count() > 604800) {
    return Status::InvalidArgument(fmt::format(
        "direct upload of '{}': URL expiry must be 1 s .. 7 days (604800 s), got {} s", k, spec.expires_in.count()));
  }
  if (has_control(spec.content_type) || spec.content_type.size() > 256) {
    return Status::InvalidArgument(
        fmt::format("direct upload of '{}': the content type is longer than 256 bytes or has a control character", k));
  }
  if (!spec.sha256.empty() && (spec.sha256.size() != 64 || !is_hex(spec.sha256))) {
    return Status::InvalidArgument(
        fmt::format("direct upload of '{}': sha256 must be 64 hex digits, got {} characters", k, spec.sha256.size()));
  }
  if (!spec.content_md5.empty()) {
    std::string raw;
    if (!base64_decode(spec.content_md5, raw) || raw.size() != 16) {
      return Status::InvalidArgument(fmt::format(
          "direct upload of '{}': content_md5 must be the base64 of a 16-byte MD5 (24 characters, RFC 1864)", k));
    }
  }
  if (spec.part_size != 0 && spec.part_size < kMinPart) {
    return Status::InvalidArgument(
        fmt::format("direct upload of '{}': part_size {} is below S3's minimum of 5 MiB", k, spec.part_size));
  }
  return Status::Ok();
}

}  // namespace

Result<DirectLayout> direct_layout(std::uint64_t size, std::uint64_t threshold, std::uint64_t part_size) {
  if (size > kMaxObject) {
    return Status::TooLarge(fmt::format("a direct upload of {} bytes is over S3's largest object (5 TiB)", size));
  }
  DirectLayout l;
  if (size < std::max<std::uint64_t>(threshold, 1) && size <= s3::kMaxSinglePut) {
    l.part_size = size;
    return l;
  }
  l.multipart = true;
  l.part_size = std::max(part_size, kMinPart);
  if ((size + l.part_size - 1) / l.part_size > kMaxParts) {
    l.part_size = (size + kMaxParts - 1) / kMaxParts;
    l.part_size = (l.part_size + kMiB - 1) / kMiB * kMiB;
  }
  l.parts = std::max<std::uint64_t>(1, (size + l.part_size - 1) / l.part_size);
  return l;
}

std::string multipart_etag(const std::vector<std::string>& part_etags) {
  std::string binary;
  binary.reserve(part_etags.size() * 16);
  for (const auto& e : part_etags) {
    const std::string n = normal_etag(e);
    if (n.size() != 32 || !is_hex(n)) return {};
    for (std::size_t i = 0; i < 32; i += 2) {
      binary.push_back(static_cast<char>(std::stoi(n.substr(i, 2), nullptr, 16)));
    }
  }
  return hex_lower(md5(binary)) + "-" + std::to_string(part_etags.size());
}

ObjectInfo object_info_from_head(std::string_view key, const s3::ObjectHead& head) {
  ObjectInfo info;
  info.key = std::string(key);
  info.size = head.size;
  info.content_type = head.content_type.empty() ? "application/octet-stream" : head.content_type;
  info.etag = head.etag;
  info.last_modified = head.last_modified;
  info.cache_control = head.cache_control;
  info.content_disposition = head.content_disposition;
  info.user_metadata = head.metadata;
  return info;
}

Result<DirectUploadPlan> s3_begin_direct_upload(s3::Client& client, const s3::Endpoint* on, std::string_view key,
                                                const DirectUploadSpec& spec) {
  MS_RETURN_IF_ERROR(check_spec(key, spec));
  const auto& settings = client.settings();
  auto layout =
      direct_layout(spec.size, spec.multipart_threshold != 0 ? spec.multipart_threshold : settings.multipart_threshold,
                    spec.part_size != 0 ? spec.part_size : settings.part_size);
  if (!layout.ok()) return layout.status().with_context(fmt::format("direct upload of '{}'", escape_for_message(key)));
  if (layout->multipart && !spec.content_md5.empty()) {
    return Status::InvalidArgument(fmt::format(
        "direct upload of '{}': Content-MD5 covers one request, but {} bytes are sent as {} parts; give sha256 "
        "instead (checked after completion)",
        escape_for_message(key), spec.size, layout->parts));
  }

  DirectUploadPlan plan;
  plan.key = std::string(key);
  plan.size = spec.size;
  plan.content_type = spec.content_type.empty() ? "application/octet-stream" : spec.content_type;
  plan.sha256 = lower(spec.sha256);
  plan.part_size = layout->part_size;
  s3::Client::PresignRequest pr;
  pr.on = on;
  pr.now = spec.signed_at.value_or(std::chrono::system_clock::now());
  plan.expires_at = pr.now + spec.expires_in;

  if (!layout->multipart) {
    DirectRequest r;
    r.size = spec.size;
    r.headers.emplace_back("Content-Length", std::to_string(spec.size));
    r.headers.emplace_back("Content-Type", plan.content_type);
    if (!spec.content_md5.empty()) r.headers.emplace_back("Content-MD5", spec.content_md5);
    if (!plan.sha256.empty()) {
      std::string raw;
      for (std::size_t i = 0; i < 64; i += 2)
        raw.push_back(static_cast<char>(std::stoi(plan.sha256.substr(i, 2), nullptr, 16)));
      r.headers.emplace_back("x-amz-checksum-sha256", base64_encode(raw));
    }
    pr.headers = r.headers;
    auto url = client.presign("PUT", key, spec.expires_in, pr);
    if (!url.ok()) return url.status();
    r.url = std::move(url.value());
    plan.requests.push_back(std::move(r));
    return plan;
  }

  s3::PutObjectOptions created_with;
  created_with.content_type = plan.content_type;
  auto upload_id = client.create_multipart_upload(key, created_with);
  if (!upload_id.ok()) return upload_id.status();
  plan.upload_id = std::move(upload_id.value());
  plan.requests.reserve(static_cast<std::size_t>(layout->parts));
  for (std::uint64_t n = 1; n <= layout->parts; ++n) {
    DirectRequest r;
    r.part_number = static_cast<int>(n);
    r.offset = (n - 1) * plan.part_size;
    r.size = part_length(plan, n, layout->parts);
    r.headers.emplace_back("Content-Length", std::to_string(r.size));
    pr.headers = r.headers;
    pr.query = {{"partNumber", std::to_string(n)}, {"uploadId", plan.upload_id}};
    auto url = client.presign("PUT", key, spec.expires_in, pr);
    if (!url.ok()) {
      Status aborted = client.abort_multipart_upload(key, plan.upload_id);
      if (!aborted.ok()) return url.status().with_context(fmt::format("(and the abort failed: {})", aborted.message()));
      return url.status();
    }
    r.url = std::move(url.value());
    plan.requests.push_back(std::move(r));
  }
  MS_LOG(debug, "storage", "direct upload of {}: multipart {} ({} parts of {} bytes)", plan.key, plan.upload_id,
         layout->parts, plan.part_size);
  return plan;
}

namespace {

// The object at plan.key, HEAD-checked against the declared size.
Result<ObjectInfo> checked_head(s3::Client& client, const DirectUploadPlan& plan, std::string_view nothing_there) {
  auto head = client.head_object(plan.key);
  if (!head.ok()) {
    if (head.status().is(ErrorCode::not_found)) {
      return Status::NotFound(fmt::format("direct upload of '{}': no object in bucket '{}': {}",
                                          escape_for_message(plan.key), client.bucket(), nothing_there));
    }
    return head.status();
  }
  if (head->size != plan.size) {
    return Status::Conflict(fmt::format("direct upload of '{}': the stored object has {} bytes, {} were declared",
                                        escape_for_message(plan.key), head->size, plan.size));
  }
  return object_info_from_head(plan.key, head.value());
}

}  // namespace

Result<ObjectInfo> s3_complete_direct_upload(s3::Client& client, const DirectUploadPlan& plan,
                                             const std::vector<UploadedPart>& parts) {
  MS_RETURN_IF_ERROR(validate_key(plan.key));
  const std::string k = escape_for_message(plan.key);
  if (!plan.multipart()) {
    return checked_head(client, plan, "the client's PUT was not made, was refused or has not finished");
  }
  if (plan.part_size == 0) {
    return Status::InvalidArgument(fmt::format("direct upload of '{}': the plan has no part size", k));
  }
  const std::uint64_t count = plan.part_count();
  // The client's list: every part 1..count exactly once, each with an ETag.
  std::map<std::uint64_t, std::string> etags;
  for (const auto& p : parts) {
    if (p.part_number < 1 || static_cast<std::uint64_t>(p.part_number) > count) {
      return Status::InvalidArgument(
          fmt::format("direct upload of '{}': part number {} is not one of the plan's 1..{}", k, p.part_number, count));
    }
    const std::string e = normal_etag(p.etag);
    if (e.empty()) {
      return Status::InvalidArgument(fmt::format("direct upload of '{}': part {} has no ETag", k, p.part_number));
    }
    if (!etags.emplace(static_cast<std::uint64_t>(p.part_number), e).second) {
      return Status::InvalidArgument(fmt::format("direct upload of '{}': part {} is listed twice", k, p.part_number));
    }
  }
  for (std::uint64_t n = 1; n <= count; ++n) {
    if (etags.count(n) == 0) {
      return Status::InvalidArgument(fmt::format(
          "direct upload of '{}': part {} of {} is missing from the completion (send the ETag of every part)", k, n,
          count));
    }
  }
  std::vector<std::string> ordered;
  ordered.reserve(etags.size());
  for (const auto& [n, e] : etags) ordered.push_back(e);

  auto stored = client.list_parts(plan.key, plan.upload_id);
  if (!stored.ok()) {
    if (!stored.status().is(ErrorCode::not_found)) return stored.status();
    // The upload ID is gone: completed before (a repeated completion), or
    // aborted or expired. Only an object assembled from these very parts
    // counts as the first case.
    auto info = checked_head(client, plan, "its multipart upload is gone (aborted or expired) and was never completed");
    if (!info.ok()) return info.status();
    const std::string want = multipart_etag(ordered);
    if (!want.empty() && lower(info->etag) != want) {
      return Status::Conflict(fmt::format(
          "direct upload of '{}': its multipart upload is gone and the object there (ETag {}) was not assembled from "
          "these parts (ETag {} expected)",
          k, info->etag, want));
    }
    return info;
  }
  std::map<std::uint64_t, const s3::PartInfo*> by_number;
  for (const auto& p : stored.value()) by_number[static_cast<std::uint64_t>(p.part_number)] = &p;
  std::vector<s3::PartInfo> complete;
  complete.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t n = 1; n <= count; ++n) {
    auto it = by_number.find(n);
    if (it == by_number.end()) {
      return Status::NotFound(
          fmt::format("direct upload of '{}': part {} of {} was never uploaded (its PUT was not made or was refused)",
                      k, n, count));
    }
    const std::uint64_t want = part_length(plan, n, count);
    if (it->second->size != want) {
      return Status::Conflict(fmt::format("direct upload of '{}': part {} of {} has {} bytes, the plan says {}", k, n,
                                          count, it->second->size, want));
    }
    if (lower(it->second->etag) != etags[n]) {
      return Status::Conflict(
          fmt::format("direct upload of '{}': the ETag sent back for part {} of {} ({}) is not the stored part's ({})",
                      k, n, count, etags[n], it->second->etag));
    }
    complete.push_back(s3::PartInfo{static_cast<int>(n), it->second->etag, want});
  }
  Status done = client.complete_multipart_upload(plan.key, plan.upload_id, complete);
  if (!done.ok()) return done.with_context(fmt::format("direct upload of '{}': completing the multipart upload", k));
  MS_LOG(debug, "storage", "direct upload of {}: multipart {} completed ({} parts)", plan.key, plan.upload_id, count);
  return checked_head(client, plan, "the multipart upload was completed but the object is not there");
}

Status s3_abort_direct_upload(s3::Client& client, const DirectUploadPlan& plan) {
  MS_RETURN_IF_ERROR(validate_key(plan.key));
  if (plan.multipart()) MS_RETURN_IF_ERROR(client.abort_multipart_upload(plan.key, plan.upload_id));
  return client.delete_object(plan.key);
}

}  // namespace mediastore::detail
