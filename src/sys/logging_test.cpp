#include "sys/logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

#include "support/temp_dir.hpp"

TEST_CASE("logging: levels", "[unit][logging]") {
  holdfast::setup_logging("debug");
  CHECK(spdlog::default_logger()->level() == spdlog::level::debug);
  holdfast::setup_logging("error");
  CHECK(spdlog::default_logger()->level() == spdlog::level::err);
  try {
    holdfast::setup_logging("verbose");
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == holdfast::ErrorKind::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("trace, debug, info, warn, error"));
  }
  CHECK_THROWS_AS(holdfast::setup_logging(""), holdfast::Error);
  CHECK_THROWS_AS(holdfast::setup_logging("INFO"), holdfast::Error);
}

TEST_CASE("logging: journald format on a non-terminal stderr", "[unit][logging]") {
  holdfast::test::TempDir dir;
  std::string file = dir.sub("stderr");
  holdfast::Fd saved(::dup(STDERR_FILENO));
  {
    holdfast::Fd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(out);
    ::dup2(out.get(), STDERR_FILENO);
  }
  holdfast::setup_logging("info");
  spdlog::info("volume {} created", "db1");
  spdlog::debug("not shown at info");
  spdlog::warn("careful");
  spdlog::error("broken");
  spdlog::default_logger()->flush();
  ::dup2(saved.get(), STDERR_FILENO);
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == "<6>info: volume db1 created\n<4>warning: careful\n<3>error: broken\n");
}
