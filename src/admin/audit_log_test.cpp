// AuditLog: line format, appending, file mode, redaction, rotation at the
// size cap, failed writes and rotations (unit).
#include "admin/audit_log.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
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

AuditEntry numbered(int thread, int i) {
  AuditEntry e;
  e.source = "plugin";
  e.call = "create";
  e.volume = "v" + std::to_string(thread) + "-" + std::to_string(i);
  return e;
}

std::uint64_t size_of(const std::string& path) { return std::filesystem::file_size(path); }

bool exists(const std::string& path) { return std::filesystem::exists(path); }

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// Sets the umask for one scope: with 0, a file created with a mode wider
// than 0600 would show it.
class Umask {
 public:
  explicit Umask(mode_t mask) : m_old(::umask(mask)) {}
  ~Umask() { ::umask(m_old); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t m_old;
};

// RLIMIT_FSIZE for one scope (SIGXFSZ ignored meanwhile): a write across the
// limit is cut short, the next one fails with EFBIG, like a disk filling up.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &m_old) == 0);
    m_old_handler = ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = m_old;
    limit.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &m_old);
    ::signal(SIGXFSZ, m_old_handler);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit m_old{};
  sighandler_t m_old_handler = SIG_DFL;
};

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

TEST_CASE("audit log: a disabled log writes nothing, an unopenable path throws", "[unit][audit]") {
  AuditLog off;
  CHECK_FALSE(off.enabled());
  off.write(AuditEntry{});
  TempDir dir;
  std::ofstream(dir.path() + "/file") << "x";
  CHECK_THROWS_AS(AuditLog(dir.path() + "/file/audit.log"), Error);
}

TEST_CASE("audit log: rotates before a line would pass the cap, keeps the configured number of files",
          "[unit][audit]") {
  TempDir dir;
  const std::string path = dir.path() + "/audit.log";
  const std::uint64_t cap = 1000;
  const std::size_t line_size = AuditLog::line(numbered(0, 100), std::chrono::system_clock::now()).size();
  REQUIRE(line_size < cap / 4);
  Umask no_umask(0);
  AuditLog log(path, AuditRotation{cap, 2});

  // Fill the file up to the cap: no rotation yet.
  const std::size_t per_file = cap / line_size;
  for (std::size_t i = 0; i < per_file; ++i) {
    log.write(numbered(0, static_cast<int>(100 + i)));
  }
  CHECK_FALSE(exists(path + ".1"));
  const std::uint64_t full = size_of(path);
  CHECK(full <= cap);
  CHECK(full + line_size > cap);

  // The next line goes to a fresh file; the full one is audit.log.1.
  log.write(numbered(0, static_cast<int>(100 + per_file)));
  REQUIRE(exists(path + ".1"));
  CHECK(size_of(path + ".1") == full);
  CHECK(size_of(path) == line_size);
  CHECK(mode_of(path) == 0600);
  CHECK(log.trouble().empty());

  // Many more rotations: only audit.log.1 and audit.log.2 are kept, and the
  // kept lines are the newest ones, whole and in order.
  const int total = static_cast<int>(per_file) * 6 + 3;
  for (int i = static_cast<int>(per_file) + 1; i < total; ++i) {
    log.write(numbered(0, 100 + i));
  }
  CHECK(exists(path + ".2"));
  CHECK_FALSE(exists(path + ".3"));
  std::vector<Json> kept;
  for (const std::string& file : {path + ".2", path + ".1", path}) {
    CHECK(size_of(file) <= cap);
    CHECK(mode_of(file) == 0600);
    for (auto& j : lines_of(file)) {
      kept.push_back(std::move(j));
    }
  }
  REQUIRE(kept.size() > 2 * per_file);
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const int expected = 100 + total - static_cast<int>(kept.size()) + static_cast<int>(k);
    REQUIRE(kept[k]["volume"] == "v0-" + std::to_string(expected));
  }
}

