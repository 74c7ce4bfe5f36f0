#include "sys/process_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

using namespace std::chrono_literals;
using holdfast::Deadline;
using holdfast::ErrorKind;
using holdfast::ProcessRunner;

namespace {

Deadline soon() { return Deadline::after(20s); }

std::set<std::string> lines_of(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.insert(line);
  }
  return out;
}

// True once `pid` no longer runs (gone, or a zombie nobody reaped yet).
bool is_dead(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) {
    return true;
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream text;
  text << stat.rdbuf();
  std::string all = text.str();
  auto paren = all.rfind(')');
  return paren == std::string::npos || (paren + 2 < all.size() && all[paren + 2] == 'Z');
}

bool becomes_dead(pid_t pid, std::chrono::milliseconds within) {
  auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (is_dead(pid)) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return is_dead(pid);
}

}  // namespace

TEST_CASE("process runner: exit codes", "[unit][process]") {
  ProcessRunner runner;
  CHECK(runner.run({"true"}, soon()).exit_code == 0);
  CHECK(runner.run({"false"}, soon()).exit_code == 1);
  auto r = runner.run({"sh", "-c", "exit 3"}, soon());
  CHECK(r.exit_code == 3);
  CHECK_FALSE(r.timed_out);
  // Killed by a signal: -1, as the contract says, and not a timeout.
  auto killed = runner.run({"sh", "-c", "kill -9 $$"}, soon());
  CHECK(killed.exit_code == -1);
  CHECK_FALSE(killed.timed_out);
}

TEST_CASE("process runner: captures stdout and stderr separately", "[unit][process]") {
  ProcessRunner runner;
  auto r = runner.run({"sh", "-c", "echo out; echo err >&2; echo more"}, soon());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "out\nmore\n");
  CHECK(r.err == "err\n");
}

TEST_CASE("process runner: feeds stdin", "[unit][process]") {
  ProcessRunner runner;
  auto r = runner.run({"cat"}, soon(), "line one\nline two\n");
  CHECK(r.exit_code == 0);
  CHECK(r.out == "line one\nline two\n");

  // Bigger than a pipe buffer both ways: no deadlock between feeding and reading.
  std::string big(3 * 1024 * 1024 + 17, 'x');
  auto counted = runner.run({"wc", "-c"}, soon(), big);
  CHECK(counted.out == std::to_string(big.size()) + "\n");

  // Without stdin data the child sees EOF at once (cat would hang otherwise).
  auto empty = runner.run({"cat"}, Deadline::after(5s));
  CHECK_FALSE(empty.timed_out);
  CHECK(empty.out.empty());
}

TEST_CASE("process runner: a child that ignores its stdin does not kill us with SIGPIPE", "[unit][process]") {
  // The default disposition of SIGPIPE terminates; make sure it is in force
  // here, so this test would die if the runner let it through.
  struct sigaction old {};
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, &old);
  ProcessRunner runner;
  std::string big(4 * 1024 * 1024, 'y');
  for (int i = 0; i < 5; ++i) {
    auto r = runner.run({"true"}, soon(), big);
    CHECK(r.exit_code == 0);
  }
  sigaction(SIGPIPE, &old, nullptr);
}

TEST_CASE("process runner: output beyond the cap is dropped, the program still completes", "[unit][process]") {
  ProcessRunner runner(1000);
  auto r = runner.run({"sh", "-c", "head -c 500000 /dev/zero; head -c 300000 /dev/zero >&2; echo done >&2"}, soon());
  CHECK(r.exit_code == 0);
  CHECK_FALSE(r.timed_out);
  CHECK(r.out.size() == 1000);
  CHECK(r.err.size() == 1000);
}

TEST_CASE("process runner: deadline kills the process group", "[unit][process]") {
  ProcessRunner runner;
  auto start = std::chrono::steady_clock::now();
  // The shell starts a grandchild `sleep 30`, prints its pid, and waits.
  auto r = runner.run({"sh", "-c", "sleep 30 & echo $!; wait"}, Deadline::after(500ms));
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.timed_out);
  CHECK(r.exit_code == -1);
  // Bounded by the deadline plus the kill-and-reap grace, far below 30 s.
  CHECK(elapsed < 5s);
  pid_t grandchild = std::atoi(r.out.c_str());
  REQUIRE(grandchild > 0);
  CHECK(becomes_dead(grandchild, 2s));
}

TEST_CASE("process runner: a daemon grandchild holding stdout does not stall the call", "[unit][process]") {
  ProcessRunner runner;
  auto start = std::chrono::steady_clock::now();
  auto r = runner.run({"sh", "-c", "sleep 20 & echo $!"}, Deadline::after(15s));
  auto elapsed = std::chrono::steady_clock::now() - start;
  pid_t grandchild = std::atoi(r.out.c_str());
  if (grandchild > 0) {
    ::kill(grandchild, SIGKILL);
  }
  CHECK(r.exit_code == 0);
  CHECK_FALSE(r.timed_out);
  CHECK(grandchild > 0);
  CHECK(elapsed < 10s);
}

