// The media service routes over the framework-neutral request/response
// types (include/mediastore/http.hpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "http/accept.hpp"
#include "http/multipart.hpp"
#include "mediastore/grant.hpp"
#include "mediastore/http.hpp"

namespace mediastore::http {

// ---- the types ----

std::string_view Request::path() const {
  const std::string_view t(target);
  return t.substr(0, t.find('?'));
}

std::string_view Request::query() const {
  const auto q = target.find('?');
  return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
}

const std::string* Request::header(std::string_view lower_name) const {
  for (const auto& h : headers)
    if (h.name == lower_name) return &h.value;
  return nullptr;
}

BodyReader::~BodyReader() = default;
Exchange::~Exchange() = default;
Handler::~Handler() = default;

Response Response::json(int status, std::string json_text) {
  Response r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/json"});
  r.body = std::move(json_text);
  return r;
}

Response Response::error(int status, std::string_view message) {
  return json(status,
              nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response Response::from_status(const Status& status) {
  int code = 500;
  switch (status.code()) {
    case ErrorCode::ok: code = 200; break;
    case ErrorCode::invalid_argument: code = 400; break;
    case ErrorCode::auth_failed: code = 401; break;
    case ErrorCode::permission_denied: code = 403; break;
    case ErrorCode::not_found: code = 404; break;
    case ErrorCode::conflict:
    case ErrorCode::already_exists: code = 409; break;
    case ErrorCode::too_large: code = 413; break;
    case ErrorCode::unsupported_media:
    case ErrorCode::corrupt_media: code = 415; break;
    case ErrorCode::throttled: code = 429; break;
    case ErrorCode::network_error:
    case ErrorCode::timeout:
    case ErrorCode::unavailable: code = 503; break;
    default: code = 500; break;
  }
  Response r = error(code, status.message());
  if (code == 401) r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"mediastore\""});
  return r;
}

void Router::add_exact(std::string path, std::shared_ptr<Handler> handler) {
  exact_.emplace_back(std::move(path), std::move(handler));
}

void Router::add_prefix(std::string prefix, std::shared_ptr<Handler> handler) {
  prefix_.emplace_back(std::move(prefix), std::move(handler));
}

Started Router::begin(const Request& request) {
  const std::string_view path = request.path();
  for (auto& [p, h] : exact_)
    if (path == p) return h->begin(request);
  Handler* best = nullptr;
  std::size_t best_len = 0;
  for (auto& [p, h] : prefix_) {
    if (path.size() >= p.size() && path.substr(0, p.size()) == p && p.size() >= best_len) {
      best = h.get();
      best_len = p.size();
    }
  }
  if (best) return best->begin(request);
  return Response::error(404, "no such endpoint");
}

namespace {

using nlohmann::json;
constexpr auto kReplace = json::error_handler_t::replace;

Response method_not_allowed(std::string_view allow) {
  Response r = Response::error(405, "method not allowed");
  r.headers.push_back({"Allow", std::string(allow)});
  return r;
}

// "2024-05-01T12:00:00+00:00" (Python's isoformat() of an aware UTC time).
std::string iso_time(SystemTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::string http_date(SystemTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} GMT", kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// The grant of "Authorization: Bearer <token>", verified (signature, expiry).
Result<GrantClaims> bearer_grant(const Request& request, const std::string& secret) {
  const std::string* auth = request.header("authorization");
  if (!auth) return Status::AuthFailed("upload grant is missing: send Authorization: Bearer <grant>");
  std::string_view v(*auth);
  const auto sp = v.find(' ');
  std::string scheme(v.substr(0, sp));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer" || sp == std::string_view::npos)
    return Status::AuthFailed("upload grant is missing: the Authorization scheme must be Bearer");
  v = v.substr(sp + 1);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return verify_upload_grant(secret, v);
}

std::optional<std::uint64_t> content_length(const Request& request) {
  const std::string* cl = request.header("content-length");
  if (!cl || cl->empty() || cl->size() > 19 || cl->find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoull(*cl);
}

// ---- POST /api/keeps/upload/ ----

struct Shared {
  std::shared_ptr<UploadService> service;
  ServiceOptions options;
  std::string secret;
};

// Receives the form: small fields into memory, the file part into a temp
// file of the incoming folder (removed when the exchange ends; submit_upload
// copies it into the spool).
class UploadExchange final : public Exchange, private detail::MultipartSink {
 public:
  UploadExchange(std::shared_ptr<Shared> shared, GrantClaims claims, std::string boundary)
      : shared_(std::move(shared)),
        claims_(std::move(claims)),
        parser_(std::move(boundary),
                {.max_header_bytes = shared_->options.max_part_header_bytes, .max_parts = shared_->options.max_parts},
                *this) {}

  ~UploadExchange() override {
    if (fd_ >= 0) ::close(fd_);
    if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  }

  std::optional<Response> on_body(std::string_view chunk) override {
    Status s = parser_.feed(chunk);
    if (!s.ok()) return Response::from_status(s);
    return std::nullopt;
  }

  Response finish() override {
    Status s = parser_.finish();
    if (!s.ok()) return Response::from_status(s);
    const std::string keep_id = field("keep_id");
    if (keep_id.empty() || keep_id.find_first_not_of("0123456789") != std::string::npos)
      return Response::error(400, "keep_id is required");
    const std::string media_type = fields_.count("media_type") ? fields_["media_type"] : "photo";
    auto kind = parse_media_kind(media_type);
    if (!kind.ok()) return Response::error(400, "media_type must be photo or video");
    if (!have_file_) return Response::error(400, "file is required");
    if (fd_ >= 0 && ::fsync(fd_) != 0) return Response::from_status(Status::IoError("fsync of the incoming file"));
    // The grant's context is recorded with the upload; what the form says
    // (keep_id) must agree with it.
    std::map<std::string, std::string> context = claims_.context;
    context["keep_id"] = keep_id;
    s = check_upload_grant(claims_, {context, bytes_, *kind});
    if (!s.ok()) return Response::from_status(s);
    s = consume_upload_grant(shared_->service->queue(), claims_);
    if (!s.ok()) return Response::from_status(s);
    const std::string caption = field("caption");
    context["caption"] = caption;
    context["grant"] = claims_.nonce;
    UploadRequest req;
    req.source_path = temp_path_;
    req.original_filename = filename_;
    req.content_type = content_type_;
    req.media_kind = *kind;
    req.context = context;
    auto id = shared_->service->submit_upload(req);
    if (!id.ok()) return Response::from_status(id.status());
    auto st = shared_->service->status(*id);
    const SystemTime created = st.ok() ? st->created_at : std::chrono::system_clock::now();
    json keep = json(keep_id);
    if (keep_id.size() < 18) keep = std::stoll(keep_id);
    json body = {{"id", *id},
                 {"status", "pending"},
                 {"keep_id", keep},
                 {"media_type", media_kind_name(*kind)},
                 {"caption", caption},
                 {"original_filename", filename_},
                 {"size", bytes_},
                 {"status_url", fmt::format("/api/keeps/upload/{}/status/", *id)},
                 {"created_at", iso_time(created)}};
    return Response::json(202, body.dump(-1, ' ', false, kReplace));
  }

 private:
  std::string field(const std::string& name) const {
    const auto it = fields_.find(name);
    return it == fields_.end() ? std::string() : it->second;
  }

  Status on_part(const detail::PartInfo& part) override {
    current_ = part.name;
    in_file_ = part.name == "file";
    if (!in_file_) {
      if (fields_.count(part.name)) return Status::InvalidArgument(fmt::format("form field '{}' repeated", part.name));
      fields_[part.name];
      return Status::Ok();
    }
    if (have_file_) return Status::InvalidArgument("form field 'file' repeated");
    if (!part.has_filename || part.filename.empty()) return Status::InvalidArgument("the file part has no filename");
    have_file_ = true;
    filename_ = part.filename;
    content_type_ = part.content_type;
    // Refuse before reading the file when the fields that came first already
    // disagree with the grant.
    std::map<std::string, std::string> context = claims_.context;
    if (fields_.count("keep_id")) context["keep_id"] = fields_["keep_id"];
    std::optional<MediaKind> kind;
    if (fields_.count("media_type")) {
      auto k = parse_media_kind(fields_["media_type"]);
      if (k.ok()) kind = *k;
    }
    MS_RETURN_IF_ERROR(check_upload_grant(claims_, {context, std::nullopt, kind}));
    return open_temp();
  }

  Status on_data(std::string_view data) override {
    if (!in_file_) {
      std::string& v = fields_[current_];
      if (v.size() + data.size() > shared_->options.max_field_bytes)
        return Status::TooLarge(
            fmt::format("form field '{}' exceeds {} bytes", current_, shared_->options.max_field_bytes));
      v.append(data);
      return Status::Ok();
    }
    bytes_ += data.size();
    const std::uint64_t limit = shared_->service->config().max_upload_size;
    if (bytes_ > limit) return Status::TooLarge(fmt::format("{} is over the {}-byte upload limit", filename_, limit));
    if (claims_.max_bytes > 0 && bytes_ > claims_.max_bytes)
      return Status::PermissionDenied(
          fmt::format("upload grant allows at most {} bytes, the upload is over its size", claims_.max_bytes));
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status::IoError(fmt::format("writing the incoming file: {}", std::strerror(errno)));
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return Status::Ok();
  }

  Status on_part_end() override {
    in_file_ = false;
    return Status::Ok();
  }

  Status open_temp() {
    std::string dir = shared_->options.incoming_dir;
    if (dir.empty()) dir = shared_->service->config().effective_state_dir() + "/http-incoming";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IoError(fmt::format("cannot create the incoming folder '{}': {}", dir, ec.message()));
    temp_path_ = dir + "/" + detail::random_hex(16);
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) {
      const int e = errno;
      temp_path_.clear();
      return Status::IoError(fmt::format("cannot create a file in '{}': {}", dir, std::strerror(e)));
    }
    return Status::Ok();
  }

  std::shared_ptr<Shared> shared_;
  GrantClaims claims_;
  detail::MultipartParser parser_;
  std::map<std::string, std::string> fields_;
  std::string current_;
  bool in_file_ = false;
  bool have_file_ = false;
  std::string filename_, content_type_;
  std::string temp_path_;
  int fd_ = -1;
  std::uint64_t bytes_ = 0;
};

class UploadHandler final : public Handler {
 public:
  explicit UploadHandler(std::shared_ptr<Shared> s) : s_(std::move(s)) {}
  Started begin(const Request& request) override {
    if (request.method != "POST") return method_not_allowed("POST");
    auto claims = bearer_grant(request, s_->secret);
    if (!claims.ok()) return Response::from_status(claims.status());
    const std::string* ct = request.header("content-type");
    auto boundary = detail::multipart_boundary(ct ? *ct : "");
    if (!boundary.ok()) return Response::from_status(boundary.status());
    // A declared body far over the limit is refused before reading it (the
    // form's own overhead is allowed for).
    const auto declared = content_length(request);
    const std::uint64_t limit = s_->service->config().max_upload_size;
    const std::uint64_t overhead = s_->options.max_parts * (s_->options.max_field_bytes + 1024);
    if (declared && *declared > limit + overhead)
      return Response::error(413, fmt::format("the body is {} bytes, over the {}-byte upload limit", *declared, limit));
    if (declared && claims->max_bytes > 0 && *declared > claims->max_bytes + overhead)
      return Response::from_status(Status::PermissionDenied(
          fmt::format("upload grant allows at most {} bytes, the upload is over its size ({}-byte body)",
                      claims->max_bytes, *declared)));
    return std::unique_ptr<Exchange>(new UploadExchange(s_, std::move(*claims), std::move(*boundary)));
  }

 private:
  std::shared_ptr<Shared> s_;
};

// ---- GET /api/keeps/upload/{id}/status/ ----

class StatusHandler final : public Handler {
 public:
  explicit StatusHandler(std::shared_ptr<Shared> s) : s_(std::move(s)) {}
  Started begin(const Request& request) override {
    constexpr std::string_view kPrefix = "/api/keeps/upload/", kSuffix = "/status/";
    std::string_view p = request.path();
    if (p.size() <= kPrefix.size() + kSuffix.size() || p.substr(p.size() - kSuffix.size()) != kSuffix)
      return Response::error(404, "no such endpoint");
    const std::string id(p.substr(kPrefix.size(), p.size() - kPrefix.size() - kSuffix.size()));
    if (id.size() > 64 || id.find_first_not_of("0123456789abcdef-") != std::string::npos)
      return Response::error(404, fmt::format("upload {} not found", id.substr(0, 64)));
    if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET, HEAD");
    auto claims = bearer_grant(request, s_->secret);
    if (!claims.ok()) return Response::from_status(claims.status());
    auto st = s_->service->status(id);
    // An upload of another context is reported as absent, as the reference
    // app does for non-members.
    if (!st.ok() && !st.status().is(ErrorCode::not_found)) return Response::from_status(st.status());
    if (!st.ok() || !check_upload_grant(*claims, {st->context, std::nullopt, std::nullopt}).ok())
      return Response::error(404, fmt::format("upload {} not found", id));
    json thumbs = {{"small", nullptr}, {"medium", nullptr}, {"large", nullptr}};
    json media_url = nullptr;
    if (st->result) {
      media_url = url_of(st->result->original);
      // Per size, the stored format the client takes best (Accept: AVIF,
      // WebP, then JPEG); one not stored in any of those: the first stored.
      const auto formats = mediastore::detail::accepted_thumbnail_formats(request.header("accept"));
      std::map<std::string, std::pair<std::size_t, const StoredObject*>> best;
      for (const auto& t : st->result->thumbnails) {
        if (!thumbs.contains(t.name)) continue;
        std::size_t rank = formats.size();
        for (std::size_t i = 0; i < formats.size(); ++i)
          if (t.format == thumbnail_format_name(formats[i])) rank = i;
        auto it = best.find(t.name);
        if (it == best.end() || rank < it->second.first) best[t.name] = {rank, &t};
      }
      for (const auto& [name, chosen] : best) thumbs[name] = url_of(*chosen.second);
    }
    json body = {{"id", st->id},
                 {"status", upload_state_name(st->state)},
                 {"stage", upload_stage_name(st->stage)},
                 {"progress_percentage", st->progress_percentage},
                 {"attempt", st->attempt},
                 {"media_file_url", media_url},
                 {"thumbnail_urls", thumbs},
                 {"keep_media_id", nullptr},
                 {"error", st->error_message.empty() ? json(nullptr) : json(st->error_message)}};
    Response r = Response::json(200, body.dump(-1, ' ', false, kReplace));
    r.headers.push_back({"Vary", "Accept"});  // thumbnail_urls depend on it
    return r;
  }

 private:
  // A fresh URL (signed where the backend signs), else the one recorded.
  std::string url_of(const StoredObject& o) {
    auto u = s_->service->storage().get_url(o.key, s_->options.url_expiry);
    return u.ok() ? *u : o.url;
  }
  std::shared_ptr<Shared> s_;
};

// ---- GET <MEDIA_URL path><key> ----

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a raw key path; refuses what could name something else
// than the key the URL was signed for: encoded '/', '\', NUL and controls.
Result<std::string> decode_key(std::string_view raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size() || hex_value(raw[i + 1]) < 0 || hex_value(raw[i + 2]) < 0)
        return Status::InvalidArgument("a malformed percent escape in the media path");
      c = static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
      if (c == '/') return Status::NotFound("an encoded '/' in the media path");
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\')
      return Status::NotFound("a control character or backslash in the media path");
    out += c;
  }
  if (!validate_key(out).ok()) return Status::NotFound("not a valid key ('..', '.', empty segments)");
  return out;
}

// Bytes [offset, offset + remaining) of a stored object, read in pieces.
class ObjectReader final : public BodyReader {
 public:
  ObjectReader(std::shared_ptr<UploadService> service, std::string key, std::uint64_t offset, std::uint64_t length)
      : service_(std::move(service)), key_(std::move(key)), offset_(offset), remaining_(length) {}

