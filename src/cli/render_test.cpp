// The CLI's text rendering of admin replies (unit).
#include "cli/render.hpp"

#include <catch2/catch.hpp>

using namespace holdfast::cli;
using Json = nlohmann::json;
using Catch::Matchers::Contains;

TEST_CASE("cli: tables align columns and trim trailing spaces", "[unit][cli]") {
  CHECK(table({{"A", "BB", "C"}, {"xxx", "y", ""}}) == "A    BB  C\nxxx  y\n");
  CHECK(table({}).empty());
}

TEST_CASE("cli: ls shows size, mounts and the holder", "[unit][cli]") {
  Json reply = {{"volumes",
                 {{{"name", "db"}, {"backend", "san"}, {"size", "10.0 GiB"}, {"mounts", 1},
                   {"mountpoint", "/m/db"}, {"status", {{"holder", "node-a"}}}},
                  {{"name", "x"}, {"backend", "local"}, {"size", ""}, {"mounts", 0}, {"mountpoint", ""},
                   {"status", {{"warning", "thin pool 91% full"}}}}}}};
  std::string text = render_volumes(reply);
  CHECK_THAT(text, Contains("NAME  BACKEND  SIZE      MOUNTS  MOUNTPOINT  NOTES\n"));
  CHECK_THAT(text, Contains("db    san      10.0 GiB  1       /m/db       holder=node-a\n"));
  CHECK_THAT(text, Contains("x     local    -         0       -           warning: thin pool 91% full\n"));
  CHECK(render_volumes(Json{{"volumes", Json::array()}}) == "no volumes\n");
  Json lun = {{"volumes", {{{"name", "l"}, {"backend", "san"}, {"size", ""}, {"size_bytes", 10737418240ULL},
                            {"mounts", 0}, {"mountpoint", ""}, {"status", Json::object()}}}}};
  CHECK_THAT(render_volumes(lun), Contains("l     san      10.0 GiB  0"));
}

TEST_CASE("cli: doctor, reconcile, resize and release lines", "[unit][cli]") {
  Json doctor = {{"status", "warn"},
                 {"checks", {{{"name", "config"}, {"status", "ok"}, {"message", "fine"}},
                             {{"name", "mounts"}, {"status", "warn"}, {"message", "1 difference"}}}}};
  std::string text = render_doctor(doctor);
  CHECK_THAT(text, Contains("OK    config  fine\n") && Contains("WARN  mounts  1 difference\n"));
  CHECK_THAT(text, Contains("doctor: 1 ok, 1 warning(s), 0 failure(s)"));

  Json dry = {{"apply", false},
              {"findings", {{{"volume", "a"}, {"kind", "mounts_vanished"}, {"problem", "p"}, {"fix", "f"},
                             {"outcome", "planned"}}}}};
  CHECK_THAT(render_reconcile(dry), Contains("a: mounts_vanished: p -> f [planned]") && Contains("--apply"));
  CHECK_THAT(render_reconcile(Json{{"apply", false}, {"findings", Json::array()}}), Contains("nothing to reconcile"));

  Json resize = {{"volume", "rz"},
                 {"result", {{"old_size", 268435456}, {"new_size", 536870912}, {"lv_extended", true},
                             {"fs_grown", true}, {"fs_grow_pending", false}}}};
  CHECK(render_resize(resize) == "rz: 256.0 MiB -> 512.0 MiB, LV extended, filesystem grown\n");

  Json release = {{"volume", "lun1"},
                  {"result", {{"takeover_file", "/s/t/lun1"}, {"valid_for_seconds", 3600}, {"policy", "operator"},
                              {"holder", "node-b"}, {"next", "the next mount takes it over"}}}};
  CHECK_THAT(render_release(release),
             Contains("current holder: node-b") && Contains("/s/t/lun1") && Contains("valid for 60 min"));
  CHECK(human_bytes(1023) == "1023 B");
}
