#include "storage/file_util.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mediastore::detail {

Status write_all(int fd, const void* data, std::size_t n, std::string_view what) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, what);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return Status::Ok();
}

Result<std::size_t> FdSource::read(void* buf, std::size_t n) {
  auto r = read_at(pos_, buf, n);
  if (r.ok()) pos_ += *r;
  return r;
}

Result<std::size_t> FdSource::read_at(std::uint64_t offset, void* buf, std::size_t n) {
  if (offset >= size_) return std::size_t{0};
  n = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - offset));
  return pread_some(fd_, buf, n, offset, what_);
}

}  // namespace mediastore::detail
