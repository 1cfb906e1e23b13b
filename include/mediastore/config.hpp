// Config: how libmediastore is set up, filled explicitly or from the
// service's environment variables.
//
// Variables read by Config::from_environment (names are the service's own):
//   MEDIA_STORAGE_BACKEND   local | minio | s3                 Default: local
//   MEDIA_ROOT              local backend root folder          Default: ./media
//   MEDIA_URL               public URL prefix of local media   Default: /media/
//   MEDIA_URL_SIGNING_KEY   if set, local get_url() signs expiring URLs
//   MAX_UPLOAD_SIZE         bytes                              Default: 104857600
//   MEDIA_UPLOAD_GRANT_SECRET  HMAC key of upload grants (grant.hpp); unset = none
//   MINIO_ENDPOINT          host:port or http(s)://host:port   (minio)
//   MINIO_ACCESS_KEY, MINIO_SECRET_KEY, MINIO_BUCKET_NAME      (minio)
//   MINIO_USE_SSL           true|false                         Default: false
//   MINIO_REGION            Default: us-east-1
//   AWS_STORAGE_BUCKET_NAME, AWS_DEFAULT_REGION (Default us-east-1),
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN  (s3)
//   AWS_S3_ENDPOINT_URL     endpoint override for other S3-compatible stores
//   AWS_S3_ADDRESSING_STYLE virtual | path       Default: virtual (s3), path (minio)
//   AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE     shared credentials file lookup
//   AWS_CA_BUNDLE           CA file for TLS verification
//   AWS_MAX_ATTEMPTS        Default: 3
//   MEDIA_AUTO_CREATE_BUCKET  true|false  Default: false
//   MEDIA_METADATA_CONTEXT_KEYS  upload context keys copied into object
//                           metadata (comma-separated)         Default: none
//   MEDIA_S3_CONDITIONAL_MULTIPART true|false  Default: false (see S3Settings)
//   AWS_QUERYSTRING_AUTH    true|false  presigned (true) or plain URLs  Default: true
//   AWS_QUERYSTRING_EXPIRE  seconds a URL is valid                     Default: 3600
//   AWS_S3_CUSTOM_DOMAIN    CDN/public host serving the bucket's keys  Default: none
//   AWS_S3_URL_PROTOCOL     https: | http:  for AWS_S3_CUSTOM_DOMAIN   Default: https:
//   MEDIA_S3_PUBLIC_ENDPOINT  endpoint as browsers reach it            Default: the endpoint
//   Credentials beyond these (web identity, container endpoint, IMDSv2):
//   see src/s3/credentials.hpp and docs/configuration.md.
//   MEDIA_QUEUE_BACKEND     memory | sqlite | redis            Default: memory
//   MEDIA_QUEUE_URL         sqlite file path or redis://host:port/db
//                           Default (sqlite): MEDIA_STATE_DIR/queue.sqlite3
//   MEDIA_STATE_DIR         the library's own files (spool, SQLite queue),
//                           never inside MEDIA_ROOT   Default: "<MEDIA_ROOT>.state"
//   MEDIA_SPOOL_DIR         where accepted uploads are spooled (local staging)
//                           Default: MEDIA_STATE_DIR/spool
//   MEDIA_STAGING           local | storage: where an accepted upload's bytes
//                           wait for a worker   Default: storage with redis, else local
//   MEDIA_STAGING_PREFIX    key prefix of staged uploads in the storage backend,
//                           ends with '/'       Default: staging/
//   MEDIA_THUMBNAIL_FORMATS comma-separated jpeg, webp, avif   Default: jpeg
//   MEDIA_CLAMD_URL         unix:/PATH or tcp://HOST:PORT of clamd; empty = no scanning
//   MEDIA_SCAN              off | required   Default: required when MEDIA_CLAMD_URL is set, else off
//   MEDIA_SCAN_UNSCANNED    refuse | accept                    Default: refuse
//   MEDIA_CLAMD_STREAM_MAX_BYTES  clamd's StreamMaxLength      Default: 26214400 (25 MiB)
//   MEDIA_CLAMD_TIMEOUT     seconds, or N ms / N s             Default: 30 s
//   MEDIA_DEDUP_SCOPE_KEY   upload context key scoping duplicate detection;
//                           empty = none                       Default: circle_id
//
// Paths (MEDIA_ROOT, MEDIA_STATE_DIR, MEDIA_SPOOL_DIR, a SQLite
// MEDIA_QUEUE_URL) are made absolute against the working folder once, by
// from_lookup/from_environment, so a later chdir changes nothing; they are
// logged absolute when the spool and the queue are opened.
//
// A bad value is invalid_argument naming the variable. Secrets are never part
// of a message; describe() masks them.
//
// Thread-safety: a Config is a plain value.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mediastore/export.hpp"
#include "mediastore/status.hpp"

