/* Compiled alone as C99/C11 and as C++ with -Wall -Wextra -pedantic -Werror
 * (tests/c_abi/tests.cmake): the public C header must need nothing else. */
#include "mediastore/mediastore.h"
#include "mediastore/mediastore.h" /* the include guard works */

static void on_log(const ms_log_record* record, void* payload) {
  (void)record;
  (void)payload;
}

int main(void) {
  ms_put_options put = MS_PUT_OPTIONS_INIT;
  ms_list_options list = MS_LIST_OPTIONS_INIT;
  ms_validation_options validation = MS_VALIDATION_OPTIONS_INIT;
  ms_upload_options upload = MS_UPLOAD_OPTIONS_INIT;
  ms_upload_request request = MS_UPLOAD_REQUEST_INIT;
  ms_worker_options worker = MS_WORKER_OPTIONS_INIT;
  ms_direct_upload_request direct = MS_DIRECT_UPLOAD_REQUEST_INIT;
  ms_thumbnail_spec spec = {"small", 150, 150, MS_FIT_INSIDE, 85, 0};
  ms_log_fn fn = on_log;
  (void)put;
  (void)list;
  (void)validation;
  (void)upload;
  (void)request;
  (void)worker;
  (void)direct;
  (void)spec;
  (void)fn;
  return MS_OK;
}
