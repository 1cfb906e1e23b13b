#include "media/input.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace mediastore::detail {

Result<Input> Input::open_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    int e = errno;
    if (e == ENOENT) return Status::NotFound("cannot open " + path + ": " + std::strerror(e));
    if (e == EACCES) return Status::PermissionDenied("cannot open " + path + ": " + std::strerror(e));
    return Status::IoError("cannot open " + path + ": " + std::strerror(e));
  }
  struct stat st {};
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fclose(f);
    return Status::InvalidArgument(path + " is not a regular file");
  }
  Input in;
  in.file_ = f;
  in.size_ = static_cast<std::uint64_t>(st.st_size);
  in.path_ = path;
  return in;
}

Input Input::from_memory(std::string_view bytes) {
  Input in;
  in.mem_ = bytes;
  in.size_ = bytes.size();
  in.path_ = "<memory>";
  return in;
}

Input::Input(Input&& o) noexcept
    : file_(std::exchange(o.file_, nullptr)), mem_(o.mem_), size_(o.size_), path_(std::move(o.path_)) {}

Input& Input::operator=(Input&& o) noexcept {
  if (this != &o) {
    if (file_) std::fclose(file_);
    file_ = std::exchange(o.file_, nullptr);
    mem_ = o.mem_;
    size_ = o.size_;
    path_ = std::move(o.path_);
  }
  return *this;
}

Input::~Input() {
  if (file_) std::fclose(file_);
}

std::size_t Input::read_at(std::uint64_t offset, void* out, std::size_t n) const {
  if (offset >= size_ || n == 0) return 0;
  if (n > size_ - offset) n = static_cast<std::size_t>(size_ - offset);
  if (!file_) {
    std::memcpy(out, mem_.data() + offset, n);
    return n;
  }
  if (fseeko(file_, static_cast<off_t>(offset), SEEK_SET) != 0) return 0;
  return std::fread(out, 1, n, file_);
}

std::string Input::read_string(std::uint64_t offset, std::size_t n) const {
  std::string s;
  if (offset >= size_) return s;
  if (n > size_ - offset) n = static_cast<std::size_t>(size_ - offset);
  s.resize(n);
  s.resize(read_at(offset, s.data(), n));
  return s;
}

Result<std::string> Input::read_all() const {
  if (!file_) return std::string(mem_);
  std::string s = read_string(0, static_cast<std::size_t>(size_));
  if (s.size() != size_) return Status::IoError("short read from " + path_);
  return s;
}

}  // namespace mediastore::detail