namespace mediastore {

enum class BackendKind { local, minio, s3 };
enum class QueueKind { memory, sqlite, redis };
// Where an accepted upload's bytes wait for a worker: `local`, a file in the
// accepting process's spool folder (one machine), or `storage`, an object
// "<staging_prefix><upload id>" in the storage backend (web nodes and workers
// that share no disk).
enum class StagingKind { local, storage };
// An encoding of thumbnails: JPEG (libjpeg-turbo), WebP (libwebp, lossy) or
// AVIF (libheif with its AV1 encoder; Debian 12 builds libheif with libaom).
enum class ThumbnailFormat { jpeg, webp, avif };

MS_API const char* backend_kind_name(BackendKind kind) noexcept;
MS_API const char* queue_kind_name(QueueKind kind) noexcept;
// "local", "storage" (the MEDIA_STAGING spelling).
MS_API const char* staging_kind_name(StagingKind kind) noexcept;
// "jpeg", "webp", "avif" (the MEDIA_THUMBNAIL_FORMATS spelling).
MS_API const char* thumbnail_format_name(ThumbnailFormat format) noexcept;
// The file extension without the dot: "jpg", "webp", "avif".
MS_API const char* thumbnail_format_extension(ThumbnailFormat format) noexcept;
// "image/jpeg", "image/webp", "image/avif".
MS_API const char* thumbnail_format_content_type(ThumbnailFormat format) noexcept;
// Whether this build can encode `format`: JPEG and WebP always; AVIF when
// libheif has an AV1 encoder plugin (libaom, rav1e or SVT-AV1). Thread-safe.
MS_API bool thumbnail_format_available(ThumbnailFormat format) noexcept;

// Settings of the S3 client, resolved from either the MINIO_* or the AWS_*
// variables. Empty credentials mean: look them up in the credential chain.
struct S3Settings {
  std::string endpoint;  // "https://s3.us-east-1.amazonaws.com" or "http://127.0.0.1:7480"
  std::string region = "us-east-1";
  std::string bucket;
  std::string access_key;                              // secret-adjacent: only a prefix is ever shown
  std::string secret_key;                              // secret
  std::string session_token;                           // secret
  std::string profile;                                 // AWS_PROFILE; Default: "default"
  std::string credentials_file;                        // AWS_SHARED_CREDENTIALS_FILE; Default: ~/.aws/credentials
  bool path_style = false;                             // Default: false for s3, true for minio
  std::string ca_file;                                 // Default: system CA store
  bool verify_tls = true;                              // Default: true
  std::chrono::milliseconds connect_timeout{5000};     // Default: 5 s
  std::chrono::milliseconds low_speed_timeout{30000};  // no byte for this long fails. Default: 30 s
  int max_attempts = 3;                                // Default: 3 (1 = no retries)
  std::uint64_t multipart_threshold = 16ull << 20;     // Default: 16 MiB
  std::uint64_t part_size = 8ull << 20;                // Default: 8 MiB
  int parts_in_flight = 4;                             // Default: 4
  bool auto_create_bucket = false;                     // Default: false
  // How a single PutObject signs its body (MEDIA_S3_PAYLOAD_SIGNING):
  // "whole" (SHA-256 of the whole body before sending), "streaming"
  // (aws-chunked, each chunk signed while the previous one is sent) or
  // "auto" (streaming from 8 MiB on). Default: "auto".
  std::string payload_signing = "auto";
  // The server honours "If-None-Match: *" on CompleteMultipartUpload
  // (MEDIA_S3_CONDITIONAL_MULTIPART): AWS S3 does; Ceph RGW 16 ignores it
  // and replaces the object. With false, create-only puts
  // (PutOptions::if_none_match) are one PutObject whatever their size (up
  // to 5 GiB). Default: false.
  bool conditional_multipart = false;
  // ---- URLs (StorageBackend::get_url / url); django-storages' names ----
  // AWS_QUERYSTRING_AUTH: URLs are presigned (true) or plain (false, for a
  // public bucket or a CDN). Default: true.
  bool querystring_auth = true;
  // AWS_QUERYSTRING_EXPIRE: seconds a URL made by the Django storage and
  // the C ABI's default stay valid (1 .. 604800). Default: 3600.
  std::int64_t querystring_expire = 3600;
  // AWS_S3_CUSTOM_DOMAIN: a host (or "scheme://host[:port]") serving the
  // bucket's keys at its root, e.g. a CDN: URLs become
  // <url_protocol>//<custom_domain>/<key>, never signed (as django-storages
  // without a CloudFront signer). Default: "" (none).
  std::string custom_domain;
  // AWS_S3_URL_PROTOCOL: "https:" or "http:", for custom_domain without a
  // scheme. Default: "https:".
  std::string url_protocol = "https:";
  // MEDIA_S3_PUBLIC_ENDPOINT: the S3 endpoint as browsers reach it when it
  // differs from the one the library uses (MinIO in Docker:
  // http://minio:9000 inside, http://localhost:9000 outside). URLs are made
  // and signed for it, with the same addressing style. Default: "" (the
  // endpoint).
  std::string public_endpoint;
};

enum class ScanMode { off, required };
enum class UnscannedPolicy { refuse, accept };

MS_API const char* scan_mode_name(ScanMode mode) noexcept;                  // "off", "required"
MS_API const char* unscanned_policy_name(UnscannedPolicy policy) noexcept;  // "refuse", "accept"

// Virus scanning of uploads with clamd (include/mediastore/scan.hpp).
struct ScanSettings {
  // MEDIA_SCAN. off: uploads are not scanned. required: every upload is
  // scanned before anything is stored; when clamd cannot be reached the
  // upload waits (transient retry), it is never accepted unscanned.
  // Default: required when clamd_url is set, else off.
  ScanMode mode = ScanMode::off;
  // MEDIA_CLAMD_URL: "unix:/run/clamav/clamd.ctl" or "tcp://127.0.0.1:3310"
  // (HOST a name, an IPv4 address or [IPv6]). Default: empty (no scanning).
  std::string clamd_url;
  // MEDIA_CLAMD_STREAM_MAX_BYTES: the StreamMaxLength of that clamd. A file
  // larger than this is not sent at all and its outcome is `unscanned`.
  // Default: 25 MiB, clamd's default.
  std::uint64_t stream_max_bytes = 25ull << 20;
  // MEDIA_CLAMD_TIMEOUT: the longest wait for clamd (connect, each chunk
  // sent, the verdict). Default: 30 s.
  std::chrono::milliseconds timeout{30000};
  // MEDIA_SCAN_UNSCANNED: what becomes of an upload clamd did not scan in
  // full (over its size limits). Default: refuse.
  UnscannedPolicy unscanned = UnscannedPolicy::refuse;
};

struct MS_API Config {
  BackendKind backend = BackendKind::local;
  std::string media_root = "./media";
  std::string media_url = "/media/";
  std::string url_signing_key;                // secret; empty = plain MEDIA_URL + key
  std::uint64_t max_upload_size = 104857600;  // Default: 100 MiB
  // secret; signs and checks upload grants (grant.hpp). Empty = no grants can
  // be issued or verified (`mediastore serve` refuses to start).
  std::string upload_grant_secret;
  // Longest accepted video, seconds (MAX_VIDEO_DURATION). Default: 600 (10 min)
  std::uint64_t max_video_duration = 600;
  S3Settings s3;
  QueueKind queue = QueueKind::memory;
  std::string queue_url;  // empty = sqlite: effective_sqlite_path(); redis: required
  // The library's own files: the upload spool and the default SQLite queue
  // file. A web server that serves MEDIA_ROOT must never see them, so the
  // default is a sibling of the root. Empty = media_root + ".state".
  std::string state_dir;
  // Empty = effective_state_dir() + "/spool". An explicit spool_dir without
  // state_dir keeps the former default queue file spool_dir + "/queue.sqlite3".
  std::string spool_dir;
  // MEDIA_STAGING: where accepted uploads wait for a worker. nullopt =
  // follow the queue (effective_staging()): storage for redis (the workers
  // may be on other hosts), local otherwise. Default: nullopt.
  std::optional<StagingKind> staging;
  // MEDIA_STAGING_PREFIX: the key prefix of staged uploads in the storage
  // backend ("<prefix><upload id>"); non-empty, ends with '/', and neither
  // inside nor around UploadOptions::key_prefix (UploadService::create
  // refuses an overlap). Default: "staging/".
  std::string staging_prefix = "staging/";
  // Upload context keys that may be copied into object metadata
  // (MEDIA_METADATA_CONTEXT_KEYS=key1,key2; "original-filename" for the
  // file name). See UploadOptions::metadata_context_keys. Default: none.
  std::vector<std::string> metadata_context_keys;
  // Formats every thumbnail is encoded in, in this order, each once, never
  // empty (MEDIA_THUMBNAIL_FORMATS). Default: {jpeg}.
  std::vector<ThumbnailFormat> thumbnail_formats{ThumbnailFormat::jpeg};
  ScanSettings scan;  // Default: no scanning
  // The upload context key whose value scopes duplicate detection
  // (MEDIA_DEDUP_SCOPE_KEY; see UploadOptions::dedup_scope_key); "" = no
  // duplicate detection. Default: "circle_id".
  std::string dedup_scope_key = "circle_id";

