#include "lvm_size.hpp"

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

using holdfast::Error;
using holdfast::ErrorKind;
using namespace holdfast::lvm;

TEST_CASE("parse_size accepts sizes as Docker users write them", "[lvm][size]") {
  struct Row {
    const char* text;
    std::uint64_t bytes;
  };
  const Row rows[] = {
      {"500M", 500 * k_mib},        {"500m", 500 * k_mib},       {"10G", 10 * k_gib},
      {"10g", 10 * k_gib},          {"1.5G", 1536 * k_mib},      {"1T", k_tib},
      {"2GiB", 2 * k_gib},          {"2gib", 2 * k_gib},         {"750mb", 750 * k_mib},
      {"750MB", 750 * k_mib},       {"64K", 64 * k_kib},         {"64KiB", 64 * k_kib},
      {"1P", k_pib},                {"1048576", 1048576},        {"4096B", 4096},
      {"0.5G", 512 * k_mib},        {"1.25T", k_tib + k_tib / 4}, {"1.001K", 1026},  // rounded up
      {"0", 0},  // range checks are the caller's
  };
  for (const auto& row : rows) {
    INFO(row.text);
    CHECK(parse_size(row.text) == row.bytes);
  }
}

TEST_CASE("parse_size refuses what is not a size, with a clear message", "[lvm][size]") {
  const char* bad[] = {"",      "G",     "-1G",   "+1G",     "1 G",   " 1G",  "1G ",   "1e9",
                       "0x10",  "1.G",   ".5G",   "1.2345G", "10X",   "10GG", "10GiBB", "1.5",
                       "1,5G",  "10Gi",  "nan",   "inf",     "1E",    "1Z"};
  for (const char* text : bad) {
    INFO("\"" << text << "\"");
    try {
      (void)parse_size(text);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_argument);
      CHECK(std::string(e.what()).find("size") != std::string::npos);
      CHECK(std::string(e.what()).find("e.g. 500M") != std::string::npos);
    }
  }
}

TEST_CASE("parse_size refuses absurdly large values instead of wrapping", "[lvm][size]") {
  CHECK_THROWS_WITH(parse_size("99999999999999999999"), Catch::Contains("too large"));
  CHECK_THROWS_WITH(parse_size("16384P"), Catch::Contains("too large"));
  CHECK_THROWS_WITH(parse_size("18446744073709551616"), Catch::Contains("too large"));
  CHECK(parse_size("18446744073709551615") == 18446744073709551615ULL);
  CHECK(parse_size("16383P") == 16383 * k_pib);
}

TEST_CASE("format_size shows binary units with at most two decimals", "[lvm][size]") {
  CHECK(format_size(0) == "0 B");
  CHECK(format_size(1023) == "1023 B");
  CHECK(format_size(1024) == "1 KiB");
  CHECK(format_size(10 * k_gib) == "10 GiB");
  CHECK(format_size(1536 * k_mib) == "1.5 GiB");
  CHECK(format_size(k_gib + k_gib / 4) == "1.25 GiB");
  CHECK(format_size(k_gib + k_gib / 20) == "1.04 GiB");  // 1.0499999... rounded down
  CHECK(format_size(500 * k_mib) == "500 MiB");
  CHECK(format_size(k_gib - 1) == "1023.99 MiB");  // rounded down, never above the real size
  CHECK(format_size(3 * k_pib) == "3 PiB");
}

TEST_CASE("round_up rounds to the unit and refuses overflow", "[lvm][size]") {
  CHECK(round_up(0, k_mib) == 0);
  CHECK(round_up(1, k_mib) == k_mib);
  CHECK(round_up(k_mib, k_mib) == k_mib);
  CHECK(round_up(5 * k_mib, 4 * k_mib) == 8 * k_mib);
  CHECK_THROWS_AS(round_up(18446744073709551615ULL, k_mib), Error);
}
