// Unit tests of the nfs backend's journal of unfinished Removes, on a
// temporary directory.
#include "remove_journal.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>
#include <support/temp_dir.hpp>

using namespace holdfast::nfs;
using holdfast::test::TempDir;

TEST_CASE("nfs remove journal: begin, pending, finish", "[nfs][journal]") {
  TempDir tmp;
  RemoveJournal journal(tmp.sub("backends/filer/removing"));
  CHECK_FALSE(journal.pending("db"));
  CHECK(journal.all().empty());

  journal.begin("db", "db@20261129T010203Z.0000abcd");
  auto entry = journal.pending("db");
  REQUIRE(entry);
  CHECK(entry->dir == "db@20261129T010203Z.0000abcd");
  CHECK(entry->pid == static_cast<long>(::getpid()));
  CHECK((std::filesystem::status(tmp.sub("backends/filer/removing")).permissions() &
         std::filesystem::perms::others_all) == std::filesystem::perms::none);

  journal.begin("web", "web");
  CHECK(journal.all().size() == 2);
  journal.finish("db");
  journal.finish("db");  // idempotent
  CHECK_FALSE(journal.pending("db"));
  CHECK(journal.all().count("web") == 1);
}

TEST_CASE("nfs remove journal: entries that are not its own are skipped", "[nfs][journal]") {
  TempDir tmp;
  const std::string dir = tmp.sub("removing");
  RemoveJournal journal(dir);
  journal.begin("ok", "ok@x");
  std::ofstream(dir + "/foreign") << R"({"dir": "other@x", "pid": 1})";   // another volume's directory
  std::ofstream(dir + "/escape") << R"({"dir": "../../etc", "pid": 1})";  // not a single component
  std::ofstream(dir + "/broken") << "{";
  std::ofstream(dir + "/typed") << R"({"dir": "typed", "pid": "1"})";
  std::ofstream(dir + "/.ok.tmp-1-2") << R"({"dir": "ok", "pid": 1})";    // a temporary file
  std::ofstream(dir + "/bad name") << R"({"dir": "bad name", "pid": 1})";
  auto all = journal.all();
  REQUIRE(all.size() == 1);
  CHECK(all.begin()->first == "ok");
  CHECK_FALSE(journal.pending("escape"));
}

TEST_CASE("nfs remove journal: [Error] an invalid name is refused", "[nfs][journal]") {
  TempDir tmp;
  RemoveJournal journal(tmp.sub("removing"));
  CHECK_THROWS_AS(journal.begin("../x", "x"), holdfast::Error);
  CHECK_THROWS_AS(journal.begin("", "x"), holdfast::Error);
}
