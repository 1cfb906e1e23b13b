# Consumer tests: install this build into a scratch prefix, then build a tiny
# program against it through find_package(mediastore) and through pkg-config.
set(ms_consumer_prefix ${CMAKE_BINARY_DIR}/consumer-prefix)
set(ms_consumer_script ${CMAKE_CURRENT_LIST_DIR}/consumer_test.sh)
add_test(NAME consumer.install COMMAND bash ${ms_consumer_script} install ${CMAKE_BINARY_DIR} ${ms_consumer_prefix})
add_test(NAME consumer.find_package
  COMMAND bash ${ms_consumer_script} cmake ${ms_consumer_prefix} ${CMAKE_BINARY_DIR}/consumer-cmake
          ${CMAKE_CXX_COMPILER} ${CMAKE_CURRENT_LIST_DIR})
add_test(NAME consumer.pkgconfig
  COMMAND bash ${ms_consumer_script} pkgconfig ${ms_consumer_prefix} ${CMAKE_BINARY_DIR}/consumer-pkgconfig
          ${CMAKE_CXX_COMPILER} ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_INSTALL_LIBDIR})
set_tests_properties(consumer.install PROPERTIES FIXTURES_SETUP consumer_prefix LABELS consumer TIMEOUT 120)
add_test(NAME consumer.readme_example
  COMMAND bash ${ms_consumer_script} readme ${ms_consumer_prefix} ${CMAKE_BINARY_DIR}/consumer-readme
          ${CMAKE_CXX_COMPILER} ${PROJECT_SOURCE_DIR}/README.md ${CMAKE_INSTALL_LIBDIR})
set_tests_properties(consumer.find_package consumer.pkgconfig consumer.readme_example PROPERTIES FIXTURES_REQUIRED consumer_prefix
  LABELS consumer TIMEOUT 300)
