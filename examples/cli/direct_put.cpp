// `mediastore upload --direct`: planned requests sent with libcurl.
#include "direct_put.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace mediastore::cli {

namespace {

struct Transfer {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t left = 0;
  std::string etag;
  std::string body;
  int read_errno = 0;
};

std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size * n, t->left));
  if (want == 0) return 0;
  const ssize_t got = ::pread(t->fd, buf, want, static_cast<off_t>(t->offset));
  if (got <= 0) {
    t->read_errno = got < 0 ? errno : EIO;
    return CURL_READFUNC_ABORT;
  }
  t->offset += static_cast<std::uint64_t>(got);
  t->left -= static_cast<std::uint64_t>(got);
  return static_cast<std::size_t>(got);
}

std::size_t on_header(char* buf, std::size_t size, std::size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  std::string line(buf, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == "etag") {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(0, 1);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
      t->etag = v;
    }
  }
  return size * n;
}

std::size_t on_write(char* buf, std::size_t size, std::size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  if (t->body.size() < 4096) t->body.append(buf, std::min<std::size_t>(size * n, 4096 - t->body.size()));
  return size * n;
}

Result<std::string> send_once(int fd, const std::string& path, const DirectRequest& r) {
  CURL* h = curl_easy_init();
  if (h == nullptr) return Status::Internal("curl_easy_init failed");
  Transfer t;
  t.fd = fd;
  t.offset = r.offset;
  t.left = r.size;
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : r.headers)
    if (name != "Content-Length") headers = curl_slist_append(headers, fmt::format("{}: {}", name, value).c_str());
  headers = curl_slist_append(headers, "Expect:");
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.size));
  curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(h, CURLOPT_READDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  const CURLcode rc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  const std::string what = r.part_number > 0 ? fmt::format("part {}", r.part_number) : std::string("the PUT");
  if (t.read_errno != 0)
    return Status::IoError(fmt::format("{}: reading {}: {}", what, path, std::strerror(t.read_errno)));
  if (rc != CURLE_OK)
    return Status::NetworkError(fmt::format("{}: {}", what, err[0] != '\0' ? err : curl_easy_strerror(rc)));
  if (code >= 200 && code < 300) return t.etag;
  const std::string m = fmt::format("{}: the store answered HTTP {}: {}", what, code, t.body);
  if (code == 403) return Status::PermissionDenied(m);
  if (code >= 500) return Status::Unavailable(m);
  return Status::InvalidArgument(m);
}

}  // namespace

Result<std::string> sha256_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  std::string buf(1 << 20, '\0');
  Status failed;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) failed = Status::IoError(fmt::format("reading {}: {}", path, std::strerror(errno)));
    if (n <= 0) break;
    EVP_DigestUpdate(md, buf.data(), static_cast<std::size_t>(n));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md, digest, &len);
  EVP_MD_CTX_free(md);
  ::close(fd);
  if (!failed.ok()) return failed;
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

Result<std::string> send_planned_request(const std::string& path, const DirectRequest& r) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  Result<std::string> out = Status::Internal("not sent");
  for (int attempt = 1; attempt <= 3; ++attempt) {
    out = send_once(fd, path, r);
    if (out.ok() || !is_transient(out.status().code())) break;
  }
  ::close(fd);
  return out;
}

}  // namespace mediastore::cli
