# HOLDFAST_FUZZ=ON: the libFuzzer targets of tests/fuzz (clang only).
#
#   CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DHOLDFAST_FUZZ=ON
#   cmake --build build-fuzz --target holdfast_fuzzers
#   tests/fuzz/run.sh            (builds and runs every target for a while)
#
# Everything is compiled with coverage instrumentation for libFuzzer
# (fuzzer-no-link) and with ASan+UBSan, so that a memory error, undefined
# behaviour or a leak found by a target is a crash with an input to replay.
# Only the fuzz targets link libFuzzer's main (holdfast_add_fuzzer).
if(HOLDFAST_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "HOLDFAST_FUZZ needs clang (libFuzzer): configure with CXX=clang++-14")
  endif()
  if(HOLDFAST_SANITIZE)
    message(FATAL_ERROR "HOLDFAST_FUZZ chooses its own sanitizers; leave HOLDFAST_SANITIZE empty")
  endif()
  set(_hf_fuzz_sanitizers address,undefined)
  add_compile_options(-fsanitize=fuzzer-no-link,${_hf_fuzz_sanitizers} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_hf_fuzz_sanitizers})
  add_custom_target(holdfast_fuzzers)
endif()

# holdfast_add_fuzzer(<name> SOURCES ... LIBS ...): one libFuzzer executable,
# added to the holdfast_fuzzers target.
function(holdfast_add_fuzzer name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${F_SOURCES})
  target_link_libraries(${name} PRIVATE ${F_LIBS} holdfast_warnings)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(holdfast_fuzzers ${name})
endfunction()
