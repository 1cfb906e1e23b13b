#include "upload/staging.hpp"

#include <fmt/format.h>
#include <unistd.h>

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
  StagedCopy copy(dir + "/" + id + ".fetch-" + random_hex(4) + ".tmp");
  Status st = storage.read_to_file(key, copy.path_);
  if (st.is(ErrorCode::not_found))
    return Status::NotFound(
        fmt::format("the staged source of upload {} (storage key '{}') is gone from storage", id, key));
  if (!st.ok()) return st.with_context(fmt::format("fetching the staged source '{}'", key));
  return copy;
}

StagedCopy& StagedCopy::operator=(StagedCopy&& o) noexcept {
  if (this != &o) {
    if (!path_.empty()) ::unlink(path_.c_str());
    path_ = std::move(o.path_);
    o.path_.clear();
  }
  return *this;
}

StagedCopy::~StagedCopy() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace mediastore::detail
