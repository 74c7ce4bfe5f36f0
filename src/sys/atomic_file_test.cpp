#include "sys/atomic_file.hpp"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

#include "support/temp_dir.hpp"

using holdfast::ErrorKind;
using holdfast::read_file;
using holdfast::write_file_atomically;
using holdfast::test::TempDir;

namespace {

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (const dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") {
      out.insert(name);
    }
  }
  ::closedir(d);
  return out;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

bool have_root() {
  if (::geteuid() != 0) {
    WARN("skipped: needs root for mount(2)");
    return false;
  }
  return true;
}

// A tiny tmpfs for real ENOSPC / EROFS; unmounted (lazily) at scope exit.
struct SmallFs {
  std::string path;
  explicit SmallFs(std::string p) : path(std::move(p)) {
    REQUIRE(::mkdir(path.c_str(), 0755) == 0);
    REQUIRE(::mount("holdfast-test", path.c_str(), "tmpfs", 0, "size=64k") == 0);
  }
  ~SmallFs() { ::umount2(path.c_str(), MNT_DETACH); }
  SmallFs(const SmallFs&) = delete;
  SmallFs& operator=(const SmallFs&) = delete;
};

}  // namespace

TEST_CASE("atomic file: writes content with exactly the mode asked", "[unit][atomic]") {
  TempDir dir;
  mode_t old_umask = ::umask(077);
  write_file_atomically(dir.sub("a.json"), "{\"x\": 1}\n", 0644);
  ::umask(old_umask);
  CHECK(read_file(dir.sub("a.json"), 1024) == std::optional<std::string>("{\"x\": 1}\n"));
  CHECK(mode_of(dir.sub("a.json")) == 0644);

  write_file_atomically(dir.sub("b"), "secret");
  CHECK(mode_of(dir.sub("b")) == 0600);  // the default

  // Replacing: new content, and no temp file left behind.
  write_file_atomically(dir.sub("a.json"), "second");
  CHECK(read_file(dir.sub("a.json"), 1024) == std::optional<std::string>("second"));
  CHECK(entries(dir.path()) == std::set<std::string>{"a.json", "b"});

  write_file_atomically(dir.sub("empty"), "");
  CHECK(read_file(dir.sub("empty"), 10) == std::optional<std::string>(""));
}

TEST_CASE("atomic file: a failed rename leaves the target intact and no temp file", "[unit][atomic]") {
  TempDir dir;
  // A non-empty directory cannot be replaced by a file: rename fails.
  REQUIRE(::mkdir(dir.sub("target").c_str(), 0755) == 0);
  std::ofstream(dir.sub("target/keep")) << "kept";
  try {
    write_file_atomically(dir.sub("target"), "new");
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("write " + dir.sub("target") + ": rename"));
  }
  CHECK(read_file(dir.sub("target/keep"), 100) == std::optional<std::string>("kept"));
  CHECK(entries(dir.path()) == std::set<std::string>{"target"});
}

TEST_CASE("atomic file: a missing directory is not_found", "[unit][atomic]") {
  TempDir dir;
  try {
    write_file_atomically(dir.sub("no/such/file"), "x");
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
  }
}

TEST_CASE("atomic file: unwritable directory keeps the old file", "[unit][atomic]") {
  TempDir dir;
  std::string sub = dir.sub("ro");
  REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
  write_file_atomically(sub + "/state.json", "old");
  if (::geteuid() == 0) {
    // Root ignores directory permissions: use a read-only bind mount.
    REQUIRE(::mount(sub.c_str(), sub.c_str(), nullptr, MS_BIND, nullptr) == 0);
    REQUIRE(::mount(nullptr, sub.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) == 0);
  } else {
    REQUIRE(::chmod(sub.c_str(), 0555) == 0);
  }
  try {
    write_file_atomically(sub + "/state.json", "new");
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::permission);
  }
  if (::geteuid() == 0) {
    ::umount2(sub.c_str(), 0);
  } else {
    ::chmod(sub.c_str(), 0755);
  }
  CHECK(read_file(sub + "/state.json", 100) == std::optional<std::string>("old"));
  CHECK(entries(sub) == std::set<std::string>{"state.json"});
}

TEST_CASE("atomic file: a full filesystem (ENOSPC) keeps the old file and removes the temp", "[unit][atomic][root]") {
  if (!have_root()) {
    return;
  }
  TempDir dir;
  SmallFs fs(dir.sub("small"));
  std::string path = fs.path + "/state.json";
  write_file_atomically(path, "old content");
  std::string huge(1024 * 1024, 'z');
  try {
    write_file_atomically(path, huge);
    FAIL("expected ENOSPC");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::unavailable);
    CHECK_THAT(e.what(), Catch::Contains("No space left on device"));
  }
  CHECK(read_file(path, 100) == std::optional<std::string>("old content"));
  CHECK(entries(fs.path) == std::set<std::string>{"state.json"});
  // Space is back: the next write works.
  write_file_atomically(path, "fresh");
  CHECK(read_file(path, 100) == std::optional<std::string>("fresh"));
}

TEST_CASE("atomic file: concurrent writers of one path never tear it", "[unit][atomic]") {
  TempDir dir;
  std::string path = dir.sub("shared");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string content(4096, static_cast<char>('a' + t));
      for (int i = 0; i < 25; ++i) {
        write_file_atomically(path, content);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  auto text = read_file(path, 10000);
  REQUIRE(text);
  REQUIRE(text->size() == 4096);
  CHECK(text->find_first_not_of(text->front()) == std::string::npos);
  CHECK(entries(dir.path()) == std::set<std::string>{"shared"});
}

TEST_CASE("atomic file: read_file bounds and absence", "[unit][atomic]") {
  TempDir dir;
  CHECK_FALSE(read_file(dir.sub("absent"), 10).has_value());
  write_file_atomically(dir.sub("f"), "0123456789");
  CHECK(read_file(dir.sub("f"), 10) == std::optional<std::string>("0123456789"));
  CHECK_THROWS_AS(read_file(dir.sub("f"), 9), holdfast::Error);
  // A directory cannot be read as a file.
  CHECK_THROWS_AS(read_file(dir.path(), 10), holdfast::Error);
}

TEST_CASE("atomic file: remove_file_durably and fsync_directory", "[unit][atomic]") {
  TempDir dir;
  write_file_atomically(dir.sub("f"), "x");
  holdfast::remove_file_durably(dir.sub("f"));
  CHECK_FALSE(read_file(dir.sub("f"), 10).has_value());
  holdfast::remove_file_durably(dir.sub("f"));  // absent: fine
  holdfast::fsync_directory(dir.path());
  try {
    holdfast::fsync_directory(dir.sub("missing"));
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
  }
}
