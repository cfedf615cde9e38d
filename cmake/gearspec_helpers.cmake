# Small helpers shared by every component folder.

# Warnings for our own targets only (third-party headers stay quiet).
function(gearspec_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align)
  if(GEARSPEC_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(GEARSPEC_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # g++ 12 with ASan reports maybe-uninitialized inside libstdc++'s <regex> and <functional>
    # (false positives in system headers instantiated in our code).
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    # It also pairs Asio's coroutine frame allocation (a recycling ::operator new) with the frame's
    # own operator delete and calls them mismatched (-Wmismatched-new-delete; a false positive).
    target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
  endif()
endfunction()

# gearspec_library(name SOURCES ...): a static library rooted at the repository so that includes
# read "harness/wire/decoder.hpp".
function(gearspec_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
                                            $<INSTALL_INTERFACE:include>)
  gearspec_warnings(${name})
endfunction()

# gearspec_test(name LABEL label SOURCES ... LIBS ...): one GoogleTest executable, its tests
# registered with ctest individually.
function(gearspec_test name)
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest_main GTest::gmock)
  gearspec_warnings(${name})
  include(GoogleTest)
  gtest_discover_tests(${name} PROPERTIES LABELS ${ARG_LABEL} DISCOVERY_TIMEOUT 60)
endfunction()
