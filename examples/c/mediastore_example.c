/* mediastore C example: store a file, read it back, list, get a URL, and
 * log to stderr.
 *
 *   mediastore_c_example [MEDIA_ROOT]
 *
 * Without an argument the configuration comes from the environment
 * (MEDIA_STORAGE_BACKEND, MEDIA_ROOT, MINIO_*, AWS_*, ...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mediastore/mediastore.h"

static void on_log(const ms_log_record* rec, void* payload) {
  size_t i;
  FILE* out = (FILE*)payload;
  fprintf(out, "[%s] %s: %s", ms_log_level_name(rec->level), rec->component, rec->message);
  for (i = 0; i < rec->field_count; ++i) fprintf(out, " %s=%s", rec->fields[i].name, rec->fields[i].value);
  fputc('\n', out);
}

static int fail(const char* what, int rc) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, ms_strerror(rc), ms_error_last());
  return 1;
}

int main(int argc, char** argv) {
  ms_config* config = NULL;
  ms_store* store = NULL;
  ms_put_options put = MS_PUT_OPTIONS_INIT;
  ms_list_options list = MS_LIST_OPTIONS_INIT;
  ms_list_page* page = NULL;
  void* data = NULL;
  size_t len = 0, i;
  char* url = NULL;
  int rc;
  static const char text[] = "Hello from C!\n";

  ms_log_set_callback(on_log, MS_LOG_INFO, stderr);

  if (argc > 1) {
    if ((rc = ms_config_new(&config)) != MS_OK) return fail("ms_config_new", rc);
    if ((rc = ms_config_set(config, "MEDIA_ROOT", argv[1])) != MS_OK) return fail("ms_config_set", rc);
  } else if ((rc = ms_config_from_env(&config)) != MS_OK) {
    return fail("ms_config_from_env", rc);
  }
  if ((rc = ms_store_open(&store, config)) != MS_OK) return fail("ms_store_open", rc);

  put.content_type = "text/plain";
  if ((rc = ms_store_put(store, "examples/hello.txt", text, strlen(text), &put)) != MS_OK)
    return fail("ms_store_put", rc);
  if ((rc = ms_store_get(&data, &len, store, "examples/hello.txt", 0, MS_TO_END)) != MS_OK)
    return fail("ms_store_get", rc);
  printf("read %u bytes: %.*s", (unsigned)len, (int)len, (const char*)data);
  ms_free(data);

  list.prefix = "examples/";
  if ((rc = ms_store_list(&page, store, &list)) != MS_OK) return fail("ms_store_list", rc);
  for (i = 0; i < page->object_count; ++i)
    printf("listed %s (%llu bytes)\n", page->objects[i].key, (unsigned long long)page->objects[i].size);
  ms_list_page_free(page);

  if ((rc = ms_store_url(&url, store, "examples/hello.txt", 3600)) != MS_OK) return fail("ms_store_url", rc);
  printf("url: %s\n", url);
  ms_free(url);

  /* A missing object is an error code with a message naming the key. */
  rc = ms_store_get(&data, &len, store, "examples/missing.txt", 0, MS_TO_END);
  printf("missing object: %s (%s)\n", ms_strerror(rc), ms_error_last());

  if ((rc = ms_store_remove(store, "examples/hello.txt")) != MS_OK) return fail("ms_store_remove", rc);
  ms_store_close(store);
  ms_config_free(config);
  ms_log_set_callback(NULL, MS_LOG_WARN, NULL);
  return rc == MS_OK ? 0 : 1;
}