  Result<std::size_t> read(char* buf, std::size_t n) override {
    if (remaining_ == 0) return std::size_t{0};
    n = static_cast<std::size_t>(std::min<std::uint64_t>({n, remaining_, 256 * 1024}));
    struct Sink final : ByteSink {
      char* p;
      std::size_t room, got = 0;
      Sink(char* b, std::size_t r) : p(b), room(r) {}
      Status write(const void* d, std::size_t len) override {
        if (len > room - got) return Status::Conflict("the object grew while being served");
        std::memcpy(p + got, d, len);
        got += len;
        return Status::Ok();
      }
    } sink(buf, n);
    MS_RETURN_IF_ERROR(service_->storage().read(key_, sink, ByteRange{offset_, n}, {}));
    if (sink.got == 0) return Status::Conflict("the object shrank while being served");
    offset_ += sink.got;
    remaining_ -= sink.got;
    return sink.got;
  }

 private:
  std::shared_ptr<UploadService> service_;
  std::string key_;
  std::uint64_t offset_, remaining_;
};

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    std::string_view t = if_none_match.substr(0, comma);
    if_none_match = comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (t.substr(0, 2) == "W/") t.remove_prefix(2);
    if (t == "*" || t == etag) return true;
  }
  return false;
}

struct Range {
  std::uint64_t first = 0, last = 0;
};
// nullopt: no usable single range (absent, malformed or several: serve all);
// a Range with first > last: unsatisfiable.
std::optional<Range> parse_range(const std::string* header, std::uint64_t size) {
  if (!header) return std::nullopt;
  std::string_view v(*header);
  if (v.substr(0, 6) != "bytes=") return std::nullopt;
  v.remove_prefix(6);
  if (v.find(',') != std::string_view::npos) return std::nullopt;
  const auto dash = v.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view a = v.substr(0, dash), b = v.substr(dash + 1);
  auto num = [](std::string_view s, std::uint64_t& out) {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
    out = std::stoull(std::string(s));
    return true;
  };
  std::uint64_t x = 0, y = 0;
  if (a.empty()) {  // suffix: the last y bytes
    if (!num(b, y)) return std::nullopt;
    if (y == 0 || size == 0) return Range{1, 0};
    return Range{size - std::min(y, size), size - 1};
  }
  if (!num(a, x)) return std::nullopt;
  if (b.empty())
    y = size == 0 ? 0 : size - 1;
  else if (!num(b, y) || y < x)
    return std::nullopt;
  if (x >= size) return Range{1, 0};
  return Range{x, std::min(y, size - 1)};
}

