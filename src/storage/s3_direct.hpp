// Direct uploads on S3 (include/mediastore/direct.hpp): plans of presigned
// requests, their completion and abort, over s3::Client. The S3 backend
// (s3_backend.cpp) forwards its direct-upload calls here.
//
// Thread-safety: the functions are; the client is shared.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "mediastore/storage.hpp"
#include "s3/client.hpp"

namespace mediastore::detail {

// How an object of `size` bytes is cut for a direct upload (pure).
struct DirectLayout {
  bool multipart = false;
  std::uint64_t part_size = 0;  // every part but the last; the size itself for a single PUT
  std::uint64_t parts = 1;
};

// Single PUT below `threshold` (and up to 5 GiB), multipart otherwise with
// parts of `part_size` (at least 5 MiB, grown to a whole MiB so that there
// are at most 10000). too_large above 5 TiB.
Result<DirectLayout> direct_layout(std::uint64_t size, std::uint64_t threshold, std::uint64_t part_size);

// The composite ETag S3 gives an object assembled from parts with these
// (hex MD5) ETags: hex(MD5(concatenated binary MD5s)) + "-" + count; ""
// when an ETag is not 32 hex digits (SSE-KMS, other stores).
std::string multipart_etag(const std::vector<std::string>& part_etags);

// The storage view of a HEAD answer.
ObjectInfo object_info_from_head(std::string_view key, const s3::ObjectHead& head);

// The StorageBackend calls (their contracts are in storage.hpp). `on`: the
// endpoint the URLs are made for (MEDIA_S3_PUBLIC_ENDPOINT), null = the
// client's.
Result<DirectUploadPlan> s3_begin_direct_upload(s3::Client& client, const s3::Endpoint* on, std::string_view key,
                                                const DirectUploadSpec& spec);
Result<ObjectInfo> s3_complete_direct_upload(s3::Client& client, const DirectUploadPlan& plan,
                                             const std::vector<UploadedPart>& parts);
Status s3_abort_direct_upload(s3::Client& client, const DirectUploadPlan& plan);

}  // namespace mediastore::detail
