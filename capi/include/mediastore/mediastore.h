/**
 * @file mediastore.h
 * @brief The stable C ABI of libmediastore (libmediastore_c.so.0).
 *
 * Conventions (see docs/ABI.md for what stays stable):
 * - Every function and type starts with `ms_` / `MS_`; handles are opaque.
 * - Functions returning `int` return #MS_OK (0) on success and a negative
 *   `MS_E_*` code on failure. The codes mirror the C++ `mediastore::ErrorCode`
 *   one to one (`MS_E_X == -ErrorCode::x`) and are only ever appended.
 *   ms_strerror() names a code; ms_error_last() gives the detailed message of
 *   the last failure on the calling thread.
 * - Out-parameters come first and are named `out`. Whatever the library
 *   returns through them belongs to the caller and is released with the
 *   matching NULL-safe `ms_*_free()` (strings and byte buffers: ms_free()).
 *   On failure `*out` is set to NULL (or zero) when `out` itself is not NULL.
 * - Option structs start with a `version` field; initialise them with their
 *   `MS_*_INIT` macro or their `ms_*_init()` function (both give the same
 *   bytes), then change the fields you need. A NULL options pointer means
 *   "all defaults".
 * - Callbacks take `void *payload` last; the library passes back what the
 *   caller gave it.
 * - No function throws, aborts or crashes on bad input: NULL pointers, zero
 *   sizes, invalid UTF-8 and out-of-range options give #MS_E_INVALID_ARGUMENT.
 * - Text (keys, names, content types, metadata) is NUL-terminated UTF-8.
 *
 * Thread-safety: unless a function says otherwise, handles may be used from
 * many threads at once (a store is thread-safe, like its C++ object), and
 * distinct handles are independent.
 */
#ifndef MEDIASTORE_MEDIASTORE_H
#define MEDIASTORE_MEDIASTORE_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(MEDIASTORE_C_BUILDING)
#define MS_EXTERN __declspec(dllexport)
#else
#define MS_EXTERN __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define MS_EXTERN __attribute__((visibility("default")))
#else
#define MS_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/** @name Errors */
/**@{*/

/** Result codes. Numbers are ABI: never renumbered, new codes appended. */
typedef enum ms_error_code {
  MS_OK = 0,                   /**< success */
  MS_E_INVALID_ARGUMENT = -1,  /**< a caller-supplied value is malformed (key, option, NULL) */
  MS_E_NOT_FOUND = -2,         /**< the object, bucket, upload or file does not exist */
  MS_E_ALREADY_EXISTS = -3,    /**< creating something that is already there */
  MS_E_PERMISSION_DENIED = -4, /**< the store or the filesystem refuses the operation */
  MS_E_AUTH_FAILED = -5,       /**< credentials are wrong */
  MS_E_TOO_LARGE = -6,         /**< a size or pixel limit is exceeded */
  MS_E_UNSUPPORTED_MEDIA = -7, /**< the content is of a type the policy does not accept */
  MS_E_CORRUPT_MEDIA = -8,     /**< the content claims a type but cannot be decoded */
  MS_E_IO = -9,                /**< local filesystem failure */
  MS_E_NETWORK = -10,          /**< connection refused, reset, DNS, TLS */
  MS_E_TIMEOUT = -11,          /**< an operation or connection exceeded its time */
  MS_E_THROTTLED = -12,        /**< the server asks to slow down */
  MS_E_CONFLICT = -13,         /**< a precondition or concurrent change failed */
  MS_E_UNAVAILABLE = -14,      /**< the service is temporarily unavailable */
  MS_E_CANCELLED = -15,        /**< the caller cancelled the operation */
  MS_E_INTERNAL = -16,         /**< a bug or unexpected condition inside the library */
  MS_E_NOT_SUPPORTED = -17     /**< this backend or build does not offer the operation */
} ms_error_code;

/** Number of codes including MS_OK: valid codes are 0 .. -(MS_ERROR_CODE_COUNT-1). */
#define MS_ERROR_CODE_COUNT 18

/**
 * @brief Stable lower-case name of a code ("not_found"); "unknown" for values
 * out of range. Positive values are treated like their negation.
 * @return static storage; never NULL. Thread-safe.
 */
MS_EXTERN const char* ms_strerror(int code);

/**
 * @brief Detailed message of the last failure on the calling thread
 * ("not_found: no object at key 'a/b.jpg'"), or "" if none.
 * @return thread-local storage owned by the library, valid until the next
 * failing call on this thread or ms_error_clear(); never NULL.
 */
MS_EXTERN const char* ms_error_last(void);

/** @brief Code of the last failure on the calling thread (MS_OK if none). */
MS_EXTERN int ms_error_last_code(void);

/** @brief Forgets the calling thread's last error. */
MS_EXTERN void ms_error_clear(void);

/** @brief 1 if trying the same call again later may succeed (network, timeout, throttled, unavailable). */
MS_EXTERN int ms_error_is_transient(int code);

/** @brief Library version "0.1.0" (static storage). */
MS_EXTERN const char* ms_version(void);

/**
 * @brief Frees a string or byte buffer the library returned. NULL-safe.
 * Never pass memory that the library did not allocate.
 */
MS_EXTERN void ms_free(void* ptr);

/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Logging
 * The library never writes to stdout/stderr. The host installs a callback and
 * a minimum level; secrets are redacted before anything reaches it.
 */
/**@{*/

/** Log levels. */
typedef enum ms_log_level {
  MS_LOG_TRACE = 0,
  MS_LOG_DEBUG = 1,
  MS_LOG_INFO = 2,
  MS_LOG_WARN = 3,
  MS_LOG_ERROR = 4,
  MS_LOG_OFF = 5
} ms_log_level;

/** One structured field of a log record ("key" = "a/b.jpg"). Layout frozen (used in arrays). */
typedef struct ms_log_field {
  const char* name;
  const char* value;
} ms_log_field;

/**
 * One log record. Everything it points to is owned by the library and valid
 * only during the callback. New members may be appended at the end.
 */
typedef struct ms_log_record {
  int level;                  /**< an ms_log_level */
  const char* component;      /**< "s3", "storage", "media", "queue", "upload", "worker" */
  const char* message;        /**< formatted and redacted */
  const ms_log_field* fields; /**< field_count entries */
  size_t field_count;
} ms_log_record;

/**
 * Log callback. Called from library threads, possibly concurrently: it must
 * be thread-safe and must not call back into ms_log_set_callback().
 */
typedef void (*ms_log_fn)(const ms_log_record* record, void* payload);

/**
 * @brief Installs the process-wide log callback and its minimum level.
 * @param fn the callback; NULL removes any callback (the library stays silent).
 * @param level minimum ms_log_level delivered (MS_LOG_TRACE .. MS_LOG_OFF).
 * @param payload passed back to fn as is.
 * @return MS_OK, or MS_E_INVALID_ARGUMENT for a level out of range.
 * Default: no callback, level MS_LOG_WARN. Thread-safe. A call already
 * running in another thread may still use the previous callback and payload
 * briefly after this returns: keep them valid (or quiesce the library).
 */
MS_EXTERN int ms_log_set_callback(ms_log_fn fn, int level, void* payload);

/** @brief Changes the minimum level, keeping the callback. MS_E_INVALID_ARGUMENT if out of range. */
MS_EXTERN int ms_log_set_level(int level);

/** @brief Current minimum level. */
MS_EXTERN int ms_log_get_level(void);

/** @brief "trace", "debug", ... or "unknown" (static storage). */
MS_EXTERN const char* ms_log_level_name(int level);

/**
 * @brief Redacts secrets (Authorization values, presigned-URL signatures,
 * credentials and tokens) in text.
 * @param[out] out caller-owned copy; free with ms_free().
 */
MS_EXTERN int ms_redact(char** out, const char* text);

/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Configuration
 * Built from the service's environment variables (MEDIA_STORAGE_BACKEND,
 * MEDIA_ROOT, MINIO_*, AWS_*, MAX_UPLOAD_SIZE, MEDIA_QUEUE_BACKEND, ... see
 * mediastore/config.hpp), from the process environment or set explicitly.
 */
/**@{*/

/** Opaque configuration. Not thread-safe while being modified. */
typedef struct ms_config ms_config;

/**
 * @brief A configuration with every default (backend local, ./media, ...);
 * the process environment is ignored.
 * @param[out] out free with ms_config_free().
 */
MS_EXTERN int ms_config_new(ms_config** out);

/**
 * @brief A configuration read from the process environment (checked now:
 * a bad variable is MS_E_INVALID_ARGUMENT naming it). Variables set later
 * with ms_config_set() override the environment.
 * @param[out] out free with ms_config_free().
 */
