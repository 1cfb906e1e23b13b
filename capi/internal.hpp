// What every file of the C ABI shares: the handle structs behind the opaque
// types of mediastore.h, the last-error state, the catch-all wrapper, the
// argument checks and the allocation helpers of the structs the library hands
// out. Nothing here is exported (hidden visibility, and the version script
// exports ms_* only); the C surface itself is split per part of the library:
//
//   error.cpp    ms_strerror, ms_error_*, the thread-local last error
//   common.cpp   ms_version, ms_free; argument checks, string/struct allocation
//   log.cpp      ms_log_*, ms_redact
//   config.cpp   ms_config_*
//   storage.cpp  ms_store_*, ms_key_validate, ms_local_url_verify, put/list options
//   media.cpp    ms_media_*, ms_thumbnails_*, ms_jpeg_strip_metadata
//   upload.cpp   ms_uploads_*, ms_upload_*, dead letters
//   lifecycle.cpp  end hook, ended_since, wait, list_by_context, retry, redrive
//   worker.cpp   ms_worker_*
//   grant.cpp    ms_grant_claims_init, ms_upload_grant_*
//   migrate.cpp  ms_migrate*
//
// Every extern "C" body runs inside guard(), which turns any exception into
// an error code, so nothing unwinds across the C boundary. Arguments are
// checked here (NULL, UTF-8, option versions and ranges) before they reach
// the C++ API.
#ifndef MEDIASTORE_CAPI_INTERNAL_HPP
#define MEDIASTORE_CAPI_INTERNAL_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mediastore/config.hpp"
#include "mediastore/media.hpp"
#include "mediastore/mediastore.h"
#include "mediastore/status.hpp"
#include "mediastore/storage.hpp"
#include "mediastore/upload.hpp"

namespace ms = mediastore;

// ---- the handles behind the opaque types ----

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

namespace mediastore::capi {

// Limits shared by several parts.
inline constexpr std::size_t kMaxMetadata = 64;                 // metadata and context pairs
inline constexpr std::int64_t kMaxUrlExpiry = 7 * 24 * 3600;    // seconds, as S3 presigning allows
inline constexpr std::int64_t kMaxMillis = 24LL * 3600 * 1000;  // one day: longer is absurd for these periods

// ---- errors (error.cpp) ----

// Records status as the thread's last error and returns its C code (< 0); a
// status without a valid error code counts as internal.
int fail(const Status& status);
int fail(ErrorCode code, std::string message);
int invalid(std::string message);  // fail(invalid_argument, message)
inline int check(const Status& status) { return status.ok() ? MS_OK : fail(status); }

// Records the exception being handled (called from a catch block) as the last
// error and returns MS_E_INTERNAL; allocation failures say "out of memory".
int fail_current_exception() noexcept;

// Runs body, turning every exception into a code: nothing crosses the C
// boundary.
template <typename F>
int guard(F&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return fail_current_exception();
  }
}

// A failing callback's code (ms_read_fn etc.) as a Status: a library code is
// kept, anything else means the caller cancelled.
Status callback_status(int rc, const char* what);

// ---- argument checks (common.cpp) ----
// Each returns false (or an error code) after recording the error in `rc`/the
// last error; `what` names the argument in the message.

bool valid_utf8(std::string_view s);
// A required NUL-terminated UTF-8 argument.
bool text_arg(const char* p, const char* what, std::string_view& out, int& rc);
// Text that ends up in a header: UTF-8 and no control characters.
bool header_arg(const char* p, const char* what, std::string& out, int& rc);
// An optional NUL-terminated UTF-8 argument: NULL leaves `out` unchanged.
bool optional_text_arg(const char* p, const char* what, std::string& out, int& rc);
// A caller's buffer (data, len); data may be NULL only when len is 0.
bool bytes_arg(const void* data, std::size_t len, const char* what, std::string_view& out, int& rc);
// The version check of a versioned struct; `what` names it as the message
// should, e.g. "ms_put_options.version". Returns MS_OK or the error code.
int version_arg(unsigned int version, unsigned int current, const char* what);
// v within [lo, hi]; returns MS_OK or the error code.
int range_arg(std::int64_t v, std::int64_t lo, std::int64_t hi, const char* what);

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

// ---- allocation of what the library hands out (common.cpp) ----
// Everything is malloc'ed, so that ms_free and the ms_*_free functions free
// it; the helpers throw std::bad_alloc, which guard() turns into a code.

char* dup_string(std::string_view s);
void* dup_bytes(std::string_view s);
void* calloc_or_throw(std::size_t n, std::size_t size);  // n == 0 still allocates
void free_string_array(char** a, std::size_t n);         // NULL-safe
std::int64_t to_ms(const SystemTime& t);                 // milliseconds since the epoch
// Caller-given name/value arrays (n entries, at most kMaxMetadata) into out;
// `what` names them in messages ("context"). Returns MS_OK or the error code.
int string_pairs(const char* const* names, const char* const* values, std::size_t n, const char* what,
                 std::map<std::string, std::string>& out);
// Fills malloc'ed names/values/count from a map; the count is raised as
// entries are made, so that a throw leaves something free_string_array frees.
void fill_pairs(const std::map<std::string, std::string>& in, char*** names, char*** values, std::size_t* count);

// Deletes a handle without letting an exception out.
template <typename T>
void delete_quietly(T* p) noexcept {
  try {
    delete p;
  } catch (...) {
  }
}

// Owns a C struct under construction; frees it with `del` unless released.
template <typename T, void (*Del)(T*)>
struct CHolder {
  T* p = nullptr;
  CHolder() = default;
  CHolder(const CHolder&) = delete;
  CHolder& operator=(const CHolder&) = delete;
  ~CHolder() {
    if (p) Del(p);
  }
  T* release() {
    T* r = p;
    p = nullptr;
    return r;
  }
};

// ---- what one part's wrappers need from another's ----

// config.cpp: the Config a ms_config describes.
Result<Config> resolve(const ms_config* c);
// storage.cpp: store is a live handle.
bool store_arg(const ms_store* store, int& rc);
// upload.cpp: uploads is a live handle.
bool uploads_arg(const ms_uploads* u, int& rc);
// upload.cpp: a malloc'ed copy of a status (free with ms_upload_status_free).
ms_upload_status* make_upload_status(const UploadStatus& in);
// media.cpp: the C media arguments as the C++ API takes them.
int media_kind_arg(int kind, MediaKind& out);
int validation_policy(const ms_validation_options* in, ValidationPolicy& out);
int thumbnail_specs(const ms_thumbnail_spec* specs, std::size_t n, std::vector<ThumbnailSpec>& out);

}  // namespace mediastore::capi

#endif  // MEDIASTORE_CAPI_INTERNAL_HPP
