# `cmake --install`: the programs, the libraries with their public headers, and a CMake
# package, so that another project can `find_package(gearspec)` and link gearspec::wire (the
# codec), gearspec::engine (scenarios and reports) or gearspec::targets (the embedded reference
# server as a target). tests/install builds such a consumer against an installed tree.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(gearspec_libraries gearspec_command_line gearspec_wire gearspec_net gearspec_scenario
    gearspec_engine gearspec_refcore gearspec_refstore gearspec_refserver gearspec_targets)
foreach(lib IN LISTS gearspec_libraries)
  string(REPLACE "gearspec_" "" short ${lib})
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${short})
endforeach()

install(TARGETS gearspec gearspec-server gearspec-bench gearspec-soak gearspec-agent
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${gearspec_libraries} EXPORT gearspecTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Headers keep their repository paths: #include "harness/wire/decoder.hpp".
foreach(dir harness/common harness/wire harness/net harness/scenario harness/engine harness/targets
            reference-server/core reference-server/persistence reference-server/server)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${dir}
          FILES_MATCHING PATTERN "*.hpp")
endforeach()

install(EXPORT gearspecTargets NAMESPACE gearspec:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gearspec)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gearspecConfig.cmake.in
  ${PROJECT_BINARY_DIR}/gearspecConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gearspec)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gearspecConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gearspecConfig.cmake ${PROJECT_BINARY_DIR}/gearspecConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gearspec)
# The suite and its catalog, so an installed gearspec can run it: share/gearspec.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/scenarios ${PROJECT_SOURCE_DIR}/profiles
        DESTINATION ${CMAKE_INSTALL_DATADIR}/gearspec)
install(FILES ${PROJECT_SOURCE_DIR}/docs/requirements.md DESTINATION ${CMAKE_INSTALL_DATADIR}/gearspec/docs)
# The client-library cases, expectations and script adapters (gearspec clients looks in
# share/gearspec/clients/cases); compiled adapters stay in the build tree, as they pull in the
# library they test.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/clients/cases ${PROJECT_SOURCE_DIR}/clients/expectations
        DESTINATION ${CMAKE_INSTALL_DATADIR}/gearspec/clients)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/clients/adapters/perl/adapter.pl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/gearspec/clients/adapters/perl)
