// The C ABI of storage: ms_store over a StorageBackend (put, get, stream,
// stat, list, copy, remove, URLs), the put and list options, and the
// verification of the local backend's signed URLs.
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "internal.hpp"

namespace mediastore::capi {

bool store_arg(const ms_store* store, int& rc) {
  if (store == nullptr || !store->backend) {
    rc = invalid("store must not be NULL");
    return false;
  }
  return true;
}

}  // namespace mediastore::capi

using namespace mediastore::capi;

namespace {

// Size of an ms_put_options of `version`: version 1 ends before sha256,
// version 2 before if_none_match.
std::size_t put_options_size(unsigned int version) {
  if (version >= 3) return sizeof(ms_put_options);
  return version >= 2 ? offsetof(ms_put_options, if_none_match) : offsetof(ms_put_options, sha256);
}

void free_info_members(ms_object_info* info) {
  std::free(info->key);
  std::free(info->content_type);
  std::free(info->etag);
  std::free(info->cache_control);
  std::free(info->content_disposition);
  for (std::size_t i = 0; i < info->metadata_count; ++i) {
    if (info->metadata_names) std::free(info->metadata_names[i]);
    if (info->metadata_values) std::free(info->metadata_values[i]);
  }
  std::free(static_cast<void*>(info->metadata_names));
  std::free(static_cast<void*>(info->metadata_values));
  std::memset(info, 0, sizeof *info);
}

// Fills a zeroed ms_object_info; on exception the caller frees the members.
void fill_info(ms_object_info* out, const ms::ObjectInfo& info) {
  out->key = dup_string(info.key);
  out->size = info.size;
  out->content_type = dup_string(info.content_type);
  out->etag = dup_string(info.etag);
  out->last_modified_ms = to_ms(info.last_modified);
  out->cache_control = dup_string(info.cache_control);
  out->content_disposition = dup_string(info.content_disposition);
  std::size_t n = info.user_metadata.size();
  out->metadata_names = static_cast<char**>(calloc_or_throw(n, sizeof(char*)));
  out->metadata_values = static_cast<char**>(calloc_or_throw(n, sizeof(char*)));
  out->metadata_count = n;
  std::size_t i = 0;
  for (const auto& [k, v] : info.user_metadata) {
    out->metadata_names[i] = dup_string(k);
    out->metadata_values[i] = dup_string(v);
    ++i;
  }
}

// Translates ms_put_options into PutOptions; returns MS_OK or an error code.
int put_options(const ms_put_options* in, ms::PutOptions& out) {
  if (in == nullptr) return MS_OK;
  int rc = version_arg(in->version, MS_PUT_OPTIONS_VERSION, "ms_put_options.version");
  if (rc != MS_OK) return rc;
  if (in->content_type && !header_arg(in->content_type, "content_type", out.content_type, rc)) return rc;
  if (in->content_type && out.content_type.empty()) return invalid("content_type must not be empty");
  if (in->cache_control && !header_arg(in->cache_control, "cache_control", out.cache_control, rc)) return rc;
  if (in->content_disposition &&
      !header_arg(in->content_disposition, "content_disposition", out.content_disposition, rc))
    return rc;
  if (in->metadata_count > kMaxMetadata)
    return invalid("metadata_count " + std::to_string(in->metadata_count) + " exceeds " + std::to_string(kMaxMetadata));
  if (in->metadata_count > 0 && (in->metadata_names == nullptr || in->metadata_values == nullptr))
    return invalid("metadata_names and metadata_values must not be NULL when metadata_count > 0");
  for (std::size_t i = 0; i < in->metadata_count; ++i) {
    std::string name, value;
    if (!header_arg(in->metadata_names[i], "metadata name", name, rc)) return rc;
    if (!header_arg(in->metadata_values[i], "metadata value", value, rc)) return rc;
    if (name.empty()) return invalid("metadata name must not be empty");
    out.user_metadata[name] = value;
  }
  if (in->progress) {
    ms_progress_fn fn = in->progress;
    void* payload = in->progress_payload;
    out.progress = [fn, payload](std::uint64_t done, std::uint64_t total) { return fn(done, total, payload) == 0; };
  }
  // Fields of later versions exist only in structs that declare them: an
  // older caller's struct ends before them and must not be read past its end.
  // The form of sha256 is checked by the backend (validate_put_options).
  if (in->version >= 2 && !optional_text_arg(in->sha256, "sha256", out.sha256, rc)) return rc;
  if (in->version >= 3) out.if_none_match = in->if_none_match != 0;
  return MS_OK;
}

// A source over the caller's read callback. A declared size is enforced:
// delivering more, or ending before it, is invalid_argument (a backend that
// sent a Content-Length must not store a short or long object).
class CallbackSource final : public ms::ByteSource {
 public:
  CallbackSource(ms_read_fn read, ms_rewind_fn rewind, std::int64_t size, void* payload)
      : read_(read), rewind_(rewind), size_(size), payload_(payload) {}
  ms::Result<std::size_t> read(void* buf, std::size_t n) override {
    std::size_t got = 0;
    int rc = read_(buf, n, &got, payload_);
    if (rc != 0) return callback_status(rc, "read");
    if (got > n) return ms::Status::InvalidArgument("read callback returned more bytes than asked for");
    if (size_ >= 0) {
      auto declared = static_cast<std::uint64_t>(size_);
      if (got > 0 && pos_ + got > declared)
        return ms::Status::InvalidArgument("read callback delivered more than the declared size of " +
                                           std::to_string(declared) + " bytes");
      if (got == 0 && n > 0 && pos_ < declared)
        return ms::Status::InvalidArgument("read callback ended after " + std::to_string(pos_) + " of " +
                                           std::to_string(declared) + " declared bytes");
    }
    pos_ += got;
    return got;
  }
  std::optional<std::uint64_t> size() const override {
    if (size_ < 0) return std::nullopt;
    return static_cast<std::uint64_t>(size_);
  }
  ms::Status rewind() override {
    if (rewind_ == nullptr) return ms::ByteSource::rewind();
    int rc = rewind_(payload_);
    if (rc != 0) return callback_status(rc, "rewind");
    pos_ = 0;
    return ms::Status::Ok();
  }

