// Request and response bodies of the S3 client. The s3 part knows nothing of
// storage: the storage backend adapts its ByteSource/ByteSink to these.
//
// Thread-safety: one body object is used by one request at a time, except
// BodySource::read_at, which multipart uploads call from several threads at
// once when random_access() is true.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mediastore/status.hpp"

namespace mediastore::s3 {

// Called with (bytes done, bytes total or 0 if unknown); false cancels.
using ProgressFn = std::function<bool(std::uint64_t done, std::uint64_t total)>;
// x-amz-meta-* names (lower-case, without the prefix) and values.
using Metadata = std::map<std::string, std::string>;

class BodySource {
 public:
  virtual ~BodySource() = default;
  // Reads up to n bytes; 0 at the end.
  virtual Result<std::size_t> read(void* buf, std::size_t n) = 0;
  // Total size if known in advance.
  virtual std::optional<std::uint64_t> size() const = 0;
  // Back to the first byte (before a retry). Default: unsupported.
  virtual Status rewind() { return Status::Internal("this upload source cannot rewind"); }
  // Reads [offset, offset+n) without moving the cursor; thread-safe when
  // random_access(). Default: unsupported.
  virtual Result<std::size_t> read_at(std::uint64_t, void*, std::size_t) {
    return Status::Internal("this upload source has no random access");
  }
  virtual bool random_access() const { return false; }
};

class BodySink {
 public:
  virtual ~BodySink() = default;
  // Called once per attempt with the status and headers (names lower-case)
  // of a 2xx answer, before its first body byte; not called for an empty
  // body. An error stops the transfer. Default: nothing.
  virtual Status begin(long /*status*/, const std::vector<std::pair<std::string, std::string>>& /*headers*/) {
    return Status::Ok();
  }
  virtual Status write(const void* data, std::size_t n) = 0;
  // Drops what was written (before a retried download). Default: unsupported.
  virtual Status reset() { return Status::Internal("this download sink cannot restart"); }
};

// A source over memory the caller keeps alive.
class MemoryBody final : public BodySource {
 public:
  explicit MemoryBody(std::string_view data) : data_(data) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    auto r = read_at(pos_, buf, n);
    pos_ += *r;
    return r;
  }
  std::optional<std::uint64_t> size() const override { return data_.size(); }
  Status rewind() override {
    pos_ = 0;
    return Status::Ok();
  }
  Result<std::size_t> read_at(std::uint64_t offset, void* buf, std::size_t n) override {
    if (offset >= data_.size()) return std::size_t{0};
    const std::size_t k = std::min<std::size_t>(n, data_.size() - static_cast<std::size_t>(offset));
    std::memcpy(buf, data_.data() + offset, k);
    return k;
  }
  bool random_access() const override { return true; }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

// A sink appending to a string the caller owns.
class StringBody final : public BodySink {
 public:
  explicit StringBody(std::string& out) : out_(out) {}
  Status write(const void* data, std::size_t n) override {
    out_.append(static_cast<const char*>(data), n);
    return Status::Ok();
  }
  Status reset() override {
    out_.clear();
    return Status::Ok();
  }

 private:
  std::string& out_;
};

}  // namespace mediastore::s3
