#include "s3/client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <thread>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "s3/credentials.hpp"
#include "s3/errors.hpp"

namespace mediastore::s3 {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::size_t kHashChunk = 1 << 20;

std::string sha256_hex(std::string_view data) { return detail::hex_lower(detail::sha256(data)); }

// SHA-256 of source's bytes via read_at (the cursor does not move).
Result<std::string> sha256_of_source(BodySource& source, std::uint64_t size) {
  detail::Hasher h(detail::Hasher::Kind::sha256);
  std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(size, kHashChunk)), '\0');
  std::uint64_t off = 0;
  while (off < size) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - off));
    auto r = source.read_at(off, buf.data(), want);
    if (!r.ok()) return r.status();
    if (*r == 0) return Status::IoError(fmt::format("the upload source ended after {} of {} bytes", off, size));
    h.update(buf.data(), *r);
    off += *r;
  }
  return detail::hex_lower(h.finish());
}

bool is_hex_md5(std::string_view s) {
  if (s.size() != 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

const std::string* find_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

// True when a whole object's ETag (from these answer headers) is the MD5 of
// its bytes: a plain 32-hex-digit ETag (multipart objects have "...-N") and
// no SSE-C or SSE-KMS, whose ETags are not the MD5 of the plaintext.
bool etag_is_body_md5(const Headers& headers) {
  const std::string* etag = find_header(headers, "etag");
  if (etag == nullptr || !is_hex_md5(unquote_etag(*etag))) return false;
  if (find_header(headers, "x-amz-server-side-encryption-customer-algorithm") != nullptr) return false;
  const std::string* sse = find_header(headers, "x-amz-server-side-encryption");
  return sse == nullptr || *sse != "aws:kms";
}

// Counts bytes and, for a whole download whose ETag is an MD5 (decided on
// the answer's headers, before the first byte), keeps an MD5 of what passes
// to the real sink. Multipart objects and ranges are not hashed: their ETag
// cannot check them, and MD5 costs ~1.2 CPU s/GiB.
class CheckingSink final : public BodySink {
 public:
  CheckingSink(BodySink& inner, bool whole) : inner_(inner), whole_(whole), md5_(detail::Hasher::Kind::md5) {}
  Status begin(long status, const Headers& headers) override {
    hash_ = whole_ && etag_is_body_md5(headers);
    return inner_.begin(status, headers);
  }
  Status write(const void* data, std::size_t n) override {
    if (hash_) md5_.update(data, n);
    written_ += n;
    return inner_.write(data, n);
  }
  Status reset() override {
    if (written_ == 0) return Status::Ok();
    MS_RETURN_IF_ERROR(inner_.reset());
    written_ = 0;
    md5_.finish();
    return Status::Ok();
  }
  std::uint64_t written() const { return written_; }
  // The MD5 of the bytes written (of nothing when they were not hashed:
  // begin() is called before any byte, so that only happens for an empty
  // body, whose MD5 it then is).
  std::string md5_hex() { return detail::hex_lower(md5_.finish()); }

 private:
  BodySink& inner_;
  bool whole_;
  bool hash_ = false;
  detail::Hasher md5_;
  std::uint64_t written_ = 0;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

Status Client::create_only_status(const Status& s, std::string_view key) const {
  if (s.is(ErrorCode::conflict) && s.message().find("PreconditionFailed") != std::string::npos) {
    return Status::AlreadyExists(
        fmt::format("key '{}' already holds an object in bucket '{}' (create-only put)", key, settings_.bucket));
  }
  return s;
}

void add_object_headers(Headers& h, const PutObjectOptions& o) {
  h.emplace_back("Content-Type", o.content_type.empty() ? "application/octet-stream" : o.content_type);
  if (!o.cache_control.empty()) h.emplace_back("Cache-Control", o.cache_control);
  if (!o.content_disposition.empty()) h.emplace_back("Content-Disposition", o.content_disposition);
  for (const auto& [k, v] : o.metadata) h.emplace_back("x-amz-meta-" + lower(k), v);
}

namespace {

bool retryable_transport(const Status& s) { return s.is(ErrorCode::network_error) || s.is(ErrorCode::timeout); }

}  // namespace

ObjectHead parse_object_head(const HttpResponse& r) {
  ObjectHead h;
  for (const auto& [k, v] : r.headers) {
    if (k == "content-length") {
      h.size = std::strtoull(v.c_str(), nullptr, 10);
    } else if (k == "content-type") {
      h.content_type = v;
    } else if (k == "etag") {
      h.etag = unquote_etag(v);
    } else if (k == "last-modified") {
      if (auto t = parse_http_date(v)) h.last_modified = *t;
    } else if (k == "cache-control") {
      h.cache_control = v;
    } else if (k == "content-disposition") {
      h.content_disposition = v;
    } else if (k.rfind("x-amz-meta-", 0) == 0) {
      h.metadata[k.substr(11)] = v;
    }
  }
  return h;
}

std::uint64_t effective_part_size(std::uint64_t configured, std::optional<std::uint64_t> size) {
  constexpr std::uint64_t kMaxParts = 10000;
  constexpr std::uint64_t kMiB = 1 << 20;
  std::uint64_t ps = std::max<std::uint64_t>(configured, 5 * kMiB);
  if (size && (*size + ps - 1) / ps > kMaxParts) {
    ps = (*size + kMaxParts - 1) / kMaxParts;
    ps = (ps + kMiB - 1) / kMiB * kMiB;
  }
  return ps;
}

std::optional<PayloadSigning> parse_payload_signing(std::string_view name) {
  if (name.empty() || name == "auto") return PayloadSigning::automatic;
  if (name == "whole") return PayloadSigning::whole;
  if (name == "streaming") return PayloadSigning::streaming;
  return std::nullopt;
}

Result<std::shared_ptr<Client>> Client::create(const S3Settings& settings, const Config::Lookup& env) {
  auto ep = parse_endpoint(settings.endpoint);
  if (!ep.ok()) return ep.status();
  if (settings.bucket.empty()) return Status::InvalidArgument("the S3 bucket name is empty");
  if (!parse_payload_signing(settings.payload_signing)) {
    return Status::InvalidArgument(
        fmt::format("S3 payload signing must be auto, whole or streaming, got '{}'", settings.payload_signing));
  }
  auto creds = resolve_credentials(settings, env);
  if (!creds.ok()) return creds.status();
  MS_LOG(debug, "s3", "client for bucket {} at {} (credentials from {})", settings.bucket, settings.endpoint,
         creds->source);
  return std::make_shared<Client>(settings, std::move(ep.value()), make_credential_cache(std::move(creds.value())));
}

Client::Client(S3Settings settings, Endpoint endpoint, Credentials credentials)
    : Client(std::move(settings), std::move(endpoint), std::make_shared<CredentialCache>(std::move(credentials))) {}

Client::Client(S3Settings settings, Endpoint endpoint, std::shared_ptr<CredentialCache> credentials)
    : settings_(std::move(settings)),
      endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      http_(HttpOptions{settings_.connect_timeout, settings_.low_speed_timeout, std::chrono::milliseconds(0),
                        settings_.verify_tls, settings_.ca_file, 16}),
      sleep_([](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }) {
  policy_.max_attempts = std::max(1, settings_.max_attempts);
  payload_signing_.store(parse_payload_signing(settings_.payload_signing).value_or(PayloadSigning::automatic));
}

std::string Client::what(const Op& op) const {
  return op.key.empty() ? fmt::format("{} bucket {}", op.method, settings_.bucket)
                        : fmt::format("{} {}/{}", op.method, settings_.bucket, op.key);
}

Result<HttpResponse> Client::execute(Op& op) {
  const Target target = make_target(endpoint_, settings_.bucket, op.key, settings_.path_style);
  std::string url = fmt::format("{}://{}{}", endpoint_.scheme, target.host, target.path);
  if (!op.query.empty()) {
    url.push_back('?');
    url += encode_query(op.query);
  }
  if (op.payload_hash.empty()) {
    if (op.source != nullptr) {
      if (op.source->random_access()) {
        auto h = sha256_of_source(*op.source, op.source_size);
        if (!h.ok()) return h.status();
        op.payload_hash = std::move(h.value());
      } else {
        return Status::Internal(fmt::format("{}: a streamed body without random access needs its hash", what(op)));
      }
    } else {
      op.payload_hash = op.body.empty() ? std::string(kEmptySha256) : sha256_hex(op.body);
    }
  }
  const std::string description = what(op);
  int retry_tokens = 0;
  Status last;
  for (int attempt = 1; attempt <= policy_.max_attempts; ++attempt) {
    if (attempt > 1) {
      if (op.source != nullptr) {
        Status s = op.source->rewind();
        if (!s.ok()) return last.with_context("cannot retry, the body does not rewind: " + s.message());
      }
      if (op.sink != nullptr) {
        Status s = op.sink->reset();
        if (!s.ok()) return last.with_context("cannot retry, the download sink does not reset: " + s.message());
      }
    }
    // Per attempt: a retry after a long wait may need refreshed credentials.
    auto creds = credentials_->get();
    if (!creds.ok()) return creds.status().with_context(description);
    const Credentials& credentials = creds.value();
    SignableRequest sr;
    sr.method = op.method;
    sr.path = target.path;
    sr.query = op.query;
    sr.headers.reserve(op.headers.size() + 4);
    sr.headers.emplace_back("Host", target.host);
    for (const auto& h : op.headers) sr.headers.push_back(h);
    sr.payload_hash = op.payload_hash;
    SigningParams params;
    params.region = settings_.region;
    params.time = std::chrono::system_clock::now();
    add_signing_headers(sr, credentials, params);
    const SigningResult sig = sign_request(sr, credentials, params);
    if (op.chunked != nullptr) {
      // The chunk signatures chain from this attempt's signature.
      ChunkSigningContext ctx;
      const std::string day = sig.amz_date.substr(0, 8);
      ctx.signing_key = signing_key(credentials.secret_access_key, day, params.region, params.service);
      ctx.amz_date = sig.amz_date;
      ctx.scope = fmt::format("{}/{}/{}/aws4_request", day, params.region, params.service);
      ctx.seed_signature = sig.signature;
      op.chunked->start(std::move(ctx));
    }

    HttpRequest hr;
    hr.method = op.method;
    hr.url = url;
    hr.headers = std::move(sr.headers);
    hr.headers.emplace_back("Authorization", sig.authorization);
    hr.source = op.source;
    hr.body_size = op.source_size;
    hr.body = op.body;
    hr.sink = op.sink;
    hr.progress = op.progress;

    const auto t0 = Clock::now();
    auto res = http_.perform(hr);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    bool retryable = false;
    std::string request_id;
    long http_status = 0;
    std::uint64_t bytes = 0;
    if (res.ok()) {
      http_status = res->status;
      bytes = op.method == "PUT" || op.method == "POST" ? (op.chunked  ? op.chunked->object_size()
                                                           : op.source ? op.source_size
                                                                       : op.body.size())
                                                        : res->body_bytes;
      request_id = res->header("x-amz-request-id").value_or("");
      if (http_status >= 200 && http_status < 300) {
        budget_.on_success(retry_tokens);
        MS_LOGF(debug, "s3",
                (std::vector<LogField>{{"method", op.method},
                                       {"key", op.key},
                                       {"status", std::to_string(http_status)},
                                       {"bytes", std::to_string(bytes)},
                                       {"duration_ms", std::to_string(ms)},
                                       {"attempt", std::to_string(attempt)},
                                       {"request_id", request_id}}),
                "{} -> {} ({} bytes, {} ms, attempt {})", description, http_status, bytes, ms, attempt);
        return res;
      }
      S3Error err;
      if (auto parsed = parse_error(res->body)) err = std::move(*parsed);
      if (err.request_id.empty()) err.request_id = request_id;
      if (op.method == "HEAD" && http_status == 403 && err.code.empty()) {
        // HEAD answers carry no body, so a bad signature looks like any
        // other 403. The same request as a one-byte GET tells which it is.
        Op probe = op;
        probe.method = "GET";
        probe.headers.emplace_back("Range", "bytes=0-0");
        probe.progress = nullptr;
        auto p = execute(probe);
        if (!p.ok() && p.status().is(ErrorCode::auth_failed)) {
          return Status::AuthFailed(
              fmt::format("{}: HTTP 403; a GET probe says: {}", description, p.status().message()));
        }
      }
      last = s3_status(err, http_status, description);
      retryable = is_retryable_answer(err.code, http_status);
    } else {
      last = res.status();
      retryable = retryable_transport(last);
    }
    const bool more = retryable && attempt < policy_.max_attempts;
    int taken = 0;
    if (more) taken = budget_.acquire(last.code());
    const bool will_retry = more && taken > 0;
    const bool server_side = !res.ok() || http_status >= 500 || http_status == 429 || http_status == 408;
    std::vector<LogField> fields{{"method", op.method},
                                 {"key", op.key},
                                 {"status", res.ok() ? std::to_string(http_status) : error_code_name(last.code())},
                                 {"bytes", std::to_string(bytes)},
                                 {"duration_ms", std::to_string(ms)},
                                 {"attempt", std::to_string(attempt)},
                                 {"request_id", request_id}};
    if (will_retry) {
      retry_tokens += taken;
      const auto delay = backoff_delay(policy_, attempt, jitter01());
      MS_LOGF(info, "s3", fields, "{} failed (attempt {} of {}), retrying in {} ms: {}", description, attempt,
              policy_.max_attempts, delay.count(), last.message());
      sleep_(delay);
      continue;
    }
    if (more) last = last.with_context("retry budget exhausted");
    if (server_side) {
      MS_LOGF(warn, "s3", fields, "{} failed after {} attempt(s): {}", description, attempt, last.message());
    } else {
      MS_LOGF(debug, "s3", fields, "{} failed: {}", description, last.message());
    }
    return last;
  }
  return last;
}

// ---------------------------------------------------------------- objects

namespace {

// Bytes already read from a stream, then the rest of the stream.
class PrefixedSource final : public BodySource {
 public:
  PrefixedSource(std::string prefix, BodySource& rest) : prefix_(std::move(prefix)), rest_(rest) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    if (pos_ < prefix_.size()) {
      const std::size_t k = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    return rest_.read(buf, n);
  }
  std::optional<std::uint64_t> size() const override { return std::nullopt; }

 private:
  std::string prefix_;
  std::size_t pos_ = 0;
  BodySource& rest_;
};

}  // namespace

Status Client::put_object(std::string_view key, BodySource& source, const PutObjectOptions& options) {
  const auto size = source.size();
  // A create-only put stays a single PutObject unless the server is known to
  // honour If-None-Match on CompleteMultipartUpload (see PutObjectOptions).
  const bool single_only = options.if_none_match && !settings_.conditional_multipart;
  if (size) {
    if (single_only && *size > kMaxSinglePut) {
      return Status::TooLarge(fmt::format(
          "PUT {}/{}: a create-only put of {} bytes needs a multipart upload, and the server is not known to honour "
          "If-None-Match on CompleteMultipartUpload (MEDIA_S3_CONDITIONAL_MULTIPART); one PutObject takes at most 5 "
          "GiB",
          settings_.bucket, key, *size));
    }
    if (*size < settings_.multipart_threshold || single_only) return put_object_single(key, source, *size, options);
    return put_object_multipart(key, source, size, options);
  }
  // Unknown size: read up to the threshold; a stream that ends before it is
  // one PutObject from memory, a longer one goes multipart (the bytes read so
  // far first).
  std::string head(static_cast<std::size_t>(settings_.multipart_threshold), '\0');
  std::size_t got = 0;
  while (got < head.size()) {
    auto r = source.read(head.data() + got, head.size() - got);
    if (!r.ok()) return r.status();
    if (*r == 0) break;
    got += *r;
  }
  if (got < head.size()) {
    head.resize(got);
    MemoryBody body(head);
    return put_object_single(key, body, got, options);
  }
  if (single_only) {
    return Status::TooLarge(fmt::format(
        "PUT {}/{}: a create-only put of a stream of unknown size longer than the multipart threshold ({} bytes) needs "
        "a multipart upload, and the server is not known to honour If-None-Match on CompleteMultipartUpload "
        "(MEDIA_S3_CONDITIONAL_MULTIPART); give the size or a file",
        settings_.bucket, key, settings_.multipart_threshold));
  }
  PrefixedSource rest(std::move(head), source);
  return put_object_multipart(key, rest, std::nullopt, options);
}

Status Client::put_object_single(std::string_view key, BodySource& source, std::uint64_t size,
                                 const PutObjectOptions& options) {
  Op op;
  op.method = "PUT";
  op.key = std::string(key);
  add_object_headers(op.headers, options);
  if (options.if_none_match) op.headers.emplace_back("If-None-Match", "*");
  op.progress = options.progress;
  std::string buffer;
  std::unique_ptr<ChunkedSigningSource> chunked;
  const PayloadSigning mode = payload_signing();
  // An empty body is never streamed (RGW 16 refuses a lone 0-byte chunk with
  // XAmzContentSHA256Mismatch; there is nothing to overlap anyway).
  const bool stream =
      size > 0 && source.random_access() &&
      (mode == PayloadSigning::streaming || (mode == PayloadSigning::automatic && size >= kStreamingThreshold));
  if (stream) {
    chunked = std::make_unique<ChunkedSigningSource>(source, size);
    // No "Content-Encoding: aws-chunked": the server recognises the
    // framing from x-amz-content-sha256, and some servers (Ceph RGW before
    // 2025, some S3 clones) store that header on the object and send it back
    // on every GET, which breaks strict HTTP clients (AWS itself stores an
    // empty Content-Encoding). AWS's SDK maintainers were told by AWS
    // support to leave it out for that reason.
    op.headers.emplace_back("x-amz-decoded-content-length", std::to_string(size));
    op.payload_hash = std::string(kStreamingPayload);
    op.source = chunked.get();
    op.source_size = *chunked->size();
    op.chunked = chunked.get();
    if (options.progress) {
      // Report object bytes, not encoded ones.
      ChunkedSigningSource* c = chunked.get();
      op.progress = [c, progress = options.progress](std::uint64_t, std::uint64_t) {
        return progress(c->data_bytes_sent(), c->object_size());
      };
    }
  } else if (source.random_access()) {
    MS_RETURN_IF_ERROR(source.rewind());
    op.source = &source;
    op.source_size = size;
    op.payload_hash = options.payload_sha256;  // "" = hashed by execute()
  } else {
    // Without random access the body is hashed from memory (at most the
    // multipart threshold).
    buffer.resize(static_cast<std::size_t>(size));
    std::size_t got = 0;
    while (got < buffer.size()) {
      auto r = source.read(buffer.data() + got, buffer.size() - got);
      if (!r.ok()) return r.status();
      if (*r == 0) break;
      got += *r;
    }
    if (got != buffer.size()) {
      return Status::IoError(fmt::format("PUT {}: the source ended after {} of {} bytes", key, got, size));
    }
    op.body = buffer;
  }
  auto r = execute(op);
  if (!r.ok() && stream && r.status().is(ErrorCode::io_error)) {
    // The reader thread's error (the transfer was aborted, nothing stored).
    return r.status().with_context(fmt::format("PUT {}/{}", settings_.bucket, key));
  }
  if (!r.ok() && options.if_none_match) return create_only_status(r.status(), key);
  return r.ok() ? Status::Ok() : r.status();
}

Status Client::get_object(std::string_view key, BodySink& sink, std::optional<std::uint64_t> offset,
                          std::optional<std::uint64_t> length, const ProgressFn& progress, ObjectHead* head_out) {
  const bool ranged = offset.has_value() || length.has_value();
  if (length && *length == 0) {
    // An empty range reads nothing; still report a missing object.
    auto h = head_object(key);
    if (!h.ok()) return h.status();
    if (head_out) *head_out = std::move(h.value());
    return Status::Ok();
  }
  Op op;
  op.method = "GET";
  op.key = std::string(key);
  if (ranged) {
    const std::uint64_t from = offset.value_or(0);
    op.headers.emplace_back(
        "Range", length ? fmt::format("bytes={}-{}", from, from + *length - 1) : fmt::format("bytes={}-", from));
  }
  CheckingSink checking(sink, !ranged);
  op.sink = &checking;
  op.progress = progress;
  auto r = execute(op);
  if (!r.ok()) {
    // A range starting past the end (416 InvalidRange) reads zero bytes.
    if (ranged && r.status().message().find("InvalidRange") != std::string::npos) return Status::Ok();
    return r.status();
  }
  ObjectHead head = parse_object_head(r.value());
  if (!ranged && etag_is_body_md5(r->headers)) {
    const std::string got = checking.md5_hex();
    if (got != lower(head.etag)) {
      return Status::IoError(fmt::format("GET {}/{}: damaged download: MD5 of the {} bytes received is {}, ETag is {}",
                                         settings_.bucket, key, checking.written(), got, head.etag));
    }
  }
  if (!ranged && checking.written() != head.size && r->header("content-length")) {
    return Status::IoError(fmt::format("GET {}/{}: received {} bytes, Content-Length was {}", settings_.bucket, key,
                                       checking.written(), head.size));
  }
  if (head_out) *head_out = std::move(head);
  return Status::Ok();
}

Result<ObjectHead> Client::head_object(std::string_view key) {
  Op op;
  op.method = "HEAD";
  op.key = std::string(key);
  auto r = execute(op);
  if (!r.ok()) return r.status();
  return parse_object_head(r.value());
}

Status Client::delete_object(std::string_view key) {
  Op op;
  op.method = "DELETE";
  op.key = std::string(key);
  auto r = execute(op);
  if (!r.ok() && r.status().is(ErrorCode::not_found) && r.status().message().find("NoSuchKey") != std::string::npos) {
    return Status::Ok();
  }
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::vector<std::pair<std::string, Status>>> Client::delete_objects(const std::vector<std::string>& keys) {
  std::vector<std::pair<std::string, Status>> failures;
  for (std::size_t start = 0; start < keys.size(); start += 1000) {
    const std::size_t end = std::min(keys.size(), start + 1000);
    std::vector<std::string> batch(keys.begin() + static_cast<std::ptrdiff_t>(start),
                                   keys.begin() + static_cast<std::ptrdiff_t>(end));
    const std::string body = build_delete_objects(batch, true);
    Op op;
    op.method = "POST";
    op.query.emplace_back("delete", "");
    op.headers.emplace_back("Content-Type", "application/xml");
    // S3 requires a body checksum on DeleteObjects.
    const auto digest = detail::md5(body);
    op.headers.emplace_back("Content-MD5", detail::base64_encode(std::string_view(
                                               reinterpret_cast<const char*>(digest.data()), digest.size())));
    op.body = body;
    auto r = execute(op);
    if (!r.ok()) return r.status();
    auto parsed = parse_delete_result(r->body);
    if (!parsed.ok()) return parsed.status();
    for (auto& f : parsed->errors) {
      if (f.error.code == "NoSuchKey") continue;  // deleting a missing key succeeds
      failures.emplace_back(f.key, s3_status(f.error, 200, fmt::format("DELETE {}/{}", settings_.bucket, f.key)));
    }
  }
  return failures;
}

Result<ListObjectsV2Result> Client::list_objects_v2(const ListRequest& req) {
  Op op;
  op.method = "GET";
  op.query.emplace_back("list-type", "2");
  if (!req.prefix.empty()) op.query.emplace_back("prefix", req.prefix);
  if (!req.delimiter.empty()) op.query.emplace_back("delimiter", req.delimiter);
  if (!req.continuation_token.empty()) op.query.emplace_back("continuation-token", req.continuation_token);
  if (!req.start_after.empty()) op.query.emplace_back("start-after", req.start_after);
  op.query.emplace_back("max-keys", std::to_string(std::clamp(req.max_keys, 1, 1000)));
  auto r = execute(op);
  if (!r.ok()) return r.status();
  return parse_list_objects_v2(r->body);
}

Status Client::list_all(const ListRequest& request, const std::function<bool(const ListObjectsV2Result&)>& each) {
  ListRequest req = request;
  for (;;) {
    auto page = list_objects_v2(req);
    if (!page.ok()) return page.status();
    if (!each(page.value())) return Status::Ok();
    if (!page->is_truncated) return Status::Ok();
    req.continuation_token = page->next_continuation_token;
  }
}

Result<CopyResult> Client::copy_object(std::string_view from_key, std::string_view to_key) {
  Op op;
  op.method = "PUT";
  op.key = std::string(to_key);
  op.headers.emplace_back("x-amz-copy-source", "/" + uri_encode(settings_.bucket, true) + "/" + encode_key(from_key));
  op.headers.emplace_back("x-amz-metadata-directive", "COPY");
  auto r = execute(op);
  if (!r.ok()) return r.status();
  return parse_copy_result(r->body);
}

Result<CopyResult> Client::copy_object(std::string_view from_key, std::string_view to_key,
                                       const PutObjectOptions& replace) {
  Op op;
  op.method = "PUT";
  op.key = std::string(to_key);
  op.headers.emplace_back("x-amz-copy-source", "/" + uri_encode(settings_.bucket, true) + "/" + encode_key(from_key));
  op.headers.emplace_back("x-amz-metadata-directive", "REPLACE");
  add_object_headers(op.headers, replace);
  auto r = execute(op);
  if (!r.ok()) return r.status();
  return parse_copy_result(r->body);
}

// ---------------------------------------------------------------- bucket

Status Client::head_bucket() {
  Op op;
  op.method = "HEAD";
  auto r = execute(op);
  if (!r.ok() && r.status().is(ErrorCode::not_found)) {
    return Status::NotFound(fmt::format("bucket '{}' does not exist at {}", settings_.bucket, settings_.endpoint));
  }
  return r.ok() ? Status::Ok() : r.status();
}

Status Client::create_bucket() {
  Op op;
  op.method = "PUT";
  std::string body;
  if (!settings_.region.empty() && settings_.region != "us-east-1") {
    body = fmt::format(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
        xml_escape(settings_.region));
    op.headers.emplace_back("Content-Type", "application/xml");
  }
  op.body = body;
  auto r = execute(op);
  if (!r.ok()) {
    if (r.status().message().find("BucketAlreadyOwnedByYou") != std::string::npos) return Status::Ok();
    return r.status();
  }
  MS_LOG(info, "s3", "created bucket {}", settings_.bucket);
  return Status::Ok();
}

}  // namespace mediastore::s3
