// Helpers shared by the libFuzzer targets in tests/fuzz.
//
// A target checks more than "no crash": each one asserts the contract its
// code documents (only holdfast::Error escapes, a decoded value re-encodes
// to the same value, ...). fuzz_require() turns a broken contract into a
// crash, so libFuzzer keeps the input as an artifact like any other finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace holdfast::fuzz {

// Aborts with `what` when `condition` is false.
inline void fuzz_require(bool condition, std::string_view what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz contract broken: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
  }
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The code under test logs (spdlog); at fuzzing speed that is only noise.
inline void silence_logging() {
  spdlog::set_level(spdlog::level::off);
}

}  // namespace holdfast::fuzz
