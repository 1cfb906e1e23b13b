# C ABI tests: a plain C program over libmediastore_c, the header compiled
# alone in C and C++ with -pedantic, the struct-init check (inside the C
# program) and the exported-symbol list.
if(NOT TARGET mediastore_c)
  return()
endif()

set(ms_c_strict -Wall -Wextra -pedantic -Werror)

add_executable(c_abi_test ${CMAKE_CURRENT_LIST_DIR}/c_abi_test.c)
set_target_properties(c_abi_test PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(c_abi_test PRIVATE ${ms_c_strict})
target_link_libraries(c_abi_test PRIVATE mediastore_c)
add_test(NAME c_abi.program COMMAND c_abi_test ${CMAKE_CURRENT_BINARY_DIR}/c_abi-scratch)
set_tests_properties(c_abi.program PROPERTIES LABELS c_abi)

# The header alone, with every compiler at hand, as C and as C++.
set(ms_header_src ${CMAKE_CURRENT_LIST_DIR}/header_test.c)
set(ms_header_inc -I${PROJECT_SOURCE_DIR}/capi/include)
find_program(MS_CLANG_EXE NAMES clang clang-14)
find_program(MS_CLANGXX_EXE NAMES clang++ clang++-14)
foreach(std c99 c11)
  add_test(NAME c_abi.header.cc.${std}
    COMMAND ${CMAKE_C_COMPILER} -std=${std} ${ms_c_strict} -fsyntax-only ${ms_header_inc} -x c ${ms_header_src})
  if(MS_CLANG_EXE)
    add_test(NAME c_abi.header.clang.${std}
      COMMAND ${MS_CLANG_EXE} -std=${std} ${ms_c_strict} -fsyntax-only ${ms_header_inc} -x c ${ms_header_src})
  endif()
endforeach()
foreach(std c++11 c++17 c++20)
  add_test(NAME c_abi.header.cxx.${std}
    COMMAND ${CMAKE_CXX_COMPILER} -std=${std} ${ms_c_strict} -fsyntax-only ${ms_header_inc} -x c++ ${ms_header_src})
  if(MS_CLANGXX_EXE)
    add_test(NAME c_abi.header.clangxx.${std}
      COMMAND ${MS_CLANGXX_EXE} -std=${std} ${ms_c_strict} -fsyntax-only ${ms_header_inc} -x c++ ${ms_header_src})
  endif()
endforeach()

# Exported symbols == the committed list.
add_test(NAME c_abi.exported_symbols
  COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DLIB=$<TARGET_FILE:mediastore_c>
    -DEXPECTED=${PROJECT_SOURCE_DIR}/capi/exported_symbols.txt -P ${CMAKE_CURRENT_LIST_DIR}/check_symbols.cmake)
# The SONAME carries the ABI major version.
add_test(NAME c_abi.soname
  COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C sh -c "objdump -p \"$1\" | grep -q 'SONAME *libmediastore_c.so.0$'" sh
    $<TARGET_FILE:mediastore_c>)

# The plain C example (examples/c) runs against the local backend.
if(TARGET mediastore_c_example)
  add_test(NAME c_abi.example COMMAND mediastore_c_example ${CMAKE_CURRENT_BINARY_DIR}/c_abi-example-media)
endif()

# The C test under valgrind: no invalid access, no leak in the translation
# layer's allocations (structs, strings, lists).
find_program(MS_VALGRIND_EXE valgrind)
if(MS_VALGRIND_EXE)
  add_test(NAME c_abi.program.valgrind
    COMMAND ${MS_VALGRIND_EXE} --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9
      $<TARGET_FILE:c_abi_test> ${CMAKE_CURRENT_BINARY_DIR}/c_abi-scratch-valgrind)
  set_tests_properties(c_abi.program.valgrind PROPERTIES LABELS c_abi TIMEOUT 300)
endif()