MS_EXTERN int ms_config_from_env(ms_config** out);

/**
 * @brief Sets one variable by its environment name ("MEDIA_ROOT").
 * A name that is not one of the library's variables (docs/configuration.md)
 * is MS_E_INVALID_ARGUMENT naming it.
 * @param value the value; NULL unsets it (also hiding the environment's).
 * The whole configuration is checked when it is used (ms_config_check(),
 * ms_store_open(), ...).
 */
MS_EXTERN int ms_config_set(ms_config* config, const char* name, const char* value);

/** @brief Checks the configuration; MS_E_INVALID_ARGUMENT names the bad variable. */
MS_EXTERN int ms_config_check(const ms_config* config);

/**
 * @brief The effective configuration, one "NAME=value" per line, secrets
 * masked.
 * @param[out] out free with ms_free().
 */
MS_EXTERN int ms_config_describe(char** out, const ms_config* config);

/** @brief The maximum upload size in bytes this configuration allows. */
MS_EXTERN int ms_config_max_upload_size(uint64_t* out, const ms_config* config);

/** @brief Frees a configuration. NULL-safe. */
MS_EXTERN void ms_config_free(ms_config* config);

/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Storage
 * One interface over the local filesystem, MinIO/Ceph and AWS S3. Keys are
 * '/'-separated UTF-8 paths of at most 1024 bytes.
 */
/**@{*/

/** Opaque storage handle; thread-safe. */
typedef struct ms_store ms_store;

/**
 * Progress callback: (bytes done, bytes total or 0 if unknown). Return 0 to
 * continue, anything else cancels the operation (it fails with
 * MS_E_CANCELLED).
 * Thread: the thread calling the operation or, for a multipart or streaming
 * S3 upload, one of the library threads that operation runs; never two
 * calls at once for one operation, and never after the operation returned.
 * done can go back after a retry restarts the data.
 */
typedef int (*ms_progress_fn)(uint64_t done, uint64_t total, void* payload);

/**
 * Source callback of a streamed write: fill up to cap bytes of buf and store
 * the count in *out_len (0 = end of data). Return 0, or a negative MS_E_*
 * code to abort the write with that code.
 * Thread: as ms_progress_fn (the calling thread or a library thread of the
 * same operation, one call at a time, none after the operation returned).
 */
typedef int (*ms_read_fn)(void* buf, size_t cap, size_t* out_len, void* payload);

/**
 * Sink callback of a streamed read: consume len bytes. Return 0, or a
 * negative MS_E_* code to abort the read with that code.
 * Thread: as ms_progress_fn.
 */
typedef int (*ms_write_fn)(const void* data, size_t len, void* payload);

/**
 * Rewind callback: go back to the first byte (source) or drop everything
 * received so far (sink), so that a failed attempt can be retried. Return 0
 * or a negative MS_E_* code. Optional: without it no retry restarts the data.
 * Thread: as ms_progress_fn.
 */
typedef int (*ms_rewind_fn)(void* payload);

/**
 * Current version of ms_put_options. Version 1: the fields up to
 * progress_payload; version 2 appends sha256; version 3 appends
 * if_none_match. The library reads only the
 * fields of the version a struct declares, so a struct of an older version
 * (from a caller compiled against an older header) keeps working and its
 * missing fields take their defaults.
 */
#define MS_PUT_OPTIONS_VERSION 3

/** Options of a write. Strings are borrowed for the duration of the call. */
typedef struct ms_put_options {
  unsigned int version;               /**< MS_PUT_OPTIONS_VERSION */
  const char* content_type;           /**< Default (NULL): "application/octet-stream" */
  const char* cache_control;          /**< Default (NULL): none */
  const char* content_disposition;    /**< Default (NULL): none */
  const char* const* metadata_names;  /**< user metadata names (metadata_count entries) */
  const char* const* metadata_values; /**< user metadata values */
  size_t metadata_count;              /**< Default: 0 (max 64) */
  ms_progress_fn progress;            /**< Default: NULL */
  void* progress_payload;             /**< passed to progress */
  /* ---- version 2 ---- */
  /**
   * The content's SHA-256 when the caller already knows it: exactly 64
   * lower-case hex digits, NUL-terminated; borrowed for the call. The write
   * is held to it and stores nothing on a mismatch: the local backend hashes
   * while writing and fails with #MS_E_INVALID_ARGUMENT; the S3 backend signs
   * the PUT with it, so the server refuses a different body (on Ceph RGW:
   * #MS_E_NETWORK, the message naming XAmzContentSHA256Mismatch). Any other
   * form (length, upper case, non-hex, invalid UTF-8) is
   * #MS_E_INVALID_ARGUMENT before anything is written.
   * Default (NULL or ""): unknown, nothing to check. Ignored when version < 2.
   */
  const char* sha256;
  /* ---- version 3 ---- */
  /**
   * Non-zero: create only. The write fails with #MS_E_ALREADY_EXISTS,
   * storing nothing, when the key already holds an object, decided
   * atomically by the store: of two concurrent create-only writes of one key
   * exactly one succeeds (local: under the folder lock, published with
   * link(); S3: "If-None-Match: *", see MEDIA_S3_CONDITIONAL_MULTIPART in
   * docs/configuration.md for servers that ignore it on multipart uploads).
   * Default: 0 (replace). Ignored when version < 3.
   */
  int if_none_match;
} ms_put_options;

#define MS_PUT_OPTIONS_INIT \
  { MS_PUT_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, 0 }

/**
 * @brief Fills opts with the defaults of `version` (1 .. MS_PUT_OPTIONS_VERSION)
 * and sets opts->version to it. Writes only the bytes of that version's
 * struct, so a caller built against an older header may pass its own
 * (smaller) struct with its own version.
 */
MS_EXTERN int ms_put_options_init(ms_put_options* opts, unsigned int version);

/**
 * What the store knows about an object. All strings are owned by the struct.
 * Layout frozen (used in arrays): never changes.
 */
typedef struct ms_object_info {
  char* key;
  uint64_t size;
  char* content_type;        /**< "application/octet-stream" when none stored */
  char* etag;                /**< without quotes */
  int64_t last_modified_ms;  /**< milliseconds since the Unix epoch */
  char* cache_control;       /**< "" if none */
  char* content_disposition; /**< "" if none */
  size_t metadata_count;
  char** metadata_names; /**< lower-case, without the x-amz-meta- prefix */
  char** metadata_values;
} ms_object_info;

/** @brief Frees an ms_object_info returned by ms_store_stat(). NULL-safe. */
MS_EXTERN void ms_object_info_free(ms_object_info* info);

#define MS_LIST_OPTIONS_VERSION 1

/** Options of a listing. */
typedef struct ms_list_options {
  unsigned int version;   /**< MS_LIST_OPTIONS_VERSION */
  const char* prefix;     /**< Default (NULL): "" (everything) */
  const char* delimiter;  /**< Default (NULL): "" flat listing; "/" one folder level */
  const char* page_token; /**< Default (NULL): first page; else a next_page_token */
  int max_keys;           /**< Default: 1000 (1..1000) */
} ms_list_options;

#define MS_LIST_OPTIONS_INIT \
  { MS_LIST_OPTIONS_VERSION, NULL, NULL, NULL, 1000 }

/** @brief Fills opts with the defaults of `version` (MS_LIST_OPTIONS_VERSION). */
MS_EXTERN int ms_list_options_init(ms_list_options* opts, unsigned int version);

/** One page of a listing; everything is owned by the struct. */
typedef struct ms_list_page {
  size_t object_count;
  ms_object_info* objects; /**< sorted by key */
  size_t prefix_count;
  char** common_prefixes; /**< with a delimiter only, sorted */
  char* next_page_token;  /**< "" on the last page */
} ms_list_page;

/** @brief Frees a page from ms_store_list(). NULL-safe. */
MS_EXTERN void ms_list_page_free(ms_list_page* page);

/** Length meaning "to the end of the object". */
#define MS_TO_END UINT64_MAX

/**
 * @brief Opens the store a configuration selects.
 * @param[out] out free with ms_store_close().
 * @param config NULL = read the process environment now.
 */
MS_EXTERN int ms_store_open(ms_store** out, const ms_config* config);

/** @brief Closes a store. NULL-safe. Must not race with calls on the same store. */
MS_EXTERN void ms_store_close(ms_store* store);

/** @brief "local", "s3", ...; @param[out] out free with ms_free(). */
MS_EXTERN int ms_store_backend_name(char** out, const ms_store* store);

/** @brief Checks that the backend answers (bucket exists, root writable). */
MS_EXTERN int ms_store_ping(ms_store* store);

