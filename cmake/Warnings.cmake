# holdfast_warnings: linked privately by every holdfast target (not by third
# party code). -Werror only when HOLDFAST_WARNINGS_AS_ERRORS is on (CI, dev),
# so that a newer compiler never breaks a packager's build.
add_library(holdfast_warnings INTERFACE)
target_compile_options(holdfast_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  target_compile_options(holdfast_warnings INTERFACE -Wthread-safety)
endif()
if(HOLDFAST_WARNINGS_AS_ERRORS)
  target_compile_options(holdfast_warnings INTERFACE -Werror)
endif()
