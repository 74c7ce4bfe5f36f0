// RFC 3339 times as holdfast reads them from its state files, NFS records
// and claim labels (src/sdk/volume.cpp). The regressions here were found
// with the fuzz targets of tests/fuzz (docs/reliability.md, "Fuzzing").
#include <holdfast/error.hpp>
#include <holdfast/volume.hpp>

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

using holdfast::format_rfc3339;
using holdfast::parse_rfc3339;

TEST_CASE("rfc3339: what format_rfc3339 writes parses back", "[unit][rfc3339]") {
  const std::string text = "2026-11-28T01:06:11Z";
  CHECK(format_rfc3339(parse_rfc3339(text)) == text);
  CHECK(format_rfc3339(parse_rfc3339("2026-11-28T03:06:11.25+02:00")) == text);
  CHECK(parse_rfc3339("2026-11-28T01:06:11.25Z") - parse_rfc3339(text) == std::chrono::milliseconds(250));
  CHECK(format_rfc3339(parse_rfc3339("1970-01-01T00:00:00z")) == "1970-01-01T00:00:00Z");
}

// Finding: years far from 1970 overflowed the nanosecond count of
// system_clock (signed overflow, undefined behaviour) while converting.
TEST_CASE("rfc3339: times system_clock cannot hold are rejected", "[unit][rfc3339]") {
  for (const char* text : {"0001-01-01T00:00:00Z", "1000-06-15T12:00:00Z", "9999-12-31T23:59:60Z",
                           "2262-04-12T00:00:00Z", "1677-01-01T00:00:00+23:59"}) {
    INFO(text);
    CHECK_THROWS_AS(parse_rfc3339(text), holdfast::Error);
  }
  CHECK(format_rfc3339(parse_rfc3339("1678-01-01T00:00:00Z")) == "1678-01-01T00:00:00Z");
  CHECK(format_rfc3339(parse_rfc3339("2261-12-31T23:59:59Z")) == "2261-12-31T23:59:59Z");
}

// Found while fixing the above: sscanf's %d took signs and spaces where the
// format has digits.
TEST_CASE("rfc3339: only digits where the format has digits", "[unit][rfc3339]") {
  for (const char* text : {"2026- 1- 1T 1: 1: 1Z", "+026-01-01T00:00:00Z", "-999-01-01T00:00:00Z",
                           "2026-01-01T00:00:00+-5:00", "2026-01-01T00:00:00+ 5:00", "2026-01-01T00:00:00+05:0",
                           "2026-01-01T00:00:00+0500", "2026-01-01T00:00:00", "2026-01-01T00:00:00.Z",
                           "2026-01-01 00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", ""}) {
    INFO(text);
    CHECK_THROWS_AS(parse_rfc3339(text), holdfast::Error);
  }
}
