# Integration tests against the Ceph RGW test server (fixture rgw, started by
# scripts/rgw.sh): the storage behaviour suite on the S3 backend, and the S3
# client's own checks (auth, timeouts, presigned URLs with curl, multipart,
# boto3 interop).
if(TARGET behaviour_storage)
  add_test(NAME behaviour.rgw COMMAND behaviour_storage)
  set_tests_properties(behaviour.rgw PROPERTIES FIXTURES_REQUIRED rgw LABELS "behaviour;rgw" TIMEOUT 600
    ENVIRONMENT "${MS_RGW_ENV};MINIO_BUCKET_NAME=ms-behaviour")
endif()

file(GLOB ms_s3_integration_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/s3_*_test.cpp)
if(ms_s3_integration_sources)
  add_executable(s3_integration_test ${ms_s3_integration_sources} $<TARGET_OBJECTS:ms_doctest_main>)
  ms_link_parts(s3_integration_test storage)
  target_include_directories(s3_integration_test PRIVATE ${NLOHMANN_JSON_INCLUDE_DIR})
  add_test(NAME integration.s3 COMMAND s3_integration_test)
  set_tests_properties(integration.s3 PROPERTIES FIXTURES_REQUIRED rgw LABELS "integration;rgw" TIMEOUT 600
    ENVIRONMENT "${MS_RGW_ENV};MINIO_BUCKET_NAME=ms-s3-integration;MS_TEST_CURL=/usr/bin/curl;MS_TEST_PYTHON=/usr/bin/python3;MS_TEST_BOTO3_SCRIPT=${CMAKE_CURRENT_LIST_DIR}/s3_boto3.py")
endif()

# Issue 8: every line the CLI logs at trace level against RGW is free of secrets.
if(TARGET mediastore_cli)
  add_test(NAME integration.cli_log_secrets COMMAND ${CMAKE_CURRENT_LIST_DIR}/cli_log_secrets.sh $<TARGET_FILE:mediastore_cli>)
  set_tests_properties(integration.cli_log_secrets PROPERTIES FIXTURES_REQUIRED rgw LABELS "integration;rgw" TIMEOUT 300
    ENVIRONMENT "${MS_RGW_ENV}")
endif()
