// Byte sources and sinks, and the StorageBackend conveniences built on the
// backend primitives.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/crypto.hpp"
#include "mediastore/storage.hpp"
#include "storage/file_util.hpp"
#include "storage/key.hpp"

namespace mediastore {

using detail::errno_status;

// ---- ByteSource / ByteSink ----

ByteSource::~ByteSource() = default;

Status ByteSource::rewind() { return Status::Internal("this byte source cannot rewind"); }

Result<std::size_t> ByteSource::read_at(std::uint64_t, void*, std::size_t) {
  return Status::Internal("this byte source does not support random access");
}

ByteSink::~ByteSink() = default;

Status ByteSink::reset() { return Status::Internal("this byte sink cannot restart"); }

Result<std::size_t> MemorySource::read(void* buf, std::size_t n) {
  const std::size_t k = std::min(n, data_.size() - pos_);
  if (k > 0) std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

Result<std::size_t> MemorySource::read_at(std::uint64_t offset, void* buf, std::size_t n) {
  if (offset >= data_.size()) return std::size_t{0};
  const std::size_t k = std::min<std::uint64_t>(n, data_.size() - offset);
  if (k > 0) std::memcpy(buf, data_.data() + offset, k);
  return k;
}

Result<std::unique_ptr<FileSource>> FileSource::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno_status(errno, fmt::format("cannot open file '{}'", path));
  detail::UniqueFd owner(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_status(errno, fmt::format("cannot stat file '{}'", path));
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(fmt::format("'{}' is not a regular file", path));
  // Regular files ignore O_NONBLOCK; it only kept open() from blocking on a FIFO.
  return std::unique_ptr<FileSource>(new FileSource(owner.release(), static_cast<std::uint64_t>(st.st_size), path));
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::size_t> FileSource::read(void* buf, std::size_t n) {
  auto r = detail::pread_some(fd_, buf, n, pos_, fmt::format("cannot read file '{}'", path_));
  if (r.ok()) pos_ += *r;
  return r;
}

Status FileSource::rewind() {
  pos_ = 0;
  return Status::Ok();
}

Result<std::size_t> FileSource::read_at(std::uint64_t offset, void* buf, std::size_t n) {
  return detail::pread_some(fd_, buf, n, offset, fmt::format("cannot read file '{}'", path_));
}

Status StringSink::write(const void* data, std::size_t n) {
  out_.append(static_cast<const char*>(data), n);
  return Status::Ok();
}

// ---- StorageBackend ----

StorageBackend::~StorageBackend() = default;

Result<std::vector<std::pair<std::string, Status>>> StorageBackend::remove_many(const std::vector<std::string>& keys) {
  std::vector<std::pair<std::string, Status>> failures;
  for (const auto& key : keys) {
    Status s = remove(key);
    if (!s.ok()) failures.emplace_back(key, std::move(s));
  }
  return failures;
}

// Backends without a copy of their own: through a temporary file (bounded
// memory), removed in every outcome.
Status StorageBackend::copy_with(std::string_view from_key, std::string_view to_key, const PutOptions& options) {
  MS_RETURN_IF_ERROR(validate_key(from_key));
  MS_RETURN_IF_ERROR(validate_key(to_key));
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) return Status::IoError(fmt::format("no temporary folder to copy '{}': {}", from_key, ec.message()));
  const std::string tmp = (dir / (".mediastore-copy." + detail::random_hex(8))).string();
  Status st = read_to_file(from_key, tmp);
  if (st.ok()) {
    PutOptions po = options;
    po.if_none_match = false;
    st = put_file(to_key, tmp, po);
  }
  ::unlink(tmp.c_str());
  return st;
}

Result<std::uint64_t> StorageBackend::abort_multipart_uploads(std::string_view prefix,
                                                              std::chrono::system_clock::time_point started_before) {
  (void)prefix;
  (void)started_before;
  return std::uint64_t{0};
}

Result<std::string> StorageBackend::url(std::string_view key, const UrlOptions& options) {
  if (options.http_method != "GET" && options.http_method != "HEAD") {
    return Status::InvalidArgument(fmt::format("the {} backend makes only GET and HEAD URLs, not {} (key '{}')", name(),
                                               options.http_method, detail::escape_for_message(key)));
  }
  if (!options.response_headers.empty()) {
    return Status::InvalidArgument(fmt::format("the {} backend cannot override response headers in a URL (key '{}')",
                                               name(), detail::escape_for_message(key)));
  }
  return get_url(key, options.expires_in);
}

Result<std::string> StorageBackend::save(ByteSource& source, std::string_view filename, const PutOptions& options) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  const std::string key = fmt::format("{:04}/{:02}/{:02}/{}_{}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                      detail::random_hex(8), detail::sanitize_filename(filename));
  MS_RETURN_IF_ERROR(put(key, source, options));
  return key;
}

Status StorageBackend::put_bytes(std::string_view key, std::string_view data, const PutOptions& options) {
  MemorySource source(data);
  return put(key, source, options);
}

Status StorageBackend::put_file(std::string_view key, const std::string& path, const PutOptions& options) {
  // A bad key is reported before the file is looked at.
  MS_RETURN_IF_ERROR(validate_key(key));
  auto source = FileSource::open(path);
  if (!source.ok()) return source.status();
  return put(key, **source, options);
}

Result<std::string> StorageBackend::read_bytes(std::string_view key, const std::optional<ByteRange>& range) {
  std::string out;
  StringSink sink(out);
  MS_RETURN_IF_ERROR(read(key, sink, range, {}));
  return out;
}

namespace {

// Writes into an open temp file; reset() truncates it for a retried download.
class FdSink final : public ByteSink {
 public:
  FdSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status write(const void* data, std::size_t n) override {
    return detail::write_all(fd_, data, n, fmt::format("cannot write '{}'", path_));
  }
  Status reset() override {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) < 0)
      return errno_status(errno, fmt::format("cannot truncate '{}'", path_));
    return Status::Ok();
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

// Durability choice: the download goes to a temporary file beside `path`, is
// fsync'ed, then renamed over `path` (and the directory fsync'ed). Without the
// file fsync a crash soon after a successful return could leave `path` empty
// or short on some filesystems (the rename reaches the disk before the data),
// which is exactly what the temp-file-and-rename is there to prevent; callers
// such as `mediastore get` and migrations treat a successful return as "the
// file is there". On tmpfs the fsync is free; on a disk it costs the
// write-back of the file, which the page cache would do anyway. The S3
// benchmark writes to /dev/shm, so its GET figures do not include it.
Status StorageBackend::read_to_file(std::string_view key, const std::string& path, const ProgressFn& progress) {
  MS_RETURN_IF_ERROR(validate_key(key));
  // The temp file sits beside the destination so that rename() is atomic.
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string tmp = (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) +
                          ".mediastore-download." + detail::random_hex(8);
  detail::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) return errno_status(errno, fmt::format("cannot create a temporary file in '{}'", dir));
  FdSink sink(fd.get(), path);
  Status st = read(key, sink, std::nullopt, progress);
  if (st.ok() && ::fsync(fd.get()) != 0) st = errno_status(errno, fmt::format("cannot flush '{}'", path));
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = errno_status(errno, fmt::format("cannot rename the download into '{}'", path));
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  detail::UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) ::fsync(dfd.get());
  return Status::Ok();
}

Result<bool> StorageBackend::exists(std::string_view key) {
  auto info = stat(key);
  if (info.ok()) return true;
  if (info.status().is(ErrorCode::not_found)) return false;
  return info.status();
}

Result<std::vector<ObjectInfo>> StorageBackend::list_all(std::string_view prefix) {
  std::vector<ObjectInfo> all;
  ListOptions options;
  options.prefix = std::string(prefix);
  while (true) {
    auto page = list(options);
    if (!page.ok()) return page.status();
    for (auto& o : page->objects) all.push_back(std::move(o));
    if (page->next_page_token.empty()) break;
    options.page_token = page->next_page_token;
  }
  return all;
}

}  // namespace mediastore
