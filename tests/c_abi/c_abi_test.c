/* Plain C test of the C ABI (libmediastore_c) against the local backend:
 * every storage operation, logging, configuration, and hostile input (NULL
 * pointers, zero sizes, invalid UTF-8, absurd options) which must come back
 * as error codes, never as a crash.
 *
 * Usage: c_abi_test <scratch folder>
 */
#define _POSIX_C_SOURCE 200809L

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mediastore/mediastore.h"

static int g_failures = 0;
static int g_checks = 0;

#define CHECK(cond)                                                                                             \
  do {                                                                                                          \
    ++g_checks;                                                                                                 \
    if (!(cond)) {                                                                                              \
      ++g_failures;                                                                                             \
      fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, #cond, ms_error_last()); \
    }                                                                                                           \
  } while (0)

#define CHECK_RC(expr, want)                                                                                        \
  do {                                                                                                              \
    int rc_ = (expr);                                                                                               \
    ++g_checks;                                                                                                     \
    if (rc_ != (want)) {                                                                                            \
      ++g_failures;                                                                                                 \
      fprintf(stderr, "%s:%d: %s returned %d (%s), want %d (%s); last error: %s\n", __FILE__, __LINE__, #expr, rc_, \
              ms_strerror(rc_), (want), ms_strerror(want), ms_error_last());                                        \
    }                                                                                                               \
  } while (0)

/* ---- logging ---- */

struct log_capture {
  int records;
  int with_fields;
  int bad;
};

static void on_log(const ms_log_record* rec, void* payload) {
  struct log_capture* cap = (struct log_capture*)payload;
  cap->records++;
  if (rec == NULL || rec->component == NULL || rec->message == NULL || rec->level < MS_LOG_TRACE ||
      rec->level > MS_LOG_ERROR)
    cap->bad++;
  if (rec != NULL && rec->field_count > 0) {
    size_t i;
    cap->with_fields++;
    for (i = 0; i < rec->field_count; ++i)
      if (rec->fields[i].name == NULL || rec->fields[i].value == NULL) cap->bad++;
  }
}

/* ---- streaming callbacks ---- */

struct chunk_source {
  const char* data;
  size_t len;
  size_t pos;
  size_t chunk;
  int rewinds;
  int fail_with; /* if non-zero, read returns it */
};

/* Writes text to a new file at path; 1 on success. */
static int write_text_file(const char* path, const char* text) {
  FILE* f = fopen(path, "wb");
  if (f == NULL) return 0;
  fputs(text, f);
  return fclose(f) == 0;
}

/* A fresh source over the first len bytes of data, read chunk bytes at a time. */
static void source_init(struct chunk_source* s, const char* data, size_t len, size_t chunk) {
  memset(s, 0, sizeof *s);
  s->data = data;
  s->len = len;
  s->chunk = chunk;
}

static int source_read(void* buf, size_t cap, size_t* out_len, void* payload) {
  struct chunk_source* s = (struct chunk_source*)payload;
  size_t n = s->len - s->pos;
  if (s->fail_with) return s->fail_with;
  if (n > cap) n = cap;
  if (n > s->chunk) n = s->chunk;
  memcpy(buf, s->data + s->pos, n);
  s->pos += n;
  *out_len = n;
  return 0;
}

static int source_rewind(void* payload) {
  struct chunk_source* s = (struct chunk_source*)payload;
  s->pos = 0;
  s->rewinds++;
  return 0;
}

struct mem_sink {
  char buf[4096];
  size_t len;
  int fail_with;
  uint64_t last_done;
  int cancel_progress;
};

static int sink_write(const void* data, size_t len, void* payload) {
  struct mem_sink* s = (struct mem_sink*)payload;
  if (s->fail_with) return s->fail_with;
  if (s->len + len > sizeof s->buf) return MS_E_TOO_LARGE;
  memcpy(s->buf + s->len, data, len);
  s->len += len;
  return 0;
}

static int sink_reset(void* payload) {
  ((struct mem_sink*)payload)->len = 0;
  return 0;
}

static int sink_progress(uint64_t done, uint64_t total, void* payload) {
  struct mem_sink* s = (struct mem_sink*)payload;
  (void)total;
  s->last_done = done;
  return s->cancel_progress;
}

static int cancel_progress(uint64_t done, uint64_t total, void* payload) {
  (void)done;
  (void)total;
  (void)payload;
  return 1;
}

/* ---- tests ---- */

static void test_errors(void) {
  int i;
  CHECK(strcmp(ms_strerror(MS_OK), "ok") == 0);
  CHECK(strcmp(ms_strerror(MS_E_NOT_FOUND), "not_found") == 0);
  CHECK(strcmp(ms_strerror(MS_E_INTERNAL), "internal") == 0);
  CHECK(strcmp(ms_strerror(MS_E_NOT_SUPPORTED), "not_supported") == 0);
  CHECK(strcmp(ms_strerror(-MS_ERROR_CODE_COUNT), "unknown") == 0);
  CHECK(strcmp(ms_strerror(INT32_MIN), "unknown") == 0);
  CHECK(strcmp(ms_strerror(2), "not_found") == 0);
  for (i = 0; i < MS_ERROR_CODE_COUNT; ++i) CHECK(strcmp(ms_strerror(-i), "unknown") != 0);
  CHECK(ms_error_is_transient(MS_E_TIMEOUT) == 1);
  CHECK(ms_error_is_transient(MS_E_NOT_FOUND) == 0);
  CHECK(ms_error_is_transient(INT32_MIN) == 0);
  ms_error_clear();
  CHECK(strcmp(ms_error_last(), "") == 0);
  CHECK(ms_error_last_code() == MS_OK);
  CHECK(strcmp(ms_version(), "0.1.0") == 0);
  ms_free(NULL);
}

/* ms_put_options_init(version) on a struct filled with 0xAB: the first
 * `size` bytes are the macro's (after the version field), the rest is left
 * untouched, and the version is set. 1 if so. */
static int put_init_writes_only(unsigned int version, size_t size, const ms_put_options* macro) {
  ms_put_options opts;
  unsigned char* raw = (unsigned char*)&opts;
  size_t i;
  memset(&opts, 0xAB, sizeof opts);
  if (ms_put_options_init(&opts, version) != MS_OK || opts.version != version) return 0;
  if (memcmp((const unsigned char*)macro + sizeof(unsigned int), raw + sizeof(unsigned int),
             size - sizeof(unsigned int)) != 0)
    return 0;
  for (i = size; i < sizeof opts; ++i)
    if (raw[i] != 0xAB) return 0;
  return 1;
}

static void test_struct_init(void) {
  /* Static storage: padding bytes are zero, as ms_*_init() leaves them. */
  static const ms_put_options put_macro = MS_PUT_OPTIONS_INIT;
  static const ms_list_options list_macro = MS_LIST_OPTIONS_INIT;
  static const ms_validation_options val_macro = MS_VALIDATION_OPTIONS_INIT;
  static const ms_upload_options up_macro = MS_UPLOAD_OPTIONS_INIT;
  static const ms_upload_request req_macro = MS_UPLOAD_REQUEST_INIT;
  static const ms_worker_options wo_macro = MS_WORKER_OPTIONS_INIT;
  ms_upload_options up_fn;
  ms_upload_request req_fn;
  ms_worker_options wo_fn;
  ms_validation_options val_fn;
  ms_put_options put_fn;
  ms_list_options list_fn;
  memset(&put_fn, 0xAB, sizeof put_fn);
  memset(&list_fn, 0xAB, sizeof list_fn);
  CHECK_RC(ms_put_options_init(&put_fn, MS_PUT_OPTIONS_VERSION), MS_OK);
  CHECK_RC(ms_list_options_init(&list_fn, MS_LIST_OPTIONS_VERSION), MS_OK);
  CHECK(memcmp(&put_macro, &put_fn, sizeof put_fn) == 0);
  CHECK(memcmp(&list_macro, &list_fn, sizeof list_fn) == 0);
  memset(&val_fn, 0xAB, sizeof val_fn);
  CHECK_RC(ms_validation_options_init(&val_fn, MS_VALIDATION_OPTIONS_VERSION), MS_OK);
  CHECK(memcmp(&val_macro, &val_fn, sizeof val_fn) == 0);
  CHECK_RC(ms_validation_options_init(&val_fn, 0), MS_E_INVALID_ARGUMENT);
  memset(&up_fn, 0xAB, sizeof up_fn);
  memset(&req_fn, 0xAB, sizeof req_fn);
  memset(&wo_fn, 0xAB, sizeof wo_fn);
  CHECK_RC(ms_upload_options_init(&up_fn, MS_UPLOAD_OPTIONS_VERSION), MS_OK);
  CHECK_RC(ms_upload_request_init(&req_fn, MS_UPLOAD_REQUEST_VERSION), MS_OK);
  CHECK_RC(ms_worker_options_init(&wo_fn, MS_WORKER_OPTIONS_VERSION), MS_OK);
  CHECK(memcmp(&up_macro, &up_fn, sizeof up_fn) == 0);
  CHECK(memcmp(&req_macro, &req_fn, sizeof req_fn) == 0);
  CHECK(memcmp(&wo_macro, &wo_fn, sizeof wo_fn) == 0);
  CHECK_RC(ms_upload_options_init(&up_fn, 3), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_request_init(&req_fn, 3), MS_E_INVALID_ARGUMENT);
  /* Version 2 appended record_ttl_seconds (options) and idempotency_key
   * (request); version 1 initialises only the bytes before them. */
  CHECK(up_macro.record_ttl_seconds == 2592000 && req_macro.idempotency_key == NULL);
  memset(&up_fn, 0xAB, sizeof up_fn);
  CHECK_RC(ms_upload_options_init(&up_fn, 1), MS_OK);
  CHECK(up_fn.version == 1 && up_fn.max_attempts == 5);
  CHECK(((const unsigned char*)&up_fn)[offsetof(ms_upload_options, record_ttl_seconds)] == 0xAB);
  memset(&req_fn, 0xAB, sizeof req_fn);
  CHECK_RC(ms_upload_request_init(&req_fn, 1), MS_OK);
  CHECK(req_fn.version == 1 && req_fn.media_kind == MS_KIND_PHOTO);
  CHECK(((const unsigned char*)&req_fn)[offsetof(ms_upload_request, idempotency_key)] == 0xAB);
  CHECK_RC(ms_upload_request_init(NULL, 1), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_worker_options_init(&wo_fn, 0), MS_E_INVALID_ARGUMENT);
  CHECK(put_fn.version == MS_PUT_OPTIONS_VERSION);
  CHECK(list_fn.max_keys == 1000);
  /* Absurd versions and NULL. */
  CHECK_RC(ms_put_options_init(&put_fn, 0), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_put_options_init(&put_fn, 9999), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_put_options_init(NULL, MS_PUT_OPTIONS_VERSION), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_list_options_init(NULL, MS_LIST_OPTIONS_VERSION), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_list_options_init(&list_fn, 2), MS_E_INVALID_ARGUMENT);
  /* ms_put_options version 2 appended sha256; the macro leaves it NULL. */
  CHECK(MS_PUT_OPTIONS_VERSION == 3);
  CHECK(put_macro.sha256 == NULL);
  {
    static const ms_url_options url_macro = MS_URL_OPTIONS_INIT;
    ms_url_options url_fn;
    memset(&url_fn, 0xAB, sizeof url_fn);
    CHECK_RC(ms_url_options_init(&url_fn, MS_URL_OPTIONS_VERSION), MS_OK);
    CHECK(memcmp(&url_macro, &url_fn, sizeof url_fn) == 0);
    CHECK(url_fn.expires_seconds == 3600 && url_fn.signed_url == -1);
    CHECK_RC(ms_url_options_init(&url_fn, 2), MS_E_INVALID_ARGUMENT);
  }
  /* Version 3 appended if_none_match; default 0 (replace). */
  CHECK(put_macro.if_none_match == 0);
  /* Initialising an older version writes only that version's bytes (an old
   * caller's struct ends before the later fields) and keeps its version. */
  CHECK(put_init_writes_only(2, offsetof(ms_put_options, if_none_match), &put_macro));
  CHECK(put_init_writes_only(1, offsetof(ms_put_options, sha256), &put_macro));
}

