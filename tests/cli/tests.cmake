# The mediastore tool: shell scripts driving build/bin/mediastore.
if(NOT TARGET mediastore_cli)
  return()
endif()
add_test(NAME cli.storage
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/storage_cli_test.sh $<TARGET_FILE:mediastore_cli> ${CMAKE_BINARY_DIR}/cli-storage-scratch)
set_tests_properties(cli.storage PROPERTIES LABELS cli TIMEOUT 120)
