// Helpers of the upload tests: temp folders, generated JPEGs, hostile
// files and a fault-injecting storage decorator.
#pragma once

#include <stdlib.h>
#include <turbojpeg.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "mediastore/storage.hpp"

namespace upload_test {

using namespace mediastore;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ms-upload-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

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
