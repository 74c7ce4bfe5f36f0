#include <holdfast/safe_path.hpp>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

#include "support/temp_dir.hpp"

using holdfast::ErrorKind;
using holdfast::ensure_directory;
using holdfast::join_under;
using holdfast::remove_tree_under;
using holdfast::test::TempDir;

namespace {

bool exists_nofollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  REQUIRE(out.good());
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ErrorKind kind_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const holdfast::Error& e) {
    return e.kind();
  }
  FAIL("expected a holdfast::Error");
  return ErrorKind::internal;
}

}  // namespace

TEST_CASE("safe path: join_under accepts exactly one component", "[unit][paths]") {
  CHECK(join_under("/var/lib/holdfast", "db1") == "/var/lib/holdfast/db1");
  CHECK(join_under("/var/lib/holdfast/", "a.b-c_d") == "/var/lib/holdfast/a.b-c_d");
  CHECK(join_under("/", "x") == "/x");
  CHECK(join_under("/r", "..x") == "/r/..x");  // a name starting with dots is one component
  for (std::string bad : {std::string(), std::string("."), std::string(".."), std::string("a/b"),
                          std::string("/abs"), std::string("a/"), std::string("a\0b", 3)}) {
    INFO("component: " << bad);
    CHECK(kind_of([&] { join_under("/r", bad); }) == ErrorKind::invalid_argument);
  }
  CHECK(kind_of([] { join_under("", "x"); }) == ErrorKind::invalid_argument);
}

