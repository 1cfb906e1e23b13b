#include "core/fd.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mediastore::detail {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Status errno_status(int err, std::string_view what) {
  const std::string msg = fmt::format("{}: {}", what, std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR: return Status::NotFound(msg);
    case EACCES:
    case EPERM:
    case EROFS: return Status::PermissionDenied(msg);
    case ENAMETOOLONG: return Status::InvalidArgument(msg);
    default: return Status::IoError(msg);
  }
}

Result<std::size_t> pread_some(int fd, void* buf, std::size_t n, std::uint64_t offset, std::string_view what) {
  while (true) {
    const ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) return errno_status(errno, what);
  }
}

}  // namespace mediastore::detail
