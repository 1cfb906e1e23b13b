// StorageBackend: one interface over the local filesystem, MinIO and AWS S3.
//
// Keys are '/'-separated UTF-8 paths of at most 1024 bytes; every backend
// validates every key on every call (see validate_key). Content type and user
// metadata are stored with every object.
//
// Thread-safety: every StorageBackend implementation is safe to call from
// many threads at once. ByteSource/ByteSink objects are used by one call at a
// time.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mediastore/config.hpp"
#include "mediastore/direct.hpp"
#include "mediastore/export.hpp"
#include "mediastore/status.hpp"

namespace mediastore {

using Metadata = std::map<std::string, std::string>;

// Called with (bytes done, bytes total or 0 if unknown). Returning false
// cancels the operation (it then fails with cancelled).
using ProgressFn = std::function<bool(std::uint64_t done, std::uint64_t total)>;

// Where object bytes come from. Implementations must be able to rewind so
// that a failed attempt can be retried.
class MS_API ByteSource {
 public:
  virtual ~ByteSource();
  // Reads up to n bytes into buf; returns 0 at the end.
  virtual Result<std::size_t> read(void* buf, std::size_t n) = 0;
  // Total size if known in advance.
  virtual std::optional<std::uint64_t> size() const = 0;
  // Goes back to the first byte. Default: unsupported (internal error).
  virtual Status rewind();
  // Reads [offset, offset+n) without moving the cursor, for parallel part
  // uploads. Default: unsupported (returns nullopt-like error).
  virtual Result<std::size_t> read_at(std::uint64_t offset, void* buf, std::size_t n);
  // True if read_at() is supported.
  virtual bool random_access() const { return false; }
};

// Where object bytes go.
class MS_API ByteSink {
 public:
  virtual ~ByteSink();
  virtual Status write(const void* data, std::size_t n) = 0;
  // Called before a retried download restarts from the beginning. Default:
  // unsupported (the download fails instead of retrying).
  virtual Status reset();
};

// A source over memory the caller keeps alive for the call.
class MS_API MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  Result<std::size_t> read(void* buf, std::size_t n) override;
  std::optional<std::uint64_t> size() const override { return data_.size(); }
  Status rewind() override {
    pos_ = 0;
    return Status::Ok();
  }
  Result<std::size_t> read_at(std::uint64_t offset, void* buf, std::size_t n) override;
  bool random_access() const override { return true; }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

// A source over a file. open() fails with not_found / permission_denied /
// io_error naming the path.
class MS_API FileSource final : public ByteSource {
 public:
  static Result<std::unique_ptr<FileSource>> open(const std::string& path);
  ~FileSource() override;
  Result<std::size_t> read(void* buf, std::size_t n) override;
  std::optional<std::uint64_t> size() const override { return size_; }
  Status rewind() override;
  Result<std::size_t> read_at(std::uint64_t offset, void* buf, std::size_t n) override;
  bool random_access() const override { return true; }

 private:
  FileSource(int fd, std::uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
  std::string path_;
};

// A sink appending to a std::string owned by the caller.
class MS_API StringSink final : public ByteSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  Status write(const void* data, std::size_t n) override;
  Status reset() override {
    out_.clear();
    return Status::Ok();
  }

 private:
  std::string& out_;
};

// What a backend knows about a stored object.
struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::string content_type;  // Default when none stored: application/octet-stream
  std::string etag;          // without quotes
  std::chrono::system_clock::time_point last_modified{};
  std::string cache_control;        // may be empty
  std::string content_disposition;  // may be empty
  Metadata user_metadata;           // x-amz-meta-* (keys lower-case, without prefix)
};

