// The C ABI: translation between mediastore.h and the C++ API, nothing else.
//
// Every extern "C" body runs inside guard(), which turns any exception into
// an error code, so nothing unwinds across the C boundary. Arguments are
// checked here (NULL, UTF-8, option versions and ranges) before they reach
// the C++ API.
#include "mediastore/mediastore.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mediastore/config.hpp"
#include "mediastore/log.hpp"
#include "mediastore/media.hpp"
#include "mediastore/migrate.hpp"
#include "mediastore/status.hpp"
#include "mediastore/storage.hpp"
#include "mediastore/upload.hpp"
#include "mediastore/version.hpp"

namespace ms = mediastore;

struct ms_config {
  bool use_env = false;
  // Explicit variables; nullopt hides the environment's value.
  std::map<std::string, std::optional<std::string>> vars;
};

struct ms_store {
  std::shared_ptr<ms::StorageBackend> backend;
  ms::Config config;
};

struct ms_uploads {
  std::shared_ptr<ms::UploadService> service;
};

struct ms_worker {
  std::unique_ptr<ms::Worker> worker;
};

namespace {

thread_local std::string t_last_error;
thread_local int t_last_code = 0;

constexpr std::size_t kMaxMetadata = 64;
constexpr std::int64_t kMaxUrlExpiry = 7 * 24 * 3600;

int fail(const ms::Status& status) {
  int code = static_cast<int>(status.code());
  if (code <= 0 || code >= ms::kErrorCodeCount) code = static_cast<int>(ms::ErrorCode::internal);
  t_last_code = -code;
  t_last_error = status.to_string();
  return -code;
}

int fail(ms::ErrorCode code, std::string message) { return fail(ms::Status(code, std::move(message))); }

int invalid(std::string message) { return fail(ms::ErrorCode::invalid_argument, std::move(message)); }

int check(const ms::Status& status) { return status.ok() ? MS_OK : fail(status); }

// Runs body, turning every exception into a code: nothing crosses the C
// boundary. Allocation failures become internal errors.
template <typename F>
int guard(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    t_last_code = MS_E_INTERNAL;
    t_last_error = "internal: out of memory";
  } catch (const std::exception& e) {
    try {
      fail(ms::ErrorCode::internal, std::string("unexpected exception: ") + e.what());
    } catch (...) {
      t_last_code = MS_E_INTERNAL;
    }
  } catch (...) {
    t_last_code = MS_E_INTERNAL;
    try {
      t_last_error = "internal: unexpected exception";
    } catch (...) {
    }
  }
  return MS_E_INTERNAL;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// A required NUL-terminated UTF-8 argument.
bool text_arg(const char* p, const char* what, std::string_view& out, int& rc) {
  if (p == nullptr) {
    rc = invalid(std::string(what) + " must not be NULL");
    return false;
  }
  std::string_view s(p);
  if (!valid_utf8(s)) {
    rc = invalid(std::string(what) + " is not valid UTF-8");
    return false;
  }
  out = s;
  return true;
}

// Text that ends up in a header: UTF-8 and no control characters.
bool header_arg(const char* p, const char* what, std::string& out, int& rc) {
  std::string_view s;
  if (!text_arg(p, what, s, rc)) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      rc = invalid(std::string(what) + " contains a control character");
      return false;
    }
  }
  out.assign(s);
  return true;
}

// An optional NUL-terminated UTF-8 argument: NULL leaves `out` unchanged.
bool optional_text_arg(const char* p, const char* what, std::string& out, int& rc) {
  if (p == nullptr) return true;
  std::string_view s;
  if (!text_arg(p, what, s, rc)) return false;
  out.assign(s);
  return true;
}

// A caller's buffer (data, len); data may be NULL only when len is 0.
bool bytes_arg(const void* data, std::size_t len, const char* what, std::string_view& out, int& rc) {
  if (data == nullptr && len > 0) {
    rc = invalid(std::string(what) + " must not be NULL when len > 0");
    return false;
  }
  out = std::string_view(len ? static_cast<const char*>(data) : "", len);
  return true;
}

// The version check of a versioned struct; `what` names it as the message
// should, e.g. "ms_put_options.version". Returns MS_OK or the error code.
int version_arg(unsigned int version, unsigned int current, const char* what) {
  if (version == 0 || version > current)
    return invalid(std::string(what) + " " + std::to_string(version) + " is not supported");
  return MS_OK;
}

// The body of every ms_*_init: fills *p field by field over zeroed memory so
// that padding is zero as in a static MS_*_INIT (the struct-init test compares
// bytes), sets the version, then lets `defaults` set the non-zero defaults.
// `size_of` maps an accepted version to the size of that version's struct: a
// caller compiled against an older header passes its older version and a
// smaller struct, so only that many bytes may be written, and `defaults` must
// only touch fields of `version` (it gets the version to tell).
template <typename T, typename SizeOf, typename Defaults>
int init_struct_sized(T* p, const char* arg, unsigned int version, unsigned int current, const char* what,
                      SizeOf size_of, Defaults defaults) noexcept {
  return guard([&]() -> int {
    if (p == nullptr) return invalid(std::string(arg) + " must not be NULL");
    if (int rc = version_arg(version, current, what); rc != MS_OK) return rc;
    std::memset(static_cast<void*>(p), 0, size_of(version));
    p->version = version;
    defaults(*p, version);
    return MS_OK;
  });
}

// init_struct_sized for a struct that has had a single version so far.
template <typename T, typename Defaults>
int init_struct(T* p, const char* arg, unsigned int version, unsigned int current, const char* what,
                Defaults defaults) noexcept {
  return init_struct_sized(
      p, arg, version, current, what, [](unsigned int) { return sizeof(T); }, [&](T& o, unsigned int) { defaults(o); });
}

// Size of an ms_put_options of `version`: version 1 ends before sha256.
std::size_t put_options_size(unsigned int version) {
  return version >= 2 ? sizeof(ms_put_options) : offsetof(ms_put_options, sha256);
}

// Deletes a handle without letting an exception out.
template <typename T>
void delete_quietly(T* p) noexcept {
  try {
    delete p;
  } catch (...) {
  }
}

char* dup_string(std::string_view s) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

void* dup_bytes(std::string_view s) { return dup_string(s); }

// Owns a C struct under construction; frees it with `del` unless released.
template <typename T, void (*Del)(T*)>
struct CHolder {
  T* p = nullptr;
  ~CHolder() {
    if (p) Del(p);
  }
  T* release() {
    T* r = p;
    p = nullptr;
    return r;
  }
};

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

