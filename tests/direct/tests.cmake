# Direct uploads (the client sends the bytes straight to the store):
#   direct.storage   presigned plans against Ceph RGW (fixture rgw): length,
#                    expiry and checksums enforced by RGW, multipart plans
#                    completed with the client's ETags, refusals
set(MS_DIRECT_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
add_executable(direct_storage_test ${MS_DIRECT_TEST_DIR}/direct_storage_test.cpp $<TARGET_OBJECTS:ms_doctest_main>)
ms_link_parts(direct_storage_test storage)
add_test(NAME direct.storage COMMAND direct_storage_test)
set_tests_properties(direct.storage PROPERTIES FIXTURES_REQUIRED rgw LABELS "integration;rgw" TIMEOUT 300
  ENVIRONMENT "${MS_RGW_ENV};MINIO_BUCKET_NAME=ms-direct")

#   direct.cli       `mediastore upload --direct` (plan, PUTs from the tool,
#                    completion) with a separate `mediastore worker` on
#                    RGW + Redis (fixtures rgw, redis)
if(TARGET mediastore_cli)
  add_test(NAME direct.cli COMMAND ${MS_DIRECT_TEST_DIR}/cli_direct_test.sh $<TARGET_FILE:mediastore_cli>
    ${PROJECT_SOURCE_DIR}/tests/queue/data /usr/bin/python3)
  set_tests_properties(direct.cli PROPERTIES FIXTURES_REQUIRED "rgw;redis" LABELS "integration;rgw" TIMEOUT 300
    ENVIRONMENT "${MS_RGW_ENV};MS_REDIS_URL=${MS_REDIS_URL}")
endif()
