// AuditLog: line format, appending, file mode, redaction (unit).
#include "admin/audit_log.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <holdfast/error.hpp>

#include "support/temp_dir.hpp"

using namespace holdfast;
using holdfast::test::TempDir;
using Json = nlohmann::json;

namespace {

std::vector<Json> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<Json> out;
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(Json::parse(line));
  }
  return out;
}

}  // namespace

TEST_CASE("audit line: fields, time in UTC with milliseconds, errors redacted", "[unit][audit]") {
  AuditEntry entry;
  entry.source = "plugin";
  entry.call = "mount";
  entry.volume = "db";
  entry.mount_id = "abc";
  entry.duration = std::chrono::microseconds(12'345);
  auto when = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  std::string text = AuditLog::line(entry, when);
  REQUIRE(text.back() == '\n');
  REQUIRE(text.find('\n') == text.size() - 1);
  Json j = Json::parse(text);
  CHECK(j["time"] == "2023-11-14T22:13:20.123Z");
  CHECK(j["source"] == "plugin");
  CHECK(j["call"] == "mount");
  CHECK(j["volume"] == "db");
  CHECK(j["mount_id"] == "abc");
  CHECK(j["outcome"] == "ok");
  CHECK(j["duration_ms"] == Approx(12.345));
  CHECK_FALSE(j.contains("error"));
  CHECK_FALSE(j.contains("details"));

  register_secret("s3cr3t-value");
  entry.error = "login failed: chap secret=s3cr3t-value refused\nsecond line";
  entry.mount_id.clear();
  entry.details = {{"size", "20G"}};
  j = Json::parse(AuditLog::line(entry, when));
  CHECK(j["outcome"] == "error");
  CHECK(j["error"].get<std::string>().find("s3cr3t-value") == std::string::npos);
  CHECK_FALSE(j.contains("mount_id"));
  CHECK(j["details"]["size"] == "20G");
}

TEST_CASE("audit log: appends whole lines from many threads, file mode 0600", "[unit][audit]") {
  TempDir dir;
  const std::string path = dir.path() + "/sub/audit.log";
  {
    AuditLog log(path);
    REQUIRE(log.enabled());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 200; ++i) {
          AuditEntry e;
          e.source = "plugin";
          e.call = "create";
          e.volume = "v" + std::to_string(t) + "-" + std::to_string(i);
          log.write(e);
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(lines_of(path).size() == 800);
  // Reopening appends.
  AuditLog again(path);
  AuditEntry e;
  e.source = "admin";
  e.call = "reconcile";
  again.write(e);
  auto lines = lines_of(path);
  REQUIRE(lines.size() == 801);
  CHECK(lines.back()["call"] == "reconcile");
}

TEST_CASE("audit log: a disabled log writes nothing; an unopenable path throws", "[unit][audit]") {
  AuditLog off;
  CHECK_FALSE(off.enabled());
  off.write(AuditEntry{});
  TempDir dir;
  std::ofstream(dir.path() + "/file") << "x";
  CHECK_THROWS_AS(AuditLog(dir.path() + "/file/audit.log"), Error);
}
