// Listing of the local backend: a depth-first walk of the root in key
// order, with prefixes, delimiters and page tokens as S3 has them.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "storage/local/local.hpp"

namespace mediastore::detail {

using namespace local;

namespace {

struct Entry {
  std::string name;
  std::string sort_name;  // name + "/" for folders: the order of the keys beneath
  bool dir = false;
  struct stat st {};
};

// Entries of a folder except "."/"..", reserved names and anything that is
// neither a regular file nor a folder (symbolic links are never listed).
Result<std::vector<Entry>> read_folder(int fd, bool top) {
  UniqueFd dup_fd(::dup(fd));
  if (!dup_fd.valid()) return errno_status(errno, "dup");
  DIR* d = ::fdopendir(dup_fd.get());
  if (!d) return errno_status(errno, "cannot list a folder");
  dup_fd.release();
  std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
  ::rewinddir(d);
  std::vector<Entry> out;
  while (true) {
    errno = 0;
    const dirent* de = ::readdir(d);
    if (!de) {
      if (errno != 0) return errno_status(errno, "cannot list a folder");
      break;
    }
    std::string_view n(de->d_name);
    if (n == "." || n == ".." || starts_with(n, kTmpPrefix) || (top && n == kReservedTop)) continue;
    Entry e;
    e.name = std::string(n);
    if (::fstatat(fd, de->d_name, &e.st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
    if (S_ISDIR(e.st.st_mode)) {
      e.dir = true;
      e.sort_name = e.name + "/";
    } else if (S_ISREG(e.st.st_mode)) {
      e.sort_name = e.name;
    } else {
      continue;
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.sort_name < b.sort_name; });
  return out;
}

struct Lister {
  const ListOptions& opt;
  std::string hidden_dir;  // "<spool>/" or ""
  ListPage page;
  int count = 0;
  bool more = false;
  std::string last;  // the last item emitted (key or common prefix)

  bool emit_object(ObjectInfo info) {
    if (count == opt.max_keys) {
      more = true;
      return false;
    }
    last = info.key;
    page.objects.push_back(std::move(info));
    ++count;
    return true;
  }
  bool emit_prefix(const std::string& cp) {
    if (count == opt.max_keys) {
      more = true;
      return false;
    }
    last = cp;
    page.common_prefixes.push_back(cp);
    ++count;
    return true;
  }

  // The common prefix an item (key, or folder path ending in '/') rolls up
  // to, or "" when it does not roll up.
  std::string rollup(const std::string& item) const {
    if (opt.delimiter.empty() || item.size() <= opt.prefix.size() || !starts_with(item, opt.prefix)) return "";
    const auto pos = item.find(opt.delimiter, opt.prefix.size());
    if (pos == std::string::npos) return "";
    return item.substr(0, pos + opt.delimiter.size());
  }

  bool already_done(const std::string& item) const { return !opt.page_token.empty() && item <= opt.page_token; }

  // True when the folder holds at least one listable object.
  bool has_object(int fd, const std::string& rel) {
    auto entries = read_folder(fd, false);
    if (!entries.ok()) return false;
    for (const auto& e : *entries) {
      const std::string full = rel + e.sort_name;
      if (!e.dir) {
        if (validate_key(full).ok()) return true;
        continue;
      }
      if (full == hidden_dir) continue;
      UniqueFd sub(::openat(fd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid() && has_object(sub.get(), full)) return true;
    }
    return false;
  }

  // Depth-first walk in key order. Returns false to stop.
  bool walk(int fd, int mfd, const std::string& rel, bool top) {
    auto entries = read_folder(fd, top);
    if (!entries.ok()) return true;
    const std::string& prefix = opt.prefix;
    const std::string& token = opt.page_token;
    for (const auto& e : *entries) {
      const std::string full = rel + e.sort_name;
      if (e.dir) {
        if (full == hidden_dir) continue;
        if (!starts_with(full, prefix) && !starts_with(prefix, full)) continue;
        // Every key beneath starts with `full`: skip the folder if all of them
        // sort before the page token.
        if (!token.empty() && full < token && !starts_with(token, full)) continue;
        UniqueFd sub(::openat(fd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub.valid()) continue;
        const std::string cp = rollup(full);
        if (!cp.empty()) {
          // Every key beneath rolls up to the same common prefix.
          if (already_done(cp) || cp == last) continue;
          if (has_object(sub.get(), full) && !emit_prefix(cp)) return false;
          continue;
        }
        UniqueFd msub;
        if (mfd >= 0) msub.reset(::openat(mfd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!walk(sub.get(), msub.get(), full, false)) return false;
        continue;
      }
      const std::string& key = full;
      if (!starts_with(key, prefix) || !validate_key(key).ok()) continue;
      const std::string cp = rollup(key);
      if (!cp.empty()) {
        if (already_done(cp) || cp == last) continue;
        if (!emit_prefix(cp)) return false;
        continue;
      }
      if (already_done(key)) continue;
      const auto sidecar = read_sidecar(mfd, e.name);
      if (!emit_object(info_from(key, e.st, find_entry(sidecar, fingerprint_of(e.st))))) return false;
    }
    return true;
  }
};

}  // namespace

Result<ListPage> LocalStorageBackend::list(const ListOptions& options) {
  if (options.max_keys < 1 || options.max_keys > 1000)
    return Status::InvalidArgument(fmt::format("max_keys must be 1..1000, got {}", options.max_keys));
  Lister lister{options, hidden_rel_.empty() ? std::string() : hidden_rel_ + "/", {}, 0, false, {}};
  auto root = Impl::open_root(*this, false);
  if (!root.ok()) {
    if (root.status().is(ErrorCode::not_found)) return ListPage{};
    return root.status();
  }
  UniqueFd mfd;
  auto meta_base = open_folder(root->get(), {std::string(kReservedTop), "meta"}, 2, Walk::read, "");
  if (meta_base.ok()) mfd = std::move(*meta_base);
  lister.walk(root->get(), mfd.get(), "", true);
  if (lister.more) lister.page.next_page_token = lister.last;
  return std::move(lister.page);
}

}  // namespace mediastore::detail