class MediaHandler final : public Handler {
 public:
  MediaHandler(std::shared_ptr<Shared> s, std::string prefix) : s_(std::move(s)), prefix_(std::move(prefix)) {}
  Started begin(const Request& request) override {
    if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET, HEAD");
    const Config& cfg = s_->service->config();
    if (cfg.backend != BackendKind::local || cfg.url_signing_key.empty())
      return Response::error(404, "media are served here only for the local backend with MEDIA_URL_SIGNING_KEY");
    const std::string_view raw = request.path().substr(prefix_.size());
    auto key = decode_key(raw);
    if (!key.ok()) return Response::error(key.status().is(ErrorCode::invalid_argument) ? 400 : 404, "no such media");
    Status v = verify_local_url(request.target, cfg.url_signing_key);
    if (!v.ok()) return Response::error(403, v.message());
    auto info = s_->service->storage().stat(*key);
    if (!info.ok()) return Response::error(404, "no such media");
    const std::string etag = "\"" + info->etag + "\"";
    Response r;
    r.headers.push_back({"ETag", etag});
    r.headers.push_back({"Last-Modified", http_date(info->last_modified)});
    r.headers.push_back({"Accept-Ranges", "bytes"});
    r.headers.push_back({"Cache-Control", "private, max-age=3600"});
    r.headers.push_back({"X-Content-Type-Options", "nosniff"});
    if (const std::string* inm = request.header("if-none-match"); inm && etag_matches(*inm, etag)) {
      r.status = 304;
      return r;
    }
    r.headers.push_back({"Content-Type", info->content_type});
    const auto range = parse_range(request.header("range"), info->size);
    std::uint64_t first = 0, length = info->size;
    if (range) {
      if (range->first > range->last) {
        Response bad = Response::error(416, "the requested range is not satisfiable");
        bad.headers.push_back({"Content-Range", fmt::format("bytes */{}", info->size)});
        return bad;
      }
      first = range->first;
      length = range->last - range->first + 1;
      r.status = 206;
      r.headers.push_back({"Content-Range", fmt::format("bytes {}-{}/{}", range->first, range->last, info->size)});
    }
    r.stream = std::make_shared<ObjectReader>(s_->service, *key, first, length);
    r.stream_size = length;
    return r;
  }