 private:
  ms_read_fn read_;
  ms_rewind_fn rewind_;
  std::int64_t size_;
  void* payload_;
  std::uint64_t pos_ = 0;
};

class CallbackSink final : public ms::ByteSink {
 public:
  CallbackSink(ms_write_fn write, ms_rewind_fn reset, void* payload)
      : write_(write), reset_(reset), payload_(payload) {}
  ms::Status write(const void* data, std::size_t n) override {
    int rc = write_(data, n, payload_);
    return rc == 0 ? ms::Status::Ok() : callback_status(rc, "write");
  }
  ms::Status reset() override {
    if (reset_ == nullptr) return ms::ByteSink::reset();
    int rc = reset_(payload_);
    return rc == 0 ? ms::Status::Ok() : callback_status(rc, "reset");
  }

 private:
  ms_write_fn write_;
  ms_rewind_fn reset_;
  void* payload_;
};

std::optional<ms::ByteRange> make_range(std::uint64_t offset, std::uint64_t length) {
  if (offset == 0 && length == MS_TO_END) return std::nullopt;
  ms::ByteRange r;
  r.offset = offset;
  if (length != MS_TO_END) r.length = length;
  return r;
}

}  // namespace

extern "C" {

int ms_put_options_init(ms_put_options* opts, unsigned int version) {
  return init_struct_sized(opts, "opts", version, MS_PUT_OPTIONS_VERSION, "ms_put_options version", put_options_size,
                           [](ms_put_options&, unsigned int) {});
}

int ms_list_options_init(ms_list_options* opts, unsigned int version) {
  return init_struct(opts, "opts", version, MS_LIST_OPTIONS_VERSION, "ms_list_options version",
                     [](ms_list_options& o) { o.max_keys = 1000; });
}

void ms_object_info_free(ms_object_info* info) {
  if (info == nullptr) return;
  free_info_members(info);
  std::free(info);
}

void ms_list_page_free(ms_list_page* page) {
  if (page == nullptr) return;
  if (page->objects) {
    for (std::size_t i = 0; i < page->object_count; ++i) free_info_members(&page->objects[i]);
    std::free(page->objects);
  }
  if (page->common_prefixes) {
    for (std::size_t i = 0; i < page->prefix_count; ++i) std::free(page->common_prefixes[i]);
    std::free(static_cast<void*>(page->common_prefixes));
  }
  std::free(page->next_page_token);
  std::free(page);
}

int ms_store_open(ms_store** out, const ms_config* config) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    auto cfg = config ? resolve(config) : ms::Config::from_environment();
    if (!cfg.ok()) return fail(cfg.status());
    auto backend = ms::make_storage(*cfg);
    if (!backend.ok()) return fail(backend.status());
    auto store = std::make_unique<ms_store>();
    store->backend = std::move(*backend);
    store->config = std::move(*cfg);
    *out = store.release();
    return MS_OK;
  });
}