struct PutOptions {
  std::string content_type = "application/octet-stream";
  std::string cache_control;
  std::string content_disposition;
  Metadata user_metadata;
  ProgressFn progress;  // optional
  // The content's SHA-256 (64 lower-case hex digits) when the caller already
  // knows it, e.g. from validation. Every backend holds the put to it: a
  // wrong value fails the put and stores nothing (local: invalid_argument,
  // checked while writing; S3: the server refuses the signed body,
  // network_error naming XAmzContentSHA256Mismatch), and any other form is
  // invalid_argument before anything is written. Besides, the S3 backend
  // signs a single PUT with it instead of reading the source once more to
  // hash it. Default: "" (nothing to check; computed where needed).
  std::string sha256;
  // Create only: the put fails with already_exists, storing nothing, when
  // the key already holds an object, decided atomically by the store (of
  // two concurrent create-only puts of one key exactly one succeeds). Local:
  // checked under the folder lock every commit holds, published with
  // link(), which never replaces. S3: "If-None-Match: *" on PutObject and
  // on CompleteMultipartUpload (the server answers 412); for a server that
  // ignores the header, see S3Settings::conditional_put. Default: false
  // (replace).
  bool if_none_match = false;
};

// [offset, offset+length); length nullopt = to the end. A range starting past
// the end reads zero bytes (not an error).
struct ByteRange {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
};

// What get_url(key, UrlOptions) makes.
struct UrlOptions {
  // How long a signed URL is valid: 1 s .. 7 days, else invalid_argument.
  // Default: 3600 s (django-storages' querystring_expire).
  std::chrono::seconds expires_in{3600};
  // The request the URL is for: "GET", "HEAD" or "PUT" (a presigned upload;
  // S3 with signing only). Anything else is invalid_argument. Default: GET.
  std::string http_method = "GET";
  // Headers the server answers a GET/HEAD with instead of the stored ones,
  // e.g. {"content-disposition", "attachment; filename=\"IMG_1.jpg\""} for a
  // "download original" link. Names (lower-case): content-type,
  // content-disposition, cache-control, content-language, content-encoding,
  // expires. S3 signs them as response-<name> query parameters, so a changed
  // value is refused (403); they need a signed URL. The local backend does
  // not support them (invalid_argument). Default: none.
  std::map<std::string, std::string> response_headers;
  // Whether to sign. nullopt: the backend's setting (S3:
  // S3Settings::querystring_auth, AWS_QUERYSTRING_AUTH; local: signed when
  // MEDIA_URL_SIGNING_KEY is set). false on S3 gives a plain URL that works
  // for a public bucket or a CDN. Default: nullopt.
  std::optional<bool> signed_url;
};

struct ListOptions {
  std::string prefix;
  std::string delimiter;   // "" = flat listing; "/" = one folder level
  std::string page_token;  // from ListPage::next_page_token; "" = first page
  int max_keys = 1000;     // Default: 1000 (1..1000)
};

struct ListPage {
  std::vector<ObjectInfo> objects;           // sorted by key
  std::vector<std::string> common_prefixes;  // with delimiter only, sorted
  std::string next_page_token;               // "" when this is the last page
};

class MS_API StorageBackend {
 public:
  StorageBackend() = default;
  StorageBackend(const StorageBackend&) = delete;
  StorageBackend& operator=(const StorageBackend&) = delete;
  virtual ~StorageBackend();

  // "local", "s3", ... for diagnostics.
  virtual std::string name() const = 0;

  // Stores the object at key, replacing any previous one atomically: readers
  // see the old or the new object, never a mix or a partial one.
  virtual Status put(std::string_view key, ByteSource& source, const PutOptions& options) = 0;

  // Streams the object (or a range of it) into sink without holding it in
  // memory. not_found if there is no such object.
  virtual Status read(std::string_view key, ByteSink& sink, const std::optional<ByteRange>& range,
                      const ProgressFn& progress) = 0;

  virtual Result<ObjectInfo> stat(std::string_view key) = 0;

  // Deleting a missing key succeeds (S3 semantics).
  virtual Status remove(std::string_view key) = 0;

  // Deletes many keys; returns the per-key failures (empty on full success).
  // Default: calls remove() for each key.
  virtual Result<std::vector<std::pair<std::string, Status>>> remove_many(const std::vector<std::string>& keys);

  virtual Result<ListPage> list(const ListOptions& options) = 0;

  // Copies an object with its content type and metadata.
  virtual Status copy(std::string_view from_key, std::string_view to_key) = 0;