/** @brief Checks a key without touching a store (MS_E_INVALID_ARGUMENT naming it). */
MS_EXTERN int ms_key_validate(const char* key);

/**
 * @brief Stores len bytes at key, replacing any previous object atomically.
 * @param data may be NULL only when len is 0 (an empty object).
 * @param opts NULL = defaults.
 */
MS_EXTERN int ms_store_put(ms_store* store, const char* key, const void* data, size_t len, const ms_put_options* opts);

/** @brief Stores the content of the local file at path. */
MS_EXTERN int ms_store_put_file(ms_store* store, const char* key, const char* path, const ms_put_options* opts);

/**
 * @brief Streamed write: the library pulls the content through read_fn.
 * @param size total size if known, else -1.
 * @param rewind_fn optional (NULL); needed for retries after partial sends.
 * @param payload passed to read_fn and rewind_fn.
 */
MS_EXTERN int ms_store_put_stream(ms_store* store, const char* key, int64_t size, const ms_put_options* opts,
                                  ms_read_fn read_fn, ms_rewind_fn rewind_fn, void* payload);

/**
 * @brief The service's save(): stores data under a fresh unique key
 * "YYYY/MM/DD/<16 hex>_<sanitised filename>".
 * @param[out] out the key; free with ms_free().
 */
MS_EXTERN int ms_store_save(char** out, ms_store* store, const void* data, size_t len, const char* filename,
                            const ms_put_options* opts);

/**
 * @brief ms_store_save() of streamed content: the key as ms_store_save()
 * makes it, the content pulled through read_fn as ms_store_put_stream()
 * does (size, rewind_fn and payload as there). Never holds the whole
 * content in memory. read_fn and rewind_fn run on the calling thread.
 * @param[out] out the key; free with ms_free().
 */
MS_EXTERN int ms_store_save_stream(char** out, ms_store* store, const char* filename, int64_t size,
                                   const ms_put_options* opts, ms_read_fn read_fn, ms_rewind_fn rewind_fn,
                                   void* payload);

/**
 * @brief Reads [offset, offset+length) of an object into memory
 * (offset 0, length MS_TO_END = everything).
 * @param[out] out the bytes (NUL-terminated for convenience, not counted);
 * free with ms_free().
 * @param[out] out_len number of bytes.
 */
MS_EXTERN int ms_store_get(void** out, size_t* out_len, ms_store* store, const char* key, uint64_t offset,
                           uint64_t length);

/**
 * @brief Streamed read: the library pushes the content into write_fn without
 * holding the object in memory.
 * @param reset_fn optional; lets a failed download restart from the start.
 * @param progress optional.
 * @param payload passed to every callback.
 */
MS_EXTERN int ms_store_get_stream(ms_store* store, const char* key, uint64_t offset, uint64_t length,
                                  ms_write_fn write_fn, ms_rewind_fn reset_fn, ms_progress_fn progress, void* payload);

/** @brief Downloads an object into the local file path atomically. */
MS_EXTERN int ms_store_get_file(ms_store* store, const char* key, const char* path);

/** @brief Stat. @param[out] out free with ms_object_info_free(). MS_E_NOT_FOUND if missing. */
MS_EXTERN int ms_store_stat(ms_object_info** out, ms_store* store, const char* key);

/** @brief *out = 1 if the object exists, 0 if not. */
MS_EXTERN int ms_store_exists(int* out, ms_store* store, const char* key);

/** @brief Deletes an object; deleting a missing key succeeds. */
MS_EXTERN int ms_store_remove(ms_store* store, const char* key);

/** @brief Copies an object with its content type and metadata. */
MS_EXTERN int ms_store_copy(ms_store* store, const char* from_key, const char* to_key);

/** @brief One page of a listing. @param[out] out free with ms_list_page_free(). @param opts NULL = defaults. */
MS_EXTERN int ms_store_list(ms_list_page** out, ms_store* store, const ms_list_options* opts);

/**
 * @brief A URL a client can fetch the object with: presigned on S3, signed on
 * the local backend with MEDIA_URL_SIGNING_KEY, else public.
 * @param expires_seconds 1 .. 604800 (7 days).
 * @param[out] out free with ms_free().
 */
MS_EXTERN int ms_store_url(char** out, ms_store* store, const char* key, int64_t expires_seconds);

#define MS_URL_OPTIONS_VERSION 1

/** What ms_store_url_with() makes. Strings are borrowed for the call. */
typedef struct ms_url_options {
  unsigned int version;    /**< MS_URL_OPTIONS_VERSION */
  int64_t expires_seconds; /**< lifetime of a signed URL, 1 .. 604800. Default: 3600 */
  /** "GET", "HEAD" or "PUT" (a presigned upload; S3 signed only). Default (NULL): "GET" */
  const char* http_method;
  /**
   * Headers the server answers with instead of the stored ones (lower-case
   * names: content-type, content-disposition, cache-control,
   * content-language, content-encoding, expires), signed as response-<name>
   * query parameters on S3; the local backend refuses them
   * (#MS_E_INVALID_ARGUMENT). Default: none.
   */
  const char* const* response_header_names;
  const char* const* response_header_values; /**< response_header_count values */
  size_t response_header_count;              /**< Default: 0 */
  /** -1: the backend's setting (AWS_QUERYSTRING_AUTH; local: signed with MEDIA_URL_SIGNING_KEY); 0: plain; 1: signed.
   * Default: -1 */
  int signed_url;
} ms_url_options;

#define MS_URL_OPTIONS_INIT \
  { MS_URL_OPTIONS_VERSION, 3600, NULL, NULL, NULL, 0, -1 }

/** @brief Fills opts with the defaults of `version` (MS_URL_OPTIONS_VERSION). */
MS_EXTERN int ms_url_options_init(ms_url_options* opts, unsigned int version);

/**
 * @brief A URL for key as opts asks (NULL: the defaults): on S3 presigned, or
 * plain with signed_url 0, on AWS_S3_CUSTOM_DOMAIN or MEDIA_S3_PUBLIC_ENDPOINT
 * when set (docs/configuration.md). Thread-safe.
 * @param[out] out free with ms_free().
 */
MS_EXTERN int ms_store_url_with(char** out, ms_store* store, const char* key, const ms_url_options* opts);

/**
 * @brief Deletes many keys (missing keys succeed).
 * @param[out] out_failed optional: how many keys could not be deleted.
 * @return MS_OK when every key was deleted, else the code of the first
 * failure (its message, naming the key, in ms_error_last()).
 */
MS_EXTERN int ms_store_remove_many(size_t* out_failed, ms_store* store, const char* const* keys, size_t count);

/**
 * @brief Checks a URL the local backend signed (MEDIA_URL_SIGNING_KEY):
 * signature (constant time) and expiry.
 * @return MS_OK, MS_E_PERMISSION_DENIED (bad signature, expired) or
 * MS_E_INVALID_ARGUMENT (malformed URL).
 */
MS_EXTERN int ms_local_url_verify(const char* url, const char* signing_key);

/** Counters of a migration. Layout frozen (embedded in ms_migrate_report). */
typedef struct ms_migrate_progress {
  uint64_t listed;  /**< source objects listed so far */
  uint64_t copied;  /**< copied and verified in this run */
  uint64_t skipped; /**< already present (journal or identical destination) */
  uint64_t failed;
  uint64_t deleted; /**< source objects removed (delete_source) */
  uint64_t planned; /**< dry run: objects that would be copied */
  uint64_t bytes;   /**< bytes copied (verified) in this run */
  uint64_t bytes_listed;
  int listing_done;
  int64_t elapsed_ms;
} ms_migrate_progress;

/**
 * Migration progress callback, called after every object (serialised, from
 * library threads). Return 0 to continue; anything else stops the migration
 * (transfers in flight are cancelled, the report says cancelled).
 */
typedef int (*ms_migrate_progress_fn)(const ms_migrate_progress* progress, void* payload);

#define MS_MIGRATE_OPTIONS_VERSION 1

/** Options of ms_migrate(). */
typedef struct ms_migrate_options {
  unsigned int version;            /**< MS_MIGRATE_OPTIONS_VERSION */
  const char* prefix;              /**< Default (NULL): everything */
  int concurrency;                 /**< objects at once, 1..256; Default: 8 */
  int delete_source;               /**< remove each source object once verified; Default: 0 */
  int dry_run;                     /**< change nothing, report what would be copied; Default: 0 */
  const char* journal_path;        /**< resumable journal file; Default (NULL): none */
  const char* journal_scope;       /**< identifies the source/destination pair; Default (NULL): unchecked */
  int attempts;                    /**< per object for transient errors, 1..100; Default: 3 */
  ms_migrate_progress_fn progress; /**< Default: NULL */
  void* progress_payload;
} ms_migrate_options;