void ms_store_close(ms_store* store) { delete_quietly(store); }

int ms_store_backend_name(char** out, const ms_store* store) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!store_arg(store, rc)) return rc;
    *out = dup_string(store->backend->name());
    return MS_OK;
  });
}

int ms_store_ping(ms_store* store) {
  return guard([&]() -> int {
    int rc = MS_OK;
    if (!store_arg(store, rc)) return rc;
    return check(store->backend->ping());
  });
}

int ms_key_validate(const char* key) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view k;
    if (!text_arg(key, "key", k, rc)) return rc;
    return check(ms::validate_key(k));
  });
}

int ms_store_put(ms_store* store, const char* key, const void* data, size_t len, const ms_put_options* opts) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view k;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc)) return rc;
    std::string_view bytes;
    if (!bytes_arg(data, len, "data", bytes, rc)) return rc;
    ms::PutOptions po;
    if ((rc = put_options(opts, po)) != MS_OK) return rc;
    ms::MemorySource src(bytes);
    return check(store->backend->put(k, src, po));
  });
}

int ms_store_put_file(ms_store* store, const char* key, const char* path, const ms_put_options* opts) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view k, p;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc) || !text_arg(path, "path", p, rc)) return rc;
    if (p.empty()) return invalid("path must not be empty");
    ms::PutOptions po;
    if ((rc = put_options(opts, po)) != MS_OK) return rc;
    return check(store->backend->put_file(k, std::string(p), po));
  });
}

namespace {

// The checks ms_store_put_stream and ms_store_save_stream share.
int stream_args(ms_read_fn read_fn, int64_t size) {
  if (read_fn == nullptr) return invalid("read_fn must not be NULL");
  if (size < -1) return invalid("size must be -1 (unknown) or >= 0, got " + std::to_string(size));
  return MS_OK;
}

}  // namespace

int ms_store_put_stream(ms_store* store, const char* key, int64_t size, const ms_put_options* opts, ms_read_fn read_fn,
                        ms_rewind_fn rewind_fn, void* payload) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view k;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc)) return rc;
    if ((rc = stream_args(read_fn, size)) != MS_OK) return rc;
    ms::PutOptions po;
    if ((rc = put_options(opts, po)) != MS_OK) return rc;
    CallbackSource src(read_fn, rewind_fn, size, payload);
    return check(store->backend->put(k, src, po));
  });
}

namespace {

// ms_store_save and ms_store_save_stream once the source is made.
int save_from(char** out, ms_store* store, std::string_view name, ms::ByteSource& src, const ms_put_options* opts) {
  ms::PutOptions po;
  if (int rc = put_options(opts, po); rc != MS_OK) return rc;
  auto r = store->backend->save(src, name, po);
  if (!r.ok()) return fail(r.status());
  *out = dup_string(*r);
  return MS_OK;
}

}  // namespace

int ms_store_save(char** out, ms_store* store, const void* data, size_t len, const char* filename,
                  const ms_put_options* opts) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view name;
    if (!store_arg(store, rc) || !text_arg(filename, "filename", name, rc)) return rc;
    std::string_view bytes;
    if (!bytes_arg(data, len, "data", bytes, rc)) return rc;
    ms::MemorySource src(bytes);
    return save_from(out, store, name, src, opts);
  });
}

int ms_store_save_stream(char** out, ms_store* store, const char* filename, int64_t size, const ms_put_options* opts,
                         ms_read_fn read_fn, ms_rewind_fn rewind_fn, void* payload) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view name;
    if (!store_arg(store, rc) || !text_arg(filename, "filename", name, rc)) return rc;
    if ((rc = stream_args(read_fn, size)) != MS_OK) return rc;
    CallbackSource src(read_fn, rewind_fn, size, payload);
    return save_from(out, store, name, src, opts);
  });
}

