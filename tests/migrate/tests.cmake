# Migration between backends (issue 7). The unit tests (local -> local) are in
# tests/unit/storage/migrate_test.cpp; here:
#   migrate.rgw   5000 small objects local -> RGW with build/bin/mediastore
#                 migrate, a SIGKILL and a SIGINT in the middle, restarts;
#                 then every object must be present once, byte-identical,
#                 with metadata (library and boto3). Needs the rgw fixture.
add_executable(migrate_fixture ${CMAKE_CURRENT_LIST_DIR}/migrate_fixture.cpp)
ms_link_parts(migrate_fixture storage)

if(TARGET mediastore_cli)
  add_test(NAME migrate.rgw COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/migrate_rgw_test.py)
  set_tests_properties(migrate.rgw PROPERTIES FIXTURES_REQUIRED rgw LABELS "integration;rgw" TIMEOUT 300
    ENVIRONMENT "MS_CLI=$<TARGET_FILE:mediastore_cli>;MS_MIGRATE_FIXTURE=$<TARGET_FILE:migrate_fixture>;MS_RGW_ENDPOINT=${MS_RGW_ENDPOINT};MS_RGW_ACCESS_KEY=${MS_RGW_ACCESS_KEY};MS_RGW_SECRET_KEY=${MS_RGW_SECRET_KEY}")
endif()