#define MS_MIGRATE_OPTIONS_INIT \
  { MS_MIGRATE_OPTIONS_VERSION, NULL, 8, 0, 0, NULL, NULL, 3, NULL, NULL }

/** @brief Fills opts with the defaults of `version`. */
MS_EXTERN int ms_migrate_options_init(ms_migrate_options* opts, unsigned int version);

/** What a migration did; everything owned by the struct. */
typedef struct ms_migrate_report {
  ms_migrate_progress counts;
  size_t failure_count; /**< sorted by key */
  char** failure_keys;
  int* failure_codes; /**< MS_E_* */
  char** failure_messages;
  size_t planned_count; /**< dry run: keys that would be copied */
  char** planned;
  int cancelled;  /**< the progress callback stopped the run */
  int error_code; /**< a run-level error (MS_OK if none) */
  char* error_message;
} ms_migrate_report;

/** @brief Frees a migration report. NULL-safe. */
MS_EXTERN void ms_migrate_report_free(ms_migrate_report* report);

/**
 * @brief Copies every object (under a prefix) from one store to another,
 * verifying each copy; resumable through a journal.
 * @param[out] out the report (also when objects failed); free with ms_migrate_report_free().
 * @return MS_OK when the run happened (check the report's failures,
 * cancelled and error_code), else the code of a setup failure.
 */
MS_EXTERN int ms_migrate(ms_migrate_report** out, ms_store* from, ms_store* to, const ms_migrate_options* opts);

/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Media: type detection, validation, thumbnails
 * Types are always decided from content, never from the file name. All
 * functions here are reentrant and keep no state.
 */
/**@{*/

/** What content really is; numbers mirror mediastore::MediaType (append only). */
typedef enum ms_media_type {
  MS_MEDIA_UNKNOWN = 0,
  MS_MEDIA_JPEG = 1,
  MS_MEDIA_PNG = 2,
  MS_MEDIA_GIF = 3,
  MS_MEDIA_WEBP = 4,
  MS_MEDIA_BMP = 5,
  MS_MEDIA_HEIC = 6,
  MS_MEDIA_HEIF = 7,
  MS_MEDIA_AVIF = 8,
  MS_MEDIA_MP4 = 9,
  MS_MEDIA_QUICKTIME = 10,
  MS_MEDIA_WEBM = 11,
  MS_MEDIA_MATROSKA = 12,
  MS_MEDIA_HTML = 13, /**< dangerous look-alikes from here on: always refused */
  MS_MEDIA_SVG = 14,
  MS_MEDIA_PHP = 15,
  MS_MEDIA_ZIP = 16,
  MS_MEDIA_PDF = 17,
  MS_MEDIA_ELF = 18,
  MS_MEDIA_PE = 19
} ms_media_type;

/** What an upload claims to be. */
typedef enum ms_media_kind { MS_KIND_PHOTO = 0, MS_KIND_VIDEO = 1 } ms_media_kind;

/** Why a validation refused a file; numbers mirror mediastore::RefusalReason. */
typedef enum ms_refusal_reason {
  MS_REFUSAL_NONE = 0,
  MS_REFUSAL_EMPTY = 1,
  MS_REFUSAL_FILE_TOO_LARGE = 2,
  MS_REFUSAL_TOO_MANY_PIXELS = 3,
  MS_REFUSAL_UNKNOWN_TYPE = 4,
  MS_REFUSAL_DANGEROUS_CONTENT = 5,
  MS_REFUSAL_TYPE_NOT_ALLOWED = 6,
  MS_REFUSAL_EXTENSION_MISMATCH = 7,
  MS_REFUSAL_CORRUPT = 8,
  MS_REFUSAL_UNSUPPORTED_CODEC = 9,
  MS_REFUSAL_UNREADABLE = 10,
  MS_REFUSAL_MALWARE = 11,        /**< the virus scanner found a signature */
  MS_REFUSAL_UNSCANNED = 12,      /**< the virus scanner could not scan it in full */
  MS_REFUSAL_TOO_LONG = 13,       /**< a video over its duration limit */
  MS_REFUSAL_NO_VIDEO_STREAM = 14 /**< a video container without a video stream (audio only) */
} ms_refusal_reason;

/**
 * @brief Detects the type from the first bytes of a file (64 give a confident
 * answer, 4096 are plenty).
 * @return an ms_media_type (>= 0), or MS_E_INVALID_ARGUMENT if head is NULL
 * while len > 0.
 */
MS_EXTERN int ms_media_sniff(const void* head, size_t len);

/** @brief "image/jpeg", ...; "application/octet-stream" for unknown or out-of-range values (static). */
MS_EXTERN const char* ms_media_type_mime(int type);

/** @brief Extension without the dot ("jpg"); "" for unknown and dangerous types (static). */
MS_EXTERN const char* ms_media_type_extension(int type);

/** @brief "empty", "file_too_large", ...; "unknown" out of range (static). */
MS_EXTERN const char* ms_refusal_reason_name(int reason);

#define MS_VALIDATION_OPTIONS_VERSION 1

/** The rules a validation applies. Defaults are the service's. */
typedef struct ms_validation_options {
  unsigned int version;                /**< MS_VALIDATION_OPTIONS_VERSION */
  uint64_t max_upload_size;            /**< bytes; Default (0): 104857600 (100 MiB) */
  uint64_t max_pixels;                 /**< width*height; Default (0): 100000000 */
  int relabel_mismatched_extension;    /**< accept ".jpg" that is a PNG and rename it; Default: 1 */
  int decode_images;                   /**< fully decode images to prove them valid; Default: 1 */
  const char* const* photo_mime_types; /**< Default (count 0): jpeg png gif webp heic heif */
  size_t photo_mime_type_count;
  const char* const* video_mime_types; /**< Default (count 0): mp4 quicktime webm */
  size_t video_mime_type_count;
} ms_validation_options;

#define MS_VALIDATION_OPTIONS_INIT \
  { MS_VALIDATION_OPTIONS_VERSION, 0, 0, 1, 1, NULL, 0, NULL, 0 }

/** @brief Fills opts with the defaults of `version`. */
MS_EXTERN int ms_validation_options_init(ms_validation_options* opts, unsigned int version);

/** What validation learned about an accepted file. Strings owned by the struct. */
typedef struct ms_media_info {
  int type; /**< ms_media_type */
  char* mime;
  int kind; /**< ms_media_kind */
  uint64_t byte_size;
  char* sha256; /**< lower-case hex */
  int width;    /**< stored pixel size; 0 for videos */
  int height;
  int orientation;   /**< EXIF 1..8 */
  int display_width; /**< once the orientation is applied */
  int display_height;
  char* capture_time; /**< "YYYY:MM:DD HH:MM:SS" or "" */
  int has_gps;
  int relabelled; /**< the extension disagreed with the content */
  char* filename; /**< the name to store (extension corrected when relabelled) */
  char* note;     /**< e.g. "photo.jpg is a PNG image; relabelled photo.png" */
  /* Appended (the library allocates this struct; callers only read it). */
  char* thumbhash; /**< ThumbHash placeholder, standard base64; "" unless thumbnails were made (ms_media_process*) */
  char* phash;     /**< 64-bit pHash as 16 lower-case hex digits (ms_perceptual_hash_parse()); "" likewise */
} ms_media_info;

/** @brief Frees an ms_media_info. NULL-safe. */
MS_EXTERN void ms_media_info_free(ms_media_info* info);

/**
 * @brief Validates a file on disk against a policy.
 * @param[out] out on success; free with ms_media_info_free(). NULL on refusal.
 * @param[out] out_reason optional (may be NULL): the ms_refusal_reason (NONE on success).
 * @param filename the name the user gave (extension check, messages).
 * @param kind an ms_media_kind.
 * @param opts NULL = defaults.
 * @return MS_OK, or the refusal's code (MS_E_TOO_LARGE, MS_E_UNSUPPORTED_MEDIA,
 * MS_E_CORRUPT_MEDIA, ...) with a message naming the file in ms_error_last().
 */
MS_EXTERN int ms_media_validate_file(ms_media_info** out, int* out_reason, const char* path, const char* filename,
                                     int kind, const ms_validation_options* opts);

/** @brief Same as ms_media_validate_file() for content in memory (data may be NULL only if len is 0). */
MS_EXTERN int ms_media_validate(ms_media_info** out, int* out_reason, const void* data, size_t len,
                                const char* filename, int kind, const ms_validation_options* opts);

/** How a thumbnail fills its box. */
typedef enum ms_fit_mode { MS_FIT_INSIDE = 0, MS_FIT_COVER = 1 } ms_fit_mode;