int ms_store_get(void** out, size_t* out_len, ms_store* store, const char* key, uint64_t offset, uint64_t length) {
  return guard([&]() -> int {
    if (out == nullptr || out_len == nullptr) return invalid("out and out_len must not be NULL");
    *out = nullptr;
    *out_len = 0;
    int rc = MS_OK;
    std::string_view k;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc)) return rc;
    auto r = store->backend->read_bytes(k, make_range(offset, length));
    if (!r.ok()) return fail(r.status());
    *out = dup_bytes(*r);
    *out_len = r->size();
    return MS_OK;
  });
}

int ms_store_get_stream(ms_store* store, const char* key, uint64_t offset, uint64_t length, ms_write_fn write_fn,
                        ms_rewind_fn reset_fn, ms_progress_fn progress, void* payload) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view k;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc)) return rc;
    if (write_fn == nullptr) return invalid("write_fn must not be NULL");
    CallbackSink sink(write_fn, reset_fn, payload);
    ms::ProgressFn pf;
    if (progress)
      pf = [progress, payload](std::uint64_t done, std::uint64_t total) { return progress(done, total, payload) == 0; };
    return check(store->backend->read(k, sink, make_range(offset, length), pf));
  });
}

int ms_store_get_file(ms_store* store, const char* key, const char* path) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view k, p;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc) || !text_arg(path, "path", p, rc)) return rc;
    if (p.empty()) return invalid("path must not be empty");
    return check(store->backend->read_to_file(k, std::string(p)));
  });
}

int ms_store_stat(ms_object_info** out, ms_store* store, const char* key) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view k;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc)) return rc;
    auto r = store->backend->stat(k);
    if (!r.ok()) return fail(r.status());
    CHolder<ms_object_info, ms_object_info_free> holder;
    holder.p = static_cast<ms_object_info*>(calloc_or_throw(1, sizeof(ms_object_info)));
    fill_info(holder.p, *r);
    *out = holder.release();
    return MS_OK;
  });
}

int ms_store_exists(int* out, ms_store* store, const char* key) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = 0;
    int rc = MS_OK;
    std::string_view k;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc)) return rc;
    auto r = store->backend->exists(k);
    if (!r.ok()) return fail(r.status());
    *out = *r ? 1 : 0;
    return MS_OK;
  });
}

int ms_store_remove(ms_store* store, const char* key) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view k;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc)) return rc;
    return check(store->backend->remove(k));
  });
}

int ms_store_copy(ms_store* store, const char* from_key, const char* to_key) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view from, to;
    if (!store_arg(store, rc) || !text_arg(from_key, "from_key", from, rc) || !text_arg(to_key, "to_key", to, rc))
      return rc;
    return check(store->backend->copy(from, to));
  });
}

int ms_store_list(ms_list_page** out, ms_store* store, const ms_list_options* opts) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!store_arg(store, rc)) return rc;
    ms::ListOptions lo;
    if (opts != nullptr) {
      if ((rc = version_arg(opts->version, MS_LIST_OPTIONS_VERSION, "ms_list_options.version")) != MS_OK) return rc;
      if (!optional_text_arg(opts->prefix, "prefix", lo.prefix, rc)) return rc;
      if (!optional_text_arg(opts->delimiter, "delimiter", lo.delimiter, rc)) return rc;
      if (!optional_text_arg(opts->page_token, "page_token", lo.page_token, rc)) return rc;
      if (opts->max_keys < 1 || opts->max_keys > 1000)
        return invalid("max_keys must be 1..1000, got " + std::to_string(opts->max_keys));
      lo.max_keys = opts->max_keys;
    }
    auto r = store->backend->list(lo);
    if (!r.ok()) return fail(r.status());
    CHolder<ms_list_page, ms_list_page_free> holder;
    holder.p = static_cast<ms_list_page*>(calloc_or_throw(1, sizeof(ms_list_page)));
    ms_list_page* page = holder.p;
    page->objects = static_cast<ms_object_info*>(calloc_or_throw(r->objects.size(), sizeof(ms_object_info)));
    for (const auto& o : r->objects) {
      ++page->object_count;  // counted first so a throwing fill is freed too
      fill_info(&page->objects[page->object_count - 1], o);
    }
    page->common_prefixes = static_cast<char**>(calloc_or_throw(r->common_prefixes.size(), sizeof(char*)));
    for (const auto& p : r->common_prefixes) {
      ++page->prefix_count;
      page->common_prefixes[page->prefix_count - 1] = dup_string(p);
    }
    page->next_page_token = dup_string(r->next_page_token);
    *out = holder.release();
    return MS_OK;
  });
}