void* calloc_or_throw(std::size_t n, std::size_t size) {
  void* p = std::calloc(n == 0 ? 1 : n, size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

// Fills a zeroed ms_object_info; on exception the caller frees the members.
void fill_info(ms_object_info* out, const ms::ObjectInfo& info) {
  out->key = dup_string(info.key);
  out->size = info.size;
  out->content_type = dup_string(info.content_type);
  out->etag = dup_string(info.etag);
  out->last_modified_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(info.last_modified.time_since_epoch()).count();
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

bool valid_level(int level) { return level >= MS_LOG_TRACE && level <= MS_LOG_OFF; }

ms::Result<ms::Config> resolve(const ms_config* c) {
  return ms::Config::from_lookup([c](std::string_view name) -> std::optional<std::string> {
    auto it = c->vars.find(std::string(name));
    if (it != c->vars.end()) return it->second;
    if (c->use_env) {
      const char* v = std::getenv(std::string(name).c_str());
      if (v != nullptr) return std::string(v);
    }
    return std::nullopt;
  });
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
  return MS_OK;
}

ms::Status callback_status(int rc, const char* what) {
  if (rc > -ms::kErrorCodeCount && rc < 0)
    return ms::Status(static_cast<ms::ErrorCode>(-rc), std::string(what) + " callback failed");
  return ms::Status::Cancelled(std::string(what) + " callback returned " + std::to_string(rc));
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

bool store_arg(const ms_store* store, int& rc) {
  if (store == nullptr || !store->backend) {
    rc = invalid("store must not be NULL");
    return false;
  }
  return true;
}

std::optional<ms::ByteRange> make_range(std::uint64_t offset, std::uint64_t length) {
  if (offset == 0 && length == MS_TO_END) return std::nullopt;
  ms::ByteRange r;
  r.offset = offset;
  if (length != MS_TO_END) r.length = length;
  return r;
}

// ---- media helpers ----

static_assert(MS_MEDIA_PE == static_cast<int>(ms::MediaType::pe), "ms_media_type mirrors MediaType");
static_assert(MS_REFUSAL_UNREADABLE == static_cast<int>(ms::RefusalReason::unreadable) &&
                  MS_REFUSAL_MALWARE == static_cast<int>(ms::RefusalReason::malware) &&
                  MS_REFUSAL_UNSCANNED == static_cast<int>(ms::RefusalReason::unscanned),
              "ms_refusal_reason mirrors RefusalReason");

bool valid_media_type(int t) { return t >= 0 && t <= MS_MEDIA_PE; }

constexpr int kMaxThumbnailSide = 16384;
constexpr std::size_t kMaxSpecs = 64;

int mime_list(const char* const* in, std::size_t n, const char* what, std::vector<std::string>& out) {
  if (n == 0) return MS_OK;
  if (n > 1000) return invalid(std::string(what) + " count " + std::to_string(n) + " is absurd");
  if (in == nullptr) return invalid(std::string(what) + " must not be NULL when its count > 0");
  out.clear();
  for (std::size_t i = 0; i < n; ++i) {
    std::string v;
    int rc = MS_OK;
    if (!header_arg(in[i], what, v, rc)) return rc;
    out.push_back(std::move(v));
  }
  return MS_OK;
}

int validation_policy(const ms_validation_options* in, ms::ValidationPolicy& out) {
  if (in == nullptr) return MS_OK;
  if (int rc = version_arg(in->version, MS_VALIDATION_OPTIONS_VERSION, "ms_validation_options.version"); rc != MS_OK)
    return rc;
  if (in->max_upload_size != 0) out.max_upload_size = in->max_upload_size;
  if (in->max_pixels != 0) out.max_pixels = in->max_pixels;
  out.relabel_mismatched_extension = in->relabel_mismatched_extension != 0;
  out.decode_images = in->decode_images != 0;
  int rc = mime_list(in->photo_mime_types, in->photo_mime_type_count, "photo_mime_types", out.photo_mime_types);
  if (rc != MS_OK) return rc;
  return mime_list(in->video_mime_types, in->video_mime_type_count, "video_mime_types", out.video_mime_types);
}

int thumbnail_specs(const ms_thumbnail_spec* specs, std::size_t n, std::vector<ms::ThumbnailSpec>& out) {
  if (n == 0) {
    out = ms::default_thumbnail_specs();
    return MS_OK;
  }
  if (specs == nullptr) return invalid("specs must not be NULL when spec_count > 0");
  if (n > kMaxSpecs) return invalid("spec_count " + std::to_string(n) + " exceeds " + std::to_string(kMaxSpecs));
  out.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const ms_thumbnail_spec& in = specs[i];
    ms::ThumbnailSpec spec;
    std::string_view name;
    int rc = MS_OK;
    if (!text_arg(in.name, "thumbnail name", name, rc)) return rc;
    if (name.empty()) return invalid("thumbnail name must not be empty");
    spec.name.assign(name);
    if (in.width < 1 || in.width > kMaxThumbnailSide || in.height < 1 || in.height > kMaxThumbnailSide)
      return invalid("thumbnail '" + spec.name + "' size " + std::to_string(in.width) + "x" +
                     std::to_string(in.height) + " is outside 1..16384");
    if (in.fit != MS_FIT_INSIDE && in.fit != MS_FIT_COVER)
      return invalid("thumbnail '" + spec.name + "' fit " + std::to_string(in.fit) + " is not a ms_fit_mode");
    if (in.quality < 1 || in.quality > 100)
      return invalid("thumbnail '" + spec.name + "' quality " + std::to_string(in.quality) + " is outside 1..100");
    spec.width = in.width;
    spec.height = in.height;
    spec.fit = in.fit == MS_FIT_COVER ? ms::FitMode::cover : ms::FitMode::inside;
    spec.quality = in.quality;
    spec.progressive = in.progressive != 0;
    out.push_back(std::move(spec));
  }
  return MS_OK;
}

void free_media_info_members(ms_media_info* m) {
  std::free(m->mime);
  std::free(m->sha256);
  std::free(m->capture_time);
  std::free(m->filename);
  std::free(m->note);
}

void media_info_free_whole(ms_media_info* m) {
  if (m == nullptr) return;
  free_media_info_members(m);
  std::free(m);
}

ms_media_info* make_media_info(const ms::MediaInfo& in) {
  CHolder<ms_media_info, media_info_free_whole> h;
  h.p = static_cast<ms_media_info*>(calloc_or_throw(1, sizeof(ms_media_info)));
  ms_media_info* m = h.p;
  m->type = static_cast<int>(in.type);
  m->mime = dup_string(in.mime);
  m->kind = in.kind == ms::MediaKind::video ? MS_KIND_VIDEO : MS_KIND_PHOTO;
  m->byte_size = in.byte_size;
  m->sha256 = dup_string(in.sha256);
  m->width = in.width;
  m->height = in.height;
  m->orientation = in.orientation;
  m->display_width = in.display_width;
  m->display_height = in.display_height;
  m->capture_time = dup_string(in.capture_time);
  m->has_gps = in.has_gps ? 1 : 0;
  m->relabelled = in.relabelled ? 1 : 0;
  m->filename = dup_string(in.filename);
  m->note = dup_string(in.note);
  return h.release();
}

void thumbnail_list_free_whole(ms_thumbnail_list* l) {
  if (l == nullptr) return;
  if (l->items) {
    for (std::size_t i = 0; i < l->count; ++i) {
      std::free(l->items[i].name);
      std::free(l->items[i].jpeg);
    }
    std::free(l->items);
  }
  std::free(l);
}

ms_thumbnail_list* make_thumbnail_list(const std::vector<ms::Thumbnail>& thumbs) {
  CHolder<ms_thumbnail_list, thumbnail_list_free_whole> h;
  h.p = static_cast<ms_thumbnail_list*>(calloc_or_throw(1, sizeof(ms_thumbnail_list)));
  h.p->items = static_cast<ms_thumbnail*>(calloc_or_throw(thumbs.size(), sizeof(ms_thumbnail)));
  for (const auto& t : thumbs) {
    ms_thumbnail& o = h.p->items[h.p->count++];
    o.name = dup_string(t.name);
    o.width = t.width;
    o.height = t.height;
    o.jpeg = static_cast<unsigned char*>(dup_bytes(t.jpeg));
    o.jpeg_len = t.jpeg.size();
  }
  return h.release();
}

int media_kind_arg(int kind, ms::MediaKind& out) {
  if (kind == MS_KIND_PHOTO) {
    out = ms::MediaKind::photo;
  } else if (kind == MS_KIND_VIDEO) {
    out = ms::MediaKind::video;
  } else {
    return invalid("media kind " + std::to_string(kind) + " is not MS_KIND_PHOTO or MS_KIND_VIDEO");
  }
  return MS_OK;
}

// What a media function reads: a file (`path`, non-empty UTF-8) or a caller's
// buffer (`data`, NULL only when len is 0).
struct MediaSource {
  bool file = false;
  const char* path = nullptr;
  const void* data = nullptr;
  std::size_t len = 0;
};

// The checks and the refusal reason shared by validation and processing.
// `outputs_given` is false when a required out pointer is NULL (`outputs`
// names them). Once every argument is valid, `run(path, bytes, name, kind,
// policy, &reason)` calls the C++ API (path NULL for memory) and returns
// MS_OK or fail(...); *out_reason receives the reason whatever the outcome.
template <typename Run>
int media_common(bool outputs_given, const char* outputs, int* out_reason, const MediaSource& src, const char* filename,
                 int kind, const ms_validation_options* opts, Run&& run) {
  if (out_reason) *out_reason = MS_REFUSAL_NONE;
  if (!outputs_given) return invalid(std::string(outputs) + " must not be NULL");
  int rc = MS_OK;
  std::string path;
  std::string_view bytes;
  if (src.file) {
    std::string_view p;
    if (!text_arg(src.path, "path", p, rc)) return rc;
    if (p.empty()) return invalid("path must not be empty");
    path.assign(p);
  } else if (!bytes_arg(src.data, src.len, "data", bytes, rc)) {
    return rc;
  }
  std::string_view name;
  if (!text_arg(filename, "filename", name, rc)) return rc;
  ms::MediaKind k = ms::MediaKind::photo;
  if ((rc = media_kind_arg(kind, k)) != MS_OK) return rc;
  ms::ValidationPolicy policy;
  if ((rc = validation_policy(opts, policy)) != MS_OK) return rc;
  ms::RefusalReason reason = ms::RefusalReason::none;
  rc = run(src.file ? &path : nullptr, bytes, name, k, policy, &reason);
  if (out_reason) *out_reason = static_cast<int>(reason);
  return rc;
}

int validate_common(ms_media_info** out, int* out_reason, const MediaSource& src, const char* filename, int kind,
                    const ms_validation_options* opts) {
  if (out) *out = nullptr;
  return media_common(out != nullptr, "out", out_reason, src, filename, kind, opts,
                      [&](const std::string* path, std::string_view bytes, std::string_view name, ms::MediaKind k,
                          const ms::ValidationPolicy& policy, ms::RefusalReason* reason) -> int {
                        auto r = path ? ms::validate_media_file(*path, name, k, policy, reason)
                                      : ms::validate_media(bytes, name, k, policy, reason);
                        if (!r.ok()) return fail(r.status());
                        *out = make_media_info(*r);
                        return MS_OK;
                      });
}

int process_common(ms_media_info** out_info, ms_thumbnail_list** out_thumbs, int* out_reason, const MediaSource& src,
                   const char* filename, int kind, const ms_validation_options* opts, const ms_thumbnail_spec* specs,
                   std::size_t spec_count) {
  if (out_info) *out_info = nullptr;
  if (out_thumbs) *out_thumbs = nullptr;
  std::vector<ms::ThumbnailSpec> sp;
  return media_common(out_info != nullptr && out_thumbs != nullptr, "out_info and out_thumbs", out_reason, src,
                      filename, kind, opts,
                      [&](const std::string* path, std::string_view bytes, std::string_view name, ms::MediaKind k,
                          const ms::ValidationPolicy& policy, ms::RefusalReason* reason) -> int {
                        // Specs are checked before the content is read, as the C++ API does.
                        if (int rc = thumbnail_specs(specs, spec_count, sp); rc != MS_OK) return rc;
                        auto r = path ? ms::process_media_file(*path, name, k, sp, policy, reason)
                                      : ms::process_media(bytes, name, k, sp, policy, reason);
                        if (!r.ok()) return fail(r.status());
                        CHolder<ms_media_info, media_info_free_whole> info;
                        info.p = make_media_info(r->info);
                        *out_thumbs = make_thumbnail_list(r->thumbnails);
                        *out_info = info.release();
                        return MS_OK;
                      });
}

// ---- upload helpers ----

static_assert(MS_UPLOAD_FAILED == static_cast<int>(ms::UploadState::failed), "ms_upload_state mirrors UploadState");
static_assert(MS_STAGE_DONE == static_cast<int>(ms::UploadStage::done) &&
                  MS_STAGE_SCANNING == static_cast<int>(ms::UploadStage::scanning),
              "ms_upload_stage mirrors UploadStage");

constexpr std::int64_t kMaxMillis = 24LL * 3600 * 1000;  // one day: longer is absurd for these periods

std::int64_t to_ms(const ms::SystemTime& t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

int ms_range(std::int64_t v, std::int64_t lo, std::int64_t hi, const char* what) {
  if (v < lo || v > hi)
    return invalid(std::string(what) + " must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                   std::to_string(v));
  return MS_OK;
}

int upload_options(const ms_upload_options* in, ms::UploadOptions& out) {
  if (in == nullptr) return MS_OK;
  int rc = version_arg(in->version, MS_UPLOAD_OPTIONS_VERSION, "ms_upload_options.version");
  if (rc != MS_OK) return rc;
  if ((rc = ms_range(in->max_attempts, 1, 100, "max_attempts")) != MS_OK) return rc;
  if ((rc = ms_range(in->backoff_base_ms, 0, kMaxMillis, "backoff_base_ms")) != MS_OK) return rc;
  if ((rc = ms_range(in->backoff_max_ms, in->backoff_base_ms, kMaxMillis, "backoff_max_ms")) != MS_OK) return rc;
  if ((rc = ms_range(in->lease_ms, 100, kMaxMillis, "lease_ms")) != MS_OK) return rc;
  if ((rc = ms_range(in->heartbeat_ms, 10, in->lease_ms - 1, "heartbeat_ms")) != MS_OK) return rc;
  if ((rc = ms_range(in->url_expiry_seconds, 1, kMaxUrlExpiry, "url_expiry_seconds")) != MS_OK) return rc;
  out.max_attempts = in->max_attempts;
  out.backoff_base = std::chrono::milliseconds(in->backoff_base_ms);
  out.backoff_max = std::chrono::milliseconds(in->backoff_max_ms);
  out.lease_duration = std::chrono::milliseconds(in->lease_ms);
  out.heartbeat_interval = std::chrono::milliseconds(in->heartbeat_ms);
  out.url_expiry = std::chrono::seconds(in->url_expiry_seconds);
  if (in->key_prefix && !header_arg(in->key_prefix, "key_prefix", out.key_prefix, rc)) return rc;
  if (in->queue_name) {
    if (!header_arg(in->queue_name, "queue_name", out.queue_name, rc)) return rc;
    if (out.queue_name.empty() || out.queue_name.size() > 64) return invalid("queue_name must be 1..64 characters");
  }
  if (in->thumbnail_count > 0 || in->thumbnails != nullptr) {
    if ((rc = thumbnail_specs(in->thumbnails, in->thumbnail_count, out.thumbnails)) != MS_OK) return rc;
  }
  if (in->validation) {
    ms::ValidationPolicy policy;
    if ((rc = validation_policy(in->validation, policy)) != MS_OK) return rc;
    out.policy = policy;
  }
  return MS_OK;
}

int string_pairs(const char* const* names, const char* const* values, std::size_t n, const char* what,
                 std::map<std::string, std::string>& out) {
  if (n == 0) return MS_OK;
  if (n > kMaxMetadata)
    return invalid(std::string(what) + " count " + std::to_string(n) + " exceeds " + std::to_string(kMaxMetadata));
  if (names == nullptr || values == nullptr)
    return invalid(std::string(what) + " names and values must not be NULL when the count > 0");
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view k, v;
    int rc = MS_OK;
    if (!text_arg(names[i], what, k, rc) || !text_arg(values[i], what, v, rc)) return rc;
    if (k.empty()) return invalid(std::string(what) + " name must not be empty");
    out[std::string(k)] = std::string(v);
  }
  return MS_OK;
}

void free_string_array(char** a, std::size_t n) {
  if (a == nullptr) return;
  for (std::size_t i = 0; i < n; ++i) std::free(a[i]);
  std::free(static_cast<void*>(a));
}

// Fills names/values/count from a map; the count is raised as entries are made
// so that a throw leaves something the free function handles.
void fill_pairs(const std::map<std::string, std::string>& in, char*** names, char*** values, std::size_t* count) {
  *names = static_cast<char**>(calloc_or_throw(in.size(), sizeof(char*)));
  *values = static_cast<char**>(calloc_or_throw(in.size(), sizeof(char*)));
  for (const auto& [k, v] : in) {
    (*names)[*count] = dup_string(k);
    (*values)[*count] = nullptr;
    ++*count;
    (*values)[*count - 1] = dup_string(v);
  }
}

void free_stored(ms_stored_object* o) {
  std::free(o->name);
  std::free(o->key);
  std::free(o->url);
  std::free(o->content_type);
}

void fill_stored(ms_stored_object* o, const ms::StoredObject& in) {
  o->name = dup_string(in.name);
  o->key = dup_string(in.key);
  o->url = dup_string(in.url);
  o->width = in.width;
  o->height = in.height;
  o->bytes = in.bytes;
  o->content_type = dup_string(in.content_type);
}

void upload_status_free_whole(ms_upload_status* st) {
  if (st == nullptr) return;
  std::free(st->id);
  std::free(st->last_error);
  std::free(st->error_message);
  free_stored(&st->original);
  if (st->thumbnails) {
    for (std::size_t i = 0; i < st->thumbnail_count; ++i) free_stored(&st->thumbnails[i]);
    std::free(st->thumbnails);
  }
  free_string_array(st->metadata_names, st->metadata_count);
  free_string_array(st->metadata_values, st->metadata_count);
  std::free(st->original_filename);
  std::free(st->content_type);
  free_string_array(st->context_names, st->context_count);
  free_string_array(st->context_values, st->context_count);
  std::free(st);
}

ms_upload_status* make_upload_status(const ms::UploadStatus& in) {
  CHolder<ms_upload_status, upload_status_free_whole> h;
  h.p = static_cast<ms_upload_status*>(calloc_or_throw(1, sizeof(ms_upload_status)));
  ms_upload_status* st = h.p;
  st->id = dup_string(in.id);
  st->state = static_cast<int>(in.state);
  st->stage = static_cast<int>(in.stage);
  st->progress_percentage = in.progress_percentage;
  st->attempt = in.attempt;
  st->next_try_ms = to_ms(in.next_try);
  st->last_error = dup_string(in.last_error);
  st->error_code = -static_cast<int>(in.error_code);
  st->error_message = dup_string(in.error_message);
  if (in.result) {
    st->has_result = 1;
    fill_stored(&st->original, in.result->original);
    st->thumbnails =
        static_cast<ms_stored_object*>(calloc_or_throw(in.result->thumbnails.size(), sizeof(ms_stored_object)));
    for (const auto& t : in.result->thumbnails) fill_stored(&st->thumbnails[st->thumbnail_count++], t);
    fill_pairs(in.result->metadata, &st->metadata_names, &st->metadata_values, &st->metadata_count);
  }
  st->original_filename = dup_string(in.original_filename);
  st->content_type = dup_string(in.content_type);
  st->media_kind = in.media_kind == ms::MediaKind::video ? MS_KIND_VIDEO : MS_KIND_PHOTO;
  fill_pairs(in.context, &st->context_names, &st->context_values, &st->context_count);
  st->created_at_ms = to_ms(in.created_at);
  st->updated_at_ms = to_ms(in.updated_at);
  return h.release();
}

bool uploads_arg(const ms_uploads* u, int& rc) {
  if (u == nullptr || !u->service) {
    rc = invalid("uploads must not be NULL");
    return false;
  }
  return true;
}

bool worker_arg(const ms_worker* w, int& rc) {
  if (w == nullptr || !w->worker) {
    rc = invalid("worker must not be NULL");
    return false;
  }
  return true;
}

// ---- migration and dead-letter helpers ----

void fill_migrate_progress(ms_migrate_progress* o, const ms::MigrateProgress& p) {
  o->listed = p.listed;
  o->copied = p.copied;
  o->skipped = p.skipped;
  o->failed = p.failed;
  o->deleted = p.deleted;
  o->planned = p.planned;
  o->bytes = p.bytes;
  o->bytes_listed = p.bytes_listed;
  o->listing_done = p.listing_done ? 1 : 0;
  o->elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(p.elapsed).count();
}

void migrate_report_free_whole(ms_migrate_report* r) {
  if (r == nullptr) return;
  free_string_array(r->failure_keys, r->failure_count);
  free_string_array(r->failure_messages, r->failure_count);
  std::free(r->failure_codes);
  free_string_array(r->planned, r->planned_count);
  std::free(r->error_message);
  std::free(r);
}

int status_code(const ms::Status& s) {
  int code = static_cast<int>(s.code());
  if (code < 0 || code >= ms::kErrorCodeCount) code = static_cast<int>(ms::ErrorCode::internal);
  return -code;
}

ms_migrate_report* make_migrate_report(const ms::MigrateReport& in) {
  CHolder<ms_migrate_report, migrate_report_free_whole> h;
  h.p = static_cast<ms_migrate_report*>(calloc_or_throw(1, sizeof(ms_migrate_report)));
  ms_migrate_report* r = h.p;
  fill_migrate_progress(&r->counts, in.counts);
  std::size_t n = in.failures.size();
  r->failure_keys = static_cast<char**>(calloc_or_throw(n, sizeof(char*)));
  r->failure_messages = static_cast<char**>(calloc_or_throw(n, sizeof(char*)));
  r->failure_codes = static_cast<int*>(calloc_or_throw(n, sizeof(int)));
  for (const auto& f : in.failures) {
    std::size_t i = r->failure_count++;
    r->failure_keys[i] = dup_string(f.key);
    r->failure_messages[i] = dup_string(f.status.to_string());
    r->failure_codes[i] = status_code(f.status);
  }
  r->planned = static_cast<char**>(calloc_or_throw(in.planned.size(), sizeof(char*)));
  for (const auto& k : in.planned) r->planned[r->planned_count++] = dup_string(k);
  r->cancelled = in.cancelled ? 1 : 0;
  r->error_code = status_code(in.error);
  r->error_message = dup_string(in.error.ok() ? std::string() : in.error.to_string());
  return h.release();
}

void dead_job_list_free_whole(ms_dead_job_list* l) {
  if (l == nullptr) return;
  if (l->items) {
    for (std::size_t i = 0; i < l->count; ++i) {
      std::free(l->items[i].id);
      std::free(l->items[i].payload);
      std::free(l->items[i].last_error);
    }
    std::free(l->items);
  }
  std::free(l);
}
}  // namespace

extern "C" {

// ---- errors ----

const char* ms_strerror(int code) {
  if (code > 0) code = -code;
  if (code <= -ms::kErrorCodeCount) return "unknown";
  return ms::error_code_name(static_cast<ms::ErrorCode>(-code));
}

const char* ms_error_last(void) { return t_last_error.c_str(); }

int ms_error_last_code(void) { return t_last_code; }

void ms_error_clear(void) {
  t_last_code = 0;
  t_last_error.clear();
}

int ms_error_is_transient(int code) {
  if (code > 0) code = -code;
  if (code <= -ms::kErrorCodeCount) return 0;
  return ms::is_transient(static_cast<ms::ErrorCode>(-code)) ? 1 : 0;
}

const char* ms_version(void) { return ms::version(); }

void ms_free(void* ptr) { std::free(ptr); }

// ---- logging ----

int ms_log_set_callback(ms_log_fn fn, int level, void* payload) {
  return guard([&]() -> int {
    if (!valid_level(level)) return invalid("log level " + std::to_string(level) + " is out of range 0..5");
    if (fn == nullptr) {
      ms::set_log_sink(nullptr, static_cast<ms::LogLevel>(level));
      return MS_OK;
    }
    ms::set_log_sink(
        [fn, payload](const ms::LogRecord& r) {
          std::string component(r.component), message(r.message);
          std::vector<ms_log_field> fields;
          fields.reserve(r.fields->size());
          for (const auto& f : *r.fields) fields.push_back({f.name.c_str(), f.value.c_str()});
          ms_log_record rec{static_cast<int>(r.level), component.c_str(), message.c_str(),
                            fields.empty() ? nullptr : fields.data(), fields.size()};
          fn(&rec, payload);
        },
        static_cast<ms::LogLevel>(level));
    return MS_OK;
  });
}

int ms_log_set_level(int level) {
  return guard([&]() -> int {
    if (!valid_level(level)) return invalid("log level " + std::to_string(level) + " is out of range 0..5");
    ms::set_log_level(static_cast<ms::LogLevel>(level));
    return MS_OK;
  });
}

int ms_log_get_level(void) { return static_cast<int>(ms::log_level()); }

const char* ms_log_level_name(int level) {
  if (!valid_level(level)) return "unknown";
  return ms::log_level_name(static_cast<ms::LogLevel>(level));
}

int ms_redact(char** out, const char* text) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    if (text == nullptr) return invalid("text must not be NULL");
    *out = dup_string(ms::redact(text));
    return MS_OK;
  });
}

// ---- configuration ----

int ms_config_new(ms_config** out) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = new ms_config();
    return MS_OK;
  });
}