/**
 * One thumbnail to make. This layout is frozen (it is used in arrays); a
 * future layout would be a new type.
 */
typedef struct ms_thumbnail_spec {
  const char* name; /**< "small" */
  int width;        /**< the box, 1..16384 */
  int height;
  int fit;         /**< ms_fit_mode */
  int quality;     /**< JPEG quality 1..100 (85 is the service's) */
  int progressive; /**< progressive JPEG */
} ms_thumbnail_spec;

/** One made thumbnail; owned by its list. Layout frozen (used in arrays). */
typedef struct ms_thumbnail {
  char* name;
  int width; /**< actual pixel size */
  int height;
  unsigned char* jpeg; /**< the encoded image, in the format its list's encodings[i] names (JPEG so far) */
  size_t jpeg_len;
} ms_thumbnail;

/** How one thumbnail of a list is encoded; owned by its list. Layout frozen (used in arrays). */
typedef struct ms_thumbnail_encoding {
  char* format;       /**< "jpeg", "webp", "avif" (MEDIA_THUMBNAIL_FORMATS spelling) */
  char* extension;    /**< "jpg", "webp", "avif" */
  char* content_type; /**< "image/jpeg", "image/webp", "image/avif" */
} ms_thumbnail_encoding;

/** The thumbnails of one image, in spec order. */
typedef struct ms_thumbnail_list {
  size_t count;
  ms_thumbnail* items;
  /* Appended (the library allocates this struct; callers only read it). */
  ms_thumbnail_encoding* encodings; /**< count entries, parallel to items */
} ms_thumbnail_list;

/** @brief Frees a thumbnail list. NULL-safe. */
MS_EXTERN void ms_thumbnail_list_free(ms_thumbnail_list* list);

/**
 * @brief Makes one JPEG thumbnail per spec from an image, decoding it once
 * (orientation applied, never upscaled, alpha on white).
 * @param specs NULL with spec_count 0 = small 150x150, medium 300x300, large
 * 800x600 (inside, quality 85).
 * @param max_pixels 0 = 100000000.
 * @param[out] out free with ms_thumbnail_list_free().
 * @return MS_OK, MS_E_UNSUPPORTED_MEDIA for non-images, MS_E_CORRUPT_MEDIA,
 * MS_E_TOO_LARGE, MS_E_INVALID_ARGUMENT.
 */
MS_EXTERN int ms_thumbnails_make(ms_thumbnail_list** out, const void* data, size_t len, const ms_thumbnail_spec* specs,
                                 size_t spec_count, uint64_t max_pixels);

/** @brief Same as ms_thumbnails_make() for an image file. */
MS_EXTERN int ms_thumbnails_make_file(ms_thumbnail_list** out, const char* path, const ms_thumbnail_spec* specs,
                                      size_t spec_count, uint64_t max_pixels);

/**
 * @brief Validates an upload and makes its thumbnails from the one strict
 * decode that proves it valid: ms_media_validate_file() and
 * ms_thumbnails_make_file() in one pass, so a photo is decoded once instead
 * of twice (a JPEG at the DCT scale the thumbnails need).
 *
 * Refusals are exactly ms_media_validate_file()'s: the same code, reason and
 * ms_error_last() message. Videos are validated and get an empty list
 * (count 0). The thumbnails are those ms_thumbnails_make_file() would make
 * with opts->max_pixels (orientation applied, never upscaled, alpha on
 * white); with opts->decode_images 0 the decode is lenient, as
 * ms_thumbnails_make_file()'s. For validation alone use
 * ms_media_validate_file(). Reentrant and thread-safe: no shared state.
 *
 * @param[out] out_info on success the verdict; free with ms_media_info_free(). NULL on failure.
 * @param[out] out_thumbs on success one thumbnail per spec, in spec order
 * (count 0 for videos); free with ms_thumbnail_list_free(). NULL on failure.
 * @param[out] out_reason optional (may be NULL): the ms_refusal_reason (NONE on
 * success and for argument errors).
 * @param path the file to read (non-empty).
 * @param filename the name the user gave (extension check, messages).
 * @param kind an ms_media_kind.
 * @param opts NULL = defaults (the service's policy).
 * @param specs NULL with spec_count 0 = small 150x150, medium 300x300, large
 * 800x600 (inside, quality 85), as ms_thumbnails_make().
 * @return MS_OK; the refusal's code (MS_E_INVALID_ARGUMENT for an empty file or
 * a mismatched extension, MS_E_TOO_LARGE, MS_E_UNSUPPORTED_MEDIA,
 * MS_E_CORRUPT_MEDIA, MS_E_NOT_FOUND / MS_E_IO for an unreadable file) with a
 * message naming the file; MS_E_INVALID_ARGUMENT for NULL out_info or
 * out_thumbs, bad specs or options (checked before the file is read).
 */
MS_EXTERN int ms_media_process_file(ms_media_info** out_info, ms_thumbnail_list** out_thumbs, int* out_reason,
                                    const char* path, const char* filename, int kind, const ms_validation_options* opts,
                                    const ms_thumbnail_spec* specs, size_t spec_count);

/** @brief Same as ms_media_process_file() for content in memory (data may be NULL only if len is 0; not kept). */
MS_EXTERN int ms_media_process(ms_media_info** out_info, ms_thumbnail_list** out_thumbs, int* out_reason,
                               const void* data, size_t len, const char* filename, int kind,
                               const ms_validation_options* opts, const ms_thumbnail_spec* specs, size_t spec_count);

/**
 * @brief Reads a perceptual hash as ms_media_info.phash and the "phash"
 * metadata of an upload hold it (16 hex digits).
 * @param[out] out the 64-bit hash.
 * @return MS_OK; MS_E_INVALID_ARGUMENT for NULL arguments or anything but 16 hex digits.
 */
MS_EXTERN int ms_perceptual_hash_parse(uint64_t* out, const char* hex);

/**
 * @brief The number of bits in which two perceptual hashes differ (0..64).
 * Photos at most MS_SIMILAR_IMAGE_DISTANCE apart count as the same picture
 * (re-encoded, rescaled, metadata stripped).
 */
MS_EXTERN int ms_hamming_distance(uint64_t a, uint64_t b);

/** mediastore::kSimilarImageDistance. */
#define MS_SIMILAR_IMAGE_DISTANCE 10

/** Which metadata ms_jpeg_strip_metadata() removes. */
typedef enum ms_strip_mode { MS_STRIP_GPS = 0, MS_STRIP_ALL = 1 } ms_strip_mode;

/**
 * @brief Removes metadata from a JPEG without re-encoding.
 * @param[out] out the new JPEG; free with ms_free(). @param[out] out_len its size.
 */
MS_EXTERN int ms_jpeg_strip_metadata(void** out, size_t* out_len, const void* jpeg, size_t len, int mode);

/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Uploads: submit, status, cancel, workers, stats
 * An upload is accepted durably (spooled and queued), processed by a worker
 * (validate -> thumbnails -> store original -> store thumbnails) and tracked
 * by id. Object keys derive from the id, so re-processing is idempotent.
 * Handles here are thread-safe.
 */
/**@{*/

/** The upload service (storage + queue a configuration selects). */
typedef struct ms_uploads ms_uploads;

/** Worker threads processing a service's uploads. */
typedef struct ms_worker ms_worker;

/** Upload states; numbers mirror mediastore::UploadState. */
typedef enum ms_upload_state {
  MS_UPLOAD_PENDING = 0,
  MS_UPLOAD_PROCESSING = 1,
  MS_UPLOAD_RETRYING = 2,
  MS_UPLOAD_COMPLETED = 3,
  MS_UPLOAD_FAILED = 4,
  MS_UPLOAD_AWAITING_UPLOAD = 5 /**< a direct upload the client has not completed yet */
} ms_upload_state;

/** Processing stages; numbers mirror mediastore::UploadStage. */
typedef enum ms_upload_stage {
  MS_STAGE_QUEUED = 0,
  MS_STAGE_VALIDATING = 1,
  MS_STAGE_STORING_ORIGINAL = 2,
  MS_STAGE_MAKING_THUMBNAILS = 3,
  MS_STAGE_STORING_THUMBNAILS = 4,
  MS_STAGE_DONE = 5,
  MS_STAGE_SCANNING = 6,     /**< the virus scan (first when scanning is on) */
  MS_STAGE_DEDUPLICATING = 7 /**< the exact-duplicate check (after validation, before storing) */
} ms_upload_stage;

/** @brief "pending", "processing", ...; "unknown" out of range (static). */
MS_EXTERN const char* ms_upload_state_name(int state);

