// Helpers of the upload tests: temp folders, generated JPEGs, hostile
// files and a fault-injecting storage decorator.
#pragma once

#include <doctest/doctest.h>
#include <turbojpeg.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "mediastore/storage.hpp"
#include "mediastore/upload.hpp"
#include "support/temp_dir.hpp"

namespace upload_test {

using namespace mediastore;

using test::TempDir;

// The status of upload id (the test fails if it cannot be read).
inline UploadStatus status_of(UploadService& service, const std::string& id) {
  auto s = service.status(id);
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  return s.value();
}

// Processes jobs with `worker`, one at a time (each waiting up to `wait`),
// until upload id has ended (completed or failed) as `reader` sees it; the
// test fails after `rounds` jobs.
inline UploadStatus process_until_ended(UploadService& worker, UploadService& reader, const std::string& id,
                                        int rounds = 200,
                                        std::chrono::milliseconds wait = std::chrono::milliseconds(200)) {
  for (int i = 0; i < rounds; ++i) {
    auto n = worker.process_next(1, wait);
    REQUIRE_MESSAGE(n.ok(), n.status().to_string());
    auto s = status_of(reader, id);
    if (s.state == UploadState::completed || s.state == UploadState::failed) return s;
  }
  FAIL("upload " << id << " did not end");
  return {};
}

// A local backend under <dir>/media; sets config.media_root and
// config.media_url ("/media/") to match.
inline std::shared_ptr<StorageBackend> local_storage(Config& config, const std::string& dir) {
  config.media_root = dir + "/media";
  config.media_url = "/media/";
  std::filesystem::create_directories(config.media_root);
  auto base = make_storage(config);
  REQUIRE_MESSAGE(base.ok(), base.status().to_string());
  return base.value();
}

// A w x h baseline JPEG with a colour gradient.
inline std::string make_jpeg(int w, int h, int seed = 0) {
  std::string rgb(static_cast<std::size_t>(w) * h * 3, '\0');
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::size_t i = (static_cast<std::size_t>(y) * w + x) * 3;
      rgb[i] = static_cast<char>((x * 255 / w + seed) & 0xff);
      rgb[i + 1] = static_cast<char>((y * 255 / h) & 0xff);
      rgb[i + 2] = static_cast<char>(((x + y + seed * 7) * 3) & 0xff);
    }
  tjhandle tj = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  int rc = tjCompress2(tj, reinterpret_cast<const unsigned char*>(rgb.data()), w, 0, h, TJPF_RGB, &out, &size,
                       TJSAMP_420, 85, 0);
  std::string jpeg = rc == 0 ? std::string(reinterpret_cast<char*>(out), size) : std::string();
  tjFree(out);
  tjDestroy(tj);
  return jpeg;
}

// `jpeg` with an EXIF APP1 after SOI: orientation 6 and a GPS IFD
// (GPSLatitudeRef "N", GPSLatitude 48/1 51/1 30/1), little-endian.
inline std::string with_gps_exif(const std::string& jpeg) {
  auto p16 = [](std::string& s, unsigned v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
  };
  auto p32 = [&](std::string& s, std::uint32_t v) {
    p16(s, v & 0xffff);
    p16(s, v >> 16);
  };
  std::string t("II*\0", 4);
  p32(t, 8);
  // IFD0 at 8: 2 entries (8 + 2 + 24 + 4 = 38), GPS IFD at 38: 2 entries (38 + 30 = 68), rationals at 68.
  p16(t, 2);
  p16(t, 0x0112), p16(t, 3), p32(t, 1), p16(t, 6), p16(t, 0);
  p16(t, 0x8825), p16(t, 4), p32(t, 1), p32(t, 38);
  p32(t, 0);
  p16(t, 2);
  p16(t, 0x0001), p16(t, 2), p32(t, 2), t += std::string("N\0\0\0", 4);
  p16(t, 0x0002), p16(t, 5), p32(t, 3), p32(t, 68);
  p32(t, 0);
  for (std::uint32_t v : {48u, 1u, 51u, 1u, 30u, 1u}) p32(t, v);
  const std::string payload = std::string("Exif\0\0", 6) + t;
  const std::size_t len = payload.size() + 2;
  std::string seg = "\xff\xe1";
  seg += static_cast<char>(len >> 8);
  seg += static_cast<char>(len & 0xff);
  return jpeg.substr(0, 2) + seg + payload + jpeg.substr(2);
}

