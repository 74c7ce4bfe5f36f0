# holdfast_add_test(<name> LABEL <unit|protocol|integration|crash> SOURCES ...
#                   [LIBS ...] [TIMEOUT s] [WHOLE])
#
# Tests live beside the code they test (foo.cpp, foo_test.cpp). Each call
# builds one Catch2 executable labelled for its layer, so each layer runs
# alone: `ctest -L unit`, `ctest -L integration`. By default every TEST_CASE
# becomes its own CTest test; WHOLE registers the executable as one test (for
# suites that start a real server once for all their cases).
find_package(Catch2 2 REQUIRED)
include(Catch)

function(holdfast_add_test name)
  cmake_parse_arguments(T "WHOLE" "LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_LABEL)
    message(FATAL_ERROR "holdfast_add_test(${name}): LABEL is required")
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  # catch_discover_tests splits a test name at ';' (a CMake list separator)
  # into names that match no test case: the binary runs nothing, exits 0,
  # and both halves show as passed. Refuse such names here.
  if(NOT T_WHOLE)
    foreach(source IN LISTS T_SOURCES)
      cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}")
      file(STRINGS "${source}" bad REGEX "TEST_CASE\\(\"[^\"]*;")
      if(bad)
        message(FATAL_ERROR "${source}: a TEST_CASE name contains ';', which CTest cannot run; use ','")
      endif()
    endforeach()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE holdfast_test_support ${T_LIBS} holdfast_warnings)
  if(T_WHOLE)
    add_test(NAME "${T_LABEL}:${name}" COMMAND ${name})
    set_tests_properties("${T_LABEL}:${name}" PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  else()
    catch_discover_tests(${name}
      TEST_PREFIX "${T_LABEL}:"
      PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  endif()
endfunction()
