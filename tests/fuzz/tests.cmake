# libFuzzer targets: tests/fuzz/fuzz_<part>_<what>.cpp, each defining
# LLVMFuzzerTestOneInput and linked against <part>. Seeds and every crash
# found live in tests/fuzz/corpus/<part>_<what>/ and are replayed first.
#
# Built in the clang sanitizer build (MEDIASTORE_FUZZ=ON); the main build
# runs them briefly through MEDIASTORE_ASAN_DIR.
set(MS_FUZZ_SECONDS 15 CACHE STRING "Seconds each fuzzer runs in the test command")
file(GLOB ms_fuzz_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/fuzz_*.cpp)
foreach(src IN LISTS ms_fuzz_sources)
  get_filename_component(name ${src} NAME_WE)       # fuzz_media_sniff
  string(REGEX REPLACE "^fuzz_([a-z0-9]+)_.*" "\\1" part ${name})
  string(REGEX REPLACE "^fuzz_" "" corpus ${name})   # media_sniff
  if(MEDIASTORE_FUZZ)
    add_executable(${name} ${src})
    ms_link_parts(${name} ${part})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  endif()
  if(MEDIASTORE_ASAN_DIR AND NOT MEDIASTORE_SANITIZE)
    set(corpus_dir ${CMAKE_CURRENT_LIST_DIR}/corpus/${corpus})
    set(work_dir ${CMAKE_BINARY_DIR}/fuzz-work/${corpus})
    add_test(NAME fuzz.${corpus}
      COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1
              ${PROJECT_SOURCE_DIR}/scripts/run-fuzzer.sh ${MEDIASTORE_ASAN_DIR}/bin/${name} ${corpus_dir} ${work_dir} ${MS_FUZZ_SECONDS})
    set_tests_properties(fuzz.${corpus} PROPERTIES LABELS fuzz TIMEOUT 300)
  endif()
endforeach()
