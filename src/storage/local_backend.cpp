// The local filesystem backend.
//
// Crash consistency of an object and its metadata
// ------------------------------------------------
// A put streams the bytes into a temp file in the object's own folder
// (computing the MD5 etag on the way) and fsyncs it. Then, holding an
// exclusive flock() on the sidecar's folder (which serialises commits to the
// keys of that folder across threads and processes), it:
//   1. writes a new sidecar to a temp file and fsyncs it; the sidecar holds
//      one entry per object *version*, each tagged with that file's
//      fingerprint (inode, size, mtime in ns): the entry of the new temp
//      file plus the entry of the object currently under the key, if any;
//   2. renames the sidecar into place and fsyncs its folder, so that the
//      sidecar is durable before the object rename can be;
//   3. renames the object temp file onto the key;
//   4. fsyncs the object's folder.
// Readers open the object first and then pick the sidecar entry whose
// fingerprint matches the file they hold open. A crash (or a reader) between
// 2 and 3 finds the old object with a sidecar that still carries the old
// entry; after 3 it finds the new object and the new entry. A rename never
// changes an inode or mtime, so a fingerprint follows its file. The old file
// stays readable through descriptors already open, so a reader never sees a
// mix. A crash before 3 leaves at most a hidden temp file; the key keeps its
// old object. Removal unlinks the object first and the sidecar second, so a
// crash between leaves only an orphan sidecar that no object matches.
// Files placed under the root by other means have no matching entry: they
// read as application/octet-stream without user metadata, and stat()
// computes their etag.
#include "storage/local_backend.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "storage/file_util.hpp"
#include "storage/key.hpp"

namespace mediastore::detail {

namespace {

constexpr std::string_view kReservedTop = ".mediastore";
constexpr std::string_view kTmpPrefix = ".mediastore-tmp.";
constexpr std::size_t kChunk = 1 << 20;
constexpr std::size_t kMaxSidecarBytes = 1 << 20;
constexpr int kRetries = 8;

std::string q(std::string_view key) { return escape_for_message(key); }

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

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

// ---- fingerprints and sidecars ----

struct Fingerprint {
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const Fingerprint&) const = default;
};

Fingerprint fingerprint_of(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

struct MetaEntry {
  Fingerprint fp;
  std::string etag;
  std::string content_type;
  std::string cache_control;
  std::string content_disposition;
  Metadata user;
};

std::string enc(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7F || c == '%') {
      out += fmt::format("%{:02X}", b);
    } else {
      out += c;
    }
  }
  return out.empty() ? "%" : out;  // a lone "%" stands for the empty string
}

bool dec(std::string_view s, std::string& out) {
  out.clear();
  if (s == "%") return true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const auto hexval = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = hexval(s[i + 1]);
    const int lo = hexval(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

std::string serialize(const std::vector<MetaEntry>& entries) {
  std::string out = "mediastore-meta 1\n";
  for (const auto& e : entries) {
    out += fmt::format("entry {} {} {}\n", e.fp.ino, e.fp.size, e.fp.mtime_ns);
    out += "etag " + enc(e.etag) + "\n";
    out += "content-type " + enc(e.content_type) + "\n";
    out += "cache-control " + enc(e.cache_control) + "\n";
    out += "content-disposition " + enc(e.content_disposition) + "\n";
    for (const auto& [k, v] : e.user) out += "meta " + enc(k) + " " + enc(v) + "\n";
  }
  return out;
}

// Parses a sidecar; malformed content yields no entries (the object then
// reads with default metadata rather than failing).
std::vector<MetaEntry> parse(std::string_view text) {
  std::vector<MetaEntry> out;
  std::size_t pos = 0;
  bool header = false;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!header) {
      if (line != "mediastore-meta 1") return {};
      header = true;
      continue;
    }
    std::vector<std::string_view> f;
    std::size_t s = 0;
    while (s <= line.size()) {
      auto sp = line.find(' ', s);
      if (sp == std::string_view::npos) sp = line.size();
      f.push_back(line.substr(s, sp - s));
      s = sp + 1;
    }
    if (f.empty()) continue;
    if (f[0] == "entry" && f.size() == 4) {
      MetaEntry e;
      try {
        e.fp.ino = std::stoull(std::string(f[1]));
        e.fp.size = std::stoull(std::string(f[2]));
        e.fp.mtime_ns = std::stoll(std::string(f[3]));
      } catch (...) {
        return {};
      }
      out.push_back(std::move(e));
      continue;
    }
    if (out.empty()) return {};
    MetaEntry& e = out.back();
    std::string a, b;
    if (f.size() == 2 && dec(f[1], a)) {
      if (f[0] == "etag")
        e.etag = a;
      else if (f[0] == "content-type")
        e.content_type = a;
      else if (f[0] == "cache-control")
        e.cache_control = a;
      else if (f[0] == "content-disposition")
        e.content_disposition = a;
    } else if (f.size() == 3 && f[0] == "meta" && dec(f[1], a) && dec(f[2], b)) {
      e.user[a] = b;
    }
  }
  return out;
}

