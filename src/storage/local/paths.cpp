// Path resolution beneath the local backend's root, one segment at a time
// with O_NOFOLLOW (see storage/local_backend.hpp).
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "storage/local/local.hpp"

namespace mediastore::detail::local {

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto end = key.find('/', start);
    out.emplace_back(key.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& segs, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += '/';
    out += segs[i];
  }
  return out;
}

std::chrono::system_clock::time_point mtime_of(const struct stat& st) {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

void fsync_quiet(int fd) {
  if (fd >= 0) ::fsync(fd);
}

Result<UniqueFd> open_folder(int base, const std::vector<std::string>& segs, std::size_t n, Walk mode,
                             std::string_view key) {
  UniqueFd cur(::dup(base));
  if (!cur.valid()) return errno_status(errno, "dup");
  for (std::size_t i = 0; i < n; ++i) {
    const char* seg = segs[i].c_str();
    for (int attempt = 0;; ++attempt) {
      const int fd = ::openat(cur.get(), seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        cur.reset(fd);
        break;
      }
      const int err = errno;
      if (attempt >= kRetries) return errno_status(err, fmt::format("cannot open the folder of key '{}'", q(key)));
      if (err == ENOENT) {
        if (mode == Walk::read) return Status::NotFound(fmt::format("no object at key '{}'", q(key)));
        if (::mkdirat(cur.get(), seg, 0777) == 0) {
          fsync_quiet(cur.get());
        } else if (errno != EEXIST) {
          return errno_status(errno,
                              fmt::format("cannot create the folder '{}' for key '{}'", q(join(segs, i + 1)), q(key)));
        }
        continue;
      }
      if (err == ELOOP || err == ENOTDIR) {
        struct stat st {};
        if (::fstatat(cur.get(), seg, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // changed meanwhile: retry
        if (S_ISLNK(st.st_mode))
          return Status::PermissionDenied(
              fmt::format("key '{}' passes through the symbolic link '{}', which the local backend never follows",
                          q(key), q(join(segs, i + 1))));
        if (mode == Walk::read) return Status::NotFound(fmt::format("no object at key '{}'", q(key)));
        if (mode == Walk::create_replacing_files && S_ISREG(st.st_mode)) {
          ::unlinkat(cur.get(), seg, 0);
          continue;
        }
        return Status::Conflict(
            fmt::format("cannot store key '{}': '{}' is an object, not a folder", q(key), q(join(segs, i + 1))));
      }
      return errno_status(err, fmt::format("cannot open the folder '{}' of key '{}'", q(join(segs, i + 1)), q(key)));
    }
  }
  return cur;
}

void prune_folders(int base, const std::vector<std::string>& segs, std::size_t n) {
  std::vector<UniqueFd> fds;
  fds.emplace_back(::dup(base));
  for (std::size_t i = 0; i + 1 < n; ++i) {
    const int fd = ::openat(fds.back().get(), segs[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    fds.emplace_back(fd);
  }
  // fds[i] is the folder holding segs[i].
  for (std::size_t i = n; i-- > 0;) {
    if (::unlinkat(fds[i].get(), segs[i].c_str(), AT_REMOVEDIR) != 0) return;
    fsync_quiet(fds[i].get());
  }
}

}  // namespace mediastore::detail::local
