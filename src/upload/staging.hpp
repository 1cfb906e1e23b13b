// Storage staging (MEDIA_STAGING=storage, internal): an accepted upload's
// bytes as an object "<staging prefix><id>" in the storage backend, written
// before the id is handed out, and a worker's local copy of it for the
// stages that read a file (decoders, the virus scan).
#pragma once

#include <cstdint>
#include <string>

#include "mediastore/storage.hpp"
#include "mediastore/upload.hpp"

namespace mediastore::detail {

// Puts the request's source (file or bytes) at `key`: the SHA-256 and the
// size are computed first, reading the file once locally, with the limit
// enforced while reading (too_large, nothing stored, beyond max_bytes); the
// put carries that SHA-256 so the store refuses other bytes, and sends
// exactly that many bytes; then stat() must show that size (internal error
// otherwise, the object removed). Returns the size; 0 (nothing stored) for
// an empty source. Content type application/octet-stream (nothing is
// trusted before validation), metadata upload-id and sha256.
Result<std::uint64_t> stage_in_storage(StorageBackend& storage, const std::string& key, const std::string& id,
                                       const UploadRequest& request, std::uint64_t max_bytes);

// A worker's local copy of a staged object: "<dir>/<id>.fetch-<hex>.tmp",
// streamed from storage with read_to_file (bounded memory), removed when the
// object is destroyed. Move-only; one thread.
class StagedCopy {
 public:
  // Creates dir if needed. The storage's not_found (the staged object is
  // gone) becomes not_found naming the upload and the key; other errors are
  // the storage's, transient ones stay transient.
  static Result<StagedCopy> fetch(StorageBackend& storage, const std::string& key, const std::string& dir,
                                  const std::string& id);
  StagedCopy() = default;
  StagedCopy(StagedCopy&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  StagedCopy& operator=(StagedCopy&& o) noexcept;
  StagedCopy(const StagedCopy&) = delete;
  StagedCopy& operator=(const StagedCopy&) = delete;
  ~StagedCopy();

  const std::string& path() const { return path_; }

 private:
  explicit StagedCopy(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace mediastore::detail
