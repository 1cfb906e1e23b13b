# `mediastore serve` with real clients (tests/serve/serve_test.py): curl,
# http.client and raw sockets against the server on the local backend, and
# the upload path on RGW. Ports: MS_SERVE_PORT and MS_SERVE_PORT + 1.
if(NOT TARGET mediastore_cli)
  return()
endif()
set(MS_SERVE_PORT 7690 CACHE STRING "First of the two ports the serve tests listen on")
math(EXPR ms_serve_rgw_port "${MS_SERVE_PORT} + 1")
find_program(MS_SYSTEM_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
add_test(NAME serve.local
  COMMAND ${MS_SYSTEM_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/serve_test.py $<TARGET_FILE:mediastore_cli>
          ${CMAKE_BINARY_DIR}/serve-local-scratch ${MS_SERVE_PORT})
set_tests_properties(serve.local PROPERTIES LABELS serve TIMEOUT 120)
add_test(NAME serve.rgw
  COMMAND ${CMAKE_COMMAND} -E env ${MS_RGW_ENV}
          ${MS_SYSTEM_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/serve_test.py $<TARGET_FILE:mediastore_cli>
          ${CMAKE_BINARY_DIR}/serve-rgw-scratch ${ms_serve_rgw_port} rgw)
set_tests_properties(serve.rgw PROPERTIES LABELS "serve;integration" TIMEOUT 120 FIXTURES_REQUIRED rgw)
