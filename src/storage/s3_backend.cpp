// The S3 backend (MEDIA_STORAGE_BACKEND=minio|s3): StorageBackend on
// s3::Client. Keys are validated on every call; list() page tokens are S3
// continuation tokens; get_url() gives a presigned GET URL; direct uploads
// are s3_direct.cpp's.
#include "storage/s3_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

#include "core/log_internal.hpp"
#include "s3/client.hpp"
#include "storage/key.hpp"
#include "storage/s3_direct.hpp"

namespace mediastore::detail {

namespace {

// The headers an object gets from PutOptions: content type, cache control,
// content disposition and user metadata (a put and a copy with REPLACE).
s3::PutObjectOptions object_headers(const PutOptions& options) {
  s3::PutObjectOptions o;
  o.content_type = options.content_type;
  o.cache_control = options.cache_control;
  o.content_disposition = options.content_disposition;
  o.metadata = options.user_metadata;
  return o;
}

// The storage byte streams seen as S3 bodies.
class SourceAdapter final : public s3::BodySource {
 public:
  explicit SourceAdapter(ByteSource& s) : s_(s) {}
  Result<std::size_t> read(void* buf, std::size_t n) override { return s_.read(buf, n); }
  std::optional<std::uint64_t> size() const override { return s_.size(); }
  Status rewind() override { return s_.rewind(); }
  Result<std::size_t> read_at(std::uint64_t offset, void* buf, std::size_t n) override {
    return s_.read_at(offset, buf, n);
  }
  bool random_access() const override { return s_.random_access(); }

 private:
  ByteSource& s_;
};

class SinkAdapter final : public s3::BodySink {
 public:
  explicit SinkAdapter(ByteSink& s) : s_(s) {}
  Status write(const void* data, std::size_t n) override { return s_.write(data, n); }
  Status reset() override { return s_.reset(); }

 private:
  ByteSink& s_;
};

class S3StorageBackend final : public StorageBackend {
 public:
  S3StorageBackend(std::shared_ptr<s3::Client> client, BackendKind kind, bool auto_create,
                   std::optional<s3::Endpoint> public_endpoint)
      : client_(std::move(client)),
        kind_(kind),
        auto_create_(auto_create),
        public_endpoint_(std::move(public_endpoint)) {}

  std::string name() const override { return backend_kind_name(kind_); }

  Status put(std::string_view key, ByteSource& source, const PutOptions& options) override {
    MS_RETURN_IF_ERROR(validate_key(key));
    MS_RETURN_IF_ERROR(detail::validate_put_options(key, options));
    MS_RETURN_IF_ERROR(ensure_bucket());
    s3::PutObjectOptions o = object_headers(options);
    o.progress = options.progress;
    o.payload_sha256 = options.sha256;
    o.if_none_match = options.if_none_match;
    SourceAdapter body(source);
    return client_->put_object(key, body, o);
  }

  Status read(std::string_view key, ByteSink& sink, const std::optional<ByteRange>& range,
              const ProgressFn& progress) override {
    MS_RETURN_IF_ERROR(validate_key(key));
    MS_RETURN_IF_ERROR(ensure_bucket());
    std::optional<std::uint64_t> offset, length;
    if (range) {
      offset = range->offset;
      length = range->length;
    }
    SinkAdapter body(sink);
    return client_->get_object(key, body, offset, length, progress);
  }

  Result<ObjectInfo> stat(std::string_view key) override {
    MS_RETURN_IF_ERROR(validate_key(key));
    MS_RETURN_IF_ERROR(ensure_bucket());
    auto h = client_->head_object(key);
    if (!h.ok()) {
      if (h.status().is(ErrorCode::not_found)) {
        return Status::NotFound(fmt::format("no object at key '{}' in bucket '{}'", key, client_->bucket()));
      }
      return h.status();
    }
    return object_info_from_head(key, h.value());
  }

  Status remove(std::string_view key) override {
    MS_RETURN_IF_ERROR(validate_key(key));
    MS_RETURN_IF_ERROR(ensure_bucket());
    return client_->delete_object(key);
  }

  Result<std::vector<std::pair<std::string, Status>>> remove_many(const std::vector<std::string>& keys) override {
    std::vector<std::pair<std::string, Status>> failures;
    std::vector<std::string> valid;
    valid.reserve(keys.size());
    for (const auto& k : keys) {
      Status s = validate_key(k);
      if (s.ok()) {
        valid.push_back(k);
      } else {
        failures.emplace_back(k, s);
      }
    }
    if (valid.empty()) return failures;
    MS_RETURN_IF_ERROR(ensure_bucket());
    auto r = client_->delete_objects(valid);
    if (!r.ok()) return r.status();
    for (auto& f : r.value()) failures.push_back(std::move(f));
    return failures;
  }

