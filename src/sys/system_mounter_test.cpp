#include "sys/system_mounter.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using holdfast::Deadline;
using holdfast::ErrorKind;
using holdfast::SystemMounter;
using holdfast::UnmountMode;
using holdfast::test::TempDir;

namespace {

// Real mount(2) needs CAP_SYS_ADMIN; such cases skip (with a warning) when
// the test does not run as root.
bool have_root() {
  if (::geteuid() != 0) {
    WARN("skipped: needs root for mount(2)");
    return false;
  }
  return true;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

const char* k_table =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "40 22 0:35 / /mnt/with\\040space rw - tmpfs tmp rw,size=1024k\n"
    "41 22 0:36 / /var/lib/holdfast/mounts/db1 rw,relatime shared:5 master:2 - nfs4 filer:/export/db1 rw,vers=4.2\n"
    "this line is garbage\n";

}  // namespace

TEST_CASE("system mounter: mounts() and is_mounted() read the given mountinfo file", "[unit][mounter]") {
  TempDir dir;
  write_text(dir.sub("mountinfo"), k_table);
  SystemMounter mounter(dir.sub("mountinfo"));
  auto table = mounter.mounts();
  REQUIRE(table.size() == 3);
  CHECK(table[1].mount_point == "/mnt/with space");
  CHECK(table[2].fs_type == "nfs4");
  CHECK(table[2].source == "filer:/export/db1");

  CHECK(mounter.is_mounted("/"));
  CHECK(mounter.is_mounted("/mnt/with space"));
  CHECK(mounter.is_mounted("/var/lib/holdfast/mounts/db1"));
  CHECK(mounter.is_mounted("/var/lib/holdfast/mounts/db1/"));  // trailing slash
  CHECK_FALSE(mounter.is_mounted("/var/lib/holdfast/mounts"));
  CHECK_FALSE(mounter.is_mounted("/var/lib/holdfast/mounts/db"));
  CHECK_FALSE(mounter.is_mounted("/mnt/with\\040space"));  // compares decoded paths

  // The file changing is seen at the next call: nothing is cached.
  write_text(dir.sub("mountinfo"), "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
  CHECK_FALSE(mounter.is_mounted("/var/lib/holdfast/mounts/db1"));
}

TEST_CASE("system mounter: an unreadable mount table is an error", "[unit][mounter]") {
  SystemMounter mounter("/nonexistent/mountinfo");
  CHECK_THROWS_AS(mounter.mounts(), holdfast::Error);
  CHECK_THROWS_AS(mounter.is_mounted("/"), holdfast::Error);
}

TEST_CASE("system mounter: the default reads this process's real table", "[unit][mounter]") {
  SystemMounter mounter;
  CHECK(mounter.is_mounted("/"));
  CHECK_FALSE(mounter.mounts().empty());
}

TEST_CASE("system mounter: call_with_deadline abandons a call that outlives the deadline", "[unit][mounter]") {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto start = std::chrono::steady_clock::now();
  try {
    holdfast::call_with_deadline(
        [finished] {
          std::this_thread::sleep_for(1500ms);
          *finished = true;
          return 0;
        },
        Deadline::after(100ms), "mount slow:/x on /y");
    FAIL("expected a timeout");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::timeout);
    CHECK_THAT(e.what(), Catch::StartsWith("mount slow:/x on /y: "));
  }
  CHECK(std::chrono::steady_clock::now() - start < 1400ms);
  CHECK_FALSE(*finished);
  // The abandoned thread still completes safely later.
  auto until = std::chrono::steady_clock::now() + 5s;
  while (!*finished && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(*finished);

  // In time: the errno comes back.
  CHECK(holdfast::call_with_deadline([] { return EBUSY; }, Deadline::after(5s), "x") == EBUSY);
  CHECK(holdfast::call_with_deadline([] { return 0; }, Deadline::after(5s), "x") == 0);
}

TEST_CASE("system mounter: real tmpfs mount, is_mounted, unmount", "[unit][mounter][root]") {
  if (!have_root()) {
    return;
  }
  TempDir dir;
  std::string target = dir.sub("vol with space");
  REQUIRE(::mkdir(target.c_str(), 0755) == 0);
  SystemMounter mounter;
  CHECK_FALSE(mounter.is_mounted(target));

  mounter.mount("holdfast-test", target, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0750", Deadline::after(10s));
  CHECK(mounter.is_mounted(target));
  auto table = mounter.mounts();
  auto it = std::find_if(table.begin(), table.end(), [&](const auto& e) { return e.mount_point == target; });
  REQUIRE(it != table.end());
  CHECK(it->fs_type == "tmpfs");
  CHECK(it->source == "holdfast-test");
  CHECK_THAT(it->mount_options, Catch::Contains("nosuid"));
  CHECK_THAT(it->super_options, Catch::Contains("size=1024k"));

  mounter.unmount(target, UnmountMode::normal, Deadline::after(10s));
  CHECK_FALSE(mounter.is_mounted(target));
  // Not mounted any more, and a path that never existed: both succeed.
  mounter.unmount(target, UnmountMode::normal, Deadline::after(10s));
  mounter.unmount(dir.sub("never-existed"), UnmountMode::lazy, Deadline::after(10s));
}

TEST_CASE("system mounter: busy mount, then lazy unmount", "[unit][mounter][root]") {
  if (!have_root()) {
    return;
  }
  TempDir dir;
  std::string target = dir.sub("busy");
  REQUIRE(::mkdir(target.c_str(), 0755) == 0);
  SystemMounter mounter;
  mounter.mount("holdfast-test", target, "tmpfs", 0, "", Deadline::after(10s));
  {
    // An open directory handle keeps the mount busy.
    holdfast::Fd held(::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(held);
    try {
      mounter.unmount(target, UnmountMode::normal, Deadline::after(10s));
      FAIL("expected busy");
    } catch (const holdfast::Error& e) {
      CHECK(e.kind() == ErrorKind::busy);
      CHECK_THAT(e.what(), Catch::Contains("unmount " + target));
    }
    CHECK(mounter.is_mounted(target));
    mounter.unmount(target, UnmountMode::lazy, Deadline::after(10s));
    CHECK_FALSE(mounter.is_mounted(target));
  }
}

TEST_CASE("system mounter: mount errors are classified", "[unit][mounter][root]") {
  if (!have_root()) {
    return;
  }
  TempDir dir;
  SystemMounter mounter;
  try {
    mounter.mount("holdfast-test", dir.sub("missing"), "tmpfs", 0, "", Deadline::after(10s));
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK_THAT(e.what(), Catch::Contains("mount holdfast-test on " + dir.sub("missing")));
  }
  REQUIRE(::mkdir(dir.sub("t").c_str(), 0755) == 0);
  CHECK_THROWS_AS(mounter.mount("x", dir.sub("t"), "no-such-fs-type", 0, "", Deadline::after(10s)),
                  holdfast::Error);
  CHECK_FALSE(mounter.is_mounted(dir.sub("t")));
}

TEST_CASE("system mounter: mount option data never appears in error messages", "[unit][mounter][root]") {
  if (!have_root()) {
    return;
  }
  TempDir dir;
  SystemMounter mounter;
  try {
    mounter.mount("src", dir.sub("missing"), "tmpfs", 0, "password=hunter2", Deadline::after(10s));
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK_THAT(e.what(), !Catch::Contains("hunter2"));
  }
}
