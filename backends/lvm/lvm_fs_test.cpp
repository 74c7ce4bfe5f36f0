#include "lvm_fs.hpp"

#include <sys/mount.h>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

using holdfast::Error;
using holdfast::ErrorKind;
using namespace holdfast::lvm;
using Argv = std::vector<std::string>;

TEST_CASE("filesystem names", "[lvm][fs]") {
  CHECK(parse_fs("ext4") == FsType::ext4);
  CHECK(parse_fs("xfs") == FsType::xfs);
  CHECK_FALSE(parse_fs("btrfs").has_value());
  CHECK_FALSE(parse_fs("EXT4").has_value());
  CHECK(to_string(FsType::xfs) == "xfs");
}

TEST_CASE("default mkfs argv: quiet, forced, lazy, no discard", "[lvm][fs]") {
  CHECK(mkfs_argv(FsType::ext4, {}, {}, "/dev/vg0/hf-a") ==
        Argv{"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", "/dev/vg0/hf-a"});
  CHECK(mkfs_argv(FsType::xfs, {}, {}, "/dev/vg0/hf-a") == Argv{"mkfs.xfs", "-q", "-f", "-K", "/dev/vg0/hf-a"});
}

TEST_CASE("mkfs options of config and volume are appended, -E merged", "[lvm][fs]") {
  auto volume = parse_mkfs_options("-m 1 -E discard,stride=16 -L data", FsType::ext4, true);
  auto config = parse_mkfs_options("-O ^has_journal -E lazy_itable_init=0", FsType::ext4, false);
  CHECK(mkfs_argv(FsType::ext4, config, volume, "/dev/x") ==
        Argv{"mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-m", "1", "-L", "data", "-E",
             "lazy_itable_init=0,lazy_journal_init=1,discard,stride=16", "/dev/x"});
  auto xfs = parse_mkfs_options("-m reflink=0 -i size=512 -m bigtime=1 -d agcount=8", FsType::xfs, true);
  CHECK(mkfs_argv(FsType::xfs, {}, xfs, "/dev/x") ==
        Argv{"mkfs.xfs", "-q", "-f", "-K", "-m", "reflink=0,bigtime=1", "-i", "size=512", "-d", "agcount=8", "/dev/x"});
}

TEST_CASE("volume mkfs options outside the allowlist are refused", "[lvm][fs]") {
  struct Row {
    const char* text;
    FsType fs;
    const char* message;
  };
  const Row rows[] = {
      {"-O ^has_journal", FsType::ext4, "\"-O\" is not allowed for ext4 (allowed: -E, -I, -L, -N, -T, -b, -i, -m)"},
      {"-m", FsType::ext4, "-m needs a value"},
      {"-m 51", FsType::ext4, "-m must be an integer from 0 to 50"},
      {"-m x", FsType::ext4, "-m must be an integer from 0 to 50"},
      {"-b 8192", FsType::ext4, "-b must be one of 1024|2048|4096"},
      {"-L a/b", FsType::ext4, "-L must be a label"},
      {"-L 12345678901234567", FsType::ext4, "-L must be a label of 1 to 16"},
      {"-E root_owner=0:0", FsType::ext4, "-E sub-option \"root_owner\" is not allowed"},
      {"-E discard=1", FsType::ext4, "-E discard takes no value"},
      {"-E stride", FsType::ext4, "-E stride must be a value"},
      {"-E ,", FsType::ext4, "-E needs sub-options"},
      {"/dev/sda", FsType::ext4, "\"/dev/sda\" is not allowed"},
      {"-m 1 /dev/sda", FsType::ext4, "\"/dev/sda\" is not allowed"},
      {"-f", FsType::xfs, "\"-f\" is not allowed for xfs"},
      {"-m crc=2", FsType::xfs, "-m crc must be one of 0|1"},
      {"-d file,name=/etc/passwd", FsType::xfs, "-d sub-option \"file\" is not allowed"},
      {"-L abcdefghijklm", FsType::xfs, "-L must be a label of 1 to 12"},
      {"-m\x01", FsType::ext4, "control or non-ASCII"},
      // A value that reads as a flag: mkfs_argv() would merge "-m" into -E
      // and give -L the 5 (found by fuzz_backend_options).
      {"-L -E -m 5", FsType::ext4, "-L needs a value, not \"-E\""},
      {"-L -d -K", FsType::xfs, "-L needs a value, not \"-d\""},
      {"-m -0", FsType::ext4, "-m needs a value, not \"-0\""},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    try {
      (void)parse_mkfs_options(row.text, row.fs, true);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_argument);
      CHECK_THAT(e.what(), Catch::StartsWith("mkfs_options: ") && Catch::Contains(row.message));
    }
  }
}