int ms_url_options_init(ms_url_options* opts, unsigned int version) {
  return init_struct(opts, "opts", version, MS_URL_OPTIONS_VERSION, "ms_url_options version", [](ms_url_options& o) {
    o.expires_seconds = 3600;
    o.signed_url = -1;
  });
}

int ms_store_url_with(char** out, ms_store* store, const char* key, const ms_url_options* opts) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view k;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc)) return rc;
    ms::UrlOptions o;
    if (opts != nullptr) {
      if ((rc = version_arg(opts->version, MS_URL_OPTIONS_VERSION, "ms_url_options.version")) != MS_OK) return rc;
      if (opts->expires_seconds < 1 || opts->expires_seconds > kMaxUrlExpiry)
        return invalid("expires_seconds must be 1..604800, got " + std::to_string(opts->expires_seconds));
      o.expires_in = std::chrono::seconds(opts->expires_seconds);
      if (opts->http_method != nullptr) {
        std::string_view m;
        if (!text_arg(opts->http_method, "http_method", m, rc)) return rc;
        o.http_method = std::string(m);
      }
      if (opts->response_header_count > 0 &&
          (opts->response_header_names == nullptr || opts->response_header_values == nullptr))
        return invalid("response_header_names and _values must not be NULL when response_header_count > 0");
      for (std::size_t i = 0; i < opts->response_header_count; ++i) {
        std::string_view n, v;
        if (!text_arg(opts->response_header_names[i], "response header name", n, rc) ||
            !text_arg(opts->response_header_values[i], "response header value", v, rc))
          return rc;
        o.response_headers[std::string(n)] = std::string(v);
      }
      if (opts->signed_url < -1 || opts->signed_url > 1)
        return invalid("signed_url must be -1, 0 or 1, got " + std::to_string(opts->signed_url));
      if (opts->signed_url >= 0) o.signed_url = opts->signed_url == 1;
    }
    auto r = store->backend->url(k, o);
    if (!r.ok()) return fail(r.status());
    *out = dup_string(*r);
    return MS_OK;
  });
}

int ms_store_url(char** out, ms_store* store, const char* key, int64_t expires_seconds) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view k;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc)) return rc;
    if (expires_seconds < 1 || expires_seconds > kMaxUrlExpiry)
      return invalid("expires_seconds must be 1..604800, got " + std::to_string(expires_seconds));
    auto r = store->backend->get_url(k, std::chrono::seconds(expires_seconds));
    if (!r.ok()) return fail(r.status());
    *out = dup_string(*r);
    return MS_OK;
  });
}

int ms_store_remove_many(size_t* out_failed, ms_store* store, const char* const* keys, size_t count) {
  return guard([&]() -> int {
    if (out_failed) *out_failed = 0;
    int rc = MS_OK;
    if (!store_arg(store, rc)) return rc;
    if (count > 0 && keys == nullptr) return invalid("keys must not be NULL when count > 0");
    if (count > 1000000) return invalid("count " + std::to_string(count) + " is absurd");
    std::vector<std::string> ks;
    ks.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      std::string_view k;
      if (!text_arg(keys[i], "key", k, rc)) return rc;
      ks.emplace_back(k);
    }
    auto r = store->backend->remove_many(ks);
    if (!r.ok()) return fail(r.status());
    if (out_failed) *out_failed = r->size();
    if (!r->empty()) return fail(r->front().second);
    return MS_OK;
  });
}

int ms_local_url_verify(const char* url, const char* signing_key) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view u, k;
    if (!text_arg(url, "url", u, rc) || !text_arg(signing_key, "signing_key", k, rc)) return rc;
    if (k.empty()) return invalid("signing_key must not be empty");
    return check(ms::verify_local_url(u, k));
  });
}

}  // extern "C"