  // Copies an object giving the copy the content type, cache control,
  // content disposition and user metadata of `options` instead of the
  // source's (options.progress and if_none_match are not used). When
  // options.sha256 is set it must be the source's SHA-256: the local backend
  // checks it while copying (invalid_argument, nothing stored); S3 copies
  // server-side (CopyObject with x-amz-metadata-directive REPLACE, sources
  // up to 5 GiB; larger ones are invalid_argument) and does not rehash.
  // not_found when from_key holds no object. Default: not_supported (the
  // caller puts the bytes instead). Thread-safe.
  virtual Status copy_with(std::string_view from_key, std::string_view to_key, const PutOptions& options);

  // Aborts the unfinished multipart uploads whose key starts with `prefix`
  // and that were started before `started_before`; returns how many were
  // aborted. Default: 0 (backends without multipart uploads, e.g. local).
  // Thread-safe.
  virtual Result<std::uint64_t> abort_multipart_uploads(std::string_view prefix,
                                                        std::chrono::system_clock::time_point started_before);

  // A URL a client can fetch the object with. expires_in applies where the
  // backend signs URLs (S3 presigned, local with MEDIA_URL_SIGNING_KEY);
  // range: 1 s .. 7 days, else invalid_argument.
  // On S3 it follows the URL settings (custom domain, public endpoint,
  // querystring_auth) as url() with only expires_in set does.
  virtual Result<std::string> get_url(std::string_view key, std::chrono::seconds expires_in) = 0;

  // A URL for key as options ask (see UrlOptions). S3: presigned, or plain
  // without signing; on S3Settings::custom_domain when set (plain URLs
  // only, as django-storages makes them), else on
  // S3Settings::public_endpoint when set (signed for that host), else on
  // the endpoint. Default implementation (local and other backends): GET or
  // HEAD without response headers is get_url(key, expires_in); anything
  // else is invalid_argument naming the backend. Thread-safe.
  virtual Result<std::string> url(std::string_view key, const UrlOptions& options);

  // Checks that the backend answers (the bucket exists, the root is writable).
  virtual Status ping() = 0;

  // ---- direct uploads (direct.hpp): the client sends the bytes itself ----

  // Plans the upload of spec.size bytes to key: one presigned PUT below the
  // multipart threshold, else a multipart upload created now with one
  // presigned UploadPart per part. Nothing is stored until the client sends
  // the bytes; a plan never completed must be aborted (abort_direct_upload)
  // or its parts stay in the store. invalid_argument for a bad key or spec,
  // too_large above 5 TiB. S3 URLs are made on S3Settings::public_endpoint
  // when set. Default (the local backend): not_supported, naming the
  // alternatives. Thread-safe.
  virtual Result<DirectUploadPlan> begin_direct_upload(std::string_view key, const DirectUploadSpec& spec);

  // Finishes a plan once the client has sent everything: for multipart, the
  // client's ETags are checked against the store's parts (ListParts: every
  // part 1..N present, of the planned size, with that ETag) and the upload
  // completed; then the object is checked (HEAD: it exists and has
  // plan.size bytes). Returns its info. Reads plan.key, size, upload_id and
  // part_size only. Errors name the part or the size at fault:
  // invalid_argument (parts missing from or repeated in `parts`, an empty
  // ETag), not_found (nothing uploaded, a part never sent, the multipart
  // upload gone), conflict (a part or the object of another size, an ETag
  // that is not the stored part's). Calling it again after a success
  // succeeds again (the object is checked once more). Default:
  // not_supported. Thread-safe.
  virtual Result<ObjectInfo> complete_direct_upload(const DirectUploadPlan& plan,
                                                    const std::vector<UploadedPart>& parts);

  // Drops a plan: aborts its multipart upload (its parts are deleted) and
  // removes whatever object the client stored at plan.key. Succeeds when
  // there is nothing left to drop. Default: not_supported. Thread-safe.
  virtual Status abort_direct_upload(const DirectUploadPlan& plan);

  // ---- conveniences built on the primitives above (non-virtual) ----

  // The service's save(): stores content under a fresh unique key
  // "YYYY/MM/DD/<16 hex>_<sanitised filename>" and returns that key.
  Result<std::string> save(ByteSource& source, std::string_view filename, const PutOptions& options);

