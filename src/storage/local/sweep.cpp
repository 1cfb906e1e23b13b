// The local backend's sweep of temp files left by crashes.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <memory>

#include "core/log_internal.hpp"
#include "storage/local/local.hpp"

namespace mediastore::detail {

using namespace local;

namespace {

struct Sweeper {
  std::string hidden_rel;  // spool folder relative to the root, "" if none
  std::chrono::system_clock::time_point cutoff;
  std::uint64_t max_entries;
  TempSweep result;

  // Sweeps folder fd (path rel below the root, "" for the root). One
  // descriptor per level is open at a time.
  void sweep(int fd, const std::string& rel) {
    std::vector<std::string> subfolders;
    {
      UniqueFd dup_fd(::dup(fd));
      if (!dup_fd.valid()) return;
      DIR* d = ::fdopendir(dup_fd.get());
      if (!d) return;
      dup_fd.release();
      std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
      while (const dirent* de = ::readdir(d)) {
        const std::string_view n(de->d_name);
        if (n == "." || n == "..") continue;
        if (result.entries_visited >= max_entries) {
          result.complete = false;
          return;
        }
        result.entries_visited++;
        const bool tmp = starts_with(n, kTmpPrefix);
        if (!tmp && de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) continue;
        struct stat st {};
        if (::fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
        const std::string path = rel.empty() ? std::string(n) : rel + "/" + std::string(n);
        if (tmp && S_ISREG(st.st_mode)) {
          if (mtime_of(st) >= cutoff) continue;  // possibly a write in progress
          if (::unlinkat(fd, de->d_name, 0) == 0) {
            result.removed++;
            MS_LOG(info, "storage", "removed the stale temp file '{}' under MEDIA_ROOT (last written {} s ago)",
                   q(path),
                   std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - mtime_of(st))
                       .count());
          }
          continue;
        }
        if (S_ISDIR(st.st_mode) && path != hidden_rel) subfolders.push_back(std::string(n));
      }
    }
    for (const auto& name : subfolders) {
      UniqueFd sub(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) continue;
      sweep(sub.get(), rel.empty() ? name : rel + "/" + name);
      if (!result.complete) return;
    }
  }
};

}  // namespace

TempSweep LocalStorageBackend::remove_stale_temps(std::chrono::seconds max_age, std::uint64_t max_entries) {
  Sweeper sw{hidden_rel_, std::chrono::system_clock::now() - max_age, max_entries, {}};
  UniqueFd root(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return sw.result;  // no root yet: nothing to sweep
  sw.sweep(root.get(), "");
  if (sw.result.removed > 0 || !sw.result.complete)
    MS_LOG(info, "storage", "stale temp sweep of MEDIA_ROOT '{}': removed {} temp files, visited {} entries{}", root_,
           sw.result.removed, sw.result.entries_visited,
           sw.result.complete ? "" : fmt::format(" (stopped at the budget of {} entries)", max_entries));
  return sw.result;
}

}  // namespace mediastore::detail
