// The S3 client: one bucket, SigV4-signed requests over the HttpClient pool,
// retries like the AWS SDKs' standard mode, multipart uploads above a
// threshold, presigned URLs.
//
// Integrity: every body is sent with its SHA-256 as the signed
// x-amz-content-sha256, or (large single PUTs, see PayloadSigning) as
// aws-chunked with a signature over each chunk's SHA-256, so the server
// refuses a body damaged in transit (XAmzContentSHA256Mismatch or
// SignatureDoesNotMatch). A whole download of an object
// whose ETag is a plain MD5 (single-part, no SSE-KMS/SSE-C) is hashed while it
// streams; a mismatch is io_error ("damaged download") and is not retried
// (the sink already holds the bytes; the caller decides).
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mediastore/config.hpp"
#include "s3/body.hpp"
#include "s3/chunked.hpp"
#include "s3/credentials.hpp"
#include "s3/http.hpp"
#include "s3/retry.hpp"
#include "s3/sigv4.hpp"
#include "s3/url.hpp"
#include "s3/xml.hpp"

namespace mediastore::s3 {

struct ObjectHead {
  std::uint64_t size = 0;
  std::string content_type;
  std::string etag;  // without quotes
  std::chrono::system_clock::time_point last_modified{};
  std::string cache_control;
  std::string content_disposition;
  Metadata metadata;  // x-amz-meta-*, names lower-case without the prefix
};

struct PutObjectOptions {
  std::string content_type = "application/octet-stream";
  std::string cache_control;
  std::string content_disposition;
  Metadata metadata;
  ProgressFn progress;  // bytes sent so far of the whole object; false cancels
  // Known hex SHA-256 of the body: a whole-body-signed single PUT uses it
  // instead of hashing the source (the server verifies it). "" = compute.
  std::string payload_sha256;
  // Create only: "If-None-Match: *" on PutObject (and on
  // CompleteMultipartUpload with S3Settings::conditional_multipart); the
  // server's 412 becomes already_exists. Without conditional_multipart the
  // object goes up as one PutObject whatever its size (a stream of unknown
  // size longer than the multipart threshold, or a size above 5 GiB, is
  // too_large), because servers that ignore the header on
  // CompleteMultipartUpload (Ceph RGW 16) would silently replace the
  // object. Default: false.
  bool if_none_match = false;
};

// The largest single PutObject S3 accepts.
inline constexpr std::uint64_t kMaxSinglePut = 5ull << 30;  // 5 GiB

struct ListRequest {
  std::string prefix;
  std::string delimiter;
  std::string continuation_token;
  std::string start_after;
  int max_keys = 1000;  // 1..1000
};

// How a single PutObject's body is signed (multipart parts always sign
// their whole payload hash).
//  - whole: x-amz-content-sha256 is the SHA-256 of the whole body, computed
//    by reading the source once before the first byte is sent.
//  - streaming: aws-chunked with chained chunk signatures
//    (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, see chunked.hpp): a reader thread
//    reads and hashes chunk n+1 while chunk n is on the wire. Needs a source
//    with random access (others, and empty bodies, use whole). The server still
//    refuses a damaged chunk. Some S3-compatible stores do not accept it.
//  - automatic (Default): streaming for bodies of at least
//    kStreamingThreshold bytes from a random-access source, whole otherwise.
enum class PayloadSigning { whole, streaming, automatic };
inline constexpr std::uint64_t kStreamingThreshold = 8ull << 20;  // 8 MiB
// S3Settings::payload_signing: "auto" (or empty), "whole", "streaming";
// nullopt for anything else.
std::optional<PayloadSigning> parse_payload_signing(std::string_view name);

// How sleeping between retries happens (tests replace it).
using SleepFn = std::function<void(std::chrono::milliseconds)>;

class Client {
 public:
  // Resolves credentials through the chain (see credentials.hpp) and checks
  // the endpoint. invalid_argument / auth_failed on bad settings.
  static Result<std::shared_ptr<Client>> create(const S3Settings& settings, const Config::Lookup& env = {});
  // Fixed credentials (never refreshed).
  Client(S3Settings settings, Endpoint endpoint, Credentials credentials);
  // Credentials from a cache (refreshed ahead of expiry when temporary).
  Client(S3Settings settings, Endpoint endpoint, std::shared_ptr<CredentialCache> credentials);

