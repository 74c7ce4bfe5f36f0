// Fuzz target: parse_mountinfo (src/sdk/mountinfo.cpp), the reader of
// /proc/self/mountinfo that start-up reconcile and every backend's
// is_attached() rely on.
//
// Contract checked: never throws, never crashes; every entry it returns has
// an absolute mount point and a file system type; entries + skipped lines
// never exceed the non-empty lines of the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include <holdfast/host.hpp>

#include "fuzz_check.hpp"

using holdfast::fuzz::fuzz_require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(holdfast::fuzz::as_text(data, size));
  std::size_t skipped = 0;
  const auto entries = holdfast::parse_mountinfo(text, &skipped);

  std::size_t lines = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    lines += end > start ? 1 : 0;
    start = end + 1;
  }
  fuzz_require(entries.size() + skipped <= lines, "more entries and skipped lines than input lines");
  for (const auto& entry : entries) {
    fuzz_require(!entry.mount_point.empty() && entry.mount_point.front() == '/', "relative mount point accepted");
    fuzz_require(!entry.fs_type.empty(), "empty fs type accepted");
  }
  return 0;
}
