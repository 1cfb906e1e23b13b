# The storage behaviour suite: one binary, the backend chosen purely by the
# environment. behaviour.local runs it on a fresh MEDIA_ROOT; the S3 backend
# registers behaviour.rgw with the same binary and ${MS_RGW_ENV}.
add_executable(behaviour_storage ${CMAKE_CURRENT_LIST_DIR}/storage_behaviour_test.cpp $<TARGET_OBJECTS:ms_doctest_main>)
ms_link_parts(behaviour_storage storage)

set(MS_BEHAVIOUR_LOCAL_ROOT ${CMAKE_BINARY_DIR}/behaviour-local-root)
add_test(NAME behaviour.local
  COMMAND sh -c "rm -rf \"$1\" && exec env MEDIA_STORAGE_BACKEND=local MEDIA_ROOT=\"$1\" \"$2\"" behaviour-local
          ${MS_BEHAVIOUR_LOCAL_ROOT} $<TARGET_FILE:behaviour_storage>)
set_tests_properties(behaviour.local PROPERTIES LABELS behaviour TIMEOUT 600)