  Result<ListPage> list(const ListOptions& options) override {
    if (options.max_keys < 1 || options.max_keys > 1000) {
      return Status::InvalidArgument(fmt::format("max_keys must be 1..1000, got {}", options.max_keys));
    }
    MS_RETURN_IF_ERROR(ensure_bucket());
    s3::ListRequest req;
    req.prefix = options.prefix;
    req.delimiter = options.delimiter;
    req.continuation_token = options.page_token;
    ListPage page;
    // S3 may answer fewer than max-keys entries on a page that is not the
    // last (RGW does, across index shards): ask again until the page is full
    // or the listing ends, so every backend pages the same way.
    for (;;) {
      const std::size_t have = page.objects.size() + page.common_prefixes.size();
      req.max_keys = options.max_keys - static_cast<int>(have);
      auto r = client_->list_objects_v2(req);
      if (!r.ok()) return r.status();
      for (auto& o : r->objects) {
        ObjectInfo info;
        info.key = std::move(o.key);
        info.size = o.size;
        info.etag = std::move(o.etag);
        info.last_modified = o.last_modified;
        // ListObjectsV2 carries no content type; stat() has it.
        info.content_type = "application/octet-stream";
        page.objects.push_back(std::move(info));
      }
      for (auto& p : r->common_prefixes) page.common_prefixes.push_back(std::move(p));
      if (!r->is_truncated) {
        page.next_page_token.clear();
        break;
      }
      page.next_page_token = r->next_continuation_token;
      if (page.objects.size() + page.common_prefixes.size() >= static_cast<std::size_t>(options.max_keys)) break;
      req.continuation_token = r->next_continuation_token;
    }
    return page;
  }

  Status copy(std::string_view from_key, std::string_view to_key) override {
    MS_RETURN_IF_ERROR(validate_key(from_key));
    MS_RETURN_IF_ERROR(validate_key(to_key));
    MS_RETURN_IF_ERROR(ensure_bucket());
    auto r = client_->copy_object(from_key, to_key);
    if (!r.ok()) {
      if (r.status().is(ErrorCode::not_found)) {
        return Status::NotFound(
            fmt::format("cannot copy: no object at key '{}' in bucket '{}'", from_key, client_->bucket()));
      }
      return r.status();
    }
    return Status::Ok();
  }

  Status copy_with(std::string_view from_key, std::string_view to_key, const PutOptions& options) override {
    MS_RETURN_IF_ERROR(validate_key(from_key));
    MS_RETURN_IF_ERROR(validate_key(to_key));
    MS_RETURN_IF_ERROR(detail::validate_put_options(to_key, options));
    MS_RETURN_IF_ERROR(ensure_bucket());
    auto r = client_->copy_object(from_key, to_key, object_headers(options));
    if (!r.ok()) {
      if (r.status().is(ErrorCode::not_found)) {
        return Status::NotFound(
            fmt::format("cannot copy: no object at key '{}' in bucket '{}'", from_key, client_->bucket()));
      }
      return r.status();
    }
    return Status::Ok();
  }

  Result<std::uint64_t> abort_multipart_uploads(std::string_view prefix,
                                                std::chrono::system_clock::time_point started_before) override {
    MS_RETURN_IF_ERROR(ensure_bucket());
    auto uploads = client_->list_multipart_uploads(prefix);
    if (!uploads.ok()) return uploads.status();
    std::uint64_t aborted = 0;
    for (const auto& u : uploads.value()) {
      // list_multipart_uploads filters by prefix on the server; checked again
      // so that a server ignoring it cannot make us abort others' uploads.
      if (u.key.compare(0, prefix.size(), prefix) != 0 || u.initiated >= started_before) continue;
      Status st = client_->abort_multipart_upload(u.key, u.upload_id);
      if (!st.ok() && !st.is(ErrorCode::not_found)) return st;
      if (st.ok()) ++aborted;
    }
    return aborted;
  }

  Result<std::string> get_url(std::string_view key, std::chrono::seconds expires_in) override {
    UrlOptions o;
    o.expires_in = expires_in;
    return url(key, o);
  }

