// Storage staging (MEDIA_STAGING=storage, internal): an accepted upload's
// bytes as an object "<staging prefix><id>" in the storage backend, written
// before the id is handed out, and a worker's local copy of it for the
// stages that read a file (decoders, the virus scan).
#pragma once

#include <cstdint>
#include <string>

#include "core/fd.hpp"
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

// A worker's local copy of a staged object, streamed from storage (bounded
// memory) into a file of `dir` that has no name (O_TMPFILE; where the
// filesystem lacks it, a file unlinked as soon as it is created), so no
// outcome leaves it behind, a SIGKILL included: the kernel frees it when the
// descriptor closes, with this object. path() ("/proc/self/fd/<n>") opens it
// for the stages. Move-only; one thread.
class StagedCopy {
 public:
  // Creates dir if needed. The storage's not_found (the staged object is
  // gone) becomes not_found naming the upload and the key; other errors are
  // the storage's (with context), transient ones stay transient.
  static Result<StagedCopy> fetch(StorageBackend& storage, const std::string& key, const std::string& dir,
                                  const std::string& id);
  StagedCopy() = default;
  StagedCopy(StagedCopy&&) noexcept = default;
  StagedCopy& operator=(StagedCopy&&) noexcept = default;
  StagedCopy(const StagedCopy&) = delete;
  StagedCopy& operator=(const StagedCopy&) = delete;

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }

 private:
  UniqueFd fd_;
  std::string path_;
  std::uint64_t size_ = 0;
};

}  // namespace mediastore::detail
