#include "upload/staging.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>

#include <filesystem>
#include <memory>
#include <vector>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"

namespace mediastore::detail {
namespace {

// At most `limit` bytes of `inner`, and exactly that size: a source file
// that grows after it was hashed cannot send more than the hash covers.
class BoundedSource final : public ByteSource {
 public:
  BoundedSource(ByteSource& inner, std::uint64_t limit) : inner_(inner), limit_(limit) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    const std::uint64_t left = limit_ - pos_;
    if (left == 0) return std::size_t{0};
    auto r = inner_.read(buf, static_cast<std::size_t>(std::min<std::uint64_t>(n, left)));
    if (r.ok()) pos_ += r.value();
    return r;
  }
  std::optional<std::uint64_t> size() const override { return limit_; }
  Status rewind() override {
    pos_ = 0;
    return inner_.rewind();
  }
  Result<std::size_t> read_at(std::uint64_t offset, void* buf, std::size_t n) override {
    if (offset >= limit_) return std::size_t{0};
    return inner_.read_at(offset, buf, static_cast<std::size_t>(std::min<std::uint64_t>(n, limit_ - offset)));
  }
  bool random_access() const override { return inner_.random_access(); }

 private:
  ByteSource& inner_;
  std::uint64_t limit_;
  std::uint64_t pos_ = 0;
};

// Writes a download into a descriptor; reset() starts it again (a retried
// GET).
class FdSink final : public ByteSink {
 public:
  FdSink(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  Status write(const void* data, std::size_t n) override {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno_status(errno, fmt::format("cannot write the local copy '{}'", what_));
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      written_ += static_cast<std::uint64_t>(w);
    }
    return Status::Ok();
  }
  Status reset() override {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
      return errno_status(errno, fmt::format("cannot truncate the local copy '{}'", what_));
    written_ = 0;
    return Status::Ok();
  }
  std::uint64_t written() const { return written_; }

 private:
  int fd_;
  std::string what_;
  std::uint64_t written_ = 0;
};

Status too_large(const UploadRequest& request, std::uint64_t max_bytes) {
  return Status::TooLarge(
      fmt::format("{}: larger than the {} byte upload limit", request.original_filename, max_bytes));
}

}  // namespace

Result<std::uint64_t> stage_in_storage(StorageBackend& storage, const std::string& key, const std::string& id,
                                       const UploadRequest& request, std::uint64_t max_bytes) {
  std::unique_ptr<ByteSource> owned;
  std::uint64_t size = 0;
  std::string sha256;
  if (!request.source_path.empty()) {
    auto file = FileSource::open(request.source_path);
    if (!file.ok()) return file.status();
    if (file.value()->size().value_or(0) > max_bytes) return too_large(request, max_bytes);
    // Hash and count first, enforcing the limit as the bytes come.
    Hasher h;
    std::vector<char> buf(1 << 16);
    for (;;) {
      auto r = file.value()->read(buf.data(), buf.size());
      if (!r.ok()) return r.status().with_context(fmt::format("reading upload source '{}'", request.source_path));
      if (r.value() == 0) break;
      size += r.value();
      if (size > max_bytes) return too_large(request, max_bytes);
      h.update(buf.data(), r.value());
    }
    MS_RETURN_IF_ERROR(file.value()->rewind());
    sha256 = hex_lower(h.finish());
    owned = std::move(file).value();
  } else {
    if (request.data.size() > max_bytes)
      return Status::TooLarge(fmt::format("{}: {} bytes exceed the {} byte upload limit", request.original_filename,
                                          request.data.size(), max_bytes));
    size = request.data.size();
    sha256 = hex_lower(detail::sha256(request.data));
    owned = std::make_unique<MemorySource>(request.data);
  }
  if (size == 0) return std::uint64_t{0};
  BoundedSource source(*owned, size);
  PutOptions po;
  po.content_type = "application/octet-stream";
  po.user_metadata = {{"upload-id", id}, {"sha256", sha256}};
  po.sha256 = sha256;
  Status st = storage.put(key, source, po);
  if (st.ok()) {
    auto info = storage.stat(key);
    if (!info.ok()) {
      st = info.status().with_context(fmt::format("checking the staged object '{}'", key));
    } else if (info->size != size) {
      st = Status::Internal(fmt::format("the staged object '{}' holds {} bytes, {} were sent", key, info->size, size));
    }
  }
  if (!st.ok()) {
    // A put that failed on our side may still have landed (a lost answer).
    Status rm = storage.remove(key);
    if (!rm.ok())
      MS_LOG(warn, "upload", "upload {}: removing the staged object '{}' of a failed submission failed: {}", id, key,
             rm.to_string());
    return st;
  }
  return size;
}

Result<StagedCopy> StagedCopy::fetch(StorageBackend& storage, const std::string& key, const std::string& dir,
                                     const std::string& id) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError(fmt::format("cannot create the spool folder '{}': {}", dir, ec.message()));
  StagedCopy copy;
  copy.fd_.reset(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!copy.fd_.valid() && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    const std::string named = dir + "/" + id + ".fetch-" + random_hex(4) + ".tmp";
    copy.fd_.reset(::open(named.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (copy.fd_.valid()) ::unlink(named.c_str());
  }
  if (!copy.fd_.valid())
    return errno_status(errno, fmt::format("cannot create a temporary file in the spool folder '{}'", dir));
  copy.path_ = "/proc/self/fd/" + std::to_string(copy.fd_.get());
  FdSink sink(copy.fd_.get(), copy.path_);
  Status st = storage.read(key, sink, std::nullopt, {});
  if (st.is(ErrorCode::not_found))
    return Status::NotFound(
        fmt::format("the staged source of upload {} (storage key '{}') is gone from storage", id, key));
  if (!st.ok()) return st.with_context(fmt::format("fetching the staged source '{}'", key));
  copy.size_ = sink.written();
  return copy;
}

}  // namespace mediastore::detail