  Result<std::string> url(std::string_view key, const UrlOptions& options) override {
    MS_RETURN_IF_ERROR(validate_key(key));
    const std::string& method = options.http_method;
    if (method != "GET" && method != "HEAD" && method != "PUT") {
      return Status::InvalidArgument(
          fmt::format("a URL for key '{}' is for GET, HEAD or PUT, not '{}'", escape_for_message(key), method));
    }
    if (options.expires_in.count() < 1 || options.expires_in.count() > 604800) {
      return Status::InvalidArgument(fmt::format("URL expiry for key '{}' must be 1 s .. 7 days (604800 s), got {} s",
                                                 escape_for_message(key), options.expires_in.count()));
    }
    std::vector<std::pair<std::string, std::string>> query;
    for (const auto& [name, value] : options.response_headers) {
      static constexpr std::string_view kAllowed[] = {"content-type",     "content-disposition", "cache-control",
                                                      "content-language", "content-encoding",    "expires"};
      if (std::find(std::begin(kAllowed), std::end(kAllowed), name) == std::end(kAllowed)) {
        return Status::InvalidArgument(fmt::format(
            "response header '{}' cannot be overridden in a URL (content-type, content-disposition, cache-control, "
            "content-language, content-encoding, expires)",
            escape_for_message(name)));
      }
      if (value.empty() || value.size() > 1024 || std::any_of(value.begin(), value.end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
          })) {
        return Status::InvalidArgument(
            fmt::format("response header '{}' for key '{}' is empty, too long or has a control character", name,
                        escape_for_message(key)));
      }
      query.emplace_back("response-" + name, value);
    }
    if (!query.empty() && method == "PUT") {
      return Status::InvalidArgument("response header overrides apply to GET and HEAD URLs, not PUT");
    }
    const auto& settings = client_->settings();
    const bool sign = options.signed_url.value_or(settings.querystring_auth);
    if (!sign && !query.empty()) {
      // S3 refuses response-* parameters on anonymous requests.
      return Status::InvalidArgument(fmt::format(
          "response header overrides for key '{}' need a signed URL (querystring_auth)", escape_for_message(key)));
    }
    if (!sign && method == "PUT") return Status::InvalidArgument("a PUT URL must be signed");
    if (!settings.custom_domain.empty()) {
      if (options.signed_url.value_or(false) || method == "PUT") {
        return Status::InvalidArgument(
            fmt::format("URLs on the custom domain '{}' are plain (as django-storages makes them): no signed or PUT "
                        "URL for key '{}'",
                        settings.custom_domain, escape_for_message(key)));
      }
      std::string base = settings.custom_domain;
      while (!base.empty() && base.back() == '/') base.pop_back();
      if (base.find("://") == std::string::npos) base = settings.url_protocol + "//" + base;
      return base + "/" + s3::encode_key(key);
    }
    const s3::Endpoint* on = public_endpoint_ ? &*public_endpoint_ : nullptr;
    if (!sign) return client_->plain_url(key, on);
    return client_->presign(method, key, options.expires_in, query, on);
  }

  Result<DirectUploadPlan> begin_direct_upload(std::string_view key, const DirectUploadSpec& spec) override {
    MS_RETURN_IF_ERROR(validate_key(key));
    MS_RETURN_IF_ERROR(ensure_bucket());
    return s3_begin_direct_upload(*client_, public_endpoint_ ? &*public_endpoint_ : nullptr, key, spec);
  }

  Result<ObjectInfo> complete_direct_upload(const DirectUploadPlan& plan,
                                            const std::vector<UploadedPart>& parts) override {
    MS_RETURN_IF_ERROR(validate_key(plan.key));
    MS_RETURN_IF_ERROR(ensure_bucket());
    return s3_complete_direct_upload(*client_, plan, parts);
  }

  Status abort_direct_upload(const DirectUploadPlan& plan) override {
    MS_RETURN_IF_ERROR(validate_key(plan.key));
    MS_RETURN_IF_ERROR(ensure_bucket());
    return s3_abort_direct_upload(*client_, plan);
  }

  Status ping() override {
    Status s = client_->head_bucket();
    if (s.is(ErrorCode::not_found) && auto_create_) return ensure_bucket();
    return s;
  }

 private:
  // With auto_create_bucket, makes sure the bucket exists once (HEAD, then
  // CREATE when missing). Without it, nothing is checked here.
  Status ensure_bucket() {
    if (!auto_create_) return Status::Ok();
    std::lock_guard<std::mutex> lock(bucket_mu_);
    if (bucket_ready_) return Status::Ok();
    Status s = client_->head_bucket();
    if (s.is(ErrorCode::not_found)) s = client_->create_bucket();
    if (!s.ok()) return s.with_context(fmt::format("bucket '{}'", client_->bucket()));
    bucket_ready_ = true;
    return Status::Ok();
  }

  std::shared_ptr<s3::Client> client_;
  BackendKind kind_;
  bool auto_create_;
  std::optional<s3::Endpoint> public_endpoint_;
  std::mutex bucket_mu_;
  bool bucket_ready_ = false;
};

}  // namespace

Result<std::shared_ptr<StorageBackend>> make_s3_backend(const Config& config) {
  std::optional<s3::Endpoint> public_endpoint;
  if (!config.s3.public_endpoint.empty()) {
    auto ep = s3::parse_endpoint(config.s3.public_endpoint);
    if (!ep.ok()) return ep.status().with_context("MEDIA_S3_PUBLIC_ENDPOINT");
    public_endpoint = std::move(ep.value());
  }
  auto client = s3::Client::create(config.s3);
  if (!client.ok()) return client.status();
  return std::shared_ptr<StorageBackend>(std::make_shared<S3StorageBackend>(
      std::move(client.value()), config.backend, config.s3.auto_create_bucket, std::move(public_endpoint)));
}

}  // namespace mediastore::detail
