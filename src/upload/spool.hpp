// The upload spool: accepted sources, written and fsynced before an upload
// id is handed out (internal).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "mediastore/status.hpp"
#include "mediastore/upload.hpp"

namespace mediastore::detail {

// "<dir>/<id>.spool"
std::string spool_path(const std::string& dir, const std::string& id);

// Copies the request's source (file or bytes) to spool_path(dir, id) through a
// temporary file: write, fsync, rename, fsync of the folder. Creates dir if
// needed. too_large (nothing kept) beyond max_bytes. Returns the size.
Result<std::uint64_t> spool_write(const std::string& dir, const std::string& id, const UploadRequest& request,
                                  std::uint64_t max_bytes);

// Removes a spool file; true if it existed. ok when absent.
Result<bool> spool_remove(const std::string& path);

struct SpoolEntry {
  std::string id;    // the file name without ".spool" / ".tmp" suffix
  std::string path;  // full path
  std::chrono::system_clock::time_point modified;
};
// Files of the spool folder (both finished ".spool" and stale ".tmp" ones).
// An absent folder is an empty list.
Result<std::vector<SpoolEntry>> spool_list(const std::string& dir);

}  // namespace mediastore::detail
