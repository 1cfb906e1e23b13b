// The local filesystem backend: put, copy and removal.
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
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <optional>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "storage/local/local.hpp"

namespace mediastore::detail {

using namespace local;

void LocalStorageBackend::Impl::remove_group(const LocalStorageBackend& self, const std::vector<std::string>& keys,
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

Status LocalStorageBackend::Impl::write_temp(const UniqueFd& fd, ByteSource& source, const PutOptions& options,
                                             std::string_view key, MetaEntry& entry) {
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
Status LocalStorageBackend::Impl::already_exists(std::string_view key) {
  return Status::AlreadyExists(fmt::format("key '{}' already holds an object (create-only put)", q(key)));
}

Status LocalStorageBackend::Impl::commit(int root, int dir, const std::vector<std::string>& segs,
                                         const std::string& tmp, MetaEntry entry, std::string_view key,
                                         bool no_clobber) {
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
      if (S_ISREG(cur.st_mode) && no_clobber) return already_exists(key);
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
    if (no_clobber) {
      if (::linkat(dir, tmp.c_str(), dir, name.c_str(), 0) != 0) {
        const int err = errno;
        if (err == EEXIST) return already_exists(key);  // placed by something that does not lock
        return errno_status(err, fmt::format("cannot store key '{}'", q(key)));
      }
      ::unlinkat(dir, tmp.c_str(), 0);
    } else if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
      const int err = errno;
      if (err == EISDIR || err == ENOTEMPTY || err == EEXIST)
        return Status::Conflict(fmt::format("cannot store key '{}': it is a folder holding other keys", q(key)));
      return errno_status(err, fmt::format("cannot store key '{}'", q(key)));
    }
    if (::fsync(dir) != 0) return errno_status(errno, fmt::format("cannot flush the folder of key '{}'", q(key)));
    return Status::Ok();
  }
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
    // Fails early (before writing); commit() holds the decisive check.
    if (options.if_none_match && ::fstatat(dir->get(), segs.back().c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0)
      return Impl::already_exists(key);
    const std::string tmp = std::string(kTmpPrefix) + random_hex(8);
    UniqueFd fd(::openat(dir->get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!fd.valid()) {
      if (errno == ENOENT && attempt < kRetries) continue;  // folder pruned by a concurrent remove: make it again
      return errno_status(errno, fmt::format("cannot create a temp file for key '{}'", q(key)));
    }
    Status st = Impl::write_temp(fd, source, options, key, entry);
    fd.reset();
    if (st.ok()) st = Impl::commit(root->get(), dir->get(), segs, tmp, entry, key, options.if_none_match);
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

Status LocalStorageBackend::copy_with(std::string_view from_key, std::string_view to_key, const PutOptions& options) {
  MS_RETURN_IF_ERROR(Impl::check_key(*this, to_key));
  auto o = Impl::open_object(*this, from_key, false);
  if (!o.ok()) return o.status();
  PutOptions po = options;
  po.progress = {};
  po.if_none_match = false;
  FdSource source(o->fd.get(), o->info.size, fmt::format("cannot read key '{}'", q(from_key)));
  return put(to_key, source, po);
}

}  // namespace mediastore::detail
