// The local backend's internals shared by its files (src/storage/local/):
// reserved names, path resolution beneath the root that never follows a
// symbolic link (paths.cpp), metadata sidecars (sidecar.cpp), and the
// backend's Impl, whose functions live in backend.cpp (opening objects) and
// write.cpp (atomic writes and removal). Listing is list.cpp, the stale temp
// sweep sweep.cpp, URLs url.cpp. The class and its contract:
// storage/local_backend.hpp.
#pragma once

#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/file_util.hpp"
#include "storage/key.hpp"
#include "storage/local_backend.hpp"

namespace mediastore::detail {

namespace local {

// ---- names, sizes ----

inline constexpr std::string_view kReservedTop = ".mediastore";  // top folder of sidecars
inline constexpr std::string_view kTmpPrefix = ".mediastore-tmp.";
inline constexpr std::size_t kChunk = 1 << 20;            // I/O buffer
inline constexpr std::size_t kMaxSidecarBytes = 1 << 20;  // larger sidecars read as none
inline constexpr int kRetries = 8;                        // of a step that lost a race with another writer

// A key as messages show it.
inline std::string q(std::string_view key) { return escape_for_message(key); }

inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "a/b/c" -> {"a", "b", "c"}.
std::vector<std::string> split_key(std::string_view key);
// segs[0..n) joined by '/'.
std::string join(const std::vector<std::string>& segs, std::size_t n);

std::chrono::system_clock::time_point mtime_of(const struct stat& st);

// fsync(fd), its failure ignored; fd < 0 is ignored.
void fsync_quiet(int fd);

// ---- path resolution beneath the root ----

enum class Walk { read, create, create_replacing_files };

// Opens the folder reached from base through segs[0..n), never following a
// symbolic link. With create, missing folders are made (and their parent
// fsynced); with create_replacing_files a regular file in the way is removed
// first (used in the sidecar tree, where such a file is a stale sidecar).
// not_found (Walk::read) names `key`; a symbolic link is permission_denied.
Result<UniqueFd> open_folder(int base, const std::vector<std::string>& segs, std::size_t n, Walk mode,
                             std::string_view key);

// Removes now-empty folders segs[0..n) from the deepest up, below base.
void prune_folders(int base, const std::vector<std::string>& segs, std::size_t n);

// Holds an exclusive flock on a folder descriptor for one commit.
class FolderLock {
 public:
  explicit FolderLock(int fd) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FolderLock() { ::flock(fd_, LOCK_UN); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_;
};

// ---- metadata sidecars (format and crash consistency: write.cpp) ----

// Which version of an object file a sidecar entry describes.
struct Fingerprint {
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const Fingerprint&) const = default;
};

Fingerprint fingerprint_of(const struct stat& st);

struct MetaEntry {
  Fingerprint fp;
  std::string etag;
  std::string content_type;
  std::string cache_control;
  std::string content_disposition;
  Metadata user;
};

// The sidecar text of `entries` ("mediastore-meta 1" and one block each).
std::string serialize(const std::vector<MetaEntry>& entries);
// Parses a sidecar; malformed content yields no entries (the object then
// reads with default metadata rather than failing).
std::vector<MetaEntry> parse(std::string_view text);
// Reads the sidecar `name` in folder dirfd (-1: none). Missing, not a
// regular file, hard-linked or over kMaxSidecarBytes = no entries.
std::vector<MetaEntry> read_sidecar(int dirfd, const std::string& name);
// The entry of the file with fingerprint fp, or null.
const MetaEntry* find_entry(const std::vector<MetaEntry>& entries, const Fingerprint& fp);
// ObjectInfo of the file `st` at key; e (may be null) gives its metadata.
ObjectInfo info_from(std::string_view key, const struct stat& st, const MetaEntry* e);

}  // namespace local

struct LocalStorageBackend::Impl {
  // An object opened for reading, with the metadata entry matching it.
  struct Opened {
    UniqueFd fd;
    struct stat st {};
    ObjectInfo info;
    bool has_entry = false;
  };

  // backend.cpp

  // invalid_argument for keys validate_key refuses and for the reserved
  // names (".mediastore" top folder, temp names, the hidden spool folder).
  static Status check_key(const LocalStorageBackend& self, std::string_view key);
  // The root folder, made first when `create`.
  static Result<UniqueFd> open_root(const LocalStorageBackend& self, bool create);
  // Opens the object at key and reads its metadata entry (retrying when a
  // concurrent commit replaced it in between); with want_etag, an object
  // without an entry gets its MD5 computed.
  static Result<Opened> open_object(const LocalStorageBackend& self, std::string_view key, bool want_etag);

  // write.cpp

  // Removes keys that all share one folder (already checked); failures are
  // appended. A missing key, folder or root is not a failure.
  static void remove_group(const LocalStorageBackend& self, const std::vector<std::string>& keys,
                           std::vector<std::pair<std::string, Status>>& failures);
  // Streams source into the temp file fd, fsyncs it and fills entry's
  // fingerprint and etag.
  static Status write_temp(const UniqueFd& fd, ByteSource& source, const PutOptions& options, std::string_view key,
                           local::MetaEntry& entry);
  // Steps 1-4 of the commit described at the top of write.cpp.
  // no_clobber (PutOptions::if_none_match): already_exists when the key
  // holds an object, checked under the folder lock that every commit takes,
  // and the object published with link() (which never replaces) instead of
  // rename().
  static Status commit(int root, int dir, const std::vector<std::string>& segs, const std::string& tmp,
                       local::MetaEntry entry, std::string_view key, bool no_clobber);
  static Status already_exists(std::string_view key);
};

}  // namespace mediastore::detail
