# Comparisons with reference implementations that run under node (Debian's
# nodejs): the npm packages come from tests/js/package-lock.json, installed
# into tests/js/node_modules by scripts/install-npm.sh (the npm.install
# fixture runs it once per ctest run; it does nothing when up to date).
find_program(MS_NODE node)
if(NOT MS_NODE)
  set(MS_NODE node)  # the test then fails, saying so
endif()

add_test(NAME npm.install COMMAND ${PROJECT_SOURCE_DIR}/scripts/install-npm.sh)
set_tests_properties(npm.install PROPERTIES FIXTURES_SETUP npm TIMEOUT 300)

add_executable(js_thumbhash_reference ${CMAKE_CURRENT_LIST_DIR}/thumbhash_reference_test.cpp
  $<TARGET_OBJECTS:ms_doctest_main>)
ms_link_parts(js_thumbhash_reference media)
target_compile_definitions(js_thumbhash_reference PRIVATE MS_JS_DIR="${CMAKE_CURRENT_LIST_DIR}" MS_NODE="${MS_NODE}")
add_test(NAME js.thumbhash_reference COMMAND js_thumbhash_reference)
set_tests_properties(js.thumbhash_reference PROPERTIES FIXTURES_REQUIRED npm LABELS js TIMEOUT 300)