TEST_CASE("audit log: a file already full at start is rotated by the first write", "[unit][audit]") {
  TempDir dir;
  const std::string path = dir.path() + "/audit.log";
  { AuditLog(path).write(numbered(1, 1)); }
  const std::uint64_t old_size = size_of(path);
  AuditLog log(path, AuditRotation{old_size, 3});
  log.write(numbered(1, 2));
  CHECK(lines_of(path + ".1").size() == 1);
  REQUIRE(lines_of(path).size() == 1);
  CHECK(lines_of(path).front()["volume"] == "v1-2");
  CHECK_THROWS_AS(AuditLog(path, AuditRotation{1000, 0}), Error);
}

TEST_CASE("audit log: many threads with a small cap leave only whole lines, none lost", "[unit][audit]") {
  TempDir dir;
  const std::string path = dir.path() + "/audit.log";
  const std::uint64_t cap = 4096;
  const unsigned keep = 100;  // enough for every line written here
  constexpr int k_threads = 4;
  constexpr int k_lines = 400;
  {
    AuditLog log(path, AuditRotation{cap, keep});
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < k_lines; ++i) {
          log.write(numbered(t, i));
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    CHECK(log.trouble().empty());
  }
  REQUIRE_FALSE(exists(path + "." + std::to_string(keep)));  // nothing was dropped
  std::set<std::string> seen;
  std::size_t lines = 0;
  std::size_t files = 0;
  for (unsigned n = 0; n < keep; ++n) {
    const std::string file = n == 0 ? path : path + "." + std::to_string(n);
    if (!exists(file)) {
      break;
    }
    ++files;
    CHECK(size_of(file) <= cap);
    // lines_of() throws on a torn line.
    for (const auto& j : lines_of(file)) {
      seen.insert(j["volume"].get<std::string>());
      ++lines;
    }
  }
  CHECK(files > 10);
  const auto written = static_cast<std::size_t>(k_threads * k_lines);
  CHECK(lines == written);
  CHECK(seen.size() == written);
}

TEST_CASE("audit log: a failed rotation keeps appending, is reported, and recovers", "[unit][audit]") {
  TempDir dir;
  const std::string path = dir.path() + "/audit.log";
  AuditLog log(path, AuditRotation{300, 1});
  // A directory where audit.log.1 must go: rename(2) refuses.
  std::filesystem::create_directory(path + ".1");
  for (int i = 0; i < 10; ++i) {
    log.write(numbered(2, i));
  }
  CHECK(lines_of(path).size() == 10);  // past the cap, nothing lost
  CHECK(size_of(path) > 300);
  CHECK_THAT(log.trouble(), Catch::Contains("rotation failed") && Catch::Contains("audit.log.1"));

  std::filesystem::remove(path + ".1");
  log.write(numbered(2, 10));
  CHECK(log.trouble().empty());
  CHECK(lines_of(path + ".1").size() == 10);
  REQUIRE(lines_of(path).size() == 1);
  CHECK(lines_of(path).front()["volume"] == "v2-10");
}

TEST_CASE("audit log: a write cut short (file size limit, as on a full disk) leaves no partial line",
          "[unit][audit]") {
  TempDir dir;
  const std::string path = dir.path() + "/audit.log";
  AuditLog log(path, AuditRotation{1 << 20, 1});
  log.write(numbered(3, 0));
  const std::uint64_t before = size_of(path);
  {
    FileSizeLimit limit(before + 20);  // room for part of the next line only
    log.write(numbered(3, 1));         // short write: cut off again
    log.write(numbered(3, 2));         // cut short again
    CHECK_THAT(log.trouble(), Catch::Contains("write failed"));
  }
  CHECK(size_of(path) == before);
  log.write(numbered(3, 3));
  CHECK(log.trouble().empty());
  auto lines = lines_of(path);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["volume"] == "v3-0");
  CHECK(lines[1]["volume"] == "v3-3");
}
