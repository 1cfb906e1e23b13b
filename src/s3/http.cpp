#include "s3/http.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace mediastore::s3 {

namespace {

constexpr std::size_t kMaxErrorBody = 1 << 20;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* req = nullptr;
  HttpResponse* resp = nullptr;
  Status failure;  // set by a callback that stopped the transfer
  std::uint64_t uploaded = 0;
  std::size_t body_offset = 0;  // position in req->body
  bool cancelled = false;
  bool sink_started = false;  // BodySink::begin was called
};

bool is_2xx(long s) { return s >= 200 && s < 300; }

size_t on_header(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line (after 100 Continue or a redirect): start over.
    t->resp->headers.clear();
    auto sp = line.find(' ');
    if (sp != std::string_view::npos)
      t->resp->status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  t->resp->headers.emplace_back(std::move(name), std::string(value));
  return size * n;
}

size_t on_write(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const size_t bytes = size * n;
  t->resp->body_bytes += bytes;
  if (t->req->sink != nullptr && is_2xx(t->resp->status)) {
    if (!t->sink_started) {
      t->sink_started = true;
      Status b = t->req->sink->begin(t->resp->status, t->resp->headers);
      if (!b.ok()) {
        t->failure = b;
        return 0;  // CURLE_WRITE_ERROR
      }
    }
    Status s = t->req->sink->write(data, bytes);
    if (!s.ok()) {
      t->failure = s;
      return 0;  // CURLE_WRITE_ERROR
    }
    return bytes;
  }
  if (t->resp->body.size() < kMaxErrorBody || t->req->sink == nullptr) t->resp->body.append(data, bytes);
  return bytes;
}

size_t on_read(char* buf, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const size_t want = size * n;
  if (t->req->source != nullptr) {
    auto r = t->req->source->read(buf, want);
    if (!r.ok()) {
      t->failure = r.status();
      return CURL_READFUNC_ABORT;
    }
    t->uploaded += *r;
    if (*r == 0 && t->uploaded < t->req->body_size) {
      t->failure =
          Status::IoError(fmt::format("the upload source ended after {} of {} bytes", t->uploaded, t->req->body_size));
      return CURL_READFUNC_ABORT;
    }
    return *r;
  }
  const size_t left = t->req->body.size() - t->body_offset;
  const size_t k = std::min(left, want);
  std::memcpy(buf, t->req->body.data() + t->body_offset, k);
  t->body_offset += k;
  t->uploaded += k;
  return k;
}

// libcurl rewinds a body itself when it must send it again (e.g. after a
// connection it reused turned out dead).
int on_seek(void* userp, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(userp);
  if (offset != 0 || origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  if (t->req->source != nullptr) {
    if (!t->req->source->rewind().ok()) return CURL_SEEKFUNC_CANTSEEK;
  } else {
    t->body_offset = 0;
  }
  t->uploaded = 0;
  return CURL_SEEKFUNC_OK;
}

int on_progress(void* userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(userp);
  if (!t->req->progress) return 0;
  bool go = true;
  if (ultotal > 0) {
    go = t->req->progress(static_cast<std::uint64_t>(ulnow), static_cast<std::uint64_t>(ultotal));
  } else if (dlnow > 0 && is_2xx(t->resp->status)) {
    go = t->req->progress(static_cast<std::uint64_t>(dlnow), static_cast<std::uint64_t>(dltotal));
  }
  if (!go) {
    t->cancelled = true;
    return 1;
  }
  return 0;
}

Status transport_error(CURLcode rc, CURL* h, const Transfer& t, const HttpRequest& req, const char* errbuf,
                       const HttpOptions& opts) {
  if (!t.failure.ok()) return t.failure;
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  const std::string what = fmt::format("{} {}", req.method, req.url.substr(0, req.url.find('?')));
  switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK: return Status::Cancelled(fmt::format("{}: cancelled by the caller", what));
    case CURLE_OPERATION_TIMEDOUT: {
      // A stalled transfer trips the low-speed limit ("Operation too slow");
      // otherwise the connection was never made (connect timeout). The
      // connect time cannot tell: it is 0 on a reused connection too.
      curl_off_t pretransfer_us = 0;
      curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
      if (opts.total_timeout.count() > 0 && detail.find("too slow") == std::string::npos && pretransfer_us > 0) {
        return Status::Timeout(
            fmt::format("{}: no complete answer within {} ms ({})", what, opts.total_timeout.count(), detail));
      }
      if (pretransfer_us == 0 && detail.find("too slow") == std::string::npos) {
        return Status::NetworkError(
            fmt::format("{}: could not connect within {} ms ({})", what, opts.connect_timeout.count(), detail));
      }
      return Status::Timeout(
          fmt::format("{}: no progress for {} ms ({})", what, opts.low_speed_timeout.count(), detail));
    }
    default: return Status::NetworkError(fmt::format("{}: {} (curl error {})", what, detail, static_cast<int>(rc)));
  }
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) { global_init(); }

HttpClient::~HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpClient::checkout() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void HttpClient::checkin(void* handle) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < options_.max_idle_handles) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

Result<HttpResponse> HttpClient::perform(const HttpRequest& req) {
  CURL* h = static_cast<CURL*>(checkout());
  if (h == nullptr) return Status::Internal("curl_easy_init failed");
  // reset keeps the handle's live connections, DNS and TLS session caches.
  curl_easy_reset(h);

  HttpResponse resp;
  Transfer t;
  t.req = &req;
  t.resp = &resp;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_slist* list = nullptr;
  for (const auto& [k, v] : req.headers) {
    list = curl_slist_append(list, fmt::format("{}: {}", k, v).c_str());
  }
  // No "Expect: 100-continue" round trip, no "Accept: */*".
  list = curl_slist_append(list, "Expect:");
  list = curl_slist_append(list, "Accept:");

  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  const long low_speed_s = std::max<long>(1, static_cast<long>((options_.low_speed_timeout.count() + 999) / 1000));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, low_speed_s);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());

  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  if (req.progress) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  }

  if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT" || req.method == "POST") {
    const std::uint64_t size = req.source != nullptr ? req.body_size : req.body.size();
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  const CURLcode rc = curl_easy_perform(h);
  Result<HttpResponse> out = Status::Internal("unreachable");
  if (rc == CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    resp.status = code;
    out = std::move(resp);
  } else {
    out = transport_error(rc, h, t, req, errbuf, options_);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(list);
  if (rc == CURLE_OK) {
    checkin(h);
  } else {
    // A failed transfer may leave its connection half-used: drop the handle
    // with it rather than return it to the pool.
    curl_easy_cleanup(h);
  }
  return out;
}

}  // namespace mediastore::s3