int ms_config_from_env(ms_config** out) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    auto cfg = std::make_unique<ms_config>();
    cfg->use_env = true;
    auto r = resolve(cfg.get());
    if (!r.ok()) return fail(r.status());
    *out = cfg.release();
    return MS_OK;
  });
}

int ms_config_set(ms_config* config, const char* name, const char* value) {
  return guard([&]() -> int {
    if (config == nullptr) return invalid("config must not be NULL");
    int rc = MS_OK;
    std::string_view n, v;
    if (!text_arg(name, "variable name", n, rc)) return rc;
    if (n.empty() || n.size() > 128) return invalid("variable name must be 1..128 characters");
    for (char c : n) {
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
        return invalid("variable name '" + std::string(n) + "' must consist of A-Z, 0-9 and _");
    }
    if (value == nullptr) {
      config->vars[std::string(n)] = std::nullopt;
      return MS_OK;
    }
    if (!text_arg(value, n.data(), v, rc)) return rc;
    config->vars[std::string(n)] = std::string(v);
    return MS_OK;
  });
}

int ms_config_check(const ms_config* config) {
  return guard([&]() -> int {
    if (config == nullptr) return invalid("config must not be NULL");
    auto r = resolve(config);
    return r.ok() ? MS_OK : fail(r.status());
  });
}

