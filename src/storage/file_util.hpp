// Small POSIX helpers for the storage part (internal): full writes that
// survive EINTR, a source over an open descriptor (the descriptor owner and
// errno mapping are in core/fd.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/fd.hpp"
#include "mediastore/status.hpp"
#include "mediastore/storage.hpp"

namespace mediastore::detail {

// Writes all n bytes (retrying on EINTR and short writes).
Status write_all(int fd, const void* data, std::size_t n, std::string_view what);

// A ByteSource over the first `size` bytes of an open descriptor, read with
// pread (so rewinding and random access are free). The caller owns the fd and
// keeps it open while the source is used; `what` starts read error messages.
// Not thread-safe.
class FdSource final : public ByteSource {
 public:
  FdSource(int fd, std::uint64_t size, std::string what) : fd_(fd), size_(size), what_(std::move(what)) {}
  Result<std::size_t> read(void* buf, std::size_t n) override;
  std::optional<std::uint64_t> size() const override { return size_; }
  Status rewind() override {
    pos_ = 0;
    return Status::Ok();
  }
  Result<std::size_t> read_at(std::uint64_t offset, void* buf, std::size_t n) override;
  bool random_access() const override { return true; }

 private:
  int fd_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
  std::string what_;
};

}  // namespace mediastore::detail
