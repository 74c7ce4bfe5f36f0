#include <holdfast/host.hpp>

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

using holdfast::parse_mountinfo;

TEST_CASE("mountinfo: a typical line", "[unit][mountinfo]") {
  std::size_t skipped = 99;
  auto entries = parse_mountinfo(
      "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n", &skipped);
  CHECK(skipped == 0);
  REQUIRE(entries.size() == 1);
  const auto& e = entries[0];
  CHECK(e.mount_id == 36);
  CHECK(e.parent_id == 35);
  CHECK(e.major == 98);
  CHECK(e.minor == 0);
  CHECK(e.root == "/mnt1");
  CHECK(e.mount_point == "/mnt2");
  CHECK(e.mount_options == "rw,noatime");
  CHECK(e.fs_type == "ext3");
  CHECK(e.source == "/dev/root");
  CHECK(e.super_options == "rw,errors=continue");
}

TEST_CASE("mountinfo: octal escapes are decoded", "[unit][mountinfo]") {
  auto entries = parse_mountinfo(
      "40 22 0:35 /a\\134b /mnt/with\\040space\\011tab\\012nl rw - fuse.my\\040fs src\\040x rw\n");
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].root == "/a\\b");
  CHECK(entries[0].mount_point == "/mnt/with space\ttab\nnl");
  CHECK(entries[0].fs_type == "fuse.my fs");
  CHECK(entries[0].source == "src x");
  // Not an escape: a backslash not followed by three octal digits stays.
  auto other = parse_mountinfo("40 22 0:35 / /m\\9x\\04 rw - tmpfs t rw\n");
  REQUIRE(other.size() == 1);
  CHECK(other[0].mount_point == "/m\\9x\\04");
}

TEST_CASE("mountinfo: zero, one or several optional fields", "[unit][mountinfo]") {
  auto entries = parse_mountinfo(
      "1 0 0:1 / / rw - rootfs rootfs rw\n"
      "2 1 0:2 / /a rw shared:7 - tmpfs t rw\n"
      "3 1 0:3 / /b rw shared:7 master:3 propagate_from:2 unbindable - tmpfs t rw\n");
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].fs_type == "rootfs");
  CHECK(entries[1].mount_point == "/a");
  CHECK(entries[1].fs_type == "tmpfs");
  CHECK(entries[2].mount_point == "/b");
  CHECK(entries[2].source == "t");
  CHECK(entries[2].super_options == "rw");
}

TEST_CASE("mountinfo: an empty source does not shift the fields", "[unit][mountinfo]") {
  // `mount -t tmpfs "" /x` gives two spaces in a row.
  auto entries = parse_mountinfo("5 1 0:40 / /x rw,relatime - tmpfs  rw,size=10k\n");
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].fs_type == "tmpfs");
  CHECK(entries[0].source.empty());
  CHECK(entries[0].super_options == "rw,size=10k");
}

TEST_CASE("mountinfo: malformed lines are skipped and counted", "[unit][mountinfo]") {
  std::size_t skipped = 0;
  auto entries = parse_mountinfo(
      "\n"
      "garbage\n"
      "x 1 0:1 / /a rw - tmpfs t rw\n"           // non-numeric id
      "7 1 01 / /a rw - tmpfs t rw\n"            // no colon in maj:min
      "7 1 0:1 / /a rw shared:1 tmpfs t rw\n"    // no separator
      "7 1 0:1 / /a rw -\n"                      // nothing after the separator
      "7 1 0:1 / relative rw - tmpfs t rw\n"     // mount point not absolute
      "7 1 0:1 / /a rw - tmpfs\n"                // no source
      "8 1 0:1 / /good rw - tmpfs t rw\n"
      "9 1 0:1 / /last rw - tmpfs t rw",         // no final newline
      &skipped);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].mount_point == "/good");
  CHECK(entries[1].mount_point == "/last");
  CHECK(skipped == 7);
}

TEST_CASE("mountinfo: this process's real table parses completely", "[unit][mountinfo]") {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  std::size_t skipped = 99;
  auto entries = parse_mountinfo(text.str(), &skipped);
  CHECK(skipped == 0);
  CHECK_FALSE(entries.empty());
  bool has_root = false;
  for (const auto& e : entries) {
    has_root = has_root || e.mount_point == "/";
  }
  CHECK(has_root);
}