int ms_config_describe(char** out, const ms_config* config) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    if (config == nullptr) return invalid("config must not be NULL");
    auto r = resolve(config);
    if (!r.ok()) return fail(r.status());
    *out = dup_string(r->describe());
    return MS_OK;
  });
}

int ms_config_max_upload_size(uint64_t* out, const ms_config* config) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = 0;
    if (config == nullptr) return invalid("config must not be NULL");
    auto r = resolve(config);
    if (!r.ok()) return fail(r.status());
    *out = r->max_upload_size;
    return MS_OK;
  });
}

void ms_config_free(ms_config* config) { delete config; }

// ---- storage ----

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

int ms_store_put_stream(ms_store* store, const char* key, int64_t size, const ms_put_options* opts, ms_read_fn read_fn,
                        ms_rewind_fn rewind_fn, void* payload) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view k;
    if (!store_arg(store, rc) || !text_arg(key, "key", k, rc)) return rc;
    if (read_fn == nullptr) return invalid("read_fn must not be NULL");
    if (size < -1) return invalid("size must be -1 (unknown) or >= 0, got " + std::to_string(size));
    ms::PutOptions po;
    if ((rc = put_options(opts, po)) != MS_OK) return rc;
    CallbackSource src(read_fn, rewind_fn, size, payload);
    return check(store->backend->put(k, src, po));
  });
}

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
    ms::PutOptions po;
    if ((rc = put_options(opts, po)) != MS_OK) return rc;
    ms::MemorySource src(bytes);
    auto r = store->backend->save(src, name, po);
    if (!r.ok()) return fail(r.status());
    *out = dup_string(*r);
    return MS_OK;
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