 private:
  std::shared_ptr<Shared> s_;
  std::string prefix_;
};

// ---- /healthz, /metrics ----

class HealthHandler final : public Handler {
 public:
  explicit HealthHandler(std::shared_ptr<Shared> s) : s_(std::move(s)) {}
  Started begin(const Request& request) override {
    if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET, HEAD");
    const Status storage = s_->service->storage().ping();
    const auto queue = s_->service->queue().stats();
    const bool ok = storage.ok() && queue.ok();
    json body = {{"status", ok ? "ok" : "unavailable"},
                 {"storage", storage.ok() ? "ok" : storage.message()},
                 {"queue", queue.ok() ? "ok" : queue.status().message()}};
    return Response::json(ok ? 200 : 503, body.dump(-1, ' ', false, kReplace));
  }

 private:
  std::shared_ptr<Shared> s_;
};

class MetricsHandler final : public Handler {
 public:
  explicit MetricsHandler(std::shared_ptr<Shared> s) : s_(std::move(s)) {}
  Started begin(const Request& request) override {
    if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET, HEAD");
    auto m = s_->service->metrics();
    if (!m.ok()) return Response::from_status(m.status());
    Response r;
    r.headers.push_back({"Content-Type", "text/plain; version=0.0.4; charset=utf-8"});
    r.body = to_prometheus(*m);
    return r;
  }

