# The temporary-credential sources (web identity, container endpoint, IMDSv2)
# and their refresh, against a protocol server of the test's own
# (credential_server.py on 127.0.0.1, a free port per test case).
add_executable(credential_providers_test ${CMAKE_CURRENT_LIST_DIR}/credential_providers_test.cpp
  $<TARGET_OBJECTS:ms_doctest_main>)
ms_link_parts(credential_providers_test s3)
target_include_directories(credential_providers_test PRIVATE ${NLOHMANN_JSON_INCLUDE_DIR})
add_test(NAME credentials.providers COMMAND credential_providers_test)
set_tests_properties(credentials.providers PROPERTIES LABELS credentials TIMEOUT 300
  ENVIRONMENT "MS_TEST_PYTHON=/usr/bin/python3;MS_CRED_SERVER=${CMAKE_CURRENT_LIST_DIR}/credential_server.py")
