// Random-access input over a file or a memory buffer (internal).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "mediastore/status.hpp"

namespace mediastore::detail {

// Either an open file or a borrowed byte range. Not copyable; movable.
class Input {
 public:
  static Result<Input> open_file(const std::string& path);
  static Input from_memory(std::string_view bytes);

  Input(Input&&) noexcept;
  Input& operator=(Input&&) noexcept;
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;
  ~Input();

  std::uint64_t size() const { return size_; }
  bool is_file() const { return file_ != nullptr; }
  // The open file (positioned anywhere; callers seek first) or null.
  std::FILE* file() const { return file_; }
  // The whole content when in memory, else empty.
  std::string_view memory() const { return mem_; }
  // Reads up to n bytes at offset; returns the count read (short at the end).
  std::size_t read_at(std::uint64_t offset, void* out, std::size_t n) const;
  // Up to n bytes from offset as a string.
  std::string read_string(std::uint64_t offset, std::size_t n) const;
  // The whole content (reads a file completely).
  Result<std::string> read_all() const;
  // Where the content came from, for messages.
  const std::string& path() const { return path_; }

 private:
  Input() = default;
  std::FILE* file_ = nullptr;
  std::string_view mem_;
  std::uint64_t size_ = 0;
  std::string path_;
};

}  // namespace mediastore::detail