static void test_config(const char* root) {
  ms_config* cfg = NULL;
  char* text = NULL;
  uint64_t max = 0;
  CHECK_RC(ms_config_new(NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_config_new(&cfg), MS_OK);
  CHECK_RC(ms_config_set(NULL, "MEDIA_ROOT", root), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_config_set(cfg, NULL, "x"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_config_set(cfg, "", "x"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_config_set(cfg, "media_root", "x"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_config_set(cfg, "MEDIA\xff", "x"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_config_set(cfg, "MEDIA_ROOT", "\xc3\x28"), MS_E_INVALID_ARGUMENT);
  /* A misspelt variable is refused with its name, not ignored. */
  CHECK_RC(ms_config_set(cfg, "MEDIA_ROOTS", root), MS_E_INVALID_ARGUMENT);
  CHECK(strstr(ms_error_last(), "unknown variable name 'MEDIA_ROOTS'") != NULL);
  CHECK_RC(ms_config_set(cfg, "MEDIA_ROOT", root), MS_OK);
  CHECK_RC(ms_config_check(cfg), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MAX_UPLOAD_SIZE", "lots"), MS_OK);
  CHECK_RC(ms_config_check(cfg), MS_E_INVALID_ARGUMENT);
  CHECK(strstr(ms_error_last(), "MAX_UPLOAD_SIZE") != NULL);
  CHECK_RC(ms_config_set(cfg, "MAX_UPLOAD_SIZE", "1234"), MS_OK);
  CHECK_RC(ms_config_max_upload_size(&max, cfg), MS_OK);
  CHECK(max == 1234);
  CHECK_RC(ms_config_max_upload_size(NULL, cfg), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_config_set(cfg, "MAX_UPLOAD_SIZE", NULL), MS_OK);
  CHECK_RC(ms_config_max_upload_size(&max, cfg), MS_OK);
  CHECK(max == 104857600u);
  CHECK_RC(ms_config_set(cfg, "MEDIA_STORAGE_BACKEND", "floppy"), MS_OK);
  CHECK_RC(ms_config_check(cfg), MS_E_INVALID_ARGUMENT);
  CHECK(strstr(ms_error_last(), "MEDIA_STORAGE_BACKEND") != NULL);
  CHECK_RC(ms_config_set(cfg, "MEDIA_STORAGE_BACKEND", "local"), MS_OK);
  /* describe() masks secrets. */
  CHECK_RC(ms_config_set(cfg, "MEDIA_URL_SIGNING_KEY", "topsecretsigningkey"), MS_OK);
  CHECK_RC(ms_config_describe(&text, cfg), MS_OK);
  CHECK(text != NULL && strstr(text, "topsecretsigningkey") == NULL);
  CHECK(text != NULL && strstr(text, root) != NULL);
  ms_free(text);
  CHECK_RC(ms_config_describe(NULL, cfg), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_config_describe(&text, NULL), MS_E_INVALID_ARGUMENT);
  CHECK(text == NULL);
  CHECK_RC(ms_config_check(NULL), MS_E_INVALID_ARGUMENT);
  ms_config_free(cfg);
  ms_config_free(NULL);
}

static void test_logging(void) {
  struct log_capture cap = {0, 0, 0};
  char* red = NULL;
  CHECK_RC(ms_log_set_callback(on_log, -1, &cap), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_log_set_callback(on_log, 6, &cap), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_log_set_level(42), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_log_set_callback(on_log, MS_LOG_INFO, &cap), MS_OK);
  CHECK(ms_log_get_level() == MS_LOG_INFO);
  CHECK_RC(ms_log_set_level(MS_LOG_ERROR), MS_OK);
  CHECK(ms_log_get_level() == MS_LOG_ERROR);
  CHECK(strcmp(ms_log_level_name(MS_LOG_TRACE), "trace") == 0);
  CHECK(strcmp(ms_log_level_name(99), "unknown") == 0);
  CHECK_RC(ms_log_set_callback(NULL, MS_LOG_WARN, NULL), MS_OK);
  CHECK(cap.bad == 0);
  CHECK_RC(ms_redact(&red, "GET /a?X-Amz-Signature=abcdef0123&x=1"), MS_OK);
  CHECK(red != NULL && strstr(red, "abcdef0123") == NULL);
  ms_free(red);
  CHECK_RC(ms_redact(NULL, "x"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_redact(&red, NULL), MS_E_INVALID_ARGUMENT);
}

static ms_store* open_store(const char* root) {
  ms_config* cfg = NULL;
  ms_store* store = NULL;
  CHECK_RC(ms_config_new(&cfg), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MEDIA_ROOT", root), MS_OK);
  CHECK_RC(ms_store_open(NULL, cfg), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_open(&store, cfg), MS_OK);
  ms_config_free(cfg);
  return store;
}

static void test_hostile(ms_store* store) {
  static const char* const bad_keys[] = {
      "", "/abs", "a/../b", "a//b", "bad\xffkey", "\xc0\xaf", "a\\b", "ctl\x01x", "\xed\xa0\x80surrogate"};
  size_t i;
  void* buf = (void*)1;
  size_t len = 7;
  char* s = (char*)1;
  int flag = 7;
  ms_object_info* info = (ms_object_info*)1;
  ms_list_page* page = (ms_list_page*)1;
  ms_put_options po = MS_PUT_OPTIONS_INIT;
  ms_list_options lo = MS_LIST_OPTIONS_INIT;
  const char* names[1] = {"x"};
  const char* values[1] = {"\xff"};
  struct mem_sink sink;
  memset(&sink, 0, sizeof sink);

  /* NULL handles and out-pointers. */
  CHECK_RC(ms_store_put(NULL, "k", "x", 1, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_put(store, NULL, "x", 1, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_put(store, "k", NULL, 5, NULL), MS_E_INVALID_ARGUMENT);
  /* Create only (version 3): a second create of one key is refused and
   * leaves the first content. */
  {
    ms_put_options create = MS_PUT_OPTIONS_INIT;
    void* got = NULL;
    size_t got_len = 0;
    create.if_none_match = 1;
    CHECK_RC(ms_store_put(store, "create/once", "first", 5, &create), MS_OK);
    CHECK_RC(ms_store_put(store, "create/once", "second", 6, &create), MS_E_ALREADY_EXISTS);
    CHECK_RC(ms_store_get(&got, &got_len, store, "create/once", 0, MS_TO_END), MS_OK);
    CHECK(got_len == 5 && memcmp(got, "first", 5) == 0);
    ms_free(got);
    CHECK_RC(ms_store_remove(store, "create/once"), MS_OK);
  }
  /* URL options: NULL is ms_store_url(3600); the local backend refuses
   * response-header overrides and methods other than GET/HEAD. */
  {
    ms_url_options uo = MS_URL_OPTIONS_INIT;
    const char* names[1] = {"content-disposition"};
    const char* values[1] = {"attachment"};
    char* plain = NULL;
    char* with = NULL;
    CHECK_RC(ms_store_url(&plain, store, "u/x.txt", 3600), MS_OK);
    CHECK_RC(ms_store_url_with(&with, store, "u/x.txt", NULL), MS_OK);
    CHECK(plain != NULL && with != NULL && strcmp(plain, with) == 0);
    ms_free(with);
    with = NULL;
    CHECK_RC(ms_store_url_with(&with, store, "u/x.txt", &uo), MS_OK);
    CHECK(with != NULL && strcmp(plain, with) == 0);
    ms_free(with);
    ms_free(plain);
    uo.response_header_names = names;
    uo.response_header_values = values;
    uo.response_header_count = 1;
    CHECK_RC(ms_store_url_with(&with, store, "u/x.txt", &uo), MS_E_INVALID_ARGUMENT);
    CHECK(with == NULL);
    uo.response_header_count = 0;
    uo.http_method = "PUT";
    CHECK_RC(ms_store_url_with(&with, store, "u/x.txt", &uo), MS_E_INVALID_ARGUMENT);
    uo.http_method = NULL;
    uo.expires_seconds = 0;
    CHECK_RC(ms_store_url_with(&with, store, "u/x.txt", &uo), MS_E_INVALID_ARGUMENT);
    uo.expires_seconds = 3600;
    uo.signed_url = 7;
    CHECK_RC(ms_store_url_with(&with, store, "u/x.txt", &uo), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_store_url_with(NULL, store, "u/x.txt", NULL), MS_E_INVALID_ARGUMENT);
  }
  CHECK_RC(ms_store_get(NULL, &len, store, "k", 0, MS_TO_END), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_get(&buf, NULL, store, "k", 0, MS_TO_END), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_get(&buf, &len, NULL, "k", 0, MS_TO_END), MS_E_INVALID_ARGUMENT);
  CHECK(buf == NULL && len == 0);
  CHECK_RC(ms_store_stat(NULL, store, "k"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_stat(&info, store, NULL), MS_E_INVALID_ARGUMENT);
  CHECK(info == NULL);
  CHECK_RC(ms_store_exists(NULL, store, "k"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_exists(&flag, NULL, "k"), MS_E_INVALID_ARGUMENT);
  CHECK(flag == 0);
  CHECK_RC(ms_store_remove(NULL, "k"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_remove(store, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_copy(store, NULL, "b"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_copy(store, "a", NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_list(NULL, store, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_list(&page, NULL, NULL), MS_E_INVALID_ARGUMENT);
  CHECK(page == NULL);
  CHECK_RC(ms_store_url(&s, store, NULL, 60), MS_E_INVALID_ARGUMENT);
  CHECK(s == NULL);
  CHECK_RC(ms_store_url(NULL, store, "k", 60), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_save(NULL, store, "x", 1, "a.txt", NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_save(&s, store, "x", 1, NULL, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_save(&s, store, NULL, 3, "a.txt", NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_put_file(store, "k", NULL, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_put_file(store, "k", "", NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_get_file(store, "k", NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_put_stream(store, "k", -1, NULL, NULL, NULL, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_put_stream(store, "k", -5, NULL, source_read, NULL, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_get_stream(store, "k", 0, MS_TO_END, NULL, NULL, NULL, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_ping(NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_backend_name(NULL, store), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_key_validate(NULL), MS_E_INVALID_ARGUMENT);

  /* Invalid keys, including invalid UTF-8, on every operation. */
  for (i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; ++i) {
    const char* k = bad_keys[i];
    CHECK_RC(ms_key_validate(k), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_store_put(store, k, "x", 1, NULL), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_store_get(&buf, &len, store, k, 0, MS_TO_END), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_store_stat(&info, store, k), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_store_exists(&flag, store, k), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_store_remove(store, k), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_store_copy(store, "ok", k), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_store_url(&s, store, k, 60), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_store_get_stream(store, k, 0, MS_TO_END, sink_write, NULL, NULL, &sink), MS_E_INVALID_ARGUMENT);
  }
  {
    /* A key longer than 1024 bytes. */
    char* longkey = (char*)malloc(5000);
    CHECK(longkey != NULL);
    if (longkey) {
      memset(longkey, 'a', 4999);
      longkey[4999] = '\0';
      CHECK_RC(ms_store_put(store, longkey, "x", 1, NULL), MS_E_INVALID_ARGUMENT);
      free(longkey);
    }
  }

  /* Absurd options. */
  po.version = 0;
  CHECK_RC(ms_store_put(store, "k", "x", 1, &po), MS_E_INVALID_ARGUMENT);
  po.version = 12345;
  CHECK_RC(ms_store_put(store, "k", "x", 1, &po), MS_E_INVALID_ARGUMENT);
  po.version = MS_PUT_OPTIONS_VERSION;
  po.metadata_count = (size_t)-1;
  CHECK_RC(ms_store_put(store, "k", "x", 1, &po), MS_E_INVALID_ARGUMENT);
  po.metadata_count = 1; /* arrays NULL */
  CHECK_RC(ms_store_put(store, "k", "x", 1, &po), MS_E_INVALID_ARGUMENT);
  po.metadata_names = names;
  po.metadata_values = values; /* invalid UTF-8 value */
  CHECK_RC(ms_store_put(store, "k", "x", 1, &po), MS_E_INVALID_ARGUMENT);
  po.metadata_count = 0;
  po.content_type = "text/plain\r\nX-Injected: 1";
  CHECK_RC(ms_store_put(store, "k", "x", 1, &po), MS_E_INVALID_ARGUMENT);
  po.content_type = "";
  CHECK_RC(ms_store_put(store, "k", "x", 1, &po), MS_E_INVALID_ARGUMENT);
  lo.max_keys = 0;
  CHECK_RC(ms_store_list(&page, store, &lo), MS_E_INVALID_ARGUMENT);
  lo.max_keys = 1000000;
  CHECK_RC(ms_store_list(&page, store, &lo), MS_E_INVALID_ARGUMENT);
  lo.max_keys = 10;
  lo.prefix = "\xfe";
  CHECK_RC(ms_store_list(&page, store, &lo), MS_E_INVALID_ARGUMENT);
  lo.prefix = NULL;
  lo.version = 77;
  CHECK_RC(ms_store_list(&page, store, &lo), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_url(&s, store, "ok", 0), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_url(&s, store, "ok", -1), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_url(&s, store, "ok", INT64_MAX), MS_E_INVALID_ARGUMENT);
  CHECK(ms_error_last()[0] != '\0');

  /* NULL-safe frees. */
  ms_object_info_free(NULL);
  ms_list_page_free(NULL);
  ms_store_close(NULL);
}

static void test_storage(ms_store* store, const char* root) {
  static const char text[] = "hello, mediastore";
  void* buf = NULL;
  size_t len = 0;
  char* s = NULL;
  int flag = -1;
  ms_object_info* info = NULL;
  ms_list_page* page = NULL;
  ms_put_options po = MS_PUT_OPTIONS_INIT;
  ms_list_options lo = MS_LIST_OPTIONS_INIT;
  const char* names[2] = {"owner", "caption"};
  const char* values[2] = {"alice", "caf\xc3\xa9"};
  struct chunk_source src;
  struct mem_sink sink;
  char path[1024], path2[1024];
  FILE* f;
  int pages = 0, seen = 0;
  const char* src_text = "0123456789abcdefghijklmnopqrstuvwxyz";

  CHECK_RC(ms_store_backend_name(&s, store), MS_OK);
  CHECK(s != NULL && strcmp(s, "local") == 0);
  ms_free(s);
  s = NULL;
  CHECK_RC(ms_store_ping(store), MS_OK);

  /* Round trip with options and metadata. */
  po.content_type = "text/plain";
  po.cache_control = "max-age=60";
  po.metadata_names = names;
  po.metadata_values = values;
  po.metadata_count = 2;
  CHECK_RC(ms_store_put(store, "docs/hello.txt", text, strlen(text), &po), MS_OK);
  CHECK_RC(ms_store_get(&buf, &len, store, "docs/hello.txt", 0, MS_TO_END), MS_OK);
  CHECK(len == strlen(text) && buf != NULL && memcmp(buf, text, len) == 0);
  ms_free(buf);
  CHECK_RC(ms_store_get(&buf, &len, store, "docs/hello.txt", 7, 10), MS_OK);
  CHECK(len == 10 && memcmp(buf, "mediastore", 10) == 0);
  ms_free(buf);
  CHECK_RC(ms_store_get(&buf, &len, store, "docs/hello.txt", 1000, MS_TO_END), MS_OK);
  CHECK(len == 0);
  ms_free(buf);
  CHECK_RC(ms_store_stat(&info, store, "docs/hello.txt"), MS_OK);
  CHECK(info != NULL);
  if (info) {
    size_t i;
    int found = 0;
    CHECK(info->size == strlen(text));
    CHECK(strcmp(info->key, "docs/hello.txt") == 0);
    CHECK(strcmp(info->content_type, "text/plain") == 0);
    CHECK(info->last_modified_ms > 1600000000000LL);
    for (i = 0; i < info->metadata_count; ++i)
      if (strcmp(info->metadata_names[i], "caption") == 0 && strcmp(info->metadata_values[i], "caf\xc3\xa9") == 0)
        found = 1;
    CHECK(found);
  }
  ms_object_info_free(info);
  info = NULL;

  /* Zero-size object. */
  CHECK_RC(ms_store_put(store, "empty.bin", NULL, 0, NULL), MS_OK);
  CHECK_RC(ms_store_get(&buf, &len, store, "empty.bin", 0, MS_TO_END), MS_OK);
  CHECK(len == 0 && buf != NULL);
  ms_free(buf);

  /* Missing objects. */
  CHECK_RC(ms_store_stat(&info, store, "no/such.txt"), MS_E_NOT_FOUND);
  CHECK(strstr(ms_error_last(), "no/such.txt") != NULL);
  CHECK(ms_error_last_code() == MS_E_NOT_FOUND);
  CHECK_RC(ms_store_get(&buf, &len, store, "no/such.txt", 0, MS_TO_END), MS_E_NOT_FOUND);
  CHECK_RC(ms_store_exists(&flag, store, "no/such.txt"), MS_OK);
  CHECK(flag == 0);
  CHECK_RC(ms_store_remove(store, "no/such.txt"), MS_OK);

  /* Streamed write in small chunks, then streamed read. */
  source_init(&src, src_text, strlen(src_text), 5);
  CHECK_RC(ms_store_put_stream(store, "stream/a.bin", (int64_t)src.len, NULL, source_read, source_rewind, &src), MS_OK);
  source_init(&src, src_text, strlen(src_text), 3);
  CHECK_RC(ms_store_put_stream(store, "stream/unknown-size.bin", -1, NULL, source_read, NULL, &src), MS_OK);
  memset(&sink, 0, sizeof sink);
  CHECK_RC(ms_store_get_stream(store, "stream/a.bin", 0, MS_TO_END, sink_write, sink_reset, sink_progress, &sink),
           MS_OK);
  CHECK(sink.len == strlen(src_text) && memcmp(sink.buf, src_text, sink.len) == 0);
  CHECK(sink.last_done == strlen(src_text));
  memset(&sink, 0, sizeof sink);
  CHECK_RC(ms_store_get_stream(store, "stream/unknown-size.bin", 10, 4, sink_write, NULL, NULL, &sink), MS_OK);
  CHECK(sink.len == 4 && memcmp(sink.buf, "abcd", 4) == 0);
  /* Callback failures carry their code; progress cancels. */
  memset(&sink, 0, sizeof sink);
  sink.fail_with = MS_E_IO;
  CHECK_RC(ms_store_get_stream(store, "stream/a.bin", 0, MS_TO_END, sink_write, NULL, NULL, &sink), MS_E_IO);
  memset(&sink, 0, sizeof sink);
  sink.cancel_progress = 1;
  CHECK_RC(ms_store_get_stream(store, "stream/a.bin", 0, MS_TO_END, sink_write, NULL, sink_progress, &sink),
           MS_E_CANCELLED);
  source_init(&src, src_text, strlen(src_text), 5);
  src.fail_with = MS_E_PERMISSION_DENIED;
  CHECK_RC(ms_store_put_stream(store, "stream/failed.bin", -1, NULL, source_read, NULL, &src), MS_E_PERMISSION_DENIED);
  src.fail_with = 12345; /* not an MS code: cancelled */
  CHECK_RC(ms_store_put_stream(store, "stream/failed.bin", -1, NULL, source_read, NULL, &src), MS_E_CANCELLED);
  CHECK_RC(ms_store_exists(&flag, store, "stream/failed.bin"), MS_OK);
  CHECK(flag == 0);
  /* Streamed save: a fresh key from the file name, the content as streamed. */
  {
    char* saved = NULL;
    source_init(&src, src_text, strlen(src_text), 4);
    CHECK_RC(ms_store_save_stream(&saved, store, "Family Photo.txt", -1, NULL, source_read, source_rewind, &src),
             MS_OK);
    CHECK(saved != NULL && strstr(saved, "_Family_Photo.txt") != NULL);
    memset(&sink, 0, sizeof sink);
    CHECK_RC(ms_store_get_stream(store, saved, 0, MS_TO_END, sink_write, NULL, NULL, &sink), MS_OK);
    CHECK(sink.len == strlen(src_text) && memcmp(sink.buf, src_text, sink.len) == 0);
    CHECK_RC(ms_store_remove(store, saved), MS_OK);
    ms_free(saved);
    saved = NULL;
    CHECK_RC(ms_store_save_stream(&saved, store, "a.txt", -1, NULL, NULL, NULL, NULL), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_store_save_stream(NULL, store, "a.txt", -1, NULL, source_read, NULL, &src), MS_E_INVALID_ARGUMENT);
    source_init(&src, src_text, strlen(src_text), 5);
    src.fail_with = MS_E_IO;
    CHECK_RC(ms_store_save_stream(&saved, store, "a.txt", -1, NULL, source_read, NULL, &src), MS_E_IO);
    CHECK(saved == NULL);
  }
  /* A source whose declared size lies: an error, never a short or long object. */
  source_init(&src, src_text, 10, 5);
  CHECK_RC(ms_store_put_stream(store, "stream/short.bin", 100, NULL, source_read, NULL, &src), MS_E_INVALID_ARGUMENT);
  source_init(&src, src_text, strlen(src_text), 5);
  CHECK_RC(ms_store_put_stream(store, "stream/long.bin", 3, NULL, source_read, NULL, &src), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_exists(&flag, store, "stream/short.bin"), MS_OK);
  CHECK(flag == 0);
  CHECK_RC(ms_store_exists(&flag, store, "stream/long.bin"), MS_OK);
  CHECK(flag == 0);
  {
    ms_put_options cancel = MS_PUT_OPTIONS_INIT;
    cancel.progress = cancel_progress;
    CHECK_RC(ms_store_put(store, "cancelled.bin", text, strlen(text), &cancel), MS_E_CANCELLED);
  }

  /* Files. */
  snprintf(path, sizeof path, "%s/../c_abi_in.txt", root);
  snprintf(path2, sizeof path2, "%s/../c_abi_out.txt", root);
  CHECK(write_text_file(path, text));
  CHECK_RC(ms_store_put_file(store, "files/in.txt", path, NULL), MS_OK);
  CHECK_RC(ms_store_put_file(store, "files/x.txt", "/no/such/file", NULL), MS_E_NOT_FOUND);
  CHECK_RC(ms_store_get_file(store, "files/in.txt", path2), MS_OK);
  f = fopen(path2, "rb");
  CHECK(f != NULL);
  if (f) {
    char back[64] = {0};
    size_t n = fread(back, 1, sizeof back - 1, f);
    fclose(f);
    CHECK(n == strlen(text) && strcmp(back, text) == 0);
  }

  /* Copy, exists, remove. */
  CHECK_RC(ms_store_copy(store, "docs/hello.txt", "docs/copy.txt"), MS_OK);
  CHECK_RC(ms_store_exists(&flag, store, "docs/copy.txt"), MS_OK);
  CHECK(flag == 1);
  CHECK_RC(ms_store_copy(store, "docs/none.txt", "docs/copy2.txt"), MS_E_NOT_FOUND);

  /* Listing: one folder level, then paging through everything. */
  lo.delimiter = "/";
  CHECK_RC(ms_store_list(&page, store, &lo), MS_OK);
  CHECK(page != NULL);
  if (page) {
    size_t i;
    int docs = 0;
    for (i = 0; i < page->prefix_count; ++i)
      if (strcmp(page->common_prefixes[i], "docs/") == 0) docs = 1;
    CHECK(docs);
    CHECK(page->object_count == 1 && strcmp(page->objects[0].key, "empty.bin") == 0);
  }
  ms_list_page_free(page);
  page = NULL;
  lo.delimiter = NULL;
  lo.prefix = "docs/";
  lo.max_keys = 1;
  for (;;) {
    int rc = ms_store_list(&page, store, &lo);
    CHECK_RC(rc, MS_OK);
    if (rc != MS_OK || page == NULL) break;
    ++pages;
    seen += (int)page->object_count;
    if (page->next_page_token[0] == '\0' || pages > 10) {
      ms_list_page_free(page);
      break;
    }
    /* The token must outlive the page it came from. */
    {
      static char token[1024];
      snprintf(token, sizeof token, "%s", page->next_page_token);
      lo.page_token = token;
    }
    ms_list_page_free(page);
  }
  CHECK(seen == 2);
  CHECK(pages >= 2);

  /* URLs and save(). */
  CHECK_RC(ms_store_url(&s, store, "docs/hello.txt", 3600), MS_OK);
  CHECK(s != NULL && strstr(s, "docs/hello.txt") != NULL);
  ms_free(s);
  s = NULL;
  CHECK_RC(ms_store_save(&s, store, text, strlen(text), "My Photo.txt", NULL), MS_OK);
  CHECK(s != NULL && strlen(s) > 11);
  if (s) {
    CHECK_RC(ms_store_exists(&flag, store, s), MS_OK);
    CHECK(flag == 1);
    CHECK_RC(ms_store_remove(store, s), MS_OK);
  }
  ms_free(s);
  CHECK_RC(ms_store_remove(store, "docs/copy.txt"), MS_OK);
  CHECK_RC(ms_store_exists(&flag, store, "docs/copy.txt"), MS_OK);
  CHECK(flag == 0);
}

/* ms_put_options as version 1 of the header declared it (before sha256). */
struct put_options_v1 {
  unsigned int version;
  const char* content_type;
  const char* cache_control;
  const char* content_disposition;
  const char* const* metadata_names;
  const char* const* metadata_values;
  size_t metadata_count;
  ms_progress_fn progress;
  void* progress_payload;
};

/* PutOptions::sha256 through ms_put_options (version 2), on the local
 * backend: held to while writing, nothing stored on a mismatch. */
static void test_put_sha256(ms_store* store, const char* root) {
  static const char text[] = "hello, mediastore";
  static const char text_sha[] = "a0e80bf860b03e99444ba0ac4bb9b3c6f90e90069c658b349699325cc5d4802e";
  static const char other_sha[] = "923b805711041e23a99f07e146591c500261d1c289f62a9d39f8581ceb8a10ca";
  static const char upper_sha[] = "A0E80BF860B03E99444BA0AC4BB9B3C6F90E90069C658B349699325CC5D4802E";
  static const char stream_text[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  static const char stream_sha[] = "74e7e5bb9d22d6db26bf76946d40fff3ea9f0346b884fd0694920fccfad15e33";
  const char* malformed[6];
  ms_put_options po;
  struct chunk_source src;
  void* buf = NULL;
  size_t len = 0, i;
  int flag = -1;
  char* s = NULL;
  char path[1024];
  ms_object_info* info = NULL;

  malformed[0] = "abc";                                                               /* too short */
  malformed[1] = upper_sha;                                                           /* upper case */
  malformed[2] = "g0e80bf860b03e99444ba0ac4bb9b3c6f90e90069c658b349699325cc5d4802e";  /* not hex */
  malformed[3] = "a0e80bf860b03e99444ba0ac4bb9b3c6f90e90069c658b349699325cc5d4802e0"; /* 65 digits */
  malformed[4] = " a0e80bf860b03e99444ba0ac4bb9b3c6f90e90069c658b349699325cc5d4802";  /* space */
  malformed[5] = "\xff\xfe";                                                          /* not UTF-8 */

  CHECK_RC(ms_put_options_init(&po, MS_PUT_OPTIONS_VERSION), MS_OK);
  CHECK(po.sha256 == NULL);

  /* The right hash: stored, content intact. */
  po.sha256 = text_sha;
  CHECK_RC(ms_store_put(store, "sha/right.txt", text, strlen(text), &po), MS_OK);
  CHECK_RC(ms_store_get(&buf, &len, store, "sha/right.txt", 0, MS_TO_END), MS_OK);
  CHECK(len == strlen(text) && buf != NULL && memcmp(buf, text, len) == 0);
  ms_free(buf);
  buf = NULL;

  /* A wrong hash: invalid_argument naming the key, nothing stored. */
  po.sha256 = other_sha;
  CHECK_RC(ms_store_put(store, "sha/wrong.txt", text, strlen(text), &po), MS_E_INVALID_ARGUMENT);
  CHECK(strstr(ms_error_last(), "sha/wrong.txt") != NULL);
  CHECK_RC(ms_store_exists(&flag, store, "sha/wrong.txt"), MS_OK);
  CHECK(flag == 0);
  /* ... and an existing object is not replaced. */
  CHECK_RC(ms_store_put(store, "sha/right.txt", "changed", 7, &po), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_get(&buf, &len, store, "sha/right.txt", 0, MS_TO_END), MS_OK);
  CHECK(len == strlen(text) && buf != NULL && memcmp(buf, text, len) == 0);
  ms_free(buf);
  buf = NULL;

  /* Malformed hashes: invalid_argument before anything is written. */
  for (i = 0; i < sizeof malformed / sizeof malformed[0]; ++i) {
    po.sha256 = malformed[i];
    CHECK_RC(ms_store_put(store, "sha/malformed.txt", text, strlen(text), &po), MS_E_INVALID_ARGUMENT);
    CHECK(ms_error_last_code() == MS_E_INVALID_ARGUMENT);
  }
  CHECK_RC(ms_store_exists(&flag, store, "sha/malformed.txt"), MS_OK);
  CHECK(flag == 0);

  /* "" means unknown, like NULL. */
  po.sha256 = "";
  CHECK_RC(ms_store_put(store, "sha/empty-hash.txt", text, strlen(text), &po), MS_OK);

  /* Streamed write in small chunks, file write and save() honour it too. */
  source_init(&src, stream_text, strlen(stream_text), 5);
  po.sha256 = stream_sha;
  CHECK_RC(ms_store_put_stream(store, "sha/stream.bin", (int64_t)src.len, &po, source_read, source_rewind, &src),
           MS_OK);
  source_init(&src, stream_text, strlen(stream_text), 5);
  po.sha256 = text_sha;
  CHECK_RC(ms_store_put_stream(store, "sha/stream-wrong.bin", -1, &po, source_read, NULL, &src), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_exists(&flag, store, "sha/stream-wrong.bin"), MS_OK);
  CHECK(flag == 0);
  snprintf(path, sizeof path, "%s/../c_abi_sha.txt", root);
  CHECK(write_text_file(path, text));
  po.sha256 = text_sha;
  CHECK_RC(ms_store_put_file(store, "sha/file.txt", path, &po), MS_OK);
  po.sha256 = other_sha;
  CHECK_RC(ms_store_put_file(store, "sha/file-wrong.txt", path, &po), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_exists(&flag, store, "sha/file-wrong.txt"), MS_OK);
  CHECK(flag == 0);
  CHECK_RC(ms_store_save(&s, store, text, strlen(text), "wrong.txt", &po), MS_E_INVALID_ARGUMENT);
  CHECK(s == NULL);

  /* An older caller (version 1) never set sha256: whatever lies in the
   * field's place is ignored, here a wrong hash and a malformed one. */
  CHECK_RC(ms_put_options_init(&po, MS_PUT_OPTIONS_VERSION), MS_OK);
  po.version = 1;
  po.sha256 = other_sha;
  CHECK_RC(ms_store_put(store, "sha/v1-wrong-ignored.txt", text, strlen(text), &po), MS_OK);
  po.sha256 = "not a hash";
  CHECK_RC(ms_store_put(store, "sha/v1-malformed-ignored.txt", text, strlen(text), &po), MS_OK);
  CHECK_RC(ms_store_exists(&flag, store, "sha/v1-malformed-ignored.txt"), MS_OK);
  CHECK(flag == 1);
  /* A caller compiled against the version-1 header: its struct (a copy of
   * the old layout) on the heap at exactly its old size, initialised by the
   * library with version 1. Neither init nor put may touch bytes past its
   * end (c_abi.program.valgrind would report it). */
  {
    struct put_options_v1* old = (struct put_options_v1*)malloc(sizeof(struct put_options_v1));
    CHECK(sizeof(struct put_options_v1) == offsetof(ms_put_options, sha256));
    CHECK(offsetof(struct put_options_v1, progress_payload) == offsetof(ms_put_options, progress_payload));
    CHECK(old != NULL);
    if (old) {
      CHECK_RC(ms_put_options_init((ms_put_options*)(void*)old, 1), MS_OK);
      CHECK(old->version == 1 && old->content_type == NULL && old->metadata_count == 0);
      old->content_type = "text/plain";
      CHECK_RC(ms_store_put(store, "sha/v1-heap.txt", text, strlen(text), (const ms_put_options*)(void*)old), MS_OK);
      free(old);
    }
    CHECK_RC(ms_store_stat(&info, store, "sha/v1-heap.txt"), MS_OK);
    CHECK(info != NULL && info->size == strlen(text) && strcmp(info->content_type, "text/plain") == 0);
    ms_object_info_free(info);
  }
}

/* ---- media ---- */

/* A w x h 24-bit BMP with a colour gradient, in memory (caller frees). */
static unsigned char* make_bmp(int w, int h, size_t* out_len) {
  size_t row = ((size_t)w * 3 + 3) & ~(size_t)3;
  size_t size = 54 + row * (size_t)h;
  unsigned char* b = (unsigned char*)calloc(1, size);
  int x, y;
  if (b == NULL) return NULL;
  b[0] = 'B';
  b[1] = 'M';
  b[2] = (unsigned char)(size & 0xff);
  b[3] = (unsigned char)((size >> 8) & 0xff);
  b[4] = (unsigned char)((size >> 16) & 0xff);
  b[10] = 54;
  b[14] = 40;
  b[18] = (unsigned char)(w & 0xff);
  b[19] = (unsigned char)((w >> 8) & 0xff);
  b[22] = (unsigned char)(h & 0xff);
  b[23] = (unsigned char)((h >> 8) & 0xff);
  b[26] = 1;
  b[28] = 24;
  for (y = 0; y < h; ++y)
    for (x = 0; x < w; ++x) {
      unsigned char* p = b + 54 + row * (size_t)y + (size_t)x * 3;
      p[0] = (unsigned char)(x * 4);
      p[1] = (unsigned char)(y * 4);
      p[2] = 128;
    }
  *out_len = size;
  return b;
}

static void test_media(const char* root) {
  size_t bmp_len = 0, i;
  unsigned char* bmp = make_bmp(64, 48, &bmp_len);
  ms_thumbnail_list* thumbs = NULL;
  ms_media_info* info = (ms_media_info*)1;
  int reason = -1;
  ms_validation_options vo = MS_VALIDATION_OPTIONS_INIT;
  ms_thumbnail_spec spec = {"tiny", 16, 16, MS_FIT_COVER, 80, 0};
  static const char html[] = "<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
  void* stripped = NULL;
  size_t stripped_len = 0;
  char path[1024];
  FILE* f;

  CHECK(bmp != NULL);
  if (bmp == NULL) return;
  CHECK(ms_media_sniff(bmp, bmp_len) == MS_MEDIA_BMP);
  CHECK(ms_media_sniff(html, strlen(html)) == MS_MEDIA_HTML);
  CHECK(ms_media_sniff(NULL, 0) == MS_MEDIA_UNKNOWN);
  CHECK_RC(ms_media_sniff(NULL, 10), MS_E_INVALID_ARGUMENT);
  CHECK(strcmp(ms_media_type_mime(MS_MEDIA_JPEG), "image/jpeg") == 0);
  CHECK(strcmp(ms_media_type_mime(-5), "application/octet-stream") == 0);
  CHECK(strcmp(ms_media_type_mime(1000), "application/octet-stream") == 0);
  CHECK(strcmp(ms_media_type_extension(MS_MEDIA_PNG), "png") == 0);
  CHECK(strcmp(ms_media_type_extension(MS_MEDIA_HTML), "") == 0);
  CHECK(strcmp(ms_refusal_reason_name(MS_REFUSAL_CORRUPT), "corrupt") == 0);
  CHECK(strcmp(ms_refusal_reason_name(MS_REFUSAL_MALWARE), "malware") == 0);
  CHECK(strcmp(ms_refusal_reason_name(MS_REFUSAL_UNSCANNED), "unscanned") == 0);
  CHECK(strcmp(ms_refusal_reason_name(MS_REFUSAL_TOO_LONG), "too_long") == 0);
  CHECK(strcmp(ms_refusal_reason_name(MS_REFUSAL_NO_VIDEO_STREAM), "no_video_stream") == 0);
  CHECK(strcmp(ms_refusal_reason_name(MS_REFUSAL_NO_VIDEO_STREAM + 1), "unknown") == 0);
  CHECK(strcmp(ms_refusal_reason_name(99), "unknown") == 0);

  /* Default thumbnails of a small image: three, never upscaled. */
  CHECK_RC(ms_thumbnails_make(&thumbs, bmp, bmp_len, NULL, 0, 0), MS_OK);
  CHECK(thumbs != NULL && thumbs->count == 3);
  if (thumbs != NULL && thumbs->count == 3) {
    CHECK(strcmp(thumbs->items[0].name, "small") == 0);
    CHECK(thumbs->encodings != NULL);
    for (i = 0; i < thumbs->count; ++i) {
      CHECK(thumbs->encodings != NULL && strcmp(thumbs->encodings[i].format, "jpeg") == 0 &&
            strcmp(thumbs->encodings[i].extension, "jpg") == 0 &&
            strcmp(thumbs->encodings[i].content_type, "image/jpeg") == 0);
      CHECK(thumbs->items[i].width <= 64 && thumbs->items[i].height <= 48);
      CHECK(thumbs->items[i].jpeg_len > 100 && thumbs->items[i].jpeg[0] == 0xFF && thumbs->items[i].jpeg[1] == 0xD8);
    }
    /* The thumbnail is a valid photo. */
    CHECK_RC(ms_media_validate(&info, &reason, thumbs->items[0].jpeg, thumbs->items[0].jpeg_len, "t.jpg", MS_KIND_PHOTO,
                               NULL),
             MS_OK);
    CHECK(reason == MS_REFUSAL_NONE);
    CHECK(info != NULL && info->type == MS_MEDIA_JPEG && info->width == thumbs->items[0].width);
    CHECK(info != NULL && strlen(info->sha256) == 64 && strcmp(info->mime, "image/jpeg") == 0);
    ms_media_info_free(info);
    info = NULL;
    /* Named .png: relabelled by default, refused when relabelling is off. */
    CHECK_RC(ms_media_validate(&info, &reason, thumbs->items[0].jpeg, thumbs->items[0].jpeg_len, "t.png", MS_KIND_PHOTO,
                               NULL),
             MS_OK);
    CHECK(info != NULL && info->relabelled == 1);
    ms_media_info_free(info);
    info = NULL;
    vo.relabel_mismatched_extension = 0;
    CHECK_RC(ms_media_validate(&info, &reason, thumbs->items[0].jpeg, thumbs->items[0].jpeg_len, "t.png", MS_KIND_PHOTO,
                               &vo),
             MS_E_INVALID_ARGUMENT);
    CHECK(reason == MS_REFUSAL_EXTENSION_MISMATCH && info == NULL);
    vo.relabel_mismatched_extension = 1;
    /* Too large for a tiny limit. */
    vo.max_upload_size = 10;
    CHECK_RC(ms_media_validate(&info, &reason, thumbs->items[0].jpeg, thumbs->items[0].jpeg_len, "t.jpg", MS_KIND_PHOTO,
                               &vo),
             MS_E_TOO_LARGE);
    CHECK(reason == MS_REFUSAL_FILE_TOO_LARGE);
    vo.max_upload_size = 0;
    /* From a file. */
    snprintf(path, sizeof path, "%s/../thumb.jpg", root);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
      fwrite(thumbs->items[0].jpeg, 1, thumbs->items[0].jpeg_len, f);
      fclose(f);
      CHECK_RC(ms_media_validate_file(&info, &reason, path, "thumb.jpg", MS_KIND_PHOTO, NULL), MS_OK);
      ms_media_info_free(info);
      info = NULL;
      ms_thumbnail_list_free(thumbs);
      thumbs = NULL;
      CHECK_RC(ms_thumbnails_make_file(&thumbs, path, &spec, 1, 0), MS_OK);
      CHECK(thumbs != NULL && thumbs->count == 1 && thumbs->items[0].width == 16 && thumbs->items[0].height == 16);
    }
    if (thumbs != NULL && thumbs->count >= 1) {
      CHECK_RC(ms_jpeg_strip_metadata(&stripped, &stripped_len, thumbs->items[0].jpeg, thumbs->items[0].jpeg_len,
                                      MS_STRIP_ALL),
               MS_OK);
      CHECK(stripped_len > 0 && stripped != NULL);
      ms_free(stripped);
    }
  }
  ms_thumbnail_list_free(thumbs);
  thumbs = NULL;

  /* Refusals carry their reason. */
  CHECK_RC(ms_media_validate(&info, &reason, bmp, bmp_len, "a.bmp", MS_KIND_PHOTO, NULL), MS_E_UNSUPPORTED_MEDIA);
  CHECK(reason == MS_REFUSAL_TYPE_NOT_ALLOWED);
  CHECK_RC(ms_media_validate(&info, &reason, html, strlen(html), "a.jpg", MS_KIND_PHOTO, NULL), MS_E_UNSUPPORTED_MEDIA);
  CHECK(reason == MS_REFUSAL_DANGEROUS_CONTENT);
  CHECK_RC(ms_media_validate(&info, &reason, "", 0, "a.jpg", MS_KIND_PHOTO, NULL), MS_E_INVALID_ARGUMENT);
  CHECK(reason == MS_REFUSAL_EMPTY);
  CHECK_RC(ms_media_validate(&info, &reason, bmp, 60, "cut.bmp", MS_KIND_PHOTO, NULL) < 0, 1);
  CHECK(info == NULL);
  CHECK_RC(ms_thumbnails_make(&thumbs, html, strlen(html), NULL, 0, 0), MS_E_UNSUPPORTED_MEDIA);
  CHECK(thumbs == NULL);

  /* Hostile input. */
  CHECK_RC(ms_media_validate(NULL, &reason, bmp, bmp_len, "a.bmp", MS_KIND_PHOTO, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_validate(&info, NULL, NULL, 5, "a.bmp", MS_KIND_PHOTO, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_validate(&info, NULL, bmp, bmp_len, NULL, MS_KIND_PHOTO, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_validate(&info, NULL, bmp, bmp_len, "bad\xff.jpg", MS_KIND_PHOTO, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_validate(&info, NULL, bmp, bmp_len, "a.bmp", 42, NULL), MS_E_INVALID_ARGUMENT);
  vo.version = 0;
  CHECK_RC(ms_media_validate(&info, NULL, bmp, bmp_len, "a.bmp", MS_KIND_PHOTO, &vo), MS_E_INVALID_ARGUMENT);
  vo.version = MS_VALIDATION_OPTIONS_VERSION;
  vo.photo_mime_type_count = 3; /* NULL array */
  CHECK_RC(ms_media_validate(&info, NULL, bmp, bmp_len, "a.bmp", MS_KIND_PHOTO, &vo), MS_E_INVALID_ARGUMENT);
  vo.photo_mime_type_count = 0;
  CHECK_RC(ms_media_validate_file(&info, NULL, NULL, "a.jpg", MS_KIND_PHOTO, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_validate_file(&info, NULL, "", "a.jpg", MS_KIND_PHOTO, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_validate_file(&info, &reason, "/no/such/file.jpg", "a.jpg", MS_KIND_PHOTO, NULL) < 0, 1);
  CHECK_RC(ms_thumbnails_make(NULL, bmp, bmp_len, NULL, 0, 0), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_thumbnails_make(&thumbs, NULL, 10, NULL, 0, 0), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_thumbnails_make(&thumbs, bmp, bmp_len, NULL, 2, 0), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_thumbnails_make(&thumbs, bmp, bmp_len, &spec, (size_t)-1, 0), MS_E_INVALID_ARGUMENT);
  spec.width = 0;
  CHECK_RC(ms_thumbnails_make(&thumbs, bmp, bmp_len, &spec, 1, 0), MS_E_INVALID_ARGUMENT);
  spec.width = 1 << 30;
  CHECK_RC(ms_thumbnails_make(&thumbs, bmp, bmp_len, &spec, 1, 0), MS_E_INVALID_ARGUMENT);
  spec.width = 16;
  spec.quality = 500;
  CHECK_RC(ms_thumbnails_make(&thumbs, bmp, bmp_len, &spec, 1, 0), MS_E_INVALID_ARGUMENT);
  spec.quality = 80;
  spec.fit = 9;
  CHECK_RC(ms_thumbnails_make(&thumbs, bmp, bmp_len, &spec, 1, 0), MS_E_INVALID_ARGUMENT);
  spec.fit = MS_FIT_INSIDE;
  spec.name = NULL;
  CHECK_RC(ms_thumbnails_make(&thumbs, bmp, bmp_len, &spec, 1, 0), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_thumbnails_make_file(&thumbs, NULL, NULL, 0, 0), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_jpeg_strip_metadata(&stripped, &stripped_len, bmp, bmp_len, 7), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_jpeg_strip_metadata(&stripped, &stripped_len, bmp, bmp_len, MS_STRIP_GPS), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_jpeg_strip_metadata(NULL, &stripped_len, bmp, bmp_len, MS_STRIP_GPS), MS_E_INVALID_ARGUMENT);
  CHECK(thumbs == NULL);
  ms_thumbnail_list_free(NULL);
  ms_media_info_free(NULL);
  free(bmp);
}

/* ms_media_process*: validation and thumbnails from one decode. */

/* An MP4 without its index: a 24-byte ftyp box ("isom") and a 16-byte mdat (sizeof - 1 bytes), no moov. */
static const char k_mp4[] = "\0\0\0\030ftypisom\0\0\0\0isomisom\0\0\0\020mdat\021\021\021\021\021\021\021\021";

/* Both lists hold the same thumbnails, byte for byte. */
static int same_thumbnails(const ms_thumbnail_list* a, const ms_thumbnail_list* b) {
  size_t i;
  if (a == NULL || b == NULL || a->count != b->count) return 0;
  for (i = 0; i < a->count; ++i) {
    const ms_thumbnail* x = &a->items[i];
    const ms_thumbnail* y = &b->items[i];
    if (strcmp(x->name, y->name) != 0 || x->width != y->width || x->height != y->height || x->jpeg_len != y->jpeg_len ||
        memcmp(x->jpeg, y->jpeg, x->jpeg_len) != 0)
      return 0;
  }
  return 1;
}

/* A refusal of ms_media_process() is ms_media_validate()'s: code, reason, message. */
static void check_same_refusal_as(int kind, const void* data, size_t len, const char* name, int want_rc,
                                  int want_reason) {
  ms_media_info* info = (ms_media_info*)1;
  ms_thumbnail_list* thumbs = (ms_thumbnail_list*)1;
  int vreason = -1, preason = -1, vrc, prc;
  char vmsg[1024];
  vrc = ms_media_validate(&info, &vreason, data, len, name, kind, NULL);
  snprintf(vmsg, sizeof vmsg, "%s", ms_error_last());
  CHECK_RC(vrc, want_rc);
  CHECK(vreason == want_reason);
  prc = ms_media_process(&info, &thumbs, &preason, data, len, name, kind, NULL, NULL, 0);
  CHECK_RC(prc, vrc);
  CHECK(preason == vreason);
  CHECK(strcmp(ms_error_last(), vmsg) == 0 && strstr(vmsg, name) != NULL);
  CHECK(info == NULL && thumbs == NULL);
}

static void check_same_refusal(const void* data, size_t len, const char* name, int want_rc, int want_reason) {
  check_same_refusal_as(MS_KIND_PHOTO, data, len, name, want_rc, want_reason);
}

static void test_media_process(const char* root) {
  size_t bmp_len = 0;
  unsigned char* bmp = make_bmp(400, 300, &bmp_len);
  ms_thumbnail_spec src_spec = {"src", 400, 300, MS_FIT_INSIDE, 90, 0};
  ms_thumbnail_spec spec = {"sq", 40, 40, MS_FIT_COVER, 80, 0};
  ms_thumbnail_list* src = NULL; /* src->items[0]: the 400x300 JPEG under test */
  ms_thumbnail_list* thumbs = NULL;
  ms_thumbnail_list* made = NULL;
  ms_media_info* info = NULL;
  ms_media_info* vinfo = NULL;
  ms_validation_options vo = MS_VALIDATION_OPTIONS_INIT;
  static const char html[] = "<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
  const unsigned char* jpeg;
  size_t jpeg_len;
  int reason = -1;
  char path[1024];
  FILE* f;

  CHECK(bmp != NULL);
  if (bmp == NULL) return;
  CHECK_RC(ms_thumbnails_make(&src, bmp, bmp_len, &src_spec, 1, 0), MS_OK);
  free(bmp);
  if (src == NULL || src->count != 1) {
    CHECK(0);
    ms_thumbnail_list_free(src);
    return;
  }
  jpeg = src->items[0].jpeg;
  jpeg_len = src->items[0].jpeg_len;

  /* Accepted: validate's verdict and ms_thumbnails_make()'s bytes (default specs). */
  CHECK_RC(ms_media_process(&info, &thumbs, &reason, jpeg, jpeg_len, "p.jpg", MS_KIND_PHOTO, NULL, NULL, 0), MS_OK);
  CHECK(reason == MS_REFUSAL_NONE);
  CHECK_RC(ms_media_validate(&vinfo, NULL, jpeg, jpeg_len, "p.jpg", MS_KIND_PHOTO, NULL), MS_OK);
  CHECK_RC(ms_thumbnails_make(&made, jpeg, jpeg_len, NULL, 0, 0), MS_OK);
  CHECK(info != NULL && vinfo != NULL && info->type == MS_MEDIA_JPEG && info->width == 400 && info->height == 300);
  CHECK(info != NULL && vinfo != NULL && strcmp(info->sha256, vinfo->sha256) == 0 &&
        strcmp(info->filename, vinfo->filename) == 0 && info->byte_size == jpeg_len);
  CHECK(thumbs != NULL && thumbs->count == 3);
  CHECK(thumbs != NULL && thumbs->count == 3 && strcmp(thumbs->items[0].name, "small") == 0 &&
        thumbs->items[0].width == 150 && thumbs->items[2].width == 400); /* large: never upscaled */
  CHECK(same_thumbnails(thumbs, made));
  /* Placeholder and perceptual hash come with thumbnails, not with validation alone. */
  CHECK(info != NULL && vinfo != NULL && strlen(info->thumbhash) > 0 && strlen(info->phash) == 16 &&
        vinfo->thumbhash[0] == 0 && vinfo->phash[0] == 0);
  if (info != NULL) {
    uint64_t a = 0, b = 1;
    CHECK_RC(ms_perceptual_hash_parse(&a, info->phash), MS_OK);
    CHECK_RC(ms_perceptual_hash_parse(&b, "ffffffffffffffff"), MS_OK);
    CHECK(b == UINT64_MAX);
    CHECK(ms_hamming_distance(a, a) == 0);
    CHECK(ms_hamming_distance(0, UINT64_MAX) == 64);
    CHECK(ms_hamming_distance(a, a ^ 5u) == 2);
    CHECK_RC(ms_perceptual_hash_parse(&a, "123"), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_perceptual_hash_parse(&a, "0123456789abcdeg"), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_perceptual_hash_parse(&a, NULL), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_perceptual_hash_parse(NULL, "0123456789abcdef"), MS_E_INVALID_ARGUMENT);
  }
  ms_media_info_free(info);
  ms_media_info_free(vinfo);
  ms_thumbnail_list_free(thumbs);
  ms_thumbnail_list_free(made);
  info = vinfo = NULL;
  thumbs = made = NULL;

  /* From a file, with one spec and options. */
  snprintf(path, sizeof path, "%s/../process.jpg", root);
  f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    fwrite(jpeg, 1, jpeg_len, f);
    fclose(f);
    CHECK_RC(ms_media_process_file(&info, &thumbs, NULL, path, "p.jpg", MS_KIND_PHOTO, &vo, &spec, 1), MS_OK);
    CHECK_RC(ms_thumbnails_make_file(&made, path, &spec, 1, 0), MS_OK);
    CHECK(info != NULL && info->width == 400);
    CHECK(thumbs != NULL && thumbs->count == 1 && thumbs->items[0].width == 40 && thumbs->items[0].height == 40);
    CHECK(same_thumbnails(thumbs, made));
    ms_media_info_free(info);
    ms_thumbnail_list_free(thumbs);
    ms_thumbnail_list_free(made);
    info = NULL;
    thumbs = made = NULL;
    /* A file refusal is validation's too. */
    vo.max_upload_size = 100;
    CHECK_RC(ms_media_process_file(&info, &thumbs, &reason, path, "p.jpg", MS_KIND_PHOTO, &vo, NULL, 0),
             MS_E_TOO_LARGE);
    CHECK(reason == MS_REFUSAL_FILE_TOO_LARGE && info == NULL && thumbs == NULL);
    vo.max_upload_size = 0;
    remove(path);
  }
  CHECK_RC(ms_media_process_file(&info, &thumbs, &reason, "/no/such/file.jpg", "a.jpg", MS_KIND_PHOTO, NULL, NULL, 0),
           MS_E_NOT_FOUND);
  CHECK(reason == MS_REFUSAL_UNREADABLE && info == NULL && thumbs == NULL);

  /* Refusals: the same code, reason and message as ms_media_validate(). */
  check_same_refusal(jpeg, jpeg_len / 2, "cut.jpg", MS_E_CORRUPT_MEDIA, MS_REFUSAL_CORRUPT);
  check_same_refusal(html, strlen(html), "page.jpg", MS_E_UNSUPPORTED_MEDIA, MS_REFUSAL_DANGEROUS_CONTENT);

  /* A video is probed like an image is decoded: one without its index is refused. */
  check_same_refusal_as(MS_KIND_VIDEO, k_mp4, sizeof k_mp4 - 1, "clip.mp4", MS_E_CORRUPT_MEDIA, MS_REFUSAL_CORRUPT);

  /* Bad specs are the caller's error, reported before the content is looked at. */
  spec.quality = 0;
  reason = -1;
  CHECK_RC(ms_media_process(&info, &thumbs, &reason, jpeg, jpeg_len / 2, "cut.jpg", MS_KIND_PHOTO, NULL, &spec, 1),
           MS_E_INVALID_ARGUMENT);
  CHECK(reason == MS_REFUSAL_NONE && info == NULL && thumbs == NULL);
  spec.quality = 80;
  CHECK_RC(ms_media_process(&info, &thumbs, NULL, jpeg, jpeg_len, "p.jpg", MS_KIND_PHOTO, NULL, NULL, 2),
           MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_process(&info, &thumbs, NULL, jpeg, jpeg_len, "p.jpg", MS_KIND_PHOTO, NULL, &spec, (size_t)-1),
           MS_E_INVALID_ARGUMENT);

  /* Hostile arguments: codes, never a crash. */
  CHECK_RC(ms_media_process(NULL, &thumbs, NULL, jpeg, jpeg_len, "p.jpg", MS_KIND_PHOTO, NULL, NULL, 0),
           MS_E_INVALID_ARGUMENT);
  CHECK(thumbs == NULL);
  CHECK_RC(ms_media_process(&info, NULL, NULL, jpeg, jpeg_len, "p.jpg", MS_KIND_PHOTO, NULL, NULL, 0),
           MS_E_INVALID_ARGUMENT);
  CHECK(info == NULL);
  CHECK_RC(ms_media_process(NULL, NULL, NULL, NULL, 0, NULL, 42, NULL, NULL, 0), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_process(&info, &thumbs, NULL, NULL, 5, "p.jpg", MS_KIND_PHOTO, NULL, NULL, 0),
           MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_process(&info, &thumbs, NULL, jpeg, jpeg_len, NULL, MS_KIND_PHOTO, NULL, NULL, 0),
           MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_process(&info, &thumbs, NULL, jpeg, jpeg_len, "bad\xff.jpg", MS_KIND_PHOTO, NULL, NULL, 0),
           MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_process(&info, &thumbs, NULL, jpeg, jpeg_len, "p.jpg", 42, NULL, NULL, 0), MS_E_INVALID_ARGUMENT);
  vo.version = 0;
  CHECK_RC(ms_media_process(&info, &thumbs, NULL, jpeg, jpeg_len, "p.jpg", MS_KIND_PHOTO, &vo, NULL, 0),
           MS_E_INVALID_ARGUMENT);
  vo.version = MS_VALIDATION_OPTIONS_VERSION;
  CHECK_RC(ms_media_process(&info, &thumbs, NULL, "", 0, "p.jpg", MS_KIND_PHOTO, NULL, NULL, 0),
           MS_E_INVALID_ARGUMENT); /* empty content: a refusal */
  CHECK_RC(ms_media_process_file(&info, &thumbs, NULL, NULL, "p.jpg", MS_KIND_PHOTO, NULL, NULL, 0),
           MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_process_file(&info, &thumbs, NULL, "", "p.jpg", MS_KIND_PHOTO, NULL, NULL, 0),
           MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_media_process_file(NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0), MS_E_INVALID_ARGUMENT);
  CHECK(info == NULL && thumbs == NULL);
  ms_thumbnail_list_free(src);
}

/* ---- uploads ---- */

/* What the end hook saw; read after the worker was joined (or on the thread
 * that ended the upload). */
struct hook_log {
  int calls;
  int completed;
  int failed;
  int payload_ok;
};

static int on_end(const ms_upload_status* st, void* payload) {
  struct hook_log* log = (struct hook_log*)payload;
  log->calls++;
  if (st->state == MS_UPLOAD_COMPLETED) log->completed++;
  if (st->state == MS_UPLOAD_FAILED) log->failed++;
  log->payload_ok = st->id != NULL && strlen(st->id) == 36;
  return log->calls == 2 ? 7 : 0; /* a failing hook is logged, nothing else */
}

static int wait_final(ms_uploads* up, const char* id, ms_upload_status** out) {
  int i;
  for (i = 0; i < 600; ++i) { /* at most a minute: the test's own timeout, not a threshold */
    int rc = ms_upload_status_get(out, up, id);
    if (rc != MS_OK) return rc;
    if ((*out)->state == MS_UPLOAD_COMPLETED || (*out)->state == MS_UPLOAD_FAILED) return MS_OK;
    ms_upload_status_free(*out);
    *out = NULL;
    {
      struct timespec ts = {0, 100000000L};
      nanosleep(&ts, NULL);
    }
  }
  return MS_E_TIMEOUT;
}

static void test_uploads(const char* root) {
  size_t bmp_len = 0, n = 0, i;
  unsigned char* bmp = make_bmp(64, 48, &bmp_len);
  ms_thumbnail_spec spec = {"photo", 64, 48, MS_FIT_INSIDE, 90, 0};
  ms_thumbnail_list* jpeg = NULL;
  ms_config* cfg = NULL;
  ms_uploads* up = NULL;
  ms_worker* worker = NULL;
  ms_upload_request req = MS_UPLOAD_REQUEST_INIT;
  ms_upload_options uo = MS_UPLOAD_OPTIONS_INIT;
  ms_worker_options wo = MS_WORKER_OPTIONS_INIT;
  ms_upload_status* st = NULL;
  ms_upload_stats* stats = NULL;
  ms_cleanup_report* report = NULL;
  char *id = NULL, *id2 = NULL, *id3 = NULL, *text = NULL;
  struct hook_log hook = {0, 0, 0, 0};
  const char* ctx_names[2] = {"keep_id", "caption"};
  const char* ctx_values[2] = {"42", "Beach"};
  char spool[700];

  CHECK(bmp != NULL);
  if (bmp == NULL) return;
  CHECK_RC(ms_thumbnails_make(&jpeg, bmp, bmp_len, &spec, 1, 0), MS_OK);
  if (jpeg == NULL) {
    free(bmp);
    return;
  }
  snprintf(spool, sizeof spool, "%s/../spool", root);
  CHECK_RC(ms_config_new(&cfg), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MEDIA_ROOT", root), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MEDIA_SPOOL_DIR", spool), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MAX_UPLOAD_SIZE", "100000"), MS_OK);
  /* Every size in both formats (the service's specs from the configuration). */
  CHECK_RC(ms_config_set(cfg, "MEDIA_THUMBNAIL_FORMATS", "jpeg,webp"), MS_OK);

  /* Absurd options. */
  uo.max_attempts = 0;
  CHECK_RC(ms_uploads_open(&up, cfg, &uo), MS_E_INVALID_ARGUMENT);
  uo.max_attempts = 3;
  uo.heartbeat_ms = uo.lease_ms;
  CHECK_RC(ms_uploads_open(&up, cfg, &uo), MS_E_INVALID_ARGUMENT);
  uo.heartbeat_ms = 10000;
  uo.thumbnail_count = 5; /* NULL specs */
  CHECK_RC(ms_uploads_open(&up, cfg, &uo), MS_E_INVALID_ARGUMENT);
  uo.thumbnail_count = 0;
  uo.version = 3;
  CHECK_RC(ms_uploads_open(&up, cfg, &uo), MS_E_INVALID_ARGUMENT);
  uo.version = MS_UPLOAD_OPTIONS_VERSION;
  CHECK_RC(ms_uploads_open(NULL, cfg, &uo), MS_E_INVALID_ARGUMENT);
  CHECK(up == NULL);
  uo.backoff_base_ms = 10;
  uo.backoff_max_ms = 20;
  uo.record_ttl_seconds = -1;
  CHECK_RC(ms_uploads_open(&up, cfg, &uo), MS_E_INVALID_ARGUMENT);
  uo.record_ttl_seconds = 3600;
  CHECK_RC(ms_uploads_open(&up, cfg, &uo), MS_OK);
  if (up == NULL) goto done;
  CHECK_RC(ms_uploads_set_end_hook(NULL, on_end, &hook), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_uploads_set_end_hook(up, on_end, &hook), MS_OK);

  /* Hostile requests. */
  CHECK_RC(ms_upload_submit(&id, up, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_submit(NULL, up, &req), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_submit(&id, NULL, &req), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_submit(&id, up, &req), MS_E_INVALID_ARGUMENT); /* no name, no content */
  req.original_filename = "x.jpg";
  CHECK_RC(ms_upload_submit(&id, up, &req), MS_E_INVALID_ARGUMENT); /* empty */
  req.data_len = 10;
  CHECK_RC(ms_upload_submit(&id, up, &req), MS_E_INVALID_ARGUMENT); /* NULL data */
  req.data = jpeg->items[0].jpeg;
  req.data_len = jpeg->items[0].jpeg_len;
  req.source_path = "/tmp/x";
  CHECK_RC(ms_upload_submit(&id, up, &req), MS_E_INVALID_ARGUMENT); /* both */
  req.source_path = NULL;
  req.media_kind = 9;
  CHECK_RC(ms_upload_submit(&id, up, &req), MS_E_INVALID_ARGUMENT);
  req.media_kind = MS_KIND_PHOTO;
  req.original_filename = "bad\xff.jpg";
  CHECK_RC(ms_upload_submit(&id, up, &req), MS_E_INVALID_ARGUMENT);
  req.original_filename = "x.jpg";
  req.context_count = 2; /* NULL arrays */
  CHECK_RC(ms_upload_submit(&id, up, &req), MS_E_INVALID_ARGUMENT);
  req.context_names = ctx_names;
  req.context_values = ctx_values;
  req.data = bmp;
  req.data_len = bmp_len + 200000;
  CHECK(id == NULL);
  /* Too large for MAX_UPLOAD_SIZE: refused at submit. */
  {
    unsigned char* big = (unsigned char*)calloc(1, 200001);
    CHECK(big != NULL);
    if (big) {
      req.data = big;
      req.data_len = 200001;
      CHECK_RC(ms_upload_submit(&id, up, &req), MS_E_TOO_LARGE);
      free(big);
    }
  }
  req.data = NULL;
  req.data_len = 0;
  req.source_path = root; /* a folder, not a file */
  CHECK(ms_upload_submit(&id, up, &req) < 0);
  req.source_path = NULL;
  CHECK(id == NULL);
  CHECK_RC(ms_upload_status_get(&st, up, "00000000-0000-0000-0000-000000000000"), MS_E_NOT_FOUND);
  CHECK_RC(ms_upload_status_get(&st, up, NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_status_get(&st, up, "\xff"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_cancel(up, "no-such-upload"), MS_E_NOT_FOUND);
  CHECK_RC(ms_upload_process_next(&n, up, 0, 0), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_process_next(&n, up, 1, -5), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_cleanup(&report, up, -1), MS_E_INVALID_ARGUMENT);

  /* A photo, processed in this thread. */
  req.data = jpeg->items[0].jpeg;
  req.data_len = jpeg->items[0].jpeg_len;
  req.content_type = "image/jpeg";
  CHECK_RC(ms_upload_submit(&id, up, &req), MS_OK);
  CHECK(id != NULL && strlen(id) == 36);
  if (id == NULL) goto done;
  CHECK_RC(ms_upload_status_get(&st, up, id), MS_OK);
  CHECK(st != NULL && st->state == MS_UPLOAD_PENDING && st->has_result == 0);
  CHECK(st != NULL && st->context_count == 2 && strcmp(st->original_filename, "x.jpg") == 0);
  ms_upload_status_free(st);
  st = NULL;
  CHECK_RC(ms_upload_process_next(&n, up, 1, 1000), MS_OK);
  CHECK(n == 1);
  CHECK_RC(ms_upload_status_get(&st, up, id), MS_OK);
  CHECK(st != NULL && st->state == MS_UPLOAD_COMPLETED && st->progress_percentage == 100);
  if (st != NULL && st->has_result) {
    int exists = 0;
    ms_store* store = NULL;
    CHECK(st->thumbnail_count == 6);
    CHECK(st->thumbnail_formats != NULL);
    for (i = 0; st->thumbnail_formats != NULL && i < st->thumbnail_count; ++i) {
      const int webp = i % 2 == 1; /* spec order, then format order */
      CHECK(strcmp(st->thumbnail_formats[i], webp ? "webp" : "jpeg") == 0);
      CHECK(strcmp(st->thumbnails[i].content_type, webp ? "image/webp" : "image/jpeg") == 0);
      CHECK(strstr(st->thumbnails[i].key, webp ? ".webp" : ".jpg") != NULL);
    }
    {
      int has_thumbhash = 0, has_phash = 0;
      uint64_t ph = 0;
      for (i = 0; i < st->metadata_count; ++i) {
        if (strcmp(st->metadata_names[i], "thumbhash") == 0) has_thumbhash = strlen(st->metadata_values[i]) > 0;
        if (strcmp(st->metadata_names[i], "phash") == 0)
          has_phash = ms_perceptual_hash_parse(&ph, st->metadata_values[i]) == MS_OK;
      }
      CHECK(has_thumbhash && has_phash);
    }
    CHECK(st->original.width == 64 && st->original.height == 48);
    CHECK(strstr(st->original.key, id) != NULL);
    CHECK(st->metadata_count > 0);
    CHECK(strcmp(ms_upload_state_name(st->state), "completed") == 0);
    CHECK(strcmp(ms_upload_stage_name(st->stage), "done") == 0);
    /* The objects are in the store. */
    CHECK_RC(ms_config_set(cfg, "MEDIA_SPOOL_DIR", NULL), MS_OK);
    CHECK_RC(ms_store_open(&store, cfg), MS_OK);
    for (i = 0; store != NULL && i < st->thumbnail_count; ++i) {
      CHECK_RC(ms_store_exists(&exists, store, st->thumbnails[i].key), MS_OK);
      CHECK(exists == 1);
    }
    ms_store_close(store);
  } else {
    CHECK(!"no result");
  }
  ms_upload_status_free(st);
  st = NULL;
  CHECK_RC(ms_upload_cancel(up, id), MS_E_CONFLICT);

  /* A hostile file ends failed with its reason; a worker processes it. */
  req.data = bmp;
  req.data_len = bmp_len;
  req.original_filename = "evil.jpg";
  CHECK_RC(ms_upload_submit(&id2, up, &req), MS_OK);
  wo.threads = -1;
  CHECK_RC(ms_worker_new(&worker, up, &wo), MS_E_INVALID_ARGUMENT);
  wo.threads = 257;
  CHECK_RC(ms_worker_new(&worker, up, &wo), MS_E_INVALID_ARGUMENT);
  wo.threads = 1;
  wo.poll_wait_ms = 50;
  CHECK_RC(ms_worker_new(&worker, up, &wo), MS_OK);
  CHECK(ms_worker_running(worker) == 0);
  CHECK_RC(ms_worker_start(worker), MS_OK);
  CHECK(ms_worker_running(worker) == 1);
  CHECK_RC(ms_worker_start(worker), MS_E_INVALID_ARGUMENT);
  if (id2 != NULL) {
    CHECK_RC(wait_final(up, id2, &st), MS_OK);
    CHECK(st != NULL && st->state == MS_UPLOAD_FAILED && st->error_code == MS_E_UNSUPPORTED_MEDIA);
    CHECK(st != NULL && strstr(st->error_message, "evil.jpg") != NULL);
    CHECK(st != NULL && st->refusal_reason != MS_REFUSAL_NONE && st->duplicate_of != NULL &&
          st->duplicate_of[0] == '\0');
    ms_upload_status_free(st);
    st = NULL;
  }
  CHECK_RC(ms_worker_stop(worker, 7), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_worker_stop(worker, MS_STOP_FINISH), MS_OK);
  CHECK_RC(ms_worker_wait(worker), MS_OK);
  CHECK(ms_worker_running(worker) == 0);
  ms_worker_free(worker);
  worker = NULL;

  /* Cancel a pending upload. */
  req.data = jpeg->items[0].jpeg;
  req.data_len = jpeg->items[0].jpeg_len;
  CHECK_RC(ms_upload_submit(&id3, up, &req), MS_OK);
  if (id3 != NULL) {
    CHECK_RC(ms_upload_cancel(up, id3), MS_OK);
    CHECK_RC(ms_upload_status_get(&st, up, id3), MS_OK);
    CHECK(st != NULL && st->state == MS_UPLOAD_FAILED && st->error_code == MS_E_CANCELLED);
    ms_upload_status_free(st);
    st = NULL;
  }

  /* The hook saw the three ends (the completed photo, the hostile file, the
   * cancelled upload); the failing second call changed nothing. */
  CHECK(hook.calls == 3 && hook.completed == 1 && hook.failed == 2 && hook.payload_ok);
  CHECK_RC(ms_uploads_set_end_hook(up, NULL, NULL), MS_OK);
  {
    ms_upload_status_list* list = NULL;
    char *k1 = NULL, *k2 = NULL;
    size_t redriven = 9;
    CHECK_RC(ms_upload_ended_since(&list, up, 0, 100), MS_OK);
    CHECK(list != NULL && list->count == 3);
    for (i = 0; list != NULL && i + 1 < list->count; ++i)
      CHECK(list->items[i]->updated_at_ms <= list->items[i + 1]->updated_at_ms);
    ms_upload_status_list_free(list);
    list = NULL;
    CHECK_RC(ms_upload_ended_since(&list, up, 0, 0), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_upload_ended_since(NULL, up, 0, 10), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_upload_list_by_context(&list, up, "keep_id", "42", 100), MS_OK);
    CHECK(list != NULL && list->count == 3);
    ms_upload_status_list_free(list);
    list = NULL;
    CHECK_RC(ms_upload_list_by_context(&list, up, "keep_id", "43", 100), MS_OK);
    CHECK(list != NULL && list->count == 0);
    ms_upload_status_list_free(list);
    list = NULL;
    CHECK_RC(ms_upload_list_by_context(&list, up, "", "42", 100), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_upload_list_by_context(&list, up, NULL, "42", 100), MS_E_INVALID_ARGUMENT);
    ms_upload_status_list_free(NULL);
    if (id != NULL) {
      CHECK_RC(ms_upload_wait(&st, up, id, 1000), MS_OK);
      CHECK(st != NULL && st->state == MS_UPLOAD_COMPLETED);
      ms_upload_status_free(st);
      st = NULL;
      CHECK_RC(ms_upload_retry(up, id), MS_E_CONFLICT); /* completed */
    }
    CHECK_RC(ms_upload_wait(&st, up, "no-such-upload", 0), MS_E_NOT_FOUND);
    CHECK_RC(ms_upload_wait(&st, up, id, -1), MS_E_INVALID_ARGUMENT);
    if (id2 != NULL) {
      CHECK_RC(ms_upload_retry(up, id2), MS_E_CONFLICT); /* a permanent refusal */
      CHECK(strstr(ms_error_last(), "permanent") != NULL);
    }
    CHECK_RC(ms_upload_retry(up, "no-such-upload"), MS_E_NOT_FOUND);
    CHECK_RC(ms_upload_redrive_dead_letters(&redriven, up, 10), MS_OK);
    CHECK(redriven == 0);
    CHECK_RC(ms_upload_redrive_dead_letters(&redriven, up, 0), MS_E_INVALID_ARGUMENT);
    /* An idempotency key: the second submission returns the first's id. */
    req.idempotency_key = "client-request-1";
    CHECK_RC(ms_upload_submit(&k1, up, &req), MS_OK);
    CHECK_RC(ms_upload_submit(&k2, up, &req), MS_OK);
    CHECK(k1 != NULL && k2 != NULL && strcmp(k1, k2) == 0);
    if (k1 != NULL) CHECK_RC(ms_upload_cancel(up, k1), MS_OK);
    ms_free(k2);
    req.idempotency_key = "\xff";
    CHECK_RC(ms_upload_submit(&k2, up, &req), MS_E_INVALID_ARGUMENT);
    req.idempotency_key = NULL;
    ms_free(k1);
    ms_free(k2);
  }

  /* The same photo twice in one circle: the second is a duplicate of the
   * first, and its near duplicate at distance 0. */
  {
    const char* circle_names[1] = {"circle_id"};
    const char* circle_values[1] = {"5"};
    char *first = NULL, *second = NULL;
    ms_similar_list* sim = NULL;
    req.context_names = circle_names;
    req.context_values = circle_values;
    req.context_count = 1;
    CHECK_RC(ms_upload_submit(&first, up, &req), MS_OK);
    CHECK_RC(ms_upload_process_next(&n, up, 1, 1000), MS_OK);
    CHECK_RC(ms_upload_submit(&second, up, &req), MS_OK);
    CHECK_RC(ms_upload_process_next(&n, up, 1, 1000), MS_OK);
    if (first != NULL && second != NULL) {
      CHECK_RC(ms_upload_status_get(&st, up, first), MS_OK);
      CHECK(st != NULL && st->state == MS_UPLOAD_COMPLETED && strcmp(st->duplicate_of, "") == 0);
      CHECK(st != NULL && st->refusal_reason == MS_REFUSAL_NONE);
      ms_upload_status_free(st);
      CHECK_RC(ms_upload_status_get(&st, up, second), MS_OK);
      CHECK(st != NULL && st->state == MS_UPLOAD_COMPLETED && strcmp(st->duplicate_of, first) == 0);
      CHECK(st != NULL && st->has_result && strstr(st->original.key, first) != NULL);
      ms_upload_status_free(st);
      st = NULL;
      CHECK_RC(ms_upload_similar(&sim, up, first, 10), MS_OK);
      CHECK(sim != NULL && sim->count == 1 && strcmp(sim->items[0].id, second) == 0 && sim->items[0].distance == 0);
      ms_similar_list_free(sim);
      sim = NULL;
      CHECK_RC(ms_upload_similar(&sim, up, first, 65), MS_E_INVALID_ARGUMENT);
      CHECK_RC(ms_upload_similar(&sim, up, "no-such-upload", 10), MS_E_NOT_FOUND);
      CHECK_RC(ms_upload_similar(&sim, up, NULL, 10), MS_E_INVALID_ARGUMENT);
      CHECK_RC(ms_upload_similar(NULL, up, first, 10), MS_E_INVALID_ARGUMENT);
      CHECK(sim == NULL);
      ms_similar_list_free(NULL);
      CHECK(strcmp(ms_upload_stage_name(MS_STAGE_DEDUPLICATING), "deduplicating") == 0);
    }
    ms_free(first);
    ms_free(second);
    req.context_names = ctx_names;
    req.context_values = ctx_values;
    req.context_count = 2;
  }

  /* Stats, metrics, cleanup. */
  CHECK_RC(ms_upload_stats_get(&stats, up), MS_OK);
  CHECK(stats != NULL && stats->submitted == 6 && stats->completed == 3);
  CHECK(stats != NULL && stats->uploads_completed == 3 && stats->uploads_failed == 3);
  ms_free(stats);
  CHECK_RC(ms_upload_metrics_prometheus(&text, up), MS_OK);
  CHECK(text != NULL && strstr(text, "mediastore_") != NULL);
  ms_free(text);
  CHECK_RC(ms_upload_cleanup(&report, up, 0), MS_OK);
  CHECK(report != NULL && report->staging_objects_removed == 0 && report->multipart_uploads_aborted == 0);
  ms_free(report);
  CHECK_RC(ms_upload_stats_get(NULL, up), MS_E_INVALID_ARGUMENT);
  {
    ms_dead_job_list* dead = NULL;
    CHECK_RC(ms_upload_dead_letters(&dead, up, 10), MS_OK);
    CHECK(dead != NULL && dead->count == 0);
    ms_dead_job_list_free(dead);
    dead = NULL;
    CHECK_RC(ms_upload_dead_letters(&dead, up, 0), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_upload_dead_letters(&dead, NULL, 10), MS_E_INVALID_ARGUMENT);
    CHECK(dead == NULL);
    ms_dead_job_list_free(NULL);
  }
  CHECK_RC(ms_upload_metrics_prometheus(&text, NULL), MS_E_INVALID_ARGUMENT);

done:
  CHECK_RC(ms_worker_start(NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_worker_wait(NULL), MS_E_INVALID_ARGUMENT);
  CHECK(ms_worker_running(NULL) == 0);
  ms_worker_free(NULL);
  ms_upload_status_free(NULL);
  ms_uploads_close(NULL);
  ms_free(id);
  ms_free(id2);
  ms_free(id3);
  ms_uploads_close(up);
  ms_config_free(cfg);
  ms_thumbnail_list_free(jpeg);
  free(bmp);
}

/* ---- remove_many, signed local URLs, migration ---- */

static int stop_migration(const ms_migrate_progress* p, void* payload) {
  (void)p;
  ++*(int*)payload;
  return 1;
}

static int count_progress(const ms_migrate_progress* p, void* payload) {
  (void)p;
  ++*(int*)payload;
  return 0;
}

static void test_more_storage(const char* root) {
  ms_config* cfg = NULL;
  ms_store *a = NULL, *b = NULL;
  char root_b[700];
  const char* keys[3] = {"m/1.txt", "m/2.txt", "m/none.txt"};
  const char* bad_keys[2] = {"m/1.txt", "../x"};
  size_t failed = 99, i;
  char* url = NULL;
  ms_migrate_options mo = MS_MIGRATE_OPTIONS_INIT;
  static const ms_migrate_options mo_macro = MS_MIGRATE_OPTIONS_INIT;
  ms_migrate_options mo_fn;
  ms_migrate_report* report = NULL;
  int calls = 0, exists = 0;

  memset(&mo_fn, 0xAB, sizeof mo_fn);
  CHECK_RC(ms_migrate_options_init(&mo_fn, MS_MIGRATE_OPTIONS_VERSION), MS_OK);
  CHECK(memcmp(&mo_macro, &mo_fn, sizeof mo_fn) == 0);

  snprintf(root_b, sizeof root_b, "%s-b", root);
  CHECK_RC(ms_config_new(&cfg), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MEDIA_ROOT", root), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MEDIA_URL_SIGNING_KEY", "c-abi-signing-key"), MS_OK);
  CHECK_RC(ms_store_open(&a, cfg), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MEDIA_ROOT", root_b), MS_OK);
  CHECK_RC(ms_store_open(&b, cfg), MS_OK);
  ms_config_free(cfg);
  if (a == NULL || b == NULL) goto done;

  for (i = 0; i < 2; ++i) CHECK_RC(ms_store_put(a, keys[i], "data", 4, NULL), MS_OK);

  /* Signed local URLs. */
  CHECK_RC(ms_store_url(&url, a, "m/1.txt", 600), MS_OK);
  CHECK(url != NULL && strstr(url, "sig=") != NULL);
  if (url != NULL) {
    char* sig;
    CHECK_RC(ms_local_url_verify(url, "c-abi-signing-key"), MS_OK);
    CHECK_RC(ms_local_url_verify(url, "another-key"), MS_E_PERMISSION_DENIED);
    sig = strstr(url, "sig=");
    if (sig != NULL && sig[4] != '\0') {
      sig[4] = sig[4] == 'a' ? 'b' : 'a';
      CHECK_RC(ms_local_url_verify(url, "c-abi-signing-key"), MS_E_PERMISSION_DENIED);
    }
  }
  ms_free(url);
  CHECK_RC(ms_local_url_verify(NULL, "k"), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_local_url_verify("/m/x", NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_local_url_verify("/m/x", ""), MS_E_INVALID_ARGUMENT);
  CHECK(ms_local_url_verify("not a url", "k") < 0);

  /* Migration of m/: dry run, a stopped run, a real run. */
  mo.prefix = "m/";
  mo.dry_run = 1;
  CHECK_RC(ms_migrate(&report, a, b, &mo), MS_OK);
  CHECK(report != NULL && report->planned_count == 2 && report->counts.copied == 0);
  ms_migrate_report_free(report);
  report = NULL;
  mo.dry_run = 0;
  mo.concurrency = 1;
  mo.progress = stop_migration;
  mo.progress_payload = &calls;
  CHECK_RC(ms_migrate(&report, a, b, &mo), MS_OK);
  CHECK(report != NULL && report->cancelled == 1 && calls >= 1);
  ms_migrate_report_free(report);
  report = NULL;
  calls = 0;
  mo.progress = count_progress;
  CHECK_RC(ms_migrate(&report, a, b, &mo), MS_OK);
  CHECK(report != NULL && report->failure_count == 0 && report->cancelled == 0 && report->error_code == MS_OK);
  CHECK(report != NULL && report->counts.copied + report->counts.skipped == 2);
  CHECK(calls >= 2);
  ms_migrate_report_free(report);
  report = NULL;
  CHECK_RC(ms_store_exists(&exists, b, "m/2.txt"), MS_OK);
  CHECK(exists == 1);
  mo.concurrency = 0;
  CHECK_RC(ms_migrate(&report, a, b, &mo), MS_E_INVALID_ARGUMENT);
  mo.concurrency = 1;
  mo.version = 0;
  CHECK_RC(ms_migrate(&report, a, b, &mo), MS_E_INVALID_ARGUMENT);
  mo.version = MS_MIGRATE_OPTIONS_VERSION;
  mo.prefix = "\xff";
  CHECK_RC(ms_migrate(&report, a, b, &mo), MS_E_INVALID_ARGUMENT);
  mo.prefix = "m/";
  CHECK_RC(ms_migrate(&report, a, a, &mo), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_migrate(&report, NULL, b, &mo), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_migrate(NULL, a, b, &mo), MS_E_INVALID_ARGUMENT);
  CHECK(report == NULL);
  ms_migrate_report_free(NULL);

  /* remove_many. */
  CHECK_RC(ms_store_remove_many(&failed, a, bad_keys, 2), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_remove_many(&failed, a, NULL, 2), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_store_remove_many(&failed, a, keys, 0), MS_OK);
  CHECK_RC(ms_store_remove_many(&failed, a, keys, 3), MS_OK);
  CHECK(failed == 0);
  CHECK_RC(ms_store_exists(&exists, a, "m/1.txt"), MS_OK);
  CHECK(exists == 0);
  CHECK_RC(ms_store_remove_many(NULL, NULL, keys, 3), MS_E_INVALID_ARGUMENT);

done:
  ms_store_close(a);
  ms_store_close(b);
}

static int64_t now_ms(void) { return (int64_t)time(NULL) * 1000; }

static void test_grants(const char* root) {
  const char* names[2] = {"keep_id", "circle_id"};
  const char* values[2] = {"42", "7"};
  const char* other_values[2] = {"43", "7"};
  ms_grant_claims claims, from_init;
  ms_upload_grant* g = NULL;
  ms_config* cfg = NULL;
  ms_uploads* up = NULL;
  char *token = NULL, *other = NULL;
  char spool[700];
  static const ms_grant_claims macro = MS_GRANT_CLAIMS_INIT;

  memset(&from_init, 0xAB, sizeof from_init);
  CHECK_RC(ms_grant_claims_init(&from_init, MS_GRANT_CLAIMS_VERSION), MS_OK);
  CHECK(memcmp(&macro, &from_init, sizeof macro) == 0);
  CHECK_RC(ms_grant_claims_init(&from_init, 2), MS_E_INVALID_ARGUMENT);

  claims = macro;
  claims.context_names = names;
  claims.context_values = values;
  claims.context_count = 1;
  claims.max_bytes = 1000;
  claims.kinds = 1u << MS_KIND_PHOTO;
  claims.single_use = 1;
  /* No expiry, an empty secret, a kind bit of no kind: refused, no token. */
  CHECK_RC(ms_upload_grant_issue(&token, "secret", &claims), MS_E_INVALID_ARGUMENT);
  CHECK(token == NULL);
  claims.expires_at_ms = now_ms() + 600000;
  CHECK_RC(ms_upload_grant_issue(&token, "", &claims), MS_E_INVALID_ARGUMENT);
  claims.kinds = 1u << 5;
  CHECK_RC(ms_upload_grant_issue(&token, "secret", &claims), MS_E_INVALID_ARGUMENT);
  CHECK(strstr(ms_error_last(), "kinds") != NULL);
  claims.kinds = 1u << MS_KIND_PHOTO;
  claims.nonce = "not-hex";
  CHECK_RC(ms_upload_grant_issue(&token, "secret", &claims), MS_E_INVALID_ARGUMENT);
  claims.nonce = NULL;
  CHECK_RC(ms_upload_grant_issue(NULL, "secret", &claims), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_grant_issue(&token, "secret", NULL), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_grant_issue(&token, "secret", &claims), MS_OK);
  CHECK(token != NULL && strncmp(token, "msg1.", 5) == 0);
  if (token == NULL) return;

  /* Verified with the right secret only; an altered token is refused. */
  CHECK_RC(ms_upload_grant_verify(&g, "another secret", token), MS_E_AUTH_FAILED);
  CHECK(strstr(ms_error_last(), "upload grant") != NULL);
  CHECK(g == NULL);
  CHECK_RC(ms_upload_grant_verify(&g, "secret", NULL), MS_E_AUTH_FAILED);
  CHECK_RC(ms_upload_grant_verify(&g, "secret", "msg1.garbage"), MS_E_AUTH_FAILED);
  other = (char*)malloc(strlen(token) + 1);
  if (other) {
    strcpy(other, token);
    other[strlen(other) - 2] = other[strlen(other) - 2] == 'A' ? 'B' : 'A';
    CHECK_RC(ms_upload_grant_verify(&g, "secret", other), MS_E_AUTH_FAILED);
    free(other);
  }
  CHECK_RC(ms_upload_grant_verify(&g, "secret", token), MS_OK);
  CHECK(g != NULL);
  if (g == NULL) goto done;
  CHECK(g->context_count == 1 && strcmp(g->context_names[0], "keep_id") == 0 &&
        strcmp(g->context_values[0], "42") == 0);
  CHECK(g->max_bytes == 1000 && g->kinds == (1u << MS_KIND_PHOTO) && g->single_use == 1);
  CHECK(g->expires_at_ms / 1000 == claims.expires_at_ms / 1000);
  CHECK(g->nonce != NULL && strlen(g->nonce) == 32);

  /* What an upload asks for. */
  CHECK_RC(ms_upload_grant_check(g, names, values, 2, 999, MS_KIND_PHOTO), MS_OK);
  CHECK_RC(ms_upload_grant_check(g, names, values, 1, -1, -1), MS_OK);
  CHECK_RC(ms_upload_grant_check(g, names, other_values, 2, 10, MS_KIND_PHOTO), MS_E_PERMISSION_DENIED);
  CHECK_RC(ms_upload_grant_check(g, names + 1, values + 1, 1, 10, MS_KIND_PHOTO), MS_E_PERMISSION_DENIED);
  CHECK_RC(ms_upload_grant_check(g, names, values, 1, 1001, MS_KIND_PHOTO), MS_E_PERMISSION_DENIED);
  CHECK_RC(ms_upload_grant_check(g, names, values, 1, 10, MS_KIND_VIDEO), MS_E_PERMISSION_DENIED);
  CHECK_RC(ms_upload_grant_check(g, names, values, 1, -2, MS_KIND_PHOTO), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_grant_check(g, names, values, 1, 10, 7), MS_E_INVALID_ARGUMENT);
  CHECK_RC(ms_upload_grant_check(NULL, names, values, 1, 10, MS_KIND_PHOTO), MS_E_INVALID_ARGUMENT);

  /* Single use: consumed once, the second time refused as reused. */
  snprintf(spool, sizeof spool, "%s/../grant-spool", root);
  CHECK_RC(ms_config_new(&cfg), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MEDIA_ROOT", root), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MEDIA_SPOOL_DIR", spool), MS_OK);
  CHECK_RC(ms_uploads_open(&up, cfg, NULL), MS_OK);
  if (up != NULL) {
    CHECK_RC(ms_upload_grant_consume(up, g), MS_OK);
    CHECK_RC(ms_upload_grant_consume(up, g), MS_E_PERMISSION_DENIED);
    CHECK(strstr(ms_error_last(), "reused") != NULL);
    CHECK_RC(ms_upload_grant_consume(up, NULL), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_upload_grant_consume(NULL, g), MS_E_INVALID_ARGUMENT);
  }
done:
  ms_uploads_close(up);
  ms_config_free(cfg);
  ms_upload_grant_free(g);
  ms_upload_grant_free(NULL);
  ms_free(token);
}

/* Direct uploads through the C ABI on the local backend: the defaults, the
 * size limit before any plan, not_supported naming the alternatives, and
 * the completion of an unknown id. (Plans on S3 run in tests/python and
 * tests/direct against RGW.) */
static void test_direct(const char* root) {
  static const ms_direct_upload_request macro = MS_DIRECT_UPLOAD_REQUEST_INIT;
  ms_direct_upload_request req, from_init;
  ms_config* cfg = NULL;
  ms_uploads* up = NULL;
  ms_direct_upload* plan = NULL;
  ms_upload_status* st = NULL;
  char spool[700];
  int part = 1;
  const char* etag = "\"abc\"";

  memset(&from_init, 0xAB, sizeof from_init);
  CHECK_RC(ms_direct_upload_request_init(&from_init, MS_DIRECT_UPLOAD_REQUEST_VERSION), MS_OK);
  CHECK(memcmp(&macro, &from_init, sizeof macro) == 0);
  CHECK(from_init.expires_in_seconds == 3600 && from_init.media_kind == MS_KIND_PHOTO);
  CHECK_RC(ms_direct_upload_request_init(&from_init, 2), MS_E_INVALID_ARGUMENT);

  snprintf(spool, sizeof spool, "%s/../direct-spool", root);
  CHECK_RC(ms_config_new(&cfg), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MEDIA_ROOT", root), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MEDIA_SPOOL_DIR", spool), MS_OK);
  CHECK_RC(ms_config_set(cfg, "MAX_UPLOAD_SIZE", "1000"), MS_OK);
  CHECK_RC(ms_uploads_open(&up, cfg, NULL), MS_OK);
  if (up != NULL) {
    req = macro;
    req.original_filename = "IMG_1.jpg";
    req.size = 1001;
    CHECK_RC(ms_uploads_create_direct(&plan, up, &req), MS_E_TOO_LARGE);
    CHECK(plan == NULL);
    CHECK(strstr(ms_error_last(), "MAX_UPLOAD_SIZE") != NULL);
    req.size = 100;
    CHECK_RC(ms_uploads_create_direct(&plan, up, &req), MS_E_NOT_SUPPORTED);
    CHECK(plan == NULL);
    CHECK(strstr(ms_error_last(), "tus") != NULL);
    req.expires_in_seconds = 0;
    CHECK_RC(ms_uploads_create_direct(&plan, up, &req), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_uploads_create_direct(NULL, up, &req), MS_E_INVALID_ARGUMENT);
    CHECK_RC(ms_uploads_complete_direct(&st, up, "00000000-0000-4000-8000-000000000000", &part, &etag, 1, NULL),
             MS_E_NOT_FOUND);
    CHECK(st == NULL);
    CHECK_RC(ms_uploads_complete_direct(&st, up, "x", NULL, NULL, 1, NULL), MS_E_INVALID_ARGUMENT);
    ms_direct_upload_free(NULL);
    ms_uploads_close(up);
  }
  ms_config_free(cfg);
}

int main(int argc, char** argv) {
  char root[600];
  char tmpl[512];
  ms_store* store;
  struct log_capture cap = {0, 0, 0};
  const char* base = argc > 1 ? argv[1] : "/tmp";

  mkdir(base, 0700);
  snprintf(tmpl, sizeof tmpl, "%s/c_abi_XXXXXX", base);
  if (mkdtemp(tmpl) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  snprintf(root, sizeof root, "%s/media", tmpl);

  test_errors();
  test_struct_init();
  test_config(root);
  test_logging();

  /* Everything below runs with a trace-level callback installed. */
  CHECK_RC(ms_log_set_callback(on_log, MS_LOG_TRACE, &cap), MS_OK);
  store = open_store(root);
  CHECK(store != NULL);
  if (store) {
    test_hostile(store);
    test_storage(store, root);
    test_put_sha256(store, root);
    test_media(root);
    test_media_process(root);
    test_uploads(root);
    test_grants(root);
    test_direct(root);
    test_more_storage(root);
    ms_store_close(store);
  }
  CHECK_RC(ms_log_set_callback(NULL, MS_LOG_WARN, NULL), MS_OK);
  CHECK(cap.bad == 0);

  printf("c_abi_test: %d checks, %d failures (%d log records)\n", g_checks, g_failures, cap.records);
  return g_failures == 0 ? 0 : 1;
}