// ---- media ----

int ms_media_sniff(const void* head, size_t len) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view bytes;
    if (!bytes_arg(head, len, "head", bytes, rc)) return rc;
    return static_cast<int>(ms::sniff_media_type(bytes));
  });
}

const char* ms_media_type_mime(int type) {
  if (!valid_media_type(type)) type = 0;
  return ms::media_type_mime(static_cast<ms::MediaType>(type));
}

const char* ms_media_type_extension(int type) {
  if (!valid_media_type(type)) return "";
  return ms::media_type_extension(static_cast<ms::MediaType>(type));
}

const char* ms_refusal_reason_name(int reason) {
  if (reason < 0 || reason > MS_REFUSAL_UNSCANNED) return "unknown";
  return ms::refusal_reason_name(static_cast<ms::RefusalReason>(reason));
}

int ms_validation_options_init(ms_validation_options* opts, unsigned int version) {
  auto defaults = [](ms_validation_options& o) {
    o.relabel_mismatched_extension = 1;
    o.decode_images = 1;
  };
  return init_struct(opts, "opts", version, MS_VALIDATION_OPTIONS_VERSION, "ms_validation_options version", defaults);
}

void ms_media_info_free(ms_media_info* info) { media_info_free_whole(info); }

int ms_media_validate_file(ms_media_info** out, int* out_reason, const char* path, const char* filename, int kind,
                           const ms_validation_options* opts) {
  return guard([&]() -> int {
    return validate_common(out, out_reason, MediaSource{true, path, nullptr, 0}, filename, kind, opts);
  });
}