/** @brief "queued", "validating", ...; "unknown" out of range (static). */
MS_EXTERN const char* ms_upload_stage_name(int stage);

#define MS_UPLOAD_OPTIONS_VERSION 2

/** Options of an upload service. */
typedef struct ms_upload_options {
  unsigned int version;                /**< MS_UPLOAD_OPTIONS_VERSION */
  int max_attempts;                    /**< attempts per upload (transient errors); Default: 5 (1..100) */
  int64_t backoff_base_ms;             /**< retry delay base; Default: 1000 */
  int64_t backoff_max_ms;              /**< retry delay cap; Default: 300000 */
  int64_t lease_ms;                    /**< job lease; Default: 30000 */
  int64_t heartbeat_ms;                /**< lease extension period; Default: 10000 (< lease_ms) */
  const char* key_prefix;              /**< Default (NULL): "uploads/" */
  int64_t url_expiry_seconds;          /**< URLs in results; Default: 604800 (1..604800) */
  const char* queue_name;              /**< Default (NULL): "uploads" */
  const ms_thumbnail_spec* thumbnails; /**< Default (count 0): small, medium, large */
  size_t thumbnail_count;
  const ms_validation_options* validation; /**< Default (NULL): the service's, MAX_UPLOAD_SIZE from the config */
  /* Version 2. */
  /** How long ended status records and idempotency keys are kept (removed by
   * ms_upload_cleanup); 0 = forever. Default: 2592000 (30 days) */
  int64_t record_ttl_seconds;
} ms_upload_options;

#define MS_UPLOAD_OPTIONS_INIT \
  { MS_UPLOAD_OPTIONS_VERSION, 5, 1000, 300000, 30000, 10000, NULL, 604800, NULL, NULL, 0, NULL, 2592000 }

/** @brief Fills opts with the defaults of `version` (1 .. MS_UPLOAD_OPTIONS_VERSION); writes only that version's bytes.
 */
MS_EXTERN int ms_upload_options_init(ms_upload_options* opts, unsigned int version);

/**
 * @brief Opens the upload service a configuration selects (storage, queue,
 * spool folder).
 * @param[out] out free with ms_uploads_close() (after freeing its workers).
 * @param config NULL = the process environment. @param opts NULL = defaults.
 */
MS_EXTERN int ms_uploads_open(ms_uploads** out, const ms_config* config, const ms_upload_options* opts);

/** @brief Closes the service. NULL-safe. Workers made from it keep it alive until they are freed. */
MS_EXTERN void ms_uploads_close(ms_uploads* uploads);

#define MS_UPLOAD_REQUEST_VERSION 2

/** One upload to submit. */
typedef struct ms_upload_request {
  unsigned int version;    /**< MS_UPLOAD_REQUEST_VERSION */
  const char* source_path; /**< the file to upload (copied into the spool); or NULL to use data */
  const void* data;        /**< content when source_path is NULL */
  size_t data_len;
  const char* original_filename;    /**< the user's name ("IMG_1.jpg"); required */
  const char* content_type;         /**< declared by the client; informational. Default (NULL): "" */
  int media_kind;                   /**< ms_media_kind; Default: MS_KIND_PHOTO */
  const char* const* context_names; /**< caller context kept with the status ("keep_id") */
  const char* const* context_values;
  size_t context_count; /**< Default: 0 (max 64) */
  /* Version 2. */
  /** A submission with a key used by an earlier one within record_ttl_seconds
   * returns the earlier upload's id and keeps nothing (a client retrying a
   * POST). 1..1024 bytes. Default (NULL): none */
  const char* idempotency_key;
} ms_upload_request;

#define MS_UPLOAD_REQUEST_INIT \
  { MS_UPLOAD_REQUEST_VERSION, NULL, NULL, 0, NULL, NULL, MS_KIND_PHOTO, NULL, NULL, 0, NULL }

/** @brief Fills req with the defaults of `version` (1 .. MS_UPLOAD_REQUEST_VERSION); writes only that version's bytes.
 */
MS_EXTERN int ms_upload_request_init(ms_upload_request* req, unsigned int version);

/**
 * @brief Spools, records (pending) and queues an upload.
 * @param[out] out the new upload id (UUID); free with ms_free().
 * @return MS_OK; MS_E_INVALID_ARGUMENT (no name, empty content),
 * MS_E_NOT_FOUND / MS_E_PERMISSION_DENIED (source file), MS_E_TOO_LARGE
 * (over MAX_UPLOAD_SIZE) — nothing is kept then.
 */
MS_EXTERN int ms_upload_submit(char** out, ms_uploads* uploads, const ms_upload_request* req);

/**
 * One stored object of a completed upload; strings owned by the status.
 * Layout frozen (used in arrays): a thumbnail's format is in
 * ms_upload_status.thumbnail_formats.
 */
typedef struct ms_stored_object {
  char* name; /**< "original", "small", "medium", "large" */
  char* key;
  char* url; /**< at completion time (presigned where the backend signs) */
  int width; /**< 0 for videos */
  int height;
  uint64_t bytes;
  char* content_type;
} ms_stored_object;

/** The status of an upload; everything owned by the struct. */
typedef struct ms_upload_status {
  char* id;
  int state;               /**< ms_upload_state */
  int stage;               /**< ms_upload_stage */
  int progress_percentage; /**< 0..100, never decreases */
  int attempt;             /**< attempts started */
  int64_t next_try_ms;     /**< retrying: earliest next attempt (ms since epoch) */
  char* last_error;        /**< retrying: why the last attempt failed */
  int error_code;          /**< failed: the MS_E_* code; else MS_OK */
  char* error_message;     /**< failed: for a person */
  int has_result;          /**< completed: 1 and the fields below are filled */
  ms_stored_object original;
  size_t thumbnail_count;
  ms_stored_object* thumbnails;
  size_t metadata_count; /**< media metadata: media_type, mime, sha256, width, ..., thumbhash, phash */
  char** metadata_names;
  char** metadata_values;
  char* original_filename;
  char* content_type;
  int media_kind; /**< ms_media_kind */
  size_t context_count;
  char** context_names;
  char** context_values;
  int64_t created_at_ms;
  int64_t updated_at_ms;
  /* Appended (the library allocates this struct; callers only read it). */
  char** thumbnail_formats; /**< completed: thumbnail_count entries, parallel to thumbnails: "jpeg", "webp", "avif" */
  /** completed as an exact duplicate: the id of the first upload of the same
   * content in its dedup scope, whose objects original and thumbnails are
   * (nothing of this upload's own was stored); "" otherwise (never NULL). */
  char* duplicate_of;
  /** failed because the file was refused: the ms_refusal_reason (MALWARE,
   * UNSCANNED, TOO_LONG, ...; error_code is its code); MS_REFUSAL_NONE
   * otherwise. */
  int refusal_reason;
} ms_upload_status;

/** @brief The current status. @param[out] out free with ms_upload_status_free(). MS_E_NOT_FOUND for unknown ids. */
MS_EXTERN int ms_upload_status_get(ms_upload_status** out, ms_uploads* uploads, const char* id);

/** @brief Frees a status. NULL-safe. */
MS_EXTERN void ms_upload_status_free(ms_upload_status* status);

/**
 * @brief Cancels an unfinished upload (it becomes failed/cancelled; spool and
 * objects removed). MS_E_CONFLICT if already finished, MS_E_NOT_FOUND if unknown.
 */
MS_EXTERN int ms_upload_cancel(ms_uploads* uploads, const char* id);

/** What a cleanup run did. */
typedef struct ms_cleanup_report {
  uint64_t failed_uploads;
  uint64_t abandoned_uploads;
  uint64_t dead_lettered;
  uint64_t spool_files_removed;
  uint64_t objects_removed;
  /** Storage staging: orphan staged objects removed (fields appended: the
   * library allocates the report, so older callers still read theirs). */
  uint64_t staging_objects_removed;
  /** Storage staging: stale multipart uploads under the staging prefix aborted. */
  uint64_t multipart_uploads_aborted;
  /* Appended (the library allocates this struct; callers only read it). */
  uint64_t records_expired; /**< ended status records and idempotency keys older than record_ttl_seconds */
  /** Direct uploads never completed, past their expiry: failed, their bytes removed. */
  uint64_t expired_direct_uploads;
} ms_cleanup_report;

/**
 * @brief Removes leftovers of failed uploads and fails abandoned ones last
 * updated more than older_than_seconds ago (>= 0).
 * @param[out] out free with ms_free().
 */
MS_EXTERN int ms_upload_cleanup(ms_cleanup_report** out, ms_uploads* uploads, int64_t older_than_seconds);

