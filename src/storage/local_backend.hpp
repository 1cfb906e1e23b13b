// LocalStorageBackend: objects as files under MEDIA_ROOT (internal).
//
// Layout under the root:
//   <key>                          the object's bytes, exactly as stored (a web
//                                  server may serve MEDIA_ROOT directly)
//   .mediastore/meta/<key>         its metadata sidecar (same tree shape)
//   .../.mediastore-tmp.<hex>      temp files of writes in progress
// The ".mediastore" top folder and any ".mediastore-tmp." name are reserved:
// keys using them are invalid_argument, and list() never shows them. The
// upload spool folder, when it lies inside the root, is hidden and reserved
// the same way.
//
// Every path is resolved from a descriptor of the root one segment at a time
// with O_NOFOLLOW, so a symbolic link inside the root is never followed (the
// operation fails with permission_denied) and nothing outside the root can be
// read, written, listed or deleted.
//
// Thread-safety: safe from many threads and many processes sharing a root.
#pragma once

#include <string>

#include "mediastore/storage.hpp"

namespace mediastore::detail {

struct LocalOptions {
  std::string root;                   // MEDIA_ROOT; made absolute at construction
  std::string media_url = "/media/";  // MEDIA_URL; a missing trailing '/' is added
  std::string signing_key;            // MEDIA_URL_SIGNING_KEY; empty = unsigned URLs
  std::string spool_dir;              // hidden and reserved when inside root; may be empty
};

class LocalStorageBackend final : public StorageBackend {
 public:
  explicit LocalStorageBackend(const Config& config);
  explicit LocalStorageBackend(LocalOptions options);

  std::string name() const override { return "local"; }
  Status put(std::string_view key, ByteSource& source, const PutOptions& options) override;
  Status read(std::string_view key, ByteSink& sink, const std::optional<ByteRange>& range,
              const ProgressFn& progress) override;
  Result<ObjectInfo> stat(std::string_view key) override;
  Status remove(std::string_view key) override;
  // Removes keys folder by folder (one lock and fsync per folder).
  Result<std::vector<std::pair<std::string, Status>>> remove_many(const std::vector<std::string>& keys) override;
  Result<ListPage> list(const ListOptions& options) override;
  Status copy(std::string_view from_key, std::string_view to_key) override;
  Result<std::string> get_url(std::string_view key, std::chrono::seconds expires_in) override;
  Status ping() override;

  // The absolute root folder.
  const std::string& root() const { return root_; }

 private:
  struct Impl;
  std::string root_;
  std::string media_url_;
  std::string signing_key_;
  std::string hidden_rel_;  // spool folder relative to root, "" if none
};

// The signature of a local signed URL: lower-case hex HMAC-SHA256 over
// "<url path>\n<expires>".
std::string local_url_signature(std::string_view signing_key, std::string_view url_path, std::int64_t expires);

// The path part of a URL ("/media/a.jpg" of "https://h/media/a.jpg?x").
std::string_view url_path_of(std::string_view url);

}  // namespace mediastore::detail
