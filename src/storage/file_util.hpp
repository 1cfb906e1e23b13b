// Small POSIX helpers for the storage part (internal): a file descriptor
// owner, errno -> Status mapping, full writes that survive EINTR, a source
// over an open descriptor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mediastore/status.hpp"
#include "mediastore/storage.hpp"

namespace mediastore::detail {

// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Maps an errno value to a Status: ENOENT/ENOTDIR -> not_found,
// EACCES/EPERM/EROFS -> permission_denied, ENOSPC/EDQUOT -> io_error with
// "no space left", ENAMETOOLONG -> invalid_argument, everything else io_error.
// The message is "<what>: <strerror>".
Status errno_status(int err, std::string_view what);

// Writes all n bytes (retrying on EINTR and short writes).
Status write_all(int fd, const void* data, std::size_t n, std::string_view what);

// pread that retries on EINTR; returns bytes read (0 at the end).
Result<std::size_t> pread_some(int fd, void* buf, std::size_t n, std::uint64_t offset, std::string_view what);

// A ByteSource over the first `size` bytes of an open descriptor, read with
// pread (so rewinding and random access are free). The caller owns the fd and
// keeps it open while the source is used; `what` starts read error messages.
// Not thread-safe.
class FdSource final : public ByteSource {
 public:
  FdSource(int fd, std::uint64_t size, std::string what) : fd_(fd), size_(size), what_(std::move(what)) {}
  Result<std::size_t> read(void* buf, std::size_t n) override;
  std::optional<std::uint64_t> size() const override { return size_; }
  Status rewind() override {
    pos_ = 0;
    return Status::Ok();
  }
  Result<std::size_t> read_at(std::uint64_t offset, void* buf, std::size_t n) override;
  bool random_access() const override { return true; }

 private:
  int fd_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
  std::string what_;
};

}  // namespace mediastore::detail
