# Real storage outages during uploads (issue 5): a private Ceph RGW whose
# radosgw process is stopped, frozen and restarted while an UploadService with
# a Worker uploads real photos into it.
#   server.rgw-outage.start / .stop   fixture rgw-outage: its own cluster on its
#                                     own port (the shared `rgw` fixture's
#                                     gateway is never touched)
#   outage.rgw                        the doctest program upload_outage_test
set(MS_RGW_OUTAGE_DIR ${MS_TEST_SERVERS_DIR}/rgw-outage)
math(EXPR ms_rgw_outage_default_port "${MS_RGW_PORT} + 30")
set(MS_RGW_OUTAGE_PORT ${ms_rgw_outage_default_port} CACHE STRING "Port of the private RGW of the outage test")

if(EXISTS ${PROJECT_SOURCE_DIR}/scripts/rgw.sh)
  add_test(NAME server.rgw-outage.start COMMAND ${PROJECT_SOURCE_DIR}/scripts/rgw.sh start ${MS_RGW_OUTAGE_DIR}
    ${MS_RGW_OUTAGE_PORT} ${MS_RGW_ACCESS_KEY} ${MS_RGW_SECRET_KEY})
  add_test(NAME server.rgw-outage.stop COMMAND ${PROJECT_SOURCE_DIR}/scripts/rgw.sh stop ${MS_RGW_OUTAGE_DIR})
  set_tests_properties(server.rgw-outage.start PROPERTIES FIXTURES_SETUP rgw-outage TIMEOUT 300)
  set_tests_properties(server.rgw-outage.stop PROPERTIES FIXTURES_CLEANUP rgw-outage)

  add_executable(upload_outage_test ${CMAKE_CURRENT_LIST_DIR}/upload_outage_test.cpp $<TARGET_OBJECTS:ms_doctest_main>)
  ms_link_parts(upload_outage_test upload)
  add_test(NAME outage.rgw COMMAND upload_outage_test)
  set_tests_properties(outage.rgw PROPERTIES FIXTURES_REQUIRED rgw-outage LABELS "integration;rgw" TIMEOUT 240
    ENVIRONMENT
    "MS_RGW_SCRIPT=${PROJECT_SOURCE_DIR}/scripts/rgw.sh;MS_OUTAGE_RGW_DIR=${MS_RGW_OUTAGE_DIR};MS_OUTAGE_RGW_PORT=${MS_RGW_OUTAGE_PORT};MS_OUTAGE_ACCESS_KEY=${MS_RGW_ACCESS_KEY};MS_OUTAGE_SECRET_KEY=${MS_RGW_SECRET_KEY};MS_OUTAGE_PHOTOS=/usr/share/backgrounds;MS_OUTAGE_PHOTO=${PROJECT_SOURCE_DIR}/tests/queue/data/photo.jpg")
endif()