int ms_media_validate(ms_media_info** out, int* out_reason, const void* data, size_t len, const char* filename,
                      int kind, const ms_validation_options* opts) {
  return guard([&]() -> int {
    return validate_common(out, out_reason, MediaSource{false, nullptr, data, len}, filename, kind, opts);
  });
}

int ms_media_process_file(ms_media_info** out_info, ms_thumbnail_list** out_thumbs, int* out_reason, const char* path,
                          const char* filename, int kind, const ms_validation_options* opts,
                          const ms_thumbnail_spec* specs, size_t spec_count) {
  return guard([&]() -> int {
    return process_common(out_info, out_thumbs, out_reason, MediaSource{true, path, nullptr, 0}, filename, kind, opts,
                          specs, spec_count);
  });
}

int ms_media_process(ms_media_info** out_info, ms_thumbnail_list** out_thumbs, int* out_reason, const void* data,
                     size_t len, const char* filename, int kind, const ms_validation_options* opts,
                     const ms_thumbnail_spec* specs, size_t spec_count) {
  return guard([&]() -> int {
    return process_common(out_info, out_thumbs, out_reason, MediaSource{false, nullptr, data, len}, filename, kind,
                          opts, specs, spec_count);
  });
}

void ms_thumbnail_list_free(ms_thumbnail_list* list) { thumbnail_list_free_whole(list); }

int ms_thumbnails_make(ms_thumbnail_list** out, const void* data, size_t len, const ms_thumbnail_spec* specs,
                       size_t spec_count, uint64_t max_pixels) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view bytes;
    if (!bytes_arg(data, len, "data", bytes, rc)) return rc;
    std::vector<ms::ThumbnailSpec> sp;
    if ((rc = thumbnail_specs(specs, spec_count, sp)) != MS_OK) return rc;
    auto r = ms::make_thumbnails(bytes, sp, max_pixels ? max_pixels : 100'000'000);
    if (!r.ok()) return fail(r.status());
    *out = make_thumbnail_list(*r);
    return MS_OK;
  });
}

int ms_thumbnails_make_file(ms_thumbnail_list** out, const char* path, const ms_thumbnail_spec* specs,
                            size_t spec_count, uint64_t max_pixels) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view p;
    if (!text_arg(path, "path", p, rc)) return rc;
    if (p.empty()) return invalid("path must not be empty");
    std::vector<ms::ThumbnailSpec> sp;
    if ((rc = thumbnail_specs(specs, spec_count, sp)) != MS_OK) return rc;
    auto r = ms::make_thumbnails_file(std::string(p), sp, max_pixels ? max_pixels : 100'000'000);
    if (!r.ok()) return fail(r.status());
    *out = make_thumbnail_list(*r);
    return MS_OK;
  });
}

int ms_jpeg_strip_metadata(void** out, size_t* out_len, const void* jpeg, size_t len, int mode) {
  return guard([&]() -> int {
    if (out == nullptr || out_len == nullptr) return invalid("out and out_len must not be NULL");
    *out = nullptr;
    *out_len = 0;
    int rc = MS_OK;
    std::string_view bytes;
    if (!bytes_arg(jpeg, len, "jpeg", bytes, rc)) return rc;
    if (mode != MS_STRIP_GPS && mode != MS_STRIP_ALL)
      return invalid("strip mode " + std::to_string(mode) + " is unknown");
    auto r = ms::strip_jpeg_metadata(bytes, mode == MS_STRIP_ALL ? ms::StripMode::all : ms::StripMode::gps);
    if (!r.ok()) return fail(r.status());
    *out = dup_bytes(*r);
    *out_len = r->size();
    return MS_OK;
  });
}