  const S3Settings& settings() const { return settings_; }
  const std::string& bucket() const { return settings_.bucket; }

  // ---- objects ----
  // Uploads source: size known: one PutObject below multipart_threshold,
  // multipart from there on; size unknown: the first multipart_threshold
  // bytes are read into memory, then one PutObject if the stream ended,
  // multipart otherwise.
  Status put_object(std::string_view key, BodySource& source, const PutObjectOptions& options);
  // One PutObject of `size` bytes from source.
  Status put_object_single(std::string_view key, BodySource& source, std::uint64_t size,
                           const PutObjectOptions& options);
  // Streams the object or [offset, offset+length) into sink. With a range
  // that starts at or past the end, succeeds with zero bytes. head_out, if
  // given, receives the answer's headers.
  Status get_object(std::string_view key, BodySink& sink, std::optional<std::uint64_t> offset = std::nullopt,
                    std::optional<std::uint64_t> length = std::nullopt, const ProgressFn& progress = {},
                    ObjectHead* head_out = nullptr);
  Result<ObjectHead> head_object(std::string_view key);
  Status delete_object(std::string_view key);
  // Deletes in batches of 1000; returns the keys that failed with their status.
  Result<std::vector<std::pair<std::string, Status>>> delete_objects(const std::vector<std::string>& keys);
  Result<ListObjectsV2Result> list_objects_v2(const ListRequest& request);
  // Follows continuation tokens; `each` is called per page, false stops.
  Status list_all(const ListRequest& request, const std::function<bool(const ListObjectsV2Result&)>& each);
  // Server-side copy within the bucket keeping content type and metadata
  // (one CopyObject: objects up to 5 GiB; larger ones fail with the
  // server's InvalidRequest -> invalid_argument).
  Result<CopyResult> copy_object(std::string_view from_key, std::string_view to_key);
  // The same with the copy's content type, cache control, content
  // disposition and metadata taken from `replace` (x-amz-metadata-directive
  // REPLACE); progress, payload_sha256 and if_none_match are not used.
  Result<CopyResult> copy_object(std::string_view from_key, std::string_view to_key, const PutObjectOptions& replace);

  // ---- bucket ----
  Status head_bucket();
  // Creates the bucket; one that already exists and is ours is success.
  Status create_bucket();

  // ---- multipart ----
  Result<std::string> create_multipart_upload(std::string_view key, const PutObjectOptions& options);
  // Returns the part's ETag. payload_sha256: the hex SHA-256 of data if the
  // caller has it (computed here when empty).
  Result<std::string> upload_part(std::string_view key, const std::string& upload_id, int part_number,
                                  std::string_view data, const ProgressFn& progress = {},
                                  std::string payload_sha256 = {});
  // if_none_match: send "If-None-Match: *" (412 -> already_exists).
  Status complete_multipart_upload(std::string_view key, const std::string& upload_id,
                                   const std::vector<PartInfo>& parts, bool if_none_match = false);
  Status abort_multipart_upload(std::string_view key, const std::string& upload_id);
  Result<std::vector<PartInfo>> list_parts(std::string_view key, const std::string& upload_id);
  Result<std::vector<UploadInfo>> list_multipart_uploads(std::string_view prefix = {});
  // The whole multipart flow (create, parallel parts, complete; abort on any
  // failure). size nullopt = read until the end.
  Status put_object_multipart(std::string_view key, BodySource& source, std::optional<std::uint64_t> size,
                              const PutObjectOptions& options);

