// HTTP on libcurl for the S3 client: a pool of easy handles with connection
// reuse, streaming bodies in both directions, and timeouts that make a dead
// endpoint fail in time.
//
// Thread-safety: HttpClient::perform may be called from many threads at once.
// Each call checks an easy handle out of the pool for its whole duration, so
// a handle is never used by two threads; no CURLSH is shared. Idle handles
// keep their connections open for the next request.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "s3/body.hpp"

namespace mediastore::s3 {

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{5000};  // Default: 5 s
  // A transfer that moves no byte for this long fails with timeout (libcurl
  // counts in whole seconds; rounded up, at least 1 s). Default: 30 s.
  std::chrono::milliseconds low_speed_timeout{30000};
  // The whole transfer, connect to last byte, fails with timeout after this
  // long; 0 = no limit (large object transfers). The credential providers
  // use it so that a server trickling bytes cannot hold a request.
  // Default: 0.
  std::chrono::milliseconds total_timeout{0};
  bool verify_tls = true;             // Default: true
  std::string ca_file;                // Default: the system CA store
  std::size_t max_idle_handles = 16;  // Default: 16
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // GET HEAD PUT POST DELETE
  std::string url;
  Headers headers;  // sent as given (Host included by the caller)
  // The body: `source` (streamed, `body_size` bytes) or `body` (in memory).
  BodySource* source = nullptr;
  std::uint64_t body_size = 0;
  std::string_view body;
  // Where a 2xx answer's body goes; null = into HttpResponse::body. Error
  // answers always go into HttpResponse::body (capped at 1 MiB).
  BodySink* sink = nullptr;
  ProgressFn progress;  // upload or download progress; false cancels
};

struct HttpResponse {
  long status = 0;
  Headers headers;               // names lower-case, in order
  std::string body;              // see HttpRequest::sink
  std::uint64_t body_bytes = 0;  // bytes of body received (to the sink or into body)
  // The first header value named `name` (lower-case), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One attempt, no retry. Returns the answer whatever its HTTP status, or a
  // transport error: network_error (refused, reset, DNS, TLS, could not
  // connect within connect_timeout), timeout (no progress for
  // low_speed_timeout), cancelled (progress returned false), or the status a
  // source/sink returned.
  Result<HttpResponse> perform(const HttpRequest& request);

  const HttpOptions& options() const { return options_; }

 private:
  void* checkout();
  void checkin(void* handle);

  HttpOptions options_;
  std::mutex mu_;
  std::vector<void*> idle_;
};

}  // namespace mediastore::s3
