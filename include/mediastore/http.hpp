// The media service over HTTP, independent of any HTTP server library.
//
// A Handler receives a Request (method, raw target, headers) when its head
// has arrived, and either answers at once or returns an Exchange that is fed
// the body piece by piece (never held whole) and then gives the Response.
// Hosts adapt their server to this: `mediastore serve` feeds it from
// libmicrohttpd, a Django view could feed it from `request.read(n)`.
//
//   auto router = mediastore::http::make_media_service(service, {});
//   router->add_prefix("/files/", tus_handler);   // more routes on the same abstraction
//   auto started = router->begin(request);
//
// The media service routes (make_media_service):
//   POST /api/keeps/upload/                   multipart/form-data keep_id, media_type, file, caption
//   GET  /api/keeps/upload/{id}/status/       the upload's status JSON
//   GET|HEAD <MEDIA_URL path><key>?expires=&sig=   local-backend media, signed URLs
//   GET  /healthz                              storage and queue reachable
//   GET  /metrics                              Prometheus text
// Uploads and status reads need an upload grant (grant.hpp) in
// "Authorization: Bearer <token>". docs/serve.md describes them in full.
//
// Thread-safety: Handler::begin may be called from many threads at once;
// one Exchange is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mediastore/export.hpp"
#include "mediastore/status.hpp"
#include "mediastore/upload.hpp"

namespace mediastore::http {

struct Header {
  std::string name;  // lower-case in a Request
  std::string value;
};

struct MS_API Request {
  std::string method;  // "GET", "POST", ...
  // The request target exactly as received, not decoded: path and query
  // ("/media/a%20b.jpg?expires=1&sig=ab").
  std::string target;
  std::vector<Header> headers;  // names lower-case, in order received
  std::string remote_address;   // "127.0.0.1" (informational)

  // The target up to '?' (raw), and after it (raw, empty if none).
  std::string_view path() const;
  std::string_view query() const;
  // The first header of that lower-case name, or null.
  const std::string* header(std::string_view lower_name) const;
};

// A response body produced piece by piece (media files are never read
// whole). read() fills up to n bytes; 0 means the end.
class MS_API BodyReader {
 public:
  virtual ~BodyReader();
  virtual Result<std::size_t> read(char* buf, std::size_t n) = 0;
};

struct MS_API Response {
  int status = 200;
  std::vector<Header> headers;  // as sent; Content-Length is set by the host
  std::string body;
  // When set, the body is streamed from it instead (stream_size bytes).
  std::shared_ptr<BodyReader> stream;
  std::uint64_t stream_size = 0;

  // application/json responses.
  static Response json(int status, std::string json_text);
  // {"error": message}, the shape of the reference Django app's errors.
  static Response error(int status, std::string_view message);
  // The HTTP status a Status maps to (invalid_argument 400, auth_failed
  // 401, permission_denied 403, not_found 404, too_large 413,
  // unsupported/corrupt media 415, conflict 409, throttled 429,
  // unavailable/network/timeout 503, others 500) with its message.
  static Response from_status(const Status& status);
};

// One request whose body is being received.
class MS_API Exchange {
 public:
  virtual ~Exchange();
  // The next piece of the body, in order. A Response ends the request
  // early (the host sends it and closes the connection without reading the
  // rest); nullopt continues.
  virtual std::optional<Response> on_body(std::string_view chunk) = 0;
  // The whole body has arrived (also called for requests without a body).
  virtual Response finish() = 0;
};

using Started = std::variant<Response, std::unique_ptr<Exchange>>;

class MS_API Handler {
 public:
  virtual ~Handler();
  // Called once the request head has arrived.
  virtual Started begin(const Request& request) = 0;
};

// Dispatches on the path: exact routes first, then the longest matching
// prefix; 404 JSON otherwise. Routes are added before serving starts (add_*
// is not thread-safe with begin()).
class MS_API Router final : public Handler {
 public:
  void add_exact(std::string path, std::shared_ptr<Handler> handler);
  void add_prefix(std::string prefix, std::shared_ptr<Handler> handler);
  Started begin(const Request& request) override;

 private:
  std::vector<std::pair<std::string, std::shared_ptr<Handler>>> exact_, prefix_;
};

struct ServiceOptions {
  // Where the upload endpoint writes the incoming file part before
  // submit_upload copies it into the spool. Default: empty =
  // "<effective_state_dir()>/http-incoming".
  std::string incoming_dir;
  // Largest non-file form field (keep_id, caption, ...). Default: 64 KiB.
  std::size_t max_field_bytes = 64 * 1024;
  // Largest header block of one multipart part. Default: 8 KiB.
  std::size_t max_part_header_bytes = 8 * 1024;
  // Most parts in one form. Default: 16.
  std::size_t max_parts = 16;
  // Lifetime of the media URLs in status responses. Default: 1 hour.
  std::chrono::seconds url_expiry{3600};
};

// The media service routes listed at the top, over `service` (shared; must
// outlive nothing: the router keeps it alive). The grant secret is
// service->config().upload_grant_secret; invalid_argument if it is empty.
// Media GETs are served only for the local backend with
// MEDIA_URL_SIGNING_KEY set.
MS_API Result<std::shared_ptr<Router>> make_media_service(std::shared_ptr<UploadService> service,
                                                          ServiceOptions options = {});

}  // namespace mediastore::http