/** Counters of the upload service. */
typedef struct ms_upload_stats {
  uint64_t submitted; /**< by this process since it started */
  uint64_t completed;
  uint64_t failed;
  uint64_t retried;
  uint64_t in_flight;
  double time_sum_seconds; /**< processing time of jobs finished here */
  uint64_t time_count;
  uint64_t queue_ready; /**< shared by every process on the queue backend */
  uint64_t queue_delayed;
  uint64_t queue_in_flight;
  uint64_t queue_dead;
  uint64_t uploads_pending; /**< uploads per state on the backend */
  uint64_t uploads_processing;
  uint64_t uploads_retrying;
  uint64_t uploads_completed;
  uint64_t uploads_failed;
} ms_upload_stats;

/** @brief Current counters. @param[out] out free with ms_free(). */
MS_EXTERN int ms_upload_stats_get(ms_upload_stats** out, ms_uploads* uploads);

/** @brief The metrics in Prometheus text format. @param[out] out free with ms_free(). */
MS_EXTERN int ms_upload_metrics_prometheus(char** out, ms_uploads* uploads);

/**
 * @brief Processes up to max_jobs jobs in the calling thread, waiting up to
 * wait_ms (0..3600000) for the first.
 * @param[out] out how many were processed.
 */
MS_EXTERN int ms_upload_process_next(size_t* out, ms_uploads* uploads, size_t max_jobs, int64_t wait_ms);

/** A job that exhausted its attempts. Layout frozen (used in arrays). */
typedef struct ms_dead_job {
  char* id;
  char* payload;
  int attempts;
  char* last_error;
  int64_t died_at_ms;
} ms_dead_job;

/** Dead jobs, oldest first. */
typedef struct ms_dead_job_list {
  size_t count;
  ms_dead_job* items;
} ms_dead_job_list;

/** One near duplicate (ms_upload_similar). Layout frozen (used in arrays). */
typedef struct ms_similar_upload {
  char* id;     /**< a completed upload of the same dedup scope */
  int distance; /**< Hamming distance of the perceptual hashes, 0..64 */
} ms_similar_upload;

/** Near duplicates, closest first. */
typedef struct ms_similar_list {
  size_t count;
  ms_similar_upload* items;
} ms_similar_list;

/** @brief Frees a near-duplicate list. NULL-safe. */
MS_EXTERN void ms_similar_list_free(ms_similar_list* list);

/**
 * @brief Near duplicates of a completed upload: the completed uploads of its
 * dedup scope (MEDIA_DEDUP_SCOPE_KEY) whose perceptual hash is at most
 * max_distance bits away, sorted by distance, then id (empty when the upload
 * has no perceptual hash or no scope value). Thread-safe.
 * @param[out] out free with ms_similar_list_free().
 * @param max_distance 0..64; 10 counts as "the same picture".
 * @return MS_OK; MS_E_INVALID_ARGUMENT (max_distance out of range, duplicate
 * detection off), MS_E_NOT_FOUND (unknown id), MS_E_CONFLICT (not completed).
 */
MS_EXTERN int ms_upload_similar(ms_similar_list** out, ms_uploads* uploads, const char* id, int max_distance);

/** @brief Frees a dead-job list. NULL-safe. */
MS_EXTERN void ms_dead_job_list_free(ms_dead_job_list* list);

/**
 * @brief Upload jobs that exhausted their attempts, oldest first.
 * @param limit 1..100000. @param[out] out free with ms_dead_job_list_free().
 */
MS_EXTERN int ms_upload_dead_letters(ms_dead_job_list** out, ms_uploads* uploads, size_t limit);

/* ---- lifecycle: end hook, reconcile, wait, lookup by context, retry ---- */

/**
 * Called when an upload ends (completed or failed) once its final status is
 * durable: at least once per upload end (again after a worker died before
 * acking the job), so it must be idempotent. Runs on the thread that ended
 * the upload (a worker thread; the caller of ms_upload_cancel() or
 * ms_upload_cleanup()). `status` is owned by the library and valid only
 * during the call. A non-zero return is logged (warn) and changes nothing
 * else. It must not call ms_uploads_close() on its service.
 */
typedef int (*ms_upload_end_fn)(const ms_upload_status* status, void* payload);

/**
 * @brief Sets the end hook (fn NULL clears it). Thread-safe; payload is
 * passed to every call and must outlive the hook (until it is replaced or
 * cleared, and the workers have stopped).
 */
MS_EXTERN int ms_uploads_set_end_hook(ms_uploads* uploads, ms_upload_end_fn fn, void* payload);

/** Statuses, oldest update first; everything owned by the list. */
typedef struct ms_upload_status_list {
  size_t count;
  ms_upload_status** items;
} ms_upload_status_list;

/** @brief Frees a status list. NULL-safe. */
MS_EXTERN void ms_upload_status_list_free(ms_upload_status_list* list);

/**
 * @brief Uploads that ended (completed or failed) at or after since_ms (ms
 * since the epoch), oldest first: the reconcile that catches what a crash
 * between the final record and the hook missed. To page, pass the last
 * one's updated_at_ms (those at that millisecond come again).
 * @param limit 1..10000. @param[out] out free with ms_upload_status_list_free().
 */
MS_EXTERN int ms_upload_ended_since(ms_upload_status_list** out, ms_uploads* uploads, int64_t since_ms, size_t limit);

/**
 * @brief Uploads whose context holds name = value (an index lookup).
 * @param limit 1..10000. @param[out] out free with ms_upload_status_list_free().
 */
MS_EXTERN int ms_upload_list_by_context(ms_upload_status_list** out, ms_uploads* uploads, const char* name,
                                        const char* value, size_t limit);

/**
 * @brief Waits until the upload ended or timeout_ms (0..86400000) passed and
 * gives its status then (polls with backoff; blocks the caller).
 * @param[out] out free with ms_upload_status_free(). MS_E_NOT_FOUND for unknown ids.
 */
MS_EXTERN int ms_upload_wait(ms_upload_status** out, ms_uploads* uploads, const char* id, int64_t timeout_ms);

/**
 * @brief Queues a failed upload again whose failure was transient (network,
 * timeout, throttled, unavailable). MS_E_CONFLICT if it is not failed or
 * failed for a permanent reason; MS_E_NOT_FOUND for unknown ids or when its
 * staged bytes are gone (removed by cleanup).
 */
MS_EXTERN int ms_upload_retry(ms_uploads* uploads, const char* id);

/**
 * @brief Retries up to limit (1..10000) dead-lettered uploads that can be
 * retried; the others stay dead (logged with why).
 * @param[out] out how many were queued again.
 */
MS_EXTERN int ms_upload_redrive_dead_letters(size_t* out, ms_uploads* uploads, size_t limit);

#define MS_WORKER_OPTIONS_VERSION 1

/** Options of a worker. */
typedef struct ms_worker_options {
  unsigned int version;               /**< MS_WORKER_OPTIONS_VERSION */
  int threads;                        /**< Default: 0 = two per CPU core; else 1..256 */
  int64_t poll_wait_ms;               /**< one lease wait; Default: 500 */
  int64_t maintenance_interval_ms;    /**< expired leases, cleanup; Default: 60000 */
  int64_t cleanup_older_than_seconds; /**< Default: 3600 */
} ms_worker_options;

#define MS_WORKER_OPTIONS_INIT \
  { MS_WORKER_OPTIONS_VERSION, 0, 500, 60000, 3600 }

/** @brief Fills opts with the defaults of `version`. */
MS_EXTERN int ms_worker_options_init(ms_worker_options* opts, unsigned int version);

/** How ms_worker_stop() treats jobs in flight. */
typedef enum ms_stop_mode { MS_STOP_FINISH = 0, MS_STOP_RELEASE = 1 } ms_stop_mode;

/**
 * @brief Creates (does not start) a worker for a service.
 * @param[out] out free with ms_worker_free(), which stops and waits.
 */
MS_EXTERN int ms_worker_new(ms_worker** out, ms_uploads* uploads, const ms_worker_options* opts);

/** @brief Starts the threads; MS_E_INVALID_ARGUMENT if already started. */
MS_EXTERN int ms_worker_start(ms_worker* worker);

/** @brief Asks the threads to stop (returns at once). mode: ms_stop_mode. Not async-signal-safe. */
MS_EXTERN int ms_worker_stop(ms_worker* worker, int mode);

/** @brief Waits until every thread has ended. */
MS_EXTERN int ms_worker_wait(ms_worker* worker);

/** @brief 1 while running, 0 otherwise (also for NULL). */
MS_EXTERN int ms_worker_running(const ms_worker* worker);