 private:
  std::shared_ptr<Shared> s_;
};

// The path part of MEDIA_URL ("/media/" of "https://cdn.example/media/").
std::string media_path_prefix(const std::string& media_url) {
  std::string_view u(media_url);
  if (const auto scheme = u.find("://"); scheme != std::string_view::npos) {
    const auto slash = u.find('/', scheme + 3);
    u = slash == std::string_view::npos ? std::string_view("/") : u.substr(slash);
  }
  std::string p;
  if (u.empty() || u.front() != '/') p += '/';
  p += u;
  if (p.back() != '/') p += '/';
  return p;
}

}  // namespace

Result<std::shared_ptr<Router>> make_media_service(std::shared_ptr<UploadService> service, ServiceOptions options) {
  if (!service) return Status::InvalidArgument("make_media_service: no upload service");
  if (service->config().upload_grant_secret.empty())
    return Status::InvalidArgument("MEDIA_UPLOAD_GRANT_SECRET is not set: uploads cannot be authorised");
  auto shared = std::make_shared<Shared>();
  shared->service = std::move(service);
  shared->options = std::move(options);
  shared->secret = shared->service->config().upload_grant_secret;
  auto router = std::make_shared<Router>();
  router->add_exact("/api/keeps/upload/", std::make_shared<UploadHandler>(shared));
  router->add_prefix("/api/keeps/upload/", std::make_shared<StatusHandler>(shared));
  router->add_exact("/healthz", std::make_shared<HealthHandler>(shared));
  router->add_exact("/metrics", std::make_shared<MetricsHandler>(shared));
  const std::string media = media_path_prefix(shared->service->config().media_url);
  if (media != "/") router->add_prefix(media, std::make_shared<MediaHandler>(shared, media));
  return router;
}

}  // namespace mediastore::http
