// S3 XML answers parsed with tinyxml2, and the two XML request bodies the
// client sends. Every parser accepts any namespace and ignores unknown
// elements; a document that is not the expected one is an internal error
// naming the operation. Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mediastore/status.hpp"
#include "s3/errors.hpp"

namespace mediastore::s3 {

// <Error>...</Error>; nullopt if body is not an S3 error document.
std::optional<S3Error> parse_error(std::string_view body);

struct ListedObject {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;  // without quotes
  std::chrono::system_clock::time_point last_modified{};
};

struct ListObjectsV2Result {
  std::vector<ListedObject> objects;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_continuation_token;
};
Result<ListObjectsV2Result> parse_list_objects_v2(std::string_view body);

// InitiateMultipartUploadResult -> the upload id.
Result<std::string> parse_initiate_multipart(std::string_view body);

struct CompleteMultipartResult {
  std::string etag;  // may be empty (RGW answers <ETag></ETag>)
};
// An <Error> document inside a 200 answer (S3 does that for Complete and
// Copy) comes back as its mapped Status.
Result<CompleteMultipartResult> parse_complete_multipart(std::string_view body);

struct PartInfo {
  int part_number = 0;
  std::string etag;  // without quotes
  std::uint64_t size = 0;
};
struct ListPartsResult {
  std::vector<PartInfo> parts;
  bool is_truncated = false;
  int next_part_number_marker = 0;
};
Result<ListPartsResult> parse_list_parts(std::string_view body);

struct UploadInfo {
  std::string key;
  std::string upload_id;
  std::chrono::system_clock::time_point initiated{};
};
struct ListUploadsResult {
  std::vector<UploadInfo> uploads;
  bool is_truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
Result<ListUploadsResult> parse_list_multipart_uploads(std::string_view body);

struct DeleteFailure {
  std::string key;
  S3Error error;
};
struct DeleteResult {
  std::vector<std::string> deleted;
  std::vector<DeleteFailure> errors;
};
Result<DeleteResult> parse_delete_result(std::string_view body);

struct CopyResult {
  std::string etag;
  std::chrono::system_clock::time_point last_modified{};
};
Result<CopyResult> parse_copy_result(std::string_view body);

// STS AssumeRoleWithWebIdentity: the temporary credentials of a successful
// answer. An <ErrorResponse> is auth_failed with its Code and Message; an
// answer without AccessKeyId, SecretAccessKey, SessionToken or a parseable
// Expiration is internal. The secret and token are never in a message.
struct StsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::chrono::system_clock::time_point expiration{};
};
Result<StsCredentials> parse_assume_role_with_web_identity(std::string_view body);

// Escapes & < > " ' for element text; tab, LF and CR become numeric
// references. Other control characters cannot appear in XML 1.0 at all (key
// validation refuses them earlier); here they become '?' so the document
// stays well-formed.
std::string xml_escape(std::string_view text);

// <CompleteMultipartUpload> with the parts in the given order (must be
// ascending part numbers).
std::string build_complete_multipart(const std::vector<PartInfo>& parts);

// <Delete><Quiet>true</Quiet><Object><Key>..</Key></Object>...</Delete>.
std::string build_delete_objects(const std::vector<std::string>& keys, bool quiet = true);

// "2026-11-25T14:28:34.770Z" (ISO 8601, UTC) -> time point; nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);
// "Wed, 25 Nov 2026 14:28:34 GMT" (RFC 7231 IMF-fixdate) -> time point.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

// Removes surrounding double quotes (and &quot; already decoded) from an ETag.
std::string unquote_etag(std::string_view etag);

}  // namespace mediastore::s3