  // ---- presigned URLs ----
  // method GET, PUT, HEAD or DELETE; expires 1 s .. 7 days else
  // invalid_argument.
  Result<std::string> presign(std::string_view method, std::string_view key, std::chrono::seconds expires,
                              std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;
  // The same with query parameters signed into the URL (response-* header
  // overrides) and, when `on` is given, for another endpoint than the
  // client's (the public one browsers reach).
  Result<std::string> presign(std::string_view method, std::string_view key, std::chrono::seconds expires,
                              const std::vector<std::pair<std::string, std::string>>& query,
                              const Endpoint* on = nullptr,
                              std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;
  // The general form: query parameters and headers signed into the URL.
  // Every header in `headers` becomes a signed header (X-Amz-SignedHeaders),
  // so the request made with the URL must carry it with exactly that value
  // or the server refuses it (403 SignatureDoesNotMatch): this is how a
  // presigned upload fixes Content-Length, Content-Type, Content-MD5 or
  // x-amz-checksum-sha256. Names are sent as given; never-signed names
  // (sigv4.hpp) are invalid_argument, as are names or values with control
  // characters. PUT with query partNumber/uploadId is a presigned UploadPart.
  struct PresignRequest {
    std::vector<std::pair<std::string, std::string>> query;  // Default: none
    Headers headers;                                         // Default: none (only host is signed)
    const Endpoint* on = nullptr;                            // Default: the client's endpoint
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();  // signing time
  };
  Result<std::string> presign(std::string_view method, std::string_view key, std::chrono::seconds expires,
                              const PresignRequest& request) const;
  // The plain (unsigned) URL of key on `on` (Default: the client's endpoint).
  std::string plain_url(std::string_view key, const Endpoint* on = nullptr) const;

  // How single PUTs sign their body (see PayloadSigning). Default: from
  // S3Settings::payload_signing (MEDIA_S3_PAYLOAD_SIGNING), "auto" ->
  // automatic. Thread-safe; applies to uploads started afterwards.
  void set_payload_signing(PayloadSigning mode) { payload_signing_.store(mode); }
  PayloadSigning payload_signing() const { return payload_signing_.load(); }

  // The credentials requests are signed with (tests, diagnostics).
  CredentialCache& credential_cache() const { return *credentials_; }

  // Tests: replace the sleep between retries, read the budget.
  void set_sleep_for_tests(SleepFn sleep) { sleep_ = std::move(sleep); }
  RetryBudget& retry_budget() { return budget_; }
  const RetryPolicy& retry_policy() const { return policy_; }

  // One request as the client sends it (internal, public for multipart.cpp).
  struct Op {
    std::string method;
    std::string key;  // empty = the bucket
    std::vector<std::pair<std::string, std::string>> query;
    Headers headers;               // besides Host and the signing headers
    BodySource* source = nullptr;  // body, streamed
    std::uint64_t source_size = 0;
    std::string_view body;     // body, in memory (when source is null)
    std::string payload_hash;  // hex sha256 of the body; computed when empty
    // Streaming-signed body (source must be this object; payload_hash is
    // kStreamingPayload); its signing context is set on every attempt.
    ChunkedSigningSource* chunked = nullptr;
    BodySink* sink = nullptr;  // 2xx body destination (null: response.body)
    ProgressFn progress;
  };
  // Signs and sends with retries. A non-2xx answer becomes its mapped Status.
  Result<HttpResponse> execute(Op& op);

 private:
  std::string what(const Op& op) const;
  // A create-only request's 412 PreconditionFailed -> already_exists.
  Status create_only_status(const Status& s, std::string_view key) const;

  S3Settings settings_;
  Endpoint endpoint_;
  std::shared_ptr<CredentialCache> credentials_;
  RetryPolicy policy_;
  RetryBudget budget_;
  HttpClient http_;
  SleepFn sleep_;
  std::atomic<PayloadSigning> payload_signing_{PayloadSigning::automatic};
};

// Content-Type (Default application/octet-stream), Cache-Control,
// Content-Disposition and x-amz-meta-<lower-case name> for an upload.
void add_object_headers(Headers& headers, const PutObjectOptions& options);

// Headers of a HEAD/GET answer -> ObjectHead.
ObjectHead parse_object_head(const HttpResponse& response);

// The part size actually used for an object of `size` bytes: the configured
// one, grown (to a whole MiB) when the object would need more than 10000
// parts.
std::uint64_t effective_part_size(std::uint64_t configured, std::optional<std::uint64_t> size);

}  // namespace mediastore::s3
