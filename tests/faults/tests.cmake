# Fault injection between the S3 client and a real RGW (issue 3): a proxy of
# our own (fault_proxy.cpp) breaks requests and responses on purpose, and the
# doctest program checks that every call ends cleanly and nothing damaged is
# stored. Needs the rgw fixture.
add_executable(s3_faults_test ${CMAKE_CURRENT_LIST_DIR}/s3_faults_test.cpp ${CMAKE_CURRENT_LIST_DIR}/fault_proxy.cpp
  $<TARGET_OBJECTS:ms_doctest_main>)
ms_link_parts(s3_faults_test storage)
add_test(NAME faults.s3 COMMAND s3_faults_test)
set_tests_properties(faults.s3 PROPERTIES FIXTURES_REQUIRED rgw LABELS "faults;rgw" TIMEOUT 240
  ENVIRONMENT "${MS_RGW_ENV}")