/** @brief Stops (finishing jobs in flight), waits and frees. NULL-safe. */
MS_EXTERN void ms_worker_free(ms_worker* worker);

/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Upload grants: who may upload what (mediastore/grant.hpp)
 * A grant is a short token the host issues with its secret
 * (MEDIA_UPLOAD_GRANT_SECRET) and the client sends with its upload
 * ("Authorization: Bearer <token>"); the format and the refusals are those of
 * include/mediastore/grant.hpp. Refusals: #MS_E_AUTH_FAILED (missing,
 * malformed, bad signature, expired: get a new grant) and
 * #MS_E_PERMISSION_DENIED (reused, over its size, kind not allowed, wrong
 * context), the message starting "upload grant". Every function here is
 * thread-safe.
 * @{ */

#define MS_GRANT_CLAIMS_VERSION 1

/** What a grant allows, to issue one. Strings are borrowed for the call. */
typedef struct ms_grant_claims {
  unsigned int version;              /**< MS_GRANT_CLAIMS_VERSION */
  const char* const* context_names;  /**< context the upload must match ("keep_id") */
  const char* const* context_values; /**< its values */
  size_t context_count;              /**< Default: 0 (max 64) */
  uint64_t max_bytes;                /**< largest upload; Default: 0 = only MAX_UPLOAD_SIZE */
  unsigned int kinds;                /**< bit mask of (1u << ms_media_kind); Default: 0 = any */
  int64_t expires_at_ms;             /**< required: in the future, at most 7 days ahead */
  int single_use;                    /**< non-zero: ms_upload_grant_consume() once only; Default: 0 */
  const char* nonce;                 /**< 32 lower-case hex; Default (NULL or ""): random */
} ms_grant_claims;

#define MS_GRANT_CLAIMS_INIT \
  { MS_GRANT_CLAIMS_VERSION, NULL, NULL, 0, 0, 0, 0, 0, NULL }

/** @brief Fills claims with the defaults of `version`. */
MS_EXTERN int ms_grant_claims_init(ms_grant_claims* claims, unsigned int version);

/**
 * @brief Signs claims into a token.
 * @param secret the HMAC key (non-empty).
 * @param[out] out the token; free with ms_free().
 * @return #MS_E_INVALID_ARGUMENT for an empty secret, an expiry not in the
 * future or too far ahead, a bad nonce or a kind bit that is no ms_media_kind.
 */
MS_EXTERN int ms_upload_grant_issue(char** out, const char* secret, const ms_grant_claims* claims);

/** A verified grant's claims, allocated by the library. Layout frozen. */
typedef struct ms_upload_grant {
  size_t context_count;
  char** context_names;
  char** context_values;
  uint64_t max_bytes;    /**< 0 = no limit of its own */
  unsigned int kinds;    /**< bit mask of (1u << ms_media_kind); 0 = any */
  int64_t expires_at_ms; /**< ms since the epoch */
  int single_use;
  char* nonce;
} ms_upload_grant;

/**
 * @brief Checks a token's format, signature and expiry.
 * @param[out] out its claims; free with ms_upload_grant_free().
 * @return #MS_E_AUTH_FAILED naming the reason; #MS_E_INVALID_ARGUMENT for an
 * empty secret.
 */
MS_EXTERN int ms_upload_grant_verify(ms_upload_grant** out, const char* secret, const char* token);

/** @brief Frees a grant. NULL-safe. */
MS_EXTERN void ms_upload_grant_free(ms_upload_grant* grant);

/**
 * @brief Checks what an upload asks for against a verified grant (does not
 * consume it): every context entry of the grant must be among the given
 * ones with the same value.
 * @param bytes the upload's size, or -1 when not known yet.
 * @param kind an ms_media_kind, or -1 when not known yet.
 * @return MS_OK, or #MS_E_PERMISSION_DENIED naming the reason.
 */
MS_EXTERN int ms_upload_grant_check(const ms_upload_grant* grant, const char* const* context_names,
                                    const char* const* context_values, size_t context_count, int64_t bytes, int kind);

/**
 * @brief Uses up a single-use grant in the record store of the service's
 * queue backend, atomically across every process sharing it: the second
 * call for one grant is #MS_E_PERMISSION_DENIED ("reused"). A grant that is
 * not single use: MS_OK, nothing recorded.
 */
MS_EXTERN int ms_upload_grant_consume(ms_uploads* uploads, const ms_upload_grant* grant);

/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Direct uploads (the client sends the bytes to the object store) */
/**@{*/

#define MS_DIRECT_UPLOAD_REQUEST_VERSION 1

/** A direct upload to plan (mediastore::DirectUploadRequest). */
typedef struct ms_direct_upload_request {
  unsigned int version;          /**< MS_DIRECT_UPLOAD_REQUEST_VERSION */
  const char* original_filename; /**< required */
  uint64_t size;                 /**< exact bytes: 1 .. MAX_UPLOAD_SIZE */
  const char* content_type;      /**< a single PUT must send exactly this. Default (NULL): application/octet-stream */
  int media_kind;                /**< ms_media_kind; Default: MS_KIND_PHOTO */
  const char* const* context_names;
  const char* const* context_values;
  size_t context_count;       /**< Default: 0 (max 64) */
  const char* sha256;         /**< 64 hex digits, checked by the worker; Default (NULL): none */
  const char* content_md5;    /**< base64 MD5, signed into a single PUT; Default (NULL): none */
  int64_t expires_in_seconds; /**< validity of the URLs, 1 .. 604800; Default: 3600 */
} ms_direct_upload_request;

#define MS_DIRECT_UPLOAD_REQUEST_INIT \
  { MS_DIRECT_UPLOAD_REQUEST_VERSION, NULL, 0, NULL, MS_KIND_PHOTO, NULL, NULL, 0, NULL, NULL, 3600 }

/** @brief Fills req with the defaults of `version`. */
MS_EXTERN int ms_direct_upload_request_init(ms_direct_upload_request* req, unsigned int version);

/** One request of a plan, made by the client; strings owned by the plan. */
typedef struct ms_direct_request {
  int part_number; /**< 1.. for a part, 0 for the single PUT */
  uint64_t offset; /**< the bytes it carries: [offset, offset + size) */
  uint64_t size;
  char* method;        /**< "PUT" */
  char* url;           /**< presigned: a secret while valid */
  size_t header_count; /**< headers to send exactly as given (Content-Length: browsers set it themselves) */
  char** header_names;
  char** header_values;
} ms_direct_request;

/** A planned direct upload; everything owned by the struct. */
typedef struct ms_direct_upload {
  char* id;  /**< the upload id (state MS_UPLOAD_AWAITING_UPLOAD) */
  char* key; /**< where the bytes go: "<MEDIA_STAGING_PREFIX><id>" */
  uint64_t size;
  char* upload_id;       /**< the store's multipart upload ID; "" for a single PUT */
  uint64_t part_size;    /**< every part but the last; the size for a single PUT */
  int64_t expires_at_ms; /**< when the URLs expire (ms since the epoch) */
  size_t request_count;
  ms_direct_request* requests;
} ms_direct_upload;

/**
 * @brief Plans a direct upload and records it as awaiting_upload
 * (UploadService::create_direct_upload). Nothing is queued.
 * @param[out] out free with ms_direct_upload_free().
 * @return MS_OK; #MS_E_TOO_LARGE over MAX_UPLOAD_SIZE (no URL made),
 * #MS_E_INVALID_ARGUMENT, #MS_E_NOT_SUPPORTED (the local backend).
 */
MS_EXTERN int ms_uploads_create_direct(ms_direct_upload** out, ms_uploads* uploads,
                                       const ms_direct_upload_request* req);

/** @brief Frees a plan. NULL-safe. */
MS_EXTERN void ms_direct_upload_free(ms_direct_upload* plan);

/**
 * @brief Completes a direct upload: checks the staged object (multipart:
 * the client's ETags, one per part) and queues it as ms_upload_submit does.
 * Calling it again returns the current status.
 * @param[out] out the status; free with ms_upload_status_free().
 * @param part_numbers, etags part_count entries (0 and NULL for a single PUT).
 * @param sha256 the client's SHA-256, or NULL.
 * @return MS_OK; #MS_E_NOT_FOUND (unknown id, nothing uploaded, a part never
 * sent), #MS_E_INVALID_ARGUMENT (a part missing), #MS_E_CONFLICT (another
 * size or ETag; expired or cancelled).
 */
MS_EXTERN int ms_uploads_complete_direct(ms_upload_status** out, ms_uploads* uploads, const char* id,
                                         const int* part_numbers, const char* const* etags, size_t part_count,
                                         const char* sha256);

/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* MEDIASTORE_MEDIASTORE_H */