// ---- uploads ----

const char* ms_upload_state_name(int state) {
  if (state < 0 || state > MS_UPLOAD_FAILED) return "unknown";
  return ms::upload_state_name(static_cast<ms::UploadState>(state));
}

const char* ms_upload_stage_name(int stage) {
  if (stage < 0 || stage > MS_STAGE_SCANNING) return "unknown";
  return ms::upload_stage_name(static_cast<ms::UploadStage>(stage));
}

int ms_upload_options_init(ms_upload_options* opts, unsigned int version) {
  auto defaults = [](ms_upload_options& o) {
    o.max_attempts = 5;
    o.backoff_base_ms = 1000;
    o.backoff_max_ms = 300000;
    o.lease_ms = 30000;
    o.heartbeat_ms = 10000;
    o.url_expiry_seconds = 604800;
  };
  return init_struct(opts, "opts", version, MS_UPLOAD_OPTIONS_VERSION, "ms_upload_options version", defaults);
}

int ms_upload_request_init(ms_upload_request* req, unsigned int version) {
  return init_struct(req, "req", version, MS_UPLOAD_REQUEST_VERSION, "ms_upload_request version",
                     [](ms_upload_request& o) { o.media_kind = MS_KIND_PHOTO; });
}

int ms_worker_options_init(ms_worker_options* opts, unsigned int version) {
  auto defaults = [](ms_worker_options& o) {
    o.threads = 0;
    o.poll_wait_ms = 500;
    o.maintenance_interval_ms = 60000;
    o.cleanup_older_than_seconds = 3600;
  };
  return init_struct(opts, "opts", version, MS_WORKER_OPTIONS_VERSION, "ms_worker_options version", defaults);
}

int ms_uploads_open(ms_uploads** out, const ms_config* config, const ms_upload_options* opts) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    ms::UploadOptions uo;
    int rc = upload_options(opts, uo);
    if (rc != MS_OK) return rc;
    auto cfg = config ? resolve(config) : ms::Config::from_environment();
    if (!cfg.ok()) return fail(cfg.status());
    auto svc = ms::UploadService::open(*cfg, std::move(uo));
    if (!svc.ok()) return fail(svc.status());
    auto u = std::make_unique<ms_uploads>();
    u->service = std::move(*svc);
    *out = u.release();
    return MS_OK;
  });
}

void ms_uploads_close(ms_uploads* uploads) { delete_quietly(uploads); }

int ms_upload_submit(char** out, ms_uploads* uploads, const ms_upload_request* req) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if (req == nullptr) return invalid("req must not be NULL");
    if ((rc = version_arg(req->version, MS_UPLOAD_REQUEST_VERSION, "ms_upload_request.version")) != MS_OK) return rc;
    ms::UploadRequest r;
    std::string_view sv;
    if (req->source_path) {
      if (req->data != nullptr || req->data_len > 0) return invalid("give source_path or data, not both");
      if (!text_arg(req->source_path, "source_path", sv, rc)) return rc;
      if (sv.empty()) return invalid("source_path must not be empty");
      r.source_path.assign(sv);
    } else {
      if (req->data == nullptr && req->data_len > 0) return invalid("data must not be NULL when data_len > 0");
      if (req->data_len > 0) r.data.assign(static_cast<const char*>(req->data), req->data_len);
    }
    if (!text_arg(req->original_filename, "original_filename", sv, rc)) return rc;
    r.original_filename.assign(sv);
    if (req->content_type && !header_arg(req->content_type, "content_type", r.content_type, rc)) return rc;
    if ((rc = media_kind_arg(req->media_kind, r.media_kind)) != MS_OK) return rc;
    if ((rc = string_pairs(req->context_names, req->context_values, req->context_count, "context", r.context)) != MS_OK)
      return rc;
    auto id = uploads->service->submit_upload(r);
    if (!id.ok()) return fail(id.status());
    *out = dup_string(*id);
    return MS_OK;
  });
}

int ms_upload_status_get(ms_upload_status** out, ms_uploads* uploads, const char* id) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view i;
    if (!uploads_arg(uploads, rc) || !text_arg(id, "id", i, rc)) return rc;
    auto st = uploads->service->status(i);
    if (!st.ok()) return fail(st.status());
    *out = make_upload_status(*st);
    return MS_OK;
  });
}

void ms_upload_status_free(ms_upload_status* status) { upload_status_free_whole(status); }

int ms_upload_cancel(ms_uploads* uploads, const char* id) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view i;
    if (!uploads_arg(uploads, rc) || !text_arg(id, "id", i, rc)) return rc;
    return check(uploads->service->cancel(i));
  });
}

int ms_upload_cleanup(ms_cleanup_report** out, ms_uploads* uploads, int64_t older_than_seconds) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if ((rc = ms_range(older_than_seconds, 0, 100LL * 365 * 24 * 3600, "older_than_seconds")) != MS_OK) return rc;
    auto r = uploads->service->cleanup_failed_uploads(std::chrono::seconds(older_than_seconds));
    if (!r.ok()) return fail(r.status());
    auto* rep = static_cast<ms_cleanup_report*>(calloc_or_throw(1, sizeof(ms_cleanup_report)));
    rep->failed_uploads = r->failed_uploads;
    rep->abandoned_uploads = r->abandoned_uploads;
    rep->dead_lettered = r->dead_lettered;
    rep->spool_files_removed = r->spool_files_removed;
    rep->objects_removed = r->objects_removed;
    *out = rep;
    return MS_OK;
  });
}

int ms_upload_stats_get(ms_upload_stats** out, ms_uploads* uploads) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    auto m = uploads->service->metrics();
    if (!m.ok()) return fail(m.status());
    auto* st = static_cast<ms_upload_stats*>(calloc_or_throw(1, sizeof(ms_upload_stats)));
    st->submitted = m->submitted;
    st->completed = m->completed;
    st->failed = m->failed;
    st->retried = m->retried;
    st->in_flight = m->in_flight;
    st->time_sum_seconds = m->time_sum_seconds;
    st->time_count = m->time_count;
    st->queue_ready = m->queue.ready;
    st->queue_delayed = m->queue.delayed;
    st->queue_in_flight = m->queue.in_flight;
    st->queue_dead = m->queue.dead;
    auto state = [&](const char* name) -> std::uint64_t {
      auto it = m->states.find(name);
      return it == m->states.end() ? 0 : it->second;
    };
    st->uploads_pending = state("pending");
    st->uploads_processing = state("processing");
    st->uploads_retrying = state("retrying");
    st->uploads_completed = state("completed");
    st->uploads_failed = state("failed");
    *out = st;
    return MS_OK;
  });
}

