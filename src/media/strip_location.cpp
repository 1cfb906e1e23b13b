// Location stripping: the entry point (read, rewrite by type, write through
// a temporary file).
#include "media/strip_location.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "media/input.hpp"

namespace mediastore {
namespace detail {
namespace {

Status write_file(const std::string& path, std::string_view data) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::IoError(fmt::format("cannot create '{}': {}", path, std::strerror(errno)));
  const bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::fclose(f);
  if (!ok || !flushed) return Status::IoError(fmt::format("cannot write '{}'", path));
  return Status::Ok();
}

// out_path's temporary sibling, created empty (exclusive).
Result<std::string> make_temp(const std::string& out_path) {
  std::string tmpl = out_path + ".part-XXXXXX";
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    return Status::IoError(fmt::format("cannot create a file next to '{}': {}", out_path, std::strerror(errno)));
  ::close(fd);
  return tmpl;
}

}  // namespace
}  // namespace detail

Result<bool> strip_location_file(const std::string& in_path, const std::string& out_path, MediaType type,
                                 std::uint64_t time_budget_ms) {
  auto fail = [&](const Status& e) { return Status(e.code(), fmt::format("{}: {}", in_path, e.message())); };
  if (media_type_is_video(type)) {
    auto tmp = detail::make_temp(out_path);
    if (!tmp) return tmp.status();
    auto r = detail::strip_video_location(type, in_path, *tmp, time_budget_ms);
    if (r.ok() && *r && std::rename(tmp->c_str(), out_path.c_str()) != 0)
      r = Status::IoError(fmt::format("cannot rename '{}' to '{}': {}", *tmp, out_path, std::strerror(errno)));
    if (!r.ok() || !*r) std::remove(tmp->c_str());
    if (!r.ok()) return fail(r.status());
    return *r;
  }
  auto in = detail::Input::open_file(in_path);
  if (!in) return in.status();
  auto bytes = in->read_all();
  if (!bytes) return bytes.status();
  std::string out;
  switch (type) {
    case MediaType::jpeg: {
      auto s = strip_jpeg_metadata(*bytes, StripMode::gps);
      if (!s) return fail(s.status());
      out = std::move(s).value();
      break;
    }
    case MediaType::png: {
      auto s = detail::strip_png_location(*bytes);
      if (!s) return fail(s.status());
      out = std::move(s).value();
      break;
    }
    case MediaType::webp: {
      auto s = detail::strip_webp_location(*bytes);
      if (!s) return fail(s.status());
      out = std::move(s).value();
      break;
    }
    case MediaType::heic:
    case MediaType::heif:
    case MediaType::avif: {
      out = *bytes;
      auto s = detail::strip_heif_location(out);
      if (!s) return fail(s.status());
      break;
    }
    case MediaType::gif:
    case MediaType::bmp: return false;  // no location metadata in these formats
    default:
      return Status::UnsupportedMedia(
          fmt::format("{}: cannot strip the location of a {}", in_path, media_type_description(type)));
  }
  if (out == *bytes) return false;
  auto tmp = detail::make_temp(out_path);
  if (!tmp) return tmp.status();
  Status st = detail::write_file(*tmp, out);
  if (st.ok() && std::rename(tmp->c_str(), out_path.c_str()) != 0)
    st = Status::IoError(fmt::format("cannot rename '{}' to '{}': {}", *tmp, out_path, std::strerror(errno)));
  if (!st.ok()) {
    std::remove(tmp->c_str());
    return st;
  }
  return true;
}

}  // namespace mediastore