  // Looks a variable up; returns nullopt when it is not set.
  using Lookup = std::function<std::optional<std::string>(std::string_view name)>;

  // Reads the process environment.
  static Result<Config> from_environment();
  // Reads variables through `lookup` (tests, a second configuration for
  // migration: e.g. a lookup that adds a prefix).
  static Result<Config> from_lookup(const Lookup& lookup);

  // Whether `name` is one of the variables from_lookup reads (the list at the
  // top of this file), so that a caller setting a variable by name can refuse
  // a misspelt one instead of having it ignored. Thread-safe.
  static bool is_variable(std::string_view name) noexcept;

  // Checks consistency (bucket present for minio/s3, sizes > 0, the default
  // state folder outside MEDIA_ROOT, thumbnail formats non-empty, without
  // repeats and encodable by this build, ...).
  Status validate() const;

  // The folders and file actually used, absolute (a relative setting is
  // resolved against the current working folder at the time of the call;
  // from_lookup has already resolved the ones it read).
  std::string effective_state_dir() const;
  std::string effective_spool_dir() const;
  // The SQLite queue file used when queue_url is empty: state_dir's
  // "queue.sqlite3"; with only spool_dir set, spool_dir's (the former default).
  std::string effective_sqlite_path() const;
  // `staging` when set, else storage for the redis queue, local otherwise.
  StagingKind effective_staging() const;

  // Human-readable effective configuration, one "NAME=value" per line, with
  // every secret masked ("****") and access keys cut to a 4-character prefix.
  std::string describe() const;
  // Same content as describe() as (name, value) pairs.
  std::vector<std::pair<std::string, std::string>> describe_pairs() const;
};

// Masks a credential for display: first 4 characters then "****".
MS_API std::string mask_secret(std::string_view value, std::size_t keep_prefix = 0);

}  // namespace mediastore
