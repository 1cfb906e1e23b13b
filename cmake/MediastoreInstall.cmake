# Install rules, CMake package config (find_package(mediastore) ->
# mediastore::mediastore, mediastore::mediastore_c) and mediastore.pc.
include(CMakePackageConfigHelpers)

set(ms_install_targets mediastore)
if(TARGET mediastore_c)
  list(APPEND ms_install_targets mediastore_c)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/capi/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()
install(TARGETS ${ms_install_targets} EXPORT mediastoreTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mediastore DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET mediastore_cli)
  install(TARGETS mediastore_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT mediastoreTargets NAMESPACE mediastore:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mediastore)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mediastoreConfig.cmake.in
  ${CMAKE_BINARY_DIR}/mediastoreConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mediastore)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/mediastoreConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/mediastoreConfig.cmake ${CMAKE_BINARY_DIR}/mediastoreConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mediastore)

# The .pc file finds its prefix relative to itself, so that an install to
# another prefix (cmake --install --prefix DIR, packaging) stays correct.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(MEDIASTORE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH ms_pc_up "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" ms_pc_up "${ms_pc_up}")
  set(MEDIASTORE_PC_PREFIX "\${pcfiledir}/${ms_pc_up}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/mediastore.pc.in ${CMAKE_BINARY_DIR}/mediastore.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/mediastore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