TEST_CASE("safe path: ensure_directory creates parents with the exact mode", "[unit][paths]") {
  TempDir dir;
  mode_t old = ::umask(077);
  ensure_directory(dir.sub("a/b/c/"), 0751);
  ::umask(old);
  struct stat st {};
  REQUIRE(::stat(dir.sub("a/b/c").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 07777) == 0751);
  // Existing: left as it is.
  REQUIRE(::chmod(dir.sub("a/b/c").c_str(), 0700) == 0);
  ensure_directory(dir.sub("a/b/c"), 0755);
  REQUIRE(::stat(dir.sub("a/b/c").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
}

TEST_CASE("safe path: ensure_directory refuses a symlink or a file", "[unit][paths]") {
  TempDir dir;
  REQUIRE(::mkdir(dir.sub("real").c_str(), 0755) == 0);
  REQUIRE(::symlink(dir.sub("real").c_str(), dir.sub("link").c_str()) == 0);
  CHECK(kind_of([&] { ensure_directory(dir.sub("link"), 0755); }) == ErrorKind::invalid_argument);
  write_text(dir.sub("file"), "x");
  CHECK(kind_of([&] { ensure_directory(dir.sub("file"), 0755); }) == ErrorKind::invalid_argument);
  // A symlink among the parents is followed (like /var/run -> /run).
  ensure_directory(dir.sub("link/sub"), 0700);
  CHECK(exists_nofollow(dir.sub("real/sub")));
  CHECK(kind_of([&] { ensure_directory(dir.sub("file/sub"), 0755); }) == ErrorKind::internal);  // ENOTDIR
}

TEST_CASE("safe path: remove_tree_under deletes a whole tree", "[unit][paths]") {
  TempDir dir;
  std::string root = dir.sub("volumes");
  ensure_directory(root + "/v1/a/b/c", 0755);
  write_text(root + "/v1/top", "1");
  write_text(root + "/v1/a/b/c/deep", "2");
  REQUIRE(::mkfifo((root + "/v1/a/fifo").c_str(), 0600) == 0);
  ensure_directory(root + "/v2", 0755);

  remove_tree_under(root, "v1");
  CHECK_FALSE(exists_nofollow(root + "/v1"));
  CHECK(exists_nofollow(root + "/v2"));
  // Absolute path inside the root works too; absent is success.
  remove_tree_under(root, root + "/v2");
  CHECK_FALSE(exists_nofollow(root + "/v2"));
  remove_tree_under(root, "v2");
  remove_tree_under(root, "missing/deeper");
  CHECK(exists_nofollow(root));
}

TEST_CASE("safe path: a symlink planted inside a volume is removed as a link, its target survives",
          "[unit][paths]") {
  TempDir dir;
  std::string root = dir.sub("volumes");
  std::string outside = dir.sub("precious");
  ensure_directory(outside + "/sub", 0755);
  write_text(outside + "/data", "keep me");
  write_text(outside + "/sub/more", "keep me too");
  ensure_directory(root + "/v1/inner", 0755);
  // Links to a directory, to a file, to the root itself, and dangling.
  REQUIRE(::symlink(outside.c_str(), (root + "/v1/escape").c_str()) == 0);
  REQUIRE(::symlink(outside.c_str(), (root + "/v1/inner/escape2").c_str()) == 0);
  REQUIRE(::symlink((outside + "/data").c_str(), (root + "/v1/filelink").c_str()) == 0);
  REQUIRE(::symlink("/", (root + "/v1/slash").c_str()) == 0);
  REQUIRE(::symlink("../../..", (root + "/v1/inner/up").c_str()) == 0);
  REQUIRE(::symlink("/nonexistent", (root + "/v1/dangling").c_str()) == 0);
  // A hard link to an outside file: only the link goes.
  REQUIRE(::link((outside + "/data").c_str(), (root + "/v1/hard").c_str()) == 0);

  remove_tree_under(root, "v1");
  CHECK_FALSE(exists_nofollow(root + "/v1"));
  CHECK(read_text(outside + "/data") == "keep me");
  CHECK(read_text(outside + "/sub/more") == "keep me too");
  CHECK(exists_nofollow(root));
}

TEST_CASE("safe path: the volume directory itself being a symlink", "[unit][paths]") {
  TempDir dir;
  std::string root = dir.sub("volumes");
  std::string outside = dir.sub("precious");
  ensure_directory(root, 0755);
  ensure_directory(outside, 0755);
  write_text(outside + "/data", "keep me");
  REQUIRE(::symlink(outside.c_str(), (root + "/v1").c_str()) == 0);
  remove_tree_under(root, "v1");
  CHECK_FALSE(exists_nofollow(root + "/v1"));
  CHECK(read_text(outside + "/data") == "keep me");

  // A symlinked intermediate component is refused, never followed.
  REQUIRE(::symlink(outside.c_str(), (root + "/v2").c_str()) == 0);
  ensure_directory(outside + "/victim", 0755);
  CHECK(kind_of([&] { remove_tree_under(root, "v2/victim"); }) == ErrorKind::invalid_argument);
  CHECK(exists_nofollow(outside + "/victim"));
}

TEST_CASE("safe path: remove_tree_under refuses paths that leave the root", "[unit][paths]") {
  TempDir dir;
  std::string root = dir.sub("volumes");
  ensure_directory(root + "/v1", 0755);
  ensure_directory(dir.sub("other"), 0755);
  for (std::string bad : {std::string(".."), std::string("../other"), std::string("v1/../.."),
                          std::string("./v1"), std::string(""), std::string("/"), dir.sub("other"),
                          root, root + "/", dir.sub("volumes2")}) {
    INFO("dir: " << bad);
    CHECK(kind_of([&] { remove_tree_under(root, bad); }) == ErrorKind::invalid_argument);
  }
  CHECK(exists_nofollow(dir.sub("other")));
  CHECK(exists_nofollow(root + "/v1"));
}

TEST_CASE("safe path: deep trees and special files", "[unit][paths]") {
  TempDir dir;
  std::string root = dir.sub("volumes");
  std::string path = root + "/v1";
  for (int i = 0; i < 200; ++i) {
    path += "/d";
  }
  ensure_directory(path, 0755);
  write_text(path + "/leaf", "x");
  // A unix socket, as a container's service might leave behind.
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(s >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock = root + "/v1/sock";
  REQUIRE(sock.size() < sizeof addr.sun_path);
  sock.copy(addr.sun_path, sock.size());
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(s);
  remove_tree_under(root, "v1");
  CHECK_FALSE(exists_nofollow(root + "/v1"));
}

TEST_CASE("safe path: a filesystem mounted inside the tree stops the delete", "[unit][paths][root]") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root for mount(2)");
    return;
  }
  TempDir dir;
  std::string root = dir.sub("volumes");
  ensure_directory(root + "/v1/mnt", 0755);
  ensure_directory(root + "/v2", 0755);
  ensure_directory(dir.sub("elsewhere"), 0755);
  write_text(dir.sub("elsewhere/precious"), "keep");
  // A bind mount of the same filesystem has the same st_dev: statx's
  // mount-root attribute must still catch it.
  REQUIRE(::mount(dir.sub("elsewhere").c_str(), (root + "/v1/mnt").c_str(), nullptr, MS_BIND, nullptr) == 0);
  CHECK(kind_of([&] { remove_tree_under(root, "v1"); }) == ErrorKind::busy);
  CHECK(read_text(dir.sub("elsewhere/precious")) == "keep");
  ::umount2((root + "/v1/mnt").c_str(), 0);

  // The volume directory itself a mount point (tmpfs: another st_dev).
  REQUIRE(::mount("holdfast-test", (root + "/v2").c_str(), "tmpfs", 0, "size=64k") == 0);
  write_text(root + "/v2/inside", "keep");
  CHECK(kind_of([&] { remove_tree_under(root, "v2"); }) == ErrorKind::busy);
  CHECK(read_text(root + "/v2/inside") == "keep");
  ::umount2((root + "/v2").c_str(), MNT_DETACH);

  remove_tree_under(root, "v1");
  CHECK_FALSE(exists_nofollow(root + "/v1"));
}
