// Unit tests of the filesystem helpers: what blkid answers decides whether
// holdfast may format, mkfs argv, mount option parsing.
#include "block_filesystem.hpp"

#include <catch2/catch.hpp>

#include <sys/mount.h>

#include <holdfast/error.hpp>

#include "support/fake_runner.hpp"

using namespace holdfast;
using namespace holdfast::iscsi;
using holdfast::test::FakeRunner;

TEST_CASE("blkid: only 'nothing found' means empty", "[filesystem]") {
  FakeRunner r;
  auto d = Deadline::after(std::chrono::seconds(2));
  SECTION("exit 2: nothing") {
    r.on({"blkid"}, 2);
    CHECK(probe_device(r, "/dev/sdb", d).content.empty());
    CHECK(r.argvs().front() == std::vector<std::string>{"blkid", "-p", "-o", "export", "/dev/sdb"});
  }
  SECTION("a filesystem") {
    r.on({"blkid"}, 0, "DEVNAME=/dev/sdb\nUUID=1234\nBLOCK_SIZE=4096\nTYPE=ext4\n");
    auto p = probe_device(r, "/dev/sdb", d);
    CHECK(p.fs_type == "ext4");
    CHECK(p.content == "ext4");
  }
  SECTION("a partition table is content too") {
    r.on({"blkid"}, 0, "DEVNAME=/dev/sdb\nPTUUID=ab\nPTTYPE=gpt\n");
    auto p = probe_device(r, "/dev/sdb", d);
    CHECK(p.fs_type.empty());
    CHECK(p.content == "partition table gpt");
  }
  SECTION("exit 0 without TYPE is still not empty") {
    r.on({"blkid"}, 0, "DEVNAME=/dev/sdb\n");
    CHECK_FALSE(probe_device(r, "/dev/sdb", d).content.empty());
  }
  SECTION("ambivalent and errors throw") {
    r.on({"blkid"}, 8, "", "ambivalent result");
    CHECK_THROWS_WITH(probe_device(r, "/dev/sdb", d), Catch::Contains("ambivalent"));
    r.on({"blkid"}, 4, "", "read error");
    CHECK_THROWS_AS(probe_device(r, "/dev/sdb", d), Error);
  }
  SECTION("killed at the deadline") {
    r.on_call([](const std::vector<std::string>&, const std::string&, Deadline) {
      CommandResult res;
      res.timed_out = true;
      return std::optional<CommandResult>(res);
    });
    CHECK_THROWS_MATCHES(probe_device(r, "/dev/sdb", d), Error, Catch::Predicate<Error>([](const Error& e) {
                           return e.kind() == ErrorKind::timeout;
                         }));
  }
}

TEST_CASE("mkfs argv sizes the filesystem to leave the label alone", "[filesystem]") {
  CHECK(mkfs_argv("ext4", "/dev/sdb", 63ULL << 20, {}) ==
        std::vector<std::string>{"mkfs.ext4", "-q", "-F", "-E",
                                 "lazy_itable_init=1,lazy_journal_init=1,nodiscard", "/dev/sdb", "64512k"});
  CHECK(mkfs_argv("xfs", "/dev/mapper/mpatha", 1023ULL << 20, {"-m", "reflink=0"}) ==
        std::vector<std::string>{"mkfs.xfs", "-q", "-K", "-d", "size=1072693248", "-m", "reflink=0",
                                 "/dev/mapper/mpatha"});
  CHECK_THROWS_AS(mkfs_argv("btrfs", "/dev/sdb", 1 << 30, {}), Error);
}

TEST_CASE("mount options split into flags and data", "[filesystem]") {
  auto m = parse_mount_options("noatime,discard,ro,nodev,commit=30");
  CHECK(m.flags == (MS_NOATIME | MS_RDONLY | MS_NODEV));
  CHECK(m.data == "discard,commit=30");
  CHECK(parse_mount_options("").flags == 0);
  CHECK(parse_mount_options("").data.empty());
  CHECK(parse_mount_options("ro,rw").flags == 0);
  CHECK(parse_mount_options(",defaults,,").data.empty());
}
