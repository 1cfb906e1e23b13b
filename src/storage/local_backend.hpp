// LocalStorageBackend: objects as files under MEDIA_ROOT (internal). Its
// parts are in storage/local/ (local.hpp says which file holds what; the
// crash consistency of a write is explained at the top of write.cpp).
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
// Hard links: the backend never creates one (writes are temp file + rename),
// so an object file with more than one link was linked by someone else and
// may be another name of a file outside the root (say /etc/shadow on the same
// filesystem). read, stat and copy refuse such a file with permission_denied
// naming the key. put over it is safe as it is: the rename replaces the name
// only and never writes through to the linked file; remove unlinks the name.
//
// Temp files left by a crash (".mediastore-tmp.*" in object and sidecar
// folders) are removed when older than LocalOptions::stale_temp_age, by a
// bounded sweep at construction (StorageBackend has no maintenance hook) and
// by remove_stale_temps(). A write in progress keeps its temp file's mtime
// fresh, so the age threshold protects other processes' writes.
//
// Thread-safety: safe from many threads and many processes sharing a root.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "mediastore/storage.hpp"

namespace mediastore::detail {

struct LocalOptions {
  std::string root;                   // MEDIA_ROOT; made absolute at construction
  std::string media_url = "/media/";  // MEDIA_URL; a missing trailing '/' is added
  std::string signing_key;            // MEDIA_URL_SIGNING_KEY; empty = unsigned URLs
  std::string spool_dir;              // hidden and reserved when inside root; may be empty
  // Temp files older than this are removed by the sweep at construction;
  // 0 = no sweep at construction. Default: 1 hour.
  std::chrono::seconds stale_temp_age{3600};
  // Folder entries the sweep at construction visits at most. Default: 100000.
  std::uint64_t stale_temp_budget = 100000;
};

// What remove_stale_temps() did.
struct TempSweep {
  std::uint64_t entries_visited = 0;
  std::uint64_t removed = 0;
  bool complete = true;  // false when the entry budget ran out first
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
  // A byte copy of the file (the backend never hard-links, see above) with
  // the metadata of `options`; options.sha256 is checked while copying.
  Status copy_with(std::string_view from_key, std::string_view to_key, const PutOptions& options) override;
  Result<std::string> get_url(std::string_view key, std::chrono::seconds expires_in) override;
  Status ping() override;

  // The absolute root folder.
  const std::string& root() const { return root_; }

  // Removes temp files (".mediastore-tmp.*", regular files only) whose mtime
  // is older than max_age anywhere under the root, including the sidecar
  // tree and excluding the hidden spool folder; visits at most max_entries
  // folder entries. Never follows symbolic links. Logs each removal at info.
  // A missing root is an empty sweep. Thread-safe.
  TempSweep remove_stale_temps(std::chrono::seconds max_age, std::uint64_t max_entries);

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
