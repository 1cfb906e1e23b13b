// POSIX descriptor helpers shared by the parts (internal): a file descriptor
// owner, errno -> Status mapping, reads that survive EINTR.
#pragma once

#include <cstdint>
#include <string_view>

#include "mediastore/status.hpp"

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

// pread that retries on EINTR; returns bytes read (0 at the end).
Result<std::size_t> pread_some(int fd, void* buf, std::size_t n, std::uint64_t offset, std::string_view what);

}  // namespace mediastore::detail
