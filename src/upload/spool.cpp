#include "upload/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mediastore::detail {
namespace {

Status errno_status(int err, const std::string& what) {
  std::string msg = fmt::format("{}: {}", what, std::strerror(err));
  switch (err) {
    case ENOENT: return Status::NotFound(msg);
    case EACCES:
    case EPERM:
    case EROFS: return Status::PermissionDenied(msg);
    default: return Status::IoError(msg);
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status write_all(int fd, const char* p, std::size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, fmt::format("cannot write spool file '{}'", path));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return Status::Ok();
}

Status make_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return errno_status(ec.value(), fmt::format("cannot create spool folder '{}'", dir));
  return Status::Ok();
}

}  // namespace

std::string spool_path(const std::string& dir, const std::string& id) { return dir + "/" + id + ".spool"; }

Result<std::uint64_t> spool_write(const std::string& dir, const std::string& id, const UploadRequest& request,
                                  std::uint64_t max_bytes) {
  MS_RETURN_IF_ERROR(make_dirs(dir));
  const std::string final_path = spool_path(dir, id);
  const std::string tmp_path = dir + "/" + id + ".tmp";
  Fd out;
  out.fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out.fd < 0) return errno_status(errno, fmt::format("cannot create spool file '{}'", tmp_path));
  std::uint64_t total = 0;
  Status st;
  if (!request.source_path.empty()) {
    Fd in;
    in.fd = ::open(request.source_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in.fd < 0) {
      st = errno_status(errno, fmt::format("cannot open upload source '{}'", request.source_path));
    } else {
      std::vector<char> buf(1 << 16);
      for (;;) {
        ssize_t r = ::read(in.fd, buf.data(), buf.size());
        if (r < 0) {
          if (errno == EINTR) continue;
          st = errno_status(errno, fmt::format("cannot read upload source '{}'", request.source_path));
          break;
        }
        if (r == 0) break;
        total += static_cast<std::uint64_t>(r);
        if (total > max_bytes) {
          st = Status::TooLarge(
              fmt::format("{}: larger than the {} byte upload limit", request.original_filename, max_bytes));
          break;
        }
        st = write_all(out.fd, buf.data(), static_cast<std::size_t>(r), tmp_path);
        if (!st.ok()) break;
      }
    }
  } else {
    total = request.data.size();
    if (total > max_bytes) {
      st = Status::TooLarge(
          fmt::format("{}: {} bytes exceed the {} byte upload limit", request.original_filename, total, max_bytes));
    } else {
      st = write_all(out.fd, request.data.data(), request.data.size(), tmp_path);
    }
  }
  if (st.ok() && ::fsync(out.fd) != 0) st = errno_status(errno, fmt::format("cannot flush spool file '{}'", tmp_path));
  if (st.ok() && ::rename(tmp_path.c_str(), final_path.c_str()) != 0)
    st = errno_status(errno, fmt::format("cannot rename spool file '{}'", tmp_path));
  if (!st.ok()) {
    ::unlink(tmp_path.c_str());
    return st;
  }
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0 || ::fsync(d.fd) != 0) {
    Status s = errno_status(errno, fmt::format("cannot flush spool folder '{}'", dir));
    ::unlink(final_path.c_str());
    return s;
  }
  return total;
}

Result<bool> spool_remove(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  return errno_status(errno, fmt::format("cannot remove spool file '{}'", path));
}

Result<std::vector<SpoolEntry>> spool_list(const std::string& dir) {
  std::vector<SpoolEntry> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return errno_status(errno, fmt::format("cannot list spool folder '{}'", dir));
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    std::string id;
    for (const char* suffix : {".spool", ".tmp"}) {
      std::size_t n = std::strlen(suffix);
      if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0) id = name.substr(0, name.size() - n);
    }
    if (id.empty()) continue;
    std::string path = dir + "/" + name;
    struct stat sb;
    if (::stat(path.c_str(), &sb) != 0) continue;
    out.push_back(SpoolEntry{id, path,
                             std::chrono::system_clock::time_point(std::chrono::seconds(sb.st_mtim.tv_sec) +
                                                                   std::chrono::nanoseconds(sb.st_mtim.tv_nsec))});
  }
  ::closedir(d);
  return out;
}

}  // namespace mediastore::detail