TEST_CASE("process runner: a missing program is a clear not_found error", "[unit][process]") {
  ProcessRunner runner;
  try {
    runner.run({"holdfast-no-such-program"}, soon());
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK_THAT(e.what(), Catch::Contains("program \"holdfast-no-such-program\" not found"));
  }
  try {
    runner.run({"/nonexistent/bin/tool"}, soon());
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK_THAT(e.what(), Catch::Contains("/nonexistent/bin/tool"));
  }
  try {
    runner.run({"bin/true"}, soon());
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_argument);
  }
  CHECK_THROWS_AS(runner.run({}, soon()), holdfast::Error);
}

TEST_CASE("process runner: looks programs up in the trusted PATH only", "[unit][process]") {
  CHECK(ProcessRunner::resolve_program("sh") == "/usr/bin/sh");
  CHECK(ProcessRunner::resolve_program("/bin/sh") == "/bin/sh");
  // A directory on the caller's PATH is never searched.
  const char* old = std::getenv("PATH");
  std::string saved = old != nullptr ? old : "";
  ::setenv("PATH", "/nonexistent-dir", 1);
  CHECK(ProcessRunner::resolve_program("true") == "/usr/bin/true");
  ::setenv("PATH", saved.c_str(), 1);
}

TEST_CASE("process runner: argv reaches the program verbatim, no shell", "[unit][process]") {
  ProcessRunner runner;
  auto r = runner.run({"printf", "%s\\n", "a;b", "$(id)", "*", "x y", "`true`", "'q'"}, soon());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "a;b\n$(id)\n*\nx y\n`true`\n'q'\n");
}

TEST_CASE("process runner: shell syntax in arguments is data, never executed", "[unit][process][security]") {
  // Each argument must arrive as one argv entry, byte for byte; if any of
  // them went through a shell, the marker file would appear.
  char dir_template[] = "/tmp/holdfast-argv-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string marker = std::string(dir_template) + "/executed";
  const std::vector<std::string> hostile = {
      "a;touch " + marker,
      "$(touch " + marker + ")",
      "`touch " + marker + "`",
      "x && touch " + marker,
      "x | touch " + marker,
      "line1\ntouch " + marker,
      "  spaces  around  ",
      "tab\there",
      "'single' \"double\" \\back",
      "> " + marker,
      "*",
      "~root",
      "${HOME}",
      "",
  };
  ProcessRunner runner;
  std::vector<std::string> argv = {"printf", "[%s]\\0"};
  argv.insert(argv.end(), hostile.begin(), hostile.end());
  auto r = runner.run(argv, soon());
  CHECK(r.exit_code == 0);
  std::string expected;
  for (const auto& arg : hostile) {
    expected += "[" + arg + "]";
    expected += '\0';
  }
  CHECK(r.out == expected);
  CHECK(::access(marker.c_str(), F_OK) != 0);
  ::rmdir(dir_template);
}

TEST_CASE("process runner: clean environment and cwd", "[unit][process]") {
  ::setenv("HOLDFAST_TEST_SECRET", "should-not-leak", 1);
  ProcessRunner runner;
  auto env = runner.run({"env"}, soon());
  CHECK(lines_of(env.out) ==
        std::set<std::string>{std::string("PATH=") + holdfast::k_trusted_path, "LANG=C"});
  ::unsetenv("HOLDFAST_TEST_SECRET");
  CHECK(runner.run({"pwd"}, soon()).out == "/\n");
}

TEST_CASE("process runner: no descriptor leaks into the child", "[unit][process]") {
  // A descriptor opened without O_CLOEXEC, as a careless library would.
  int raw = ::open("/dev/null", O_RDONLY);
  REQUIRE(raw >= 0);
  holdfast::Fd leaky(::fcntl(raw, F_DUPFD, 20));
  ::close(raw);
  REQUIRE(leaky.get() >= 20);
  ProcessRunner runner;
  auto r = runner.run({"ls", "-1", "/proc/self/fd"}, soon());
  REQUIRE(r.exit_code == 0);
  // 0-2 are the pipes; 3 is ls's own handle on /proc/self/fd.
  auto fds = lines_of(r.out);
  for (const auto& fd : fds) {
    CHECK((fd == "0" || fd == "1" || fd == "2" || fd == "3"));
  }
}

TEST_CASE("process runner: concurrent runs from many threads", "[unit][process]") {
  ProcessRunner runner;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 15; ++i) {
        std::string text = std::to_string(t) + "-" + std::to_string(i);
        auto r = runner.run({"cat"}, Deadline::after(20s), text);
        auto e = runner.run({"sh", "-c", "echo " + text + " >&2; exit 7"}, Deadline::after(20s));
        if (r.out != text || r.exit_code != 0 || e.err != text + "\n" || e.exit_code != 7) {
          ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  CHECK(wrong == 0);
}
