// The local filesystem backend: construction, reserved keys, opening and
// reading objects, ping. Writes and removal are write.cpp, listing
// list.cpp, URLs url.cpp, the stale temp sweep sweep.cpp.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "core/crypto.hpp"
#include "storage/local/local.hpp"

namespace mediastore::detail {

using namespace local;

namespace {

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

Status LocalStorageBackend::Impl::check_key(const LocalStorageBackend& self, std::string_view key) {
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

Result<UniqueFd> LocalStorageBackend::Impl::open_root(const LocalStorageBackend& self, bool create) {
  if (create) {
    std::error_code ec;
    std::filesystem::create_directories(self.root_, ec);
    if (ec) return errno_status(ec.value(), fmt::format("cannot create MEDIA_ROOT '{}'", self.root_));
  }
  UniqueFd fd(::open(self.root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_status(errno, fmt::format("cannot open MEDIA_ROOT '{}'", self.root_));
  return fd;
}

auto LocalStorageBackend::Impl::open_object(const LocalStorageBackend& self, std::string_view key, bool want_etag)
    -> Result<Opened> {
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
  if (options.stale_temp_age.count() > 0) (void)remove_stale_temps(options.stale_temp_age, options.stale_temp_budget);
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
