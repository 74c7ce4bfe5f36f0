# HOLDFAST_SANITIZE=address,undefined or thread: applied to everything built here.
# scripts/test-all.sh builds and runs both in CI (steps asan and tsan); the
# runtime options that make every report fail the test are set there.
if(HOLDFAST_SANITIZE)
  add_compile_options(-fsanitize=${HOLDFAST_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${HOLDFAST_SANITIZE})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12's flow analysis of instrumented code reports "may be used
    # uninitialized" inside libstdc++ (std::function moved into std::regex's
    # automaton) that the plain build does not see; the plain CI build keeps
    # the warning as an error for our code.
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()
