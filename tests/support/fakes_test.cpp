// Tests of the shared fakes and fixtures themselves: other suites rely on
// their scripting semantics.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/fake_mounter.hpp"
#include "support/fake_runner.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using holdfast::Deadline;
using holdfast::ErrorKind;
using holdfast::UnmountMode;
using holdfast::test::FakeMounter;
using holdfast::test::FakeRunner;
using holdfast::test::TempDir;

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("fake runner: scripted by prefix, longest and latest wins", "[unit][fakes]") {
  FakeRunner runner;
  auto d = Deadline::after(1s);
  CHECK(runner.run({"anything"}, d).exit_code == 0);  // default
  runner.on({"lvs"}, 5, "short");
  runner.on({"lvs", "--reportformat", "json"}, 0, "{}", "");
  CHECK(runner.run({"lvs", "--reportformat", "json", "vg"}, d).out == "{}");
  CHECK(runner.run({"lvs", "-o", "x"}, d).exit_code == 5);
  runner.on({"lvs"}, 6, "later");
  CHECK(runner.run({"lvs"}, d).out == "later");
  CHECK(runner.run({"lv"}, d).out.empty());  // prefixes match whole elements

  runner.fail_to_start({"mkfs.xfs"}, holdfast::not_found("program \"mkfs.xfs\" not found"));
  CHECK_THROWS_AS(runner.run({"mkfs.xfs", "/dev/x"}, d), holdfast::Error);

  runner.on_call([](const std::vector<std::string>& argv, const std::string& in, Deadline) {
    if (argv[0] == "cat") {
      holdfast::CommandResult r;
      r.exit_code = 0;
      r.out = in;
      return std::optional<holdfast::CommandResult>(r);
    }
    return std::optional<holdfast::CommandResult>();
  });
  CHECK(runner.run({"cat"}, d, "echo").out == "echo");
  CHECK(runner.run({"lvs"}, d).out == "later");  // falls through to the table

  CHECK(runner.count({"lvs"}) == 4);
  CHECK(runner.count({"lvs", "-o"}) == 1);
  auto calls = runner.calls();
  REQUIRE(calls.size() == 8);
  CHECK(calls[6].stdin_data == "echo");
  CHECK(FakeRunner::join(calls[1].argv) == "lvs --reportformat json vg");
  runner.clear_calls();
  CHECK(runner.argvs().empty());
  runner.reset_scripts();
  CHECK(runner.run({"lvs"}, d).out.empty());
}

TEST_CASE("fake runner: concurrent calls are all recorded", "[unit][fakes]") {
  FakeRunner runner;
  runner.on_call([&runner](const std::vector<std::string>&, const std::string&, Deadline) {
    runner.count({"x"});  // calling back in must not deadlock
    return std::optional<holdfast::CommandResult>();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        runner.run({"x", std::to_string(i)}, Deadline::after(1s));
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  CHECK(runner.count({"x"}) == 800);
}

TEST_CASE("fake mounter: table, stacking, unmount of nothing", "[unit][fakes]") {
  FakeMounter m;
  auto d = Deadline::after(1s);
  CHECK_FALSE(m.is_mounted("/m/a"));
  m.mount("srv:/e", "/m/a", "nfs4", 0, "vers=4.2", d);
  m.mount("tmp", "/m/a", "tmpfs", 0, "", d);
  CHECK(m.is_mounted("/m/a"));
  auto table = m.mounts();
  REQUIRE(table.size() == 2);
  CHECK(table[0].source == "srv:/e");
  CHECK(table[0].super_options == "vers=4.2");
  m.unmount("/m/a", UnmountMode::normal, d);
  table = m.mounts();
  REQUIRE(table.size() == 1);
  CHECK(table[0].fs_type == "nfs4");  // the top one went first
  m.unmount("/m/a", UnmountMode::lazy, d);
  CHECK_FALSE(m.is_mounted("/m/a"));
  m.unmount("/m/a", UnmountMode::normal, d);  // not mounted: success
  CHECK(m.count("mount") == 2);
  CHECK(m.count("unmount", "/m/a") == 3);
  auto calls = m.calls();
  REQUIRE(calls.size() > 7);
  CHECK(calls[7].op == "unmount");
  CHECK(calls[7].mode == UnmountMode::lazy);

  m.add_mount("dev", "/m/b", "ext4");
  CHECK(m.is_mounted("/m/b"));
  m.drop_mount("/m/b");
  CHECK_FALSE(m.is_mounted("/m/b"));
}

TEST_CASE("fake mounter: scripted failures and delays", "[unit][fakes]") {
  FakeMounter m;
  auto d = Deadline::after(5s);
  m.fail_mount("/m/a", holdfast::unavailable("server down"), 2);
  CHECK_THROWS_AS(m.mount("s", "/m/a", "nfs", 0, "", d), holdfast::Error);
  CHECK_THROWS_AS(m.mount("s", "/m/a", "nfs", 0, "", d), holdfast::Error);
  m.mount("s", "/m/a", "nfs", 0, "", d);  // the third works
  m.mount("s", "/m/other", "nfs", 0, "", d);
  m.fail_unmount("", holdfast::busy("target is busy"));  // every target, until cleared
  try {
    m.unmount("/m/a", UnmountMode::normal, d);
    FAIL("expected busy");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::busy);
  }
  CHECK_THROWS_AS(m.unmount("/m/other", UnmountMode::normal, d), holdfast::Error);
  CHECK(m.is_mounted("/m/a"));
  m.clear_failures();
  m.unmount("/m/a", UnmountMode::normal, d);
  CHECK_FALSE(m.is_mounted("/m/a"));

  m.delay_mount(50ms);
  auto start = std::chrono::steady_clock::now();
  m.mount("s", "/m/slow", "nfs", 0, "", d);
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);
  m.delay_mount(2s);
  try {
    m.mount("s", "/m/hang", "nfs", 0, "", Deadline::after(100ms));
    FAIL("expected a timeout");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::timeout);
  }
  CHECK_FALSE(m.is_mounted("/m/hang"));
  m.delay_unmount(2s);
  CHECK_THROWS_AS(m.unmount("/m/slow", UnmountMode::normal, Deadline::after(50ms)), holdfast::Error);
}

TEST_CASE("temp dir: created, removed without following symlinks", "[unit][fakes]") {
  std::string path;
  TempDir outside;
  std::ofstream(outside.sub("keep")) << "keep";
  {
    TempDir dir;
    path = dir.path();
    CHECK(path.rfind("/tmp/holdfast-test-", 0) == 0);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(dir.sub("x") == path + "/x");
    REQUIRE(::mkdir(dir.sub("d").c_str(), 0755) == 0);
    std::ofstream(dir.sub("d/f")) << "x";
    REQUIRE(::symlink(outside.path().c_str(), dir.sub("link").c_str()) == 0);
  }
  CHECK_FALSE(exists(path));
  CHECK(exists(outside.sub("keep")));
}

TEST_CASE("temp dir: a mount left inside is detached, not emptied", "[unit][fakes][root]") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root for mount(2)");
    return;
  }
  TempDir outside;
  std::ofstream(outside.sub("keep")) << "keep";
  {
    TempDir dir;
    REQUIRE(::mkdir(dir.sub("bind").c_str(), 0755) == 0);
    REQUIRE(::mount(outside.path().c_str(), dir.sub("bind").c_str(), nullptr, MS_BIND, nullptr) == 0);
  }
  CHECK(exists(outside.sub("keep")));
}
