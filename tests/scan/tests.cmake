# Virus scanning against a real clamd:
#   scan.clamd        the INSTREAM client on the fixture `clamd` (scripts/clamd.sh,
#                     TCP and Unix socket) with its own signature database:
#                     EICAR, EICAR appended to a JPEG and inside a ZIP,
#                     clamav-testfiles' clam.exe, clean photos, the limits;
#                     plus a private clamd stopped and started again
set(MS_SCAN_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
add_executable(scan_clamd_test ${MS_SCAN_TEST_DIR}/scan_clamd_test.cpp $<TARGET_OBJECTS:ms_doctest_main>)
ms_link_parts(scan_clamd_test scan)
add_test(NAME scan.clamd COMMAND scan_clamd_test)
set_tests_properties(scan.clamd PROPERTIES FIXTURES_REQUIRED clamd LABELS integration TIMEOUT 120
  ENVIRONMENT "MS_CLAMD_TCP_URL=${MS_CLAMD_TCP_URL};MS_CLAMD_UNIX_URL=${MS_CLAMD_UNIX_URL};MS_CLAMD_SCRIPT=${PROJECT_SOURCE_DIR}/scripts/clamd.sh;MS_CLAMD_PRIVATE_DIR=${MS_TEST_SERVERS_DIR}/clamd-private;MS_TEST_PHOTO=${PROJECT_SOURCE_DIR}/tests/queue/data/photo.jpg")

#   scan.upload       uploads through the scan stage: clean, EICAR, clam.exe,
#                     over the stream limit, a private clamd stopped and started
#                     mid-run (uploads retry, then complete), a stalling fake clamd
add_executable(upload_scan_test ${MS_SCAN_TEST_DIR}/upload_scan_test.cpp $<TARGET_OBJECTS:ms_doctest_main>)
ms_link_parts(upload_scan_test upload)
add_test(NAME scan.upload COMMAND upload_scan_test)
set_tests_properties(scan.upload PROPERTIES FIXTURES_REQUIRED clamd LABELS integration TIMEOUT 120
  ENVIRONMENT "MS_CLAMD_TCP_URL=${MS_CLAMD_TCP_URL};MS_CLAMD_UNIX_URL=${MS_CLAMD_UNIX_URL};MS_CLAMD_SCRIPT=${PROJECT_SOURCE_DIR}/scripts/clamd.sh;MS_CLAMD_PRIVATE_DIR=${MS_TEST_SERVERS_DIR}/clamd-private;MS_TEST_PHOTO=${PROJECT_SOURCE_DIR}/tests/queue/data/photo.jpg")
