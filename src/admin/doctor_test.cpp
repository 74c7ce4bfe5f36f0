// The pure parts of doctor (unit): exit codes, iscsiadm parsing, summaries.
#include "admin/doctor_checks.hpp"

#include <catch2/catch.hpp>

using namespace holdfast;

TEST_CASE("doctor: the worst check decides the status and the exit code", "[unit][doctor]") {
  std::vector<Check> checks = {{"a", CheckStatus::ok, ""}};
  CHECK(overall(checks) == CheckStatus::ok);
  CHECK(doctor_exit_code(overall(checks)) == 0);
  checks.push_back({"b", CheckStatus::warn, "hmm"});
  CHECK(doctor_exit_code(overall(checks)) == 1);
  checks.push_back({"c", CheckStatus::fail, "bad"});
  CHECK(doctor_exit_code(overall(checks)) == 2);
  CHECK(doctor_exit_code(overall({})) == 0);
  auto json = doctor_json(checks);
  CHECK(json["status"] == "fail");
  REQUIRE(json["checks"].size() == 3);
  CHECK(json["checks"][1]["status"] == "warn");
  CHECK(json["checks"][2]["message"] == "bad");
}

TEST_CASE("doctor: iscsiadm -m session output", "[unit][doctor]") {
  auto sessions = parse_iscsi_sessions(
      "tcp: [1] 192.0.2.10:3260,1 iqn.2003-01.org.example:disk1 (non-flash)\n"
      "iser: [12] [2001:db8::1]:3260,1 iqn.2003-01.org.example:disk2 (non-flash)\n"
      "iscsiadm: No active sessions.\n"
      "garbage\n");
  REQUIRE(sessions.size() == 2);
  CHECK(sessions[0].id == "1");
  CHECK(sessions[0].portal == "192.0.2.10:3260,1");
  CHECK(sessions[0].target == "iqn.2003-01.org.example:disk1");
  CHECK(sessions[1].id == "12");
  CHECK(sessions[1].target == "iqn.2003-01.org.example:disk2");
  CHECK(parse_iscsi_sessions("").empty());
}

TEST_CASE("doctor: backend status summary leaves out warnings and nested values", "[unit][doctor]") {
  nlohmann::json status = {{"thin_pool", "vg/pool"}, {"pool_data_percent", 42.5}, {"warning", "full"},
                           {"held_here", nlohmann::json::array()}};
  CHECK(summarize_status(status) == "pool_data_percent=42.5, thin_pool=vg/pool");
  CHECK(summarize_status(nlohmann::json::object()).empty());
}
