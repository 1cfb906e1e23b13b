#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/fd.hpp"
#include "mediastore/scan.hpp"

namespace mediastore {

const char* scan_verdict_name(ScanVerdict verdict) noexcept {
  switch (verdict) {
    case ScanVerdict::clean: return "clean";
    case ScanVerdict::infected: return "infected";
    case ScanVerdict::unscanned: return "unscanned";
  }
  return "unknown";
}

Scanner::~Scanner() = default;

Result<ScanResult> Scanner::scan_file(const std::string& path) {
  const std::string what = "cannot read '" + path + "' to scan it";
  detail::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return detail::errno_status(errno, what);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return detail::errno_status(errno, what);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument("'" + path + "' is not a regular file; cannot scan it");
  std::uint64_t offset = 0;
  return scan(
      [&](void* buf, std::size_t n) -> Result<std::size_t> {
        auto r = detail::pread_some(fd.get(), buf, n, offset, what);
        if (r.ok()) offset += *r;
        return r;
      },
      static_cast<std::uint64_t>(st.st_size));
}

Result<ScanResult> Scanner::scan_memory(std::string_view data) {
  std::size_t pos = 0;
  return scan(
      [&](void* buf, std::size_t n) -> Result<std::size_t> {
        n = std::min(n, data.size() - pos);
        std::copy_n(data.data() + pos, n, static_cast<char*>(buf));
        pos += n;
        return n;
      },
      data.size());
}

}  // namespace mediastore
