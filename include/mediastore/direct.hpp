// Direct uploads at the storage level: a client (a browser, a phone app,
// curl) sends an object's bytes straight to the object store with requests
// the host has presigned, so the host never touches the bytes; the host then
// completes the upload and checks what arrived.
//
//   DirectUploadSpec spec;
//   spec.size = 7340032;  // exact bytes the client will send
//   spec.content_type = "video/mp4";
//   auto plan = storage->begin_direct_upload("staging/<id>", spec);
//   // hand plan->requests to the client; it sends each one and keeps the
//   // ETag header of each answer (multipart)
//   auto info = storage->complete_direct_upload(*plan, etags);
//
// A plan is one presigned PUT below the multipart threshold, else a
// multipart upload created by the host with one presigned UploadPart per
// part, every part but the last of the same size (stores such as Cloudflare
// R2 require equal parts). Each signed request fixes the bucket, the key,
// the expiry and its Content-Length: the store refuses a body of another
// length (403) and a URL used after its expiry.
//
// Backends: the S3 backend (minio, s3) makes plans. Others (the local
// backend) answer not_supported: send the bytes through
// UploadService::submit_upload instead.
//
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mediastore {

// What the client will send, as it declares it.
struct DirectUploadSpec {
  // The exact size of the object in bytes; every signed request fixes its
  // share (Content-Length). At most 5 TiB. Default: 0 (an empty object).
  std::uint64_t size = 0;
  // Stored with the object. Single PUT: signed, the client must send this
  // exact Content-Type; multipart: set when the upload is created.
  // Default: application/octet-stream.
  std::string content_type = "application/octet-stream";
  // SHA-256 of the whole object, 64 hex digits, when the client knows it.
  // Single PUT: signed as x-amz-checksum-sha256 (base64), which AWS S3 and
  // Cloudflare R2 check against the body; Ceph RGW before 19 ignores the
  // header (use content_md5 there). Multipart: not part of any request (each
  // part is its own body); kept in the plan so that the caller can check
  // the assembled object (UploadService does, in its worker). Default: "".
  std::string sha256;
  // MD5 of the whole object, base64 of the 16 bytes (RFC 1864
  // Content-MD5), when the client knows it. Single PUT only: signed as
  // Content-MD5, which every S3 store (RGW too) checks against the body
  // (400 BadDigest). A multipart plan refuses it (invalid_argument).
  // Default: "".
  std::string content_md5;
  // How long every URL of the plan is valid: 1 s .. 7 days, else
  // invalid_argument. Default: 1 hour.
  std::chrono::seconds expires_in{3600};
  // Objects of at least this many bytes get a multipart plan (above 5 GiB
  // always). 0 = the backend's (S3Settings::multipart_threshold,
  // MEDIA_S3_MULTIPART_THRESHOLD). Default: 0.
  std::uint64_t multipart_threshold = 0;
  // Size of every part of a multipart plan but the last: at least 5 MiB
  // (S3's minimum), grown to a whole MiB when the object would need more
  // than 10000 parts. 0 = the backend's (S3Settings::part_size). Default: 0.
  std::uint64_t part_size = 0;
  // When the URLs are signed; their expiry counts from it. Default: nullopt
  // = now. (Tests sign in the past to get URLs that have expired.)
  std::optional<std::chrono::system_clock::time_point> signed_at;
};

// One HTTP request of a plan, made by the client.
struct DirectRequest {
  // 1 .. 10000 for a part of a multipart plan; 0 for the single PUT.
  int part_number = 0;
  // The bytes of the object this request carries: [offset, offset + size).
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::string method = "PUT";
  std::string url;  // presigned; a secret for as long as it is valid
  // Headers to send exactly as given; every one is signed. Content-Length is
  // listed for clients that set it themselves (curl, libcurl); a browser
  // sets it from the body and forbids scripts to set it.
  std::vector<std::pair<std::string, std::string>> headers;
};

// What begin_direct_upload returns; the client needs `requests`, the host
// keeps the rest (complete_direct_upload reads key, size, upload_id and
// part_size; requests may then be empty).
struct DirectUploadPlan {
  std::string key;
  std::uint64_t size = 0;
  std::string content_type;
  std::string sha256;                                  // as declared (lower-case hex), "" if none
  std::chrono::system_clock::time_point expires_at{};  // the URLs' expiry
  // The store's multipart upload ID; "" for a single PUT.
  std::string upload_id;
  // Every part but the last has this size, the last the rest (1 ..
  // part_size bytes). A single PUT: size.
  std::uint64_t part_size = 0;
  // In part order; one request for a single PUT.
  std::vector<DirectRequest> requests;

  bool multipart() const { return !upload_id.empty(); }
  // The number of parts (1 for a single PUT).
  std::uint64_t part_count() const { return part_size == 0 ? 1 : (size == 0 ? 1 : (size + part_size - 1) / part_size); }
};

// What the client sends back for each part of a multipart plan: the ETag
// header of the part's answer (with or without its quotes).
struct UploadedPart {
  int part_number = 0;
  std::string etag;
};

}  // namespace mediastore