// Reads the sidecar `name` in folder dirfd (-1: none). Missing = no entries.
std::vector<MetaEntry> read_sidecar(int dirfd, const std::string& name) {
  if (dirfd < 0) return {};
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return {};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink > 1 ||
      static_cast<std::size_t>(st.st_size) > kMaxSidecarBytes)
    return {};
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    auto r = pread_some(fd.get(), text.data() + got, text.size() - got, got, "sidecar");
    if (!r.ok() || *r == 0) break;
    got += *r;
  }
  text.resize(got);
  return parse(text);
}

const MetaEntry* find_entry(const std::vector<MetaEntry>& entries, const Fingerprint& fp) {
  for (const auto& e : entries)
    if (e.fp == fp) return &e;
  return nullptr;
}

std::chrono::system_clock::time_point mtime_of(const struct stat& st) {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

ObjectInfo info_from(std::string_view key, const struct stat& st, const MetaEntry* e) {
  ObjectInfo info;
  info.key = std::string(key);
  info.size = static_cast<std::uint64_t>(st.st_size);
  info.last_modified = mtime_of(st);
  info.content_type = "application/octet-stream";
  if (e) {
    info.etag = e->etag;
    if (!e->content_type.empty()) info.content_type = e->content_type;
    info.cache_control = e->cache_control;
    info.content_disposition = e->content_disposition;
    info.user_metadata = e->user;
  }
  return info;
}

Result<std::string> md5_of_fd(int fd, std::string_view key) {
  Hasher h(Hasher::Kind::md5);
  std::unique_ptr<char[]> buf(new char[kChunk]);
  std::uint64_t off = 0;
  while (true) {
    auto r = pread_some(fd, buf.get(), kChunk, off, fmt::format("cannot read key '{}'", q(key)));
    if (!r.ok()) return r.status();
    if (*r == 0) break;
    h.update(buf.get(), *r);
    off += *r;
  }
  return hex_lower(h.finish());
}

void fsync_quiet(int fd) {
  if (fd >= 0) ::fsync(fd);
}

// ---- path resolution beneath the root ----

enum class Walk { read, create, create_replacing_files };

// Opens the folder reached from base through segs[0..n), never following a
// symbolic link. With create, missing folders are made (and their parent
// fsynced); with create_replacing_files a regular file in the way is removed
// first (used in the sidecar tree, where such a file is a stale sidecar).
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

// Removes now-empty folders segs[0..n) from the deepest up, below base.
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

// Holds an exclusive flock on a folder descriptor for one commit.
class FolderLock {
 public:
  explicit FolderLock(int fd) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FolderLock() { ::flock(fd_, LOCK_UN); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_;
};

std::string ensure_trailing_slash(std::string s) {
  if (s.empty() || s.back() != '/') s += '/';
  return s;
}

std::string absolute_normal(const std::string& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  if (ec) return p;
  std::string s = abs.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

// ---- the backend ----

struct LocalStorageBackend::Impl {
  // An object opened for reading, with the metadata entry matching it.
  struct Opened {
    UniqueFd fd;
    struct stat st {};
    ObjectInfo info;
    bool has_entry = false;
  };

  static Status check_key(const LocalStorageBackend& self, std::string_view key) {
    MS_RETURN_IF_ERROR(validate_key(key));
    const auto segs = split_key(key);
    if (segs[0] == kReservedTop)
      return Status::InvalidArgument(
          fmt::format("invalid key '{}': the folder '{}' is reserved by the local backend", q(key), kReservedTop));
    for (const auto& s : segs)
      if (starts_with(s, kTmpPrefix))
        return Status::InvalidArgument(fmt::format(
            "invalid key '{}': names starting with '{}' are reserved by the local backend", q(key), kTmpPrefix));
    if (!self.hidden_rel_.empty() && (key == self.hidden_rel_ || starts_with(key, self.hidden_rel_ + "/")))
      return Status::InvalidArgument(
          fmt::format("invalid key '{}': the upload spool folder '{}' is reserved", q(key), self.hidden_rel_));
    return Status::Ok();
  }

  static Result<UniqueFd> open_root(const LocalStorageBackend& self, bool create) {
    if (create) {
      std::error_code ec;
      std::filesystem::create_directories(self.root_, ec);
      if (ec) return errno_status(ec.value(), fmt::format("cannot create MEDIA_ROOT '{}'", self.root_));
    }
    UniqueFd fd(::open(self.root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return errno_status(errno, fmt::format("cannot open MEDIA_ROOT '{}'", self.root_));
    return fd;
  }

  // Opens the object at key; with info, also reads its metadata entry
  // (retrying when a concurrent commit replaced it in between).
  static Result<Opened> open_object(const LocalStorageBackend& self, std::string_view key, bool want_etag) {
    MS_RETURN_IF_ERROR(check_key(self, key));
    auto root = open_root(self, false);
    if (!root.ok()) {
      if (root.status().is(ErrorCode::not_found)) return Status::NotFound(fmt::format("no object at key '{}'", q(key)));
      return root.status();
    }
    const auto segs = split_key(key);
    const std::size_t nd = segs.size() - 1;
    const std::string& name = segs.back();
    for (int attempt = 0;; ++attempt) {
      auto dir = open_folder(root->get(), segs, nd, Walk::read, key);
      if (!dir.ok()) return dir.status();
      Opened o;
      o.fd.reset(::openat(dir->get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      if (!o.fd.valid()) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) return Status::NotFound(fmt::format("no object at key '{}'", q(key)));
        if (err == ELOOP)
          return Status::PermissionDenied(
              fmt::format("key '{}' is a symbolic link, which the local backend never follows", q(key)));
        return errno_status(err, fmt::format("cannot open key '{}'", q(key)));
      }
      if (::fstat(o.fd.get(), &o.st) != 0) return errno_status(errno, fmt::format("cannot stat key '{}'", q(key)));
      if (!S_ISREG(o.st.st_mode)) return Status::NotFound(fmt::format("no object at key '{}'", q(key)));
      // The backend never makes hard links (see the header): a second link
      // was made by someone else and may name a file outside the root.
      if (o.st.st_nlink > 1)
        return Status::PermissionDenied(
            fmt::format("key '{}' is a file with {} hard links, which the local backend never reads (it may be a "
                        "link to a file outside MEDIA_ROOT)",
                        q(key), static_cast<std::uint64_t>(o.st.st_nlink)));
      std::vector<MetaEntry> entries;
      {
        auto meta_base = open_folder(root->get(), {std::string(kReservedTop), "meta"}, 2, Walk::read, key);
        if (meta_base.ok()) {
          auto mdir = open_folder(meta_base->get(), segs, nd, Walk::read, key);
          if (mdir.ok()) entries = read_sidecar(mdir->get(), name);
        }
      }
      const MetaEntry* e = find_entry(entries, fingerprint_of(o.st));
      if (!e && attempt < 2 && !entries.empty()) continue;  // replaced while we looked: look again
      o.info = info_from(key, o.st, e);
      o.has_entry = e != nullptr;
      if (!e && want_etag) {
        auto etag = md5_of_fd(o.fd.get(), key);
        if (!etag.ok()) return etag.status();
        o.info.etag = *etag;
      }
      return o;
    }
  }

  // Removes keys that all share one folder (already checked); failures are
  // appended. A missing key, folder or root is not a failure.
  static void remove_group(const LocalStorageBackend& self, const std::vector<std::string>& keys,
                           std::vector<std::pair<std::string, Status>>& failures) {
    const auto fail_all = [&](const Status& s) {
      for (const auto& k : keys) failures.emplace_back(k, s);
    };
    auto root = open_root(self, false);
    if (!root.ok()) {
      if (!root.status().is(ErrorCode::not_found)) fail_all(root.status());
      return;
    }
    const auto segs = split_key(keys.front());
    const std::size_t nd = segs.size() - 1;
    auto dir = open_folder(root->get(), segs, nd, Walk::read, keys.front());
    if (!dir.ok()) {
      if (!dir.status().is(ErrorCode::not_found)) fail_all(dir.status());
      return;
    }
    UniqueFd mdir;
    auto meta_base = open_folder(root->get(), {std::string(kReservedTop), "meta"}, 2, Walk::read, keys.front());
    if (meta_base.ok()) {
      auto m = open_folder(meta_base->get(), segs, nd, Walk::read, keys.front());
      if (m.ok()) mdir = std::move(*m);
    }
    {
      std::optional<FolderLock> lock;
      if (mdir.valid()) lock.emplace(mdir.get());
      for (const auto& key : keys) {
        const std::string name(key.substr(key.rfind('/') == std::string::npos ? 0 : key.rfind('/') + 1));
        // The object first, then its sidecar (see the top of this file).
        if (::unlinkat(dir->get(), name.c_str(), 0) != 0) {
          const int err = errno;
          // EISDIR: a folder of other keys, no object by that name.
          if (err != ENOENT && err != EISDIR && err != ENOTDIR)
            failures.emplace_back(key, errno_status(err, fmt::format("cannot delete key '{}'", q(key))));
          if (err == EISDIR) continue;
        }
        if (mdir.valid()) ::unlinkat(mdir.get(), name.c_str(), 0);
        MS_LOG(debug, "storage", "removed {}", q(key));
      }
      fsync_quiet(dir->get());
      fsync_quiet(mdir.get());
    }
    prune_folders(root->get(), segs, nd);
    if (meta_base.ok()) prune_folders(meta_base->get(), segs, nd);
  }

  // Streams source into the temp file fd, fsyncs it and fills entry's
  // fingerprint and etag.
  static Status write_temp(const UniqueFd& fd, ByteSource& source, const PutOptions& options, std::string_view key,
                           MetaEntry& entry) {
    Hasher md5(Hasher::Kind::md5);
    std::optional<Hasher> sha256;  // only to check a hash the caller gave
    if (!options.sha256.empty()) sha256.emplace(Hasher::Kind::sha256);
    std::unique_ptr<char[]> buf(new char[kChunk]);
    const std::uint64_t total = source.size().value_or(0);
    std::uint64_t done = 0;
    while (true) {
      auto r = source.read(buf.get(), kChunk);
      if (!r.ok()) return r.status().with_context(fmt::format("reading the content for key '{}'", q(key)));
      if (*r == 0) break;
      md5.update(buf.get(), *r);
      if (sha256) sha256->update(buf.get(), *r);
      MS_RETURN_IF_ERROR(write_all(fd.get(), buf.get(), *r, fmt::format("cannot write key '{}'", q(key))));
      done += *r;
      if (options.progress && !options.progress(done, total))
        return Status::Cancelled(fmt::format("storing key '{}' was cancelled", q(key)));
    }
    if (sha256) {
      const std::string got = hex_lower(sha256->finish());
      if (got != options.sha256)
        return Status::InvalidArgument(
            fmt::format("the content for key '{}' has SHA-256 {}, not the {} given", q(key), got, options.sha256));
    }
    if (::fsync(fd.get()) != 0) return errno_status(errno, fmt::format("cannot flush key '{}'", q(key)));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno_status(errno, fmt::format("cannot stat key '{}'", q(key)));
    entry.fp = fingerprint_of(st);
    entry.etag = hex_lower(md5.finish());
    return Status::Ok();
  }

  // Steps 1-4 of the commit described at the top of this file.
  static Status commit(int root, int dir, const std::vector<std::string>& segs, const std::string& tmp, MetaEntry entry,
                       std::string_view key) {
    const std::size_t nd = segs.size() - 1;
    const std::string& name = segs.back();
    for (int attempt = 0;; ++attempt) {
      auto meta_base = open_folder(root, {std::string(kReservedTop), "meta"}, 2, Walk::create_replacing_files, key);
      if (!meta_base.ok()) return meta_base.status();
      auto mdir = open_folder(meta_base->get(), segs, nd, Walk::create_replacing_files, key);
      if (!mdir.ok()) return mdir.status();
      FolderLock lock(mdir->get());

      std::vector<MetaEntry> entries{std::move(entry)};
      struct stat cur {};
      if (::fstatat(dir, name.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(cur.st_mode))
          return Status::Conflict(fmt::format("cannot store key '{}': it is a folder holding other keys", q(key)));
        if (S_ISREG(cur.st_mode)) {
          const auto old = read_sidecar(mdir->get(), name);
          if (const MetaEntry* e = find_entry(old, fingerprint_of(cur))) entries.push_back(*e);
        }
      }
      const std::string text = serialize(entries);
      entry = entries.front();

      const std::string mtmp = std::string(kTmpPrefix) + random_hex(8);
      UniqueFd mfd(::openat(mdir->get(), mtmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
      if (!mfd.valid()) {
        if (errno == ENOENT && attempt < kRetries) continue;  // folder pruned by a concurrent remove
        return errno_status(errno, fmt::format("cannot create the metadata of key '{}'", q(key)));
      }
      Status st =
          write_all(mfd.get(), text.data(), text.size(), fmt::format("cannot write the metadata of key '{}'", q(key)));
      if (st.ok() && ::fsync(mfd.get()) != 0)
        st = errno_status(errno, fmt::format("cannot flush the metadata of key '{}'", q(key)));
      mfd.reset();
      if (st.ok() && ::renameat(mdir->get(), mtmp.c_str(), mdir->get(), name.c_str()) != 0) {
        if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST) {
          // A stale sidecar folder (its object folder is gone): remove and retry.
          ::unlinkat(mdir->get(), name.c_str(), AT_REMOVEDIR);
          ::unlinkat(mdir->get(), mtmp.c_str(), 0);
          if (attempt < kRetries) continue;
        }
        st = errno_status(errno, fmt::format("cannot store the metadata of key '{}'", q(key)));
      }
      if (!st.ok()) {
        ::unlinkat(mdir->get(), mtmp.c_str(), 0);
        return st;
      }
      // The sidecar must be durable before the object rename can be.
      if (::fsync(mdir->get()) != 0)
        return errno_status(errno, fmt::format("cannot flush the metadata folder of key '{}'", q(key)));
      if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
        const int err = errno;
        if (err == EISDIR || err == ENOTEMPTY || err == EEXIST)
          return Status::Conflict(fmt::format("cannot store key '{}': it is a folder holding other keys", q(key)));
        return errno_status(err, fmt::format("cannot store key '{}'", q(key)));
      }
      if (::fsync(dir) != 0) return errno_status(errno, fmt::format("cannot flush the folder of key '{}'", q(key)));
      return Status::Ok();
    }
  }
};

LocalStorageBackend::LocalStorageBackend(const Config& config)
    : LocalStorageBackend(
          LocalOptions{config.media_root, config.media_url, config.url_signing_key, config.effective_spool_dir()}) {}

LocalStorageBackend::LocalStorageBackend(LocalOptions options)
    : root_(absolute_normal(options.root.empty() ? "." : options.root)),
      media_url_(ensure_trailing_slash(options.media_url)),
      signing_key_(std::move(options.signing_key)) {
  if (!options.spool_dir.empty()) {
    const std::string spool = absolute_normal(options.spool_dir);
    if (starts_with(spool, root_ + "/")) hidden_rel_ = spool.substr(root_.size() + 1);
  }
  // The sweep logs what it removed; nothing to act on here.
  if (options.stale_temp_age.count() > 0) (void)remove_stale_temps(options.stale_temp_age, options.stale_temp_budget);
}

// ---- stale temp files ----

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

Status LocalStorageBackend::put(std::string_view key, ByteSource& source, const PutOptions& options) {
  MS_RETURN_IF_ERROR(Impl::check_key(*this, key));
  MS_RETURN_IF_ERROR(validate_put_options(key, options));
  auto root = Impl::open_root(*this, true);
  if (!root.ok()) return root.status();
  const auto segs = split_key(key);
  const std::size_t nd = segs.size() - 1;

  MetaEntry entry;
  entry.content_type = options.content_type.empty() ? "application/octet-stream" : options.content_type;
  entry.cache_control = options.cache_control;
  entry.content_disposition = options.content_disposition;
  for (const auto& [k, v] : options.user_metadata) entry.user[ascii_lower(k)] = v;

  for (int attempt = 0;; ++attempt) {
    auto dir = open_folder(root->get(), segs, nd, Walk::create, key);
    if (!dir.ok()) return dir.status();
    struct stat cur {};
    if (::fstatat(dir->get(), segs.back().c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(cur.st_mode))
      return Status::Conflict(fmt::format("cannot store key '{}': it is a folder holding other keys", q(key)));
    const std::string tmp = std::string(kTmpPrefix) + random_hex(8);
    UniqueFd fd(::openat(dir->get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!fd.valid()) {
      if (errno == ENOENT && attempt < kRetries) continue;  // folder pruned by a concurrent remove: make it again
      return errno_status(errno, fmt::format("cannot create a temp file for key '{}'", q(key)));
    }
    Status st = Impl::write_temp(fd, source, options, key, entry);
    fd.reset();
    if (st.ok()) st = Impl::commit(root->get(), dir->get(), segs, tmp, entry, key);
    if (!st.ok()) {
      ::unlinkat(dir->get(), tmp.c_str(), 0);
      prune_folders(root->get(), segs, nd);
      MS_LOG(debug, "storage", "put {} failed: {}", q(key), st.to_string());
      return st;
    }
    MS_LOG(debug, "storage", "put {} ({} bytes, etag {})", q(key), entry.fp.size, entry.etag);
    return Status::Ok();
  }
}

Status LocalStorageBackend::read(std::string_view key, ByteSink& sink, const std::optional<ByteRange>& range,
                                 const ProgressFn& progress) {
  auto o = Impl::open_object(*this, key, false);
  if (!o.ok()) return o.status();
  const std::uint64_t size = static_cast<std::uint64_t>(o->st.st_size);
  std::uint64_t begin = 0;
  std::uint64_t end = size;
  if (range) {
    begin = std::min(range->offset, size);
    if (range->length) end = std::min(size, begin + std::min(*range->length, size - begin));
  }
  const std::uint64_t total = end - begin;
  const auto cap = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, std::max<std::uint64_t>(total, 1)));
  std::unique_ptr<char[]> buf(new char[cap]);
  std::uint64_t off = begin;
  while (off < end) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(cap, end - off));
    auto r = pread_some(o->fd.get(), buf.get(), want, off, fmt::format("cannot read key '{}'", q(key)));
    if (!r.ok()) return r.status();
    if (*r == 0) break;  // truncated by someone else meanwhile
    MS_RETURN_IF_ERROR(sink.write(buf.get(), *r));
    off += *r;
    if (progress && !progress(off - begin, total))
      return Status::Cancelled(fmt::format("reading key '{}' was cancelled", q(key)));
  }
  return Status::Ok();
}

Result<ObjectInfo> LocalStorageBackend::stat(std::string_view key) {
  auto o = Impl::open_object(*this, key, true);
  if (!o.ok()) return o.status();
  return std::move(o->info);
}

Status LocalStorageBackend::remove(std::string_view key) {
  MS_RETURN_IF_ERROR(Impl::check_key(*this, key));
  std::vector<std::pair<std::string, Status>> failures;
  Impl::remove_group(*this, {std::string(key)}, failures);
  return failures.empty() ? Status::Ok() : failures.front().second;
}

Result<std::vector<std::pair<std::string, Status>>> LocalStorageBackend::remove_many(
    const std::vector<std::string>& keys) {
  std::vector<std::pair<std::string, Status>> failures;
  // One lock, one pair of fsyncs and one prune per folder.
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& key : keys) {
    if (Status s = Impl::check_key(*this, key); !s.ok()) {
      failures.emplace_back(key, std::move(s));
      continue;
    }
    const auto slash = key.rfind('/');
    groups[slash == std::string::npos ? std::string() : key.substr(0, slash)].push_back(key);
  }
  for (const auto& [folder, group] : groups) Impl::remove_group(*this, group, failures);
  return failures;
}

Status LocalStorageBackend::copy(std::string_view from_key, std::string_view to_key) {
  MS_RETURN_IF_ERROR(Impl::check_key(*this, to_key));
  auto o = Impl::open_object(*this, from_key, false);
  if (!o.ok()) return o.status();
  PutOptions options;
  options.content_type = o->info.content_type;
  options.cache_control = o->info.cache_control;
  options.content_disposition = o->info.content_disposition;
  options.user_metadata = o->info.user_metadata;
  FdSource source(o->fd.get(), o->info.size, fmt::format("cannot read key '{}'", q(from_key)));
  return put(to_key, source, options);
}

// ---- listing ----

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

// ---- URLs ----

std::string local_url_signature(std::string_view signing_key, std::string_view url_path, std::int64_t expires) {
  return hex_lower(hmac_sha256(signing_key, fmt::format("{}\n{}", url_path, expires)));
}

std::string_view url_path_of(std::string_view url) {
  const auto q_pos = url.find_first_of("?#");
  if (q_pos != std::string_view::npos) url = url.substr(0, q_pos);
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return url;
  const auto slash = url.find('/', scheme + 3);
  if (slash == std::string_view::npos) return "/";
  return url.substr(slash);
}

Result<std::string> LocalStorageBackend::get_url(std::string_view key, std::chrono::seconds expires_in) {
  MS_RETURN_IF_ERROR(Impl::check_key(*this, key));
  if (expires_in < std::chrono::seconds(1) || expires_in > std::chrono::hours(24 * 7))
    return Status::InvalidArgument(
        fmt::format("expires_in must be 1 s .. 7 days, got {} s for key '{}'", expires_in.count(), q(key)));
  std::string url = media_url_ + url_encode_path(key);
  if (signing_key_.empty()) return url;
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::int64_t expires = now + expires_in.count();
  return url + fmt::format("?expires={}&sig={}", expires, local_url_signature(signing_key_, url_path_of(url), expires));
}

Status LocalStorageBackend::ping() {
  auto root = Impl::open_root(*this, true);
  if (!root.ok()) return root.status();
  const std::string probe = std::string(kTmpPrefix) + "ping." + random_hex(8);
  UniqueFd fd(::openat(root->get(), probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) return errno_status(errno, fmt::format("MEDIA_ROOT '{}' is not writable", root_));
  ::unlinkat(root->get(), probe.c_str(), 0);
  return Status::Ok();
}

}  // namespace mediastore::detail

namespace mediastore {

Status verify_local_url(std::string_view url, std::string_view signing_key,
                        std::optional<std::chrono::system_clock::time_point> now) {
  using detail::q;
  if (signing_key.empty()) return Status::InvalidArgument("verify_local_url: the signing key is empty");
  const auto qpos = url.find('?');
  const std::string_view path = detail::url_path_of(url);
  if (qpos == std::string_view::npos)
    return Status::InvalidArgument(fmt::format("URL '{}' carries no signature", q(path)));
  std::string_view query = url.substr(qpos + 1);
  if (const auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  std::optional<std::string_view> expires_text, sig;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = part.find('=');
    const std::string_view name = part.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    std::optional<std::string_view>* slot = name == "expires" ? &expires_text : name == "sig" ? &sig : nullptr;
    if (!slot || slot->has_value())
      return Status::InvalidArgument(fmt::format("URL '{}' has an unexpected or repeated query parameter", q(path)));
    *slot = value;
  }
  if (!expires_text || !sig) return Status::InvalidArgument(fmt::format("URL '{}' lacks expires= or sig=", q(path)));
  if (expires_text->empty() || expires_text->size() > 18 ||
      expires_text->find_first_not_of("0123456789") != std::string_view::npos)
    return Status::InvalidArgument(fmt::format("URL '{}' has a malformed expires=", q(path)));
  if (sig->size() != 64 || sig->find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return Status::InvalidArgument(fmt::format("URL '{}' has a malformed sig=", q(path)));
  const std::int64_t expires = std::stoll(std::string(*expires_text));
  const std::string expected = detail::local_url_signature(signing_key, path, expires);
  if (!detail::constant_time_equal(expected, *sig))
    return Status::PermissionDenied(fmt::format("URL '{}' has a bad signature", q(path)));
  const auto t = now.value_or(std::chrono::system_clock::now());
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  if (now_s > expires)
    return Status::PermissionDenied(fmt::format("URL '{}' expired {} s ago", q(path), now_s - expires));
  return Status::Ok();
}

}  // namespace mediastore