  Status put_bytes(std::string_view key, std::string_view data, const PutOptions& options);
  Status put_file(std::string_view key, const std::string& path, const PutOptions& options);
  Result<std::string> read_bytes(std::string_view key, const std::optional<ByteRange>& range = std::nullopt);
  // Downloads into path atomically (temp file + rename).
  Status read_to_file(std::string_view key, const std::string& path, const ProgressFn& progress = {});
  Result<bool> exists(std::string_view key);
  Result<ObjectInfo> get_metadata(std::string_view key) { return stat(key); }
  // Lists every object under prefix, following page tokens.
  Result<std::vector<ObjectInfo>> list_all(std::string_view prefix);
};

// Forwards every call to a target; derive from it to decorate a backend
// (retries, metrics, fault injection) without touching the backends.
class MS_API StorageWrapper : public StorageBackend {
 public:
  explicit StorageWrapper(std::shared_ptr<StorageBackend> target) : target_(std::move(target)) {}
  std::string name() const override { return target_->name(); }
  Status put(std::string_view key, ByteSource& source, const PutOptions& options) override {
    return target_->put(key, source, options);
  }
  Status read(std::string_view key, ByteSink& sink, const std::optional<ByteRange>& range,
              const ProgressFn& progress) override {
    return target_->read(key, sink, range, progress);
  }
  Result<ObjectInfo> stat(std::string_view key) override { return target_->stat(key); }
  Status remove(std::string_view key) override { return target_->remove(key); }
  Result<std::vector<std::pair<std::string, Status>>> remove_many(const std::vector<std::string>& keys) override {
    return target_->remove_many(keys);
  }
  Result<ListPage> list(const ListOptions& options) override { return target_->list(options); }
  Status copy(std::string_view from_key, std::string_view to_key) override { return target_->copy(from_key, to_key); }
  Status copy_with(std::string_view from_key, std::string_view to_key, const PutOptions& options) override {
    return target_->copy_with(from_key, to_key, options);
  }
  Result<std::uint64_t> abort_multipart_uploads(std::string_view prefix,
                                                std::chrono::system_clock::time_point started_before) override {
    return target_->abort_multipart_uploads(prefix, started_before);
  }
  Result<std::string> get_url(std::string_view key, std::chrono::seconds expires_in) override {
    return target_->get_url(key, expires_in);
  }
  Result<std::string> url(std::string_view key, const UrlOptions& options) override {
    return target_->url(key, options);
  }
  Status ping() override { return target_->ping(); }
  Result<DirectUploadPlan> begin_direct_upload(std::string_view key, const DirectUploadSpec& spec) override {
    return target_->begin_direct_upload(key, spec);
  }
  Result<ObjectInfo> complete_direct_upload(const DirectUploadPlan& plan,
                                            const std::vector<UploadedPart>& parts) override {
    return target_->complete_direct_upload(plan, parts);
  }
  Status abort_direct_upload(const DirectUploadPlan& plan) override { return target_->abort_direct_upload(plan); }
  StorageBackend& target() { return *target_; }

 private:
  std::shared_ptr<StorageBackend> target_;
};

// Checks a key: non-empty, <= 1024 bytes, valid UTF-8, no NUL or control
// characters, no backslash, not absolute, no empty, "." or ".." segment.
// invalid_argument naming the key otherwise.
MS_API Status validate_key(std::string_view key);

// Builds the backend that config selects. The returned object is shared and
// thread-safe.
MS_API Result<std::shared_ptr<StorageBackend>> make_storage(const Config& config);

// Local URL signing (MEDIA_URL_SIGNING_KEY): checks a URL produced by the
// local backend's get_url() — signature (constant-time) and expiry.
// `now` defaults to the current time. Returns ok, permission_denied
// (bad signature) or timeout-free invalid_argument (malformed URL) / conflict
// is not used: an expired URL is permission_denied with "expired".
MS_API Status verify_local_url(std::string_view url, std::string_view signing_key,
                               std::optional<std::chrono::system_clock::time_point> now = std::nullopt);

}  // namespace mediastore