TEST_CASE("allowed volume mkfs options pass", "[lvm][fs]") {
  CHECK(parse_mkfs_options("  -m 0   -i 65536 -I 256 -N 100000 -b 4096 -T largefile -L my_vol.1 ", FsType::ext4, true)
            .size() == 14);
  CHECK(parse_mkfs_options("-K -L x -m crc=1,finobt=1,rmapbt=0 -i maxpct=5", FsType::xfs, true).size() == 7);
  CHECK(parse_mkfs_options("", FsType::xfs, true).empty());
}

TEST_CASE("mount options become flags and data", "[lvm][fs]") {
  MountSpec spec = parse_mount_options("noatime,nodev,nosuid,noexec,data=writeback,commit=30,discard", FsType::ext4, true);
  CHECK(spec.flags == (MS_NOATIME | MS_NODEV | MS_NOSUID | MS_NOEXEC));
  CHECK(spec.data == "data=writeback,commit=30,discard");
  spec = parse_mount_options("defaults,ro,lazytime,prjquota,allocsize=64k", FsType::xfs, true);
  CHECK(spec.flags == (MS_RDONLY | MS_LAZYTIME));
  CHECK(spec.data == "prjquota,allocsize=64k");
  CHECK(parse_mount_options("", FsType::xfs, true).flags == 0);
}

TEST_CASE("volume mount options outside the allowlist are refused", "[lvm][fs]") {
  struct Row {
    const char* text;
    FsType fs;
    const char* message;
  };
  const Row rows[] = {
      {"nobarrier", FsType::ext4, "\"nobarrier\" is not allowed for ext4 (allowed: ro, rw"},
      {"errors=panic", FsType::ext4, "errors must be one of remount-ro|continue"},
      {"commit=0", FsType::ext4, "commit must be an integer from 1 to 600"},
      {"commit", FsType::ext4, "commit must be a value"},
      {"data=ordered", FsType::xfs, "\"data=ordered\" is not allowed for xfs"},
      {"allocsize=3000", FsType::xfs, "allocsize must be a power of two"},
      {"allocsize=2g", FsType::xfs, "allocsize must be a power of two"},
      {"inode64=1", FsType::xfs, "inode64 takes no value"},
      {"context=system_u:object_r:tmp_t", FsType::ext4, "is not allowed"},
      {"noatime,a b", FsType::ext4, "contains spaces"},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    try {
      (void)parse_mount_options(row.text, row.fs, true);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_argument);
      CHECK_THAT(e.what(), Catch::StartsWith("mount_options: ") && Catch::Contains(row.message));
    }
  }
}

TEST_CASE("operator mount options are trusted but still parsed", "[lvm][fs]") {
  MountSpec spec = parse_mount_options("noatime,nobarrier,context=x", FsType::ext4, false);
  CHECK(spec.flags == MS_NOATIME);
  CHECK(spec.data == "nobarrier,context=x");
  CHECK_THROWS_AS(parse_mount_options("a b", FsType::ext4, false), Error);
}

TEST_CASE("merge: volume options after config options, rw overrides ro", "[lvm][fs]") {
  MountSpec base = parse_mount_options("ro,noatime,commit=5", FsType::ext4, false);
  MountSpec extra = parse_mount_options("rw,nodev,commit=30", FsType::ext4, true);
  MountSpec merged = merge(base, extra);
  CHECK(merged.flags == (MS_NOATIME | MS_NODEV));
  CHECK(merged.data == "commit=5,commit=30");
  CHECK(merge(MountSpec{}, MountSpec{0, "nouuid", false}).data == "nouuid");
}

TEST_CASE("grow argv per filesystem", "[lvm][fs]") {
  CHECK(grow_argv(FsType::ext4, "/dev/vg0/hf-a", "/m/a") == Argv{"resize2fs", "/dev/vg0/hf-a"});
  CHECK(grow_argv(FsType::xfs, "/dev/vg0/hf-a", "/m/a") == Argv{"xfs_growfs", "/m/a"});
}