int ms_upload_metrics_prometheus(char** out, ms_uploads* uploads) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    auto m = uploads->service->metrics();
    if (!m.ok()) return fail(m.status());
    *out = dup_string(ms::to_prometheus(*m));
    return MS_OK;
  });
}

int ms_upload_process_next(size_t* out, ms_uploads* uploads, size_t max_jobs, int64_t wait_ms) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = 0;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if (max_jobs == 0 || max_jobs > 100000) return invalid("max_jobs must be 1..100000");
    if ((rc = ms_range(wait_ms, 0, 3600000, "wait_ms")) != MS_OK) return rc;
    auto n = uploads->service->process_next(max_jobs, std::chrono::milliseconds(wait_ms));
    if (!n.ok()) return fail(n.status());
    *out = *n;
    return MS_OK;
  });
}

int ms_worker_new(ms_worker** out, ms_uploads* uploads, const ms_worker_options* opts) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    ms::WorkerOptions wo;
    if (opts) {
      if ((rc = version_arg(opts->version, MS_WORKER_OPTIONS_VERSION, "ms_worker_options.version")) != MS_OK) return rc;
      if ((rc = ms_range(opts->threads, 0, 256, "threads")) != MS_OK) return rc;
      if ((rc = ms_range(opts->poll_wait_ms, 1, 60000, "poll_wait_ms")) != MS_OK) return rc;
      if ((rc = ms_range(opts->maintenance_interval_ms, 10, kMaxMillis, "maintenance_interval_ms")) != MS_OK) return rc;
      if ((rc = ms_range(opts->cleanup_older_than_seconds, 0, 100LL * 365 * 24 * 3600, "cleanup_older_than_seconds")) !=
          MS_OK)
        return rc;
      wo.threads = opts->threads;
      wo.poll_wait = std::chrono::milliseconds(opts->poll_wait_ms);
      wo.maintenance_interval = std::chrono::milliseconds(opts->maintenance_interval_ms);
      wo.cleanup_older_than = std::chrono::seconds(opts->cleanup_older_than_seconds);
    }
    auto w = std::make_unique<ms_worker>();
    w->worker = std::make_unique<ms::Worker>(uploads->service, wo);
    *out = w.release();
    return MS_OK;
  });
}

int ms_worker_start(ms_worker* worker) {
  return guard([&]() -> int {
    int rc = MS_OK;
    if (!worker_arg(worker, rc)) return rc;
    return check(worker->worker->start());
  });
}

int ms_worker_stop(ms_worker* worker, int mode) {
  return guard([&]() -> int {
    int rc = MS_OK;
    if (!worker_arg(worker, rc)) return rc;
    if (mode != MS_STOP_FINISH && mode != MS_STOP_RELEASE)
      return invalid("stop mode " + std::to_string(mode) + " is not a ms_stop_mode");
    worker->worker->stop(mode == MS_STOP_RELEASE ? ms::StopMode::release : ms::StopMode::finish);
    return MS_OK;
  });
}

int ms_worker_wait(ms_worker* worker) {
  return guard([&]() -> int {
    int rc = MS_OK;
    if (!worker_arg(worker, rc)) return rc;
    worker->worker->wait();
    return MS_OK;
  });
}

int ms_worker_running(const ms_worker* worker) {
  try {
    return worker != nullptr && worker->worker && worker->worker->running() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

void ms_worker_free(ms_worker* worker) { delete_quietly(worker); }

// ---- more storage: remove_many, local URL verification, migration ----

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

int ms_migrate_options_init(ms_migrate_options* opts, unsigned int version) {
  auto defaults = [](ms_migrate_options& o) {
    o.concurrency = 8;
    o.attempts = 3;
  };
  return init_struct(opts, "opts", version, MS_MIGRATE_OPTIONS_VERSION, "ms_migrate_options version", defaults);
}

void ms_migrate_report_free(ms_migrate_report* report) { migrate_report_free_whole(report); }

int ms_migrate(ms_migrate_report** out, ms_store* from, ms_store* to, const ms_migrate_options* opts) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!store_arg(from, rc) || !store_arg(to, rc)) return rc;
    if (from == to) return invalid("from and to must be different stores");
    ms::MigrateOptions mo;
    std::atomic<bool> stop{false};
    if (opts != nullptr) {
      if ((rc = version_arg(opts->version, MS_MIGRATE_OPTIONS_VERSION, "ms_migrate_options.version")) != MS_OK)
        return rc;
      if ((rc = ms_range(opts->concurrency, 1, 256, "concurrency")) != MS_OK) return rc;
      if ((rc = ms_range(opts->attempts, 1, 100, "attempts")) != MS_OK) return rc;
      if (!optional_text_arg(opts->prefix, "prefix", mo.prefix, rc)) return rc;
      if (!optional_text_arg(opts->journal_path, "journal_path", mo.journal_path, rc)) return rc;
      if (!optional_text_arg(opts->journal_scope, "journal_scope", mo.journal_scope, rc)) return rc;
      mo.concurrency = opts->concurrency;
      mo.attempts = opts->attempts;
      mo.delete_source = opts->delete_source != 0;
      mo.dry_run = opts->dry_run != 0;
      if (opts->progress) {
        ms_migrate_progress_fn fn = opts->progress;
        void* payload = opts->progress_payload;
        mo.progress = [fn, payload, &stop](const ms::MigrateProgress& p) {
          ms_migrate_progress cp;
          fill_migrate_progress(&cp, p);
          if (fn(&cp, payload) != 0) stop.store(true);
        };
      }
    }
    mo.stop = &stop;
    auto r = ms::migrate(*from->backend, *to->backend, mo);
    if (!r.ok()) return fail(r.status());
    *out = make_migrate_report(*r);
    return MS_OK;
  });
}

// ---- dead letters ----

void ms_dead_job_list_free(ms_dead_job_list* list) { dead_job_list_free_whole(list); }

int ms_upload_dead_letters(ms_dead_job_list** out, ms_uploads* uploads, size_t limit) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    if (limit == 0 || limit > 100000) return invalid("limit must be 1..100000, got " + std::to_string(limit));
    auto r = uploads->service->dead_letters(limit);
    if (!r.ok()) return fail(r.status());
    CHolder<ms_dead_job_list, dead_job_list_free_whole> h;
    h.p = static_cast<ms_dead_job_list*>(calloc_or_throw(1, sizeof(ms_dead_job_list)));
    h.p->items = static_cast<ms_dead_job*>(calloc_or_throw(r->size(), sizeof(ms_dead_job)));
    for (const auto& d : *r) {
      ms_dead_job& o = h.p->items[h.p->count++];
      o.id = dup_string(d.id);
      o.payload = dup_string(d.payload);
      o.attempts = d.attempts;
      o.last_error = dup_string(d.last_error);
      o.died_at_ms = to_ms(d.died_at);
    }
    *out = h.release();
    return MS_OK;
  });
}

}  // extern "C"