namespace png_detail {
inline void put32(std::string& s, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
inline std::uint32_t crc32(const std::string& data) {
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
  }
  return c ^ 0xffffffffu;
}
inline void chunk(std::string& out, const std::string& type, const std::string& data) {
  put32(out, static_cast<std::uint32_t>(data.size()));
  std::string body = type + data;
  out += body;
  put32(out, crc32(body));
}
// A zlib stream of stored (uncompressed) deflate blocks.
inline std::string zlib_stored(const std::string& data) {
  std::string z = "\x78\x01";
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(65535, data.size() - pos);
    z += static_cast<char>(pos + n == data.size() ? 1 : 0);
    z += static_cast<char>(n & 0xff);
    z += static_cast<char>(n >> 8);
    z += static_cast<char>(~n & 0xff);
    z += static_cast<char>((~n >> 8) & 0xff);
    z.append(data, pos, n);
    pos += n;
  } while (pos < data.size());
  std::uint32_t a = 1, b = 0;
  for (unsigned char c : data) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  put32(z, (b << 16) | a);
  return z;
}
}  // namespace png_detail

// A w x h 8-bit RGB PNG with a colour gradient. With `rows` < h, the header
// still says w x h but the image data holds only `rows` rows: a well-formed
// file whose pixels are missing (corrupt).
inline std::string make_png(int w, int h, int rows = -1) {
  if (rows < 0) rows = h;
  std::string raw;
  for (int y = 0; y < rows; ++y) {
    raw += '\0';  // filter: none
    for (int x = 0; x < w; ++x) {
      raw += static_cast<char>(x * 255 / w);
      raw += static_cast<char>(y * 255 / h);
      raw += static_cast<char>((x + y) & 0xff);
    }
  }
  std::string ihdr;
  png_detail::put32(ihdr, static_cast<std::uint32_t>(w));
  png_detail::put32(ihdr, static_cast<std::uint32_t>(h));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // depth 8, RGB, deflate, filter 0, no interlace
  std::string out = "\x89PNG\r\n\x1a\n";
  png_detail::chunk(out, "IHDR", ihdr);
  png_detail::chunk(out, "IDAT", png_detail::zlib_stored(raw));
  png_detail::chunk(out, "IEND", "");
  return out;
}

// `jpeg` with the middle third of its entropy-coded data overwritten by
// pseudo-random bytes: headers intact, pixel data damaged.
inline std::string corrupt_jpeg_body(std::string jpeg) {
  std::size_t sos = jpeg.find("\xff\xda");
  if (sos == std::string::npos) return jpeg;
  const std::size_t data =
      sos + 2 + ((static_cast<unsigned char>(jpeg[sos + 2]) << 8) | static_cast<unsigned char>(jpeg[sos + 3]));
  const std::size_t end = jpeg.size() - 2;  // before EOI
  std::uint32_t x = 2463534242u;
  for (std::size_t i = data + (end - data) / 3; i < data + 2 * (end - data) / 3; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    jpeg[i] = static_cast<char>(x & 0xff);
  }
  return jpeg;
}

inline std::string hostile_html() {
  return "<!DOCTYPE html><html><head><script>alert(document.cookie)</script></head><body>"
         "not a photo at all, but it says it is one</body></html>\n";
}

// Fails selected calls: put() fails while `fail_puts` > 0 (counting down)
// with `put_error`; remove() fails with `remove_error` when set; `on_put`
// runs before every put (observation, delays).
class FaultyStorage : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;
  std::atomic<int> fail_puts{0};
  std::atomic<int> puts{0};
  Status put_error = Status::Unavailable("injected: service unavailable");
  std::optional<Status> remove_error;
  std::function<void(std::string_view key)> on_put;

  Status put(std::string_view key, ByteSource& source, const PutOptions& options) override {
    puts++;
    if (on_put) on_put(key);
    if (fail_puts.fetch_sub(1) > 0) return put_error;
    return StorageWrapper::put(key, source, options);
  }
  Status remove(std::string_view key) override {
    if (remove_error) return *remove_error;
    return StorageWrapper::remove(key);
  }
};

}  // namespace upload_test
