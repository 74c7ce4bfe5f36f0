#include "local_backend.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

#include "support/fake_mounter.hpp"
#include "support/fake_runner.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using holdfast::Deadline;
using holdfast::ErrorKind;
using holdfast::VolumeRecord;
using holdfast::test::TempDir;

namespace {

struct Env {
  holdfast::test::FakeRunner runner;
  holdfast::test::FakeMounter mounter;
  holdfast::BackendEnv env;
  explicit Env(std::string state_dir) : env{"local", "host-a", std::move(state_dir), runner, mounter} {}
};

std::unique_ptr<holdfast::Backend> make(const std::string& yaml, const std::string& state_dir) {
  Env e(state_dir);
  holdfast::ConfigReader reader(YAML::Load(yaml), "holdfast.yaml", "backends.local");
  return holdfast::local::make_backend(reader, e.env);
}

VolumeRecord record(const std::string& name, holdfast::Options options = {}) {
  VolumeRecord r;
  r.name = name;
  r.backend = "local";
  r.options = std::move(options);
  return r;
}

Deadline soon() { return Deadline::after(10s); }

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

bool exists(const std::string& path) {
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
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string error_of(const std::function<void()>& fn, ErrorKind kind) {
  try {
    fn();
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == kind);
    return e.what();
  }
  FAIL("expected a holdfast::Error");
  return {};
}

}  // namespace

TEST_CASE("local backend: provision, attach, deprovision (delete policy)", "[unit][local]") {
  TempDir dir;
  auto backend = make("base_dir: " + dir.sub("vols"), dir.sub("state"));
  CHECK(backend->type() == "local");
  CHECK(backend->scope() == holdfast::Scope::local);
  CHECK_FALSE(backend->discover(soon()).has_value());

  auto rec = record("db1");
  backend->validate(rec.options);
  backend->provision(rec, soon());
  std::string path = dir.sub("vols/db1");
  auto st = stat_of(path);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 07777) == 0755);
  CHECK((stat_of(dir.sub("vols")).st_mode & 07777) == 0711);
  backend->provision(rec, soon());  // idempotent

  // attach hands back the directory itself; the target is not used.
  CHECK(backend->attach(rec, dir.sub("mounts/db1"), soon()) == path);
  CHECK_FALSE(exists(dir.sub("mounts")));
  CHECK(backend->is_attached(rec));
  write_text(path + "/data", "x");
  backend->detach(rec, path, soon());
  CHECK(read_text(path + "/data") == "x");  // detach touches nothing

  auto status = backend->status(rec);
  CHECK(status["backend"] == "local");
  CHECK(status["path"] == path);
  CHECK_FALSE(status.contains("uid"));

  backend->deprovision(rec, soon());
  CHECK_FALSE(exists(path));
  CHECK_FALSE(backend->is_attached(rec));
  backend->deprovision(rec, soon());  // already gone: fine
  CHECK(exists(dir.sub("vols")));
}

TEST_CASE("local backend: retain policy keeps the directory", "[unit][local]") {
  TempDir dir;
  auto backend = make("base_dir: " + dir.sub("vols") + "\non_remove: retain\n", dir.sub("state"));
  auto rec = record("keep");
  backend->provision(rec, soon());
  write_text(dir.sub("vols/keep/data"), "precious");
  backend->deprovision(rec, soon());
  CHECK(read_text(dir.sub("vols/keep/data")) == "precious");
  // Creating it again adopts the retained directory and its data.
  backend->provision(rec, soon());
  CHECK(read_text(dir.sub("vols/keep/data")) == "precious");
}

TEST_CASE("local backend: default base_dir is <state_dir>/local", "[unit][local]") {
  TempDir dir;
  auto backend = make("", dir.sub("state"));
  auto rec = record("v");
  backend->provision(rec, soon());
  CHECK(exists(dir.sub("state/local/v")));
  CHECK(backend->status(rec)["path"] == dir.sub("state/local/v"));
}

TEST_CASE("local backend: uid, gid and mode are applied", "[unit][local]") {
  TempDir dir;
  auto backend = make("base_dir: " + dir.sub("vols"), dir.sub("state"));
  bool root = ::geteuid() == 0;
  holdfast::Options opts = {{"mode", "0750"}};
  if (root) {
    opts["uid"] = "1234";
    opts["gid"] = "5678";
  } else {
    WARN("not root: uid/gid are not checked");
  }
  auto rec = record("owned", opts);
  backend->validate(rec.options);
  mode_t old = ::umask(077);
  backend->provision(rec, soon());
  ::umask(old);
  auto st = stat_of(dir.sub("vols/owned"));
  CHECK((st.st_mode & 07777) == 0750);
  if (root) {
    CHECK(st.st_uid == 1234);
    CHECK(st.st_gid == 5678);
  }
  auto status = backend->status(rec);
  CHECK(status["mode"] == "0750");
  if (root) {
    CHECK(status["uid"] == 1234);
    CHECK(status["gid"] == 5678);
  }
  // Sticky/setgid bits are allowed (mode <= 07777).
  auto sticky = record("sticky", {{"mode", "1777"}});
  backend->provision(sticky, soon());
  CHECK((stat_of(dir.sub("vols/sticky")).st_mode & 07777) == 01777);
}

TEST_CASE("local backend: config defaults for uid, gid, mode, options override", "[unit][local]") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root to chown");
    return;
  }
  TempDir dir;
  auto backend = make("base_dir: " + dir.sub("vols") + "\nuid: 1000\ngid: 1001\nmode: 0700\n", dir.sub("state"));
  auto plain = record("plain");
  backend->provision(plain, soon());
  auto st = stat_of(dir.sub("vols/plain"));
  CHECK(st.st_uid == 1000);
  CHECK(st.st_gid == 1001);
  CHECK((st.st_mode & 07777) == 0700);
  CHECK(backend->status(plain)["mode"] == "0700");

  auto custom = record("custom", {{"uid", "0"}, {"mode", "0755"}});
  backend->provision(custom, soon());
  st = stat_of(dir.sub("vols/custom"));
  CHECK(st.st_uid == 0);
  CHECK(st.st_gid == 1001);
  CHECK((st.st_mode & 07777) == 0755);
}

TEST_CASE("local backend: bad option values are rejected with clear messages", "[unit][local]") {
  TempDir dir;
  auto backend = make("base_dir: " + dir.sub("vols"), dir.sub("state"));
  std::vector<std::string> names;
  for (const auto& o : backend->accepted_options()) {
    names.push_back(o.name);
    CHECK_FALSE(o.help.empty());
  }
  CHECK(names == std::vector<std::string>{"uid", "gid", "mode"});

  auto inv = ErrorKind::invalid_argument;
  CHECK(error_of([&] { backend->validate({{"uid", "abc"}}); }, inv) ==
        "option uid: expected a number from 0 to 2147483646, got \"abc\"");
  for (std::string bad : {"-1", "", " 1", "1 ", "+5", "2147483647", "4294967295", "99999999999999999999", "1e3"}) {
    INFO("uid " << bad);
    CHECK_THAT(error_of([&] { backend->validate({{"uid", bad}}); }, inv), Catch::StartsWith("option uid: "));
  }
  CHECK_THAT(error_of([&] { backend->validate({{"gid", "x"}}); }, inv), Catch::StartsWith("option gid: "));
  for (std::string bad : {"0800", "10000", "rwx", "", "-0755", "0o755", "0x1ff"}) {
    INFO("mode " << bad);
    CHECK_THAT(error_of([&] { backend->validate({{"mode", bad}}); }, inv),
               Catch::StartsWith("option mode: expected an octal file mode"));
  }
  CHECK_THAT(error_of([&] { backend->validate({{"size", "10G"}}); }, inv),
             Catch::Contains("unknown option \"size\" (accepted: uid, gid, mode)"));
  backend->validate({{"uid", "0"}, {"gid", "2147483646"}, {"mode", "07777"}});
  backend->validate({{"mode", "0"}});
  // provision re-checks: a record that skipped validate cannot do harm.
  auto rec = record("bad", {{"mode", "999"}});
  CHECK_THROWS_AS(backend->provision(rec, soon()), holdfast::Error);
  CHECK_FALSE(exists(dir.sub("vols/bad")));
}

TEST_CASE("local backend: a symlink planted inside a volume does not make delete escape", "[unit][local]") {
  TempDir dir;
  auto backend = make("base_dir: " + dir.sub("vols"), dir.sub("state"));
  std::string outside = dir.sub("host-data");
  REQUIRE(::mkdir(outside.c_str(), 0755) == 0);
  write_text(outside + "/passwd", "root:x:0:0");
  auto rec = record("evil");
  backend->provision(rec, soon());
  std::string vol = dir.sub("vols/evil");
  // What a container could plant in its volume.
  REQUIRE(::symlink(outside.c_str(), (vol + "/link-to-dir").c_str()) == 0);
  REQUIRE(::symlink((outside + "/passwd").c_str(), (vol + "/link-to-file").c_str()) == 0);
  REQUIRE(::symlink("../../host-data", (vol + "/relative").c_str()) == 0);
  REQUIRE(::mkdir((vol + "/sub").c_str(), 0755) == 0);
  REQUIRE(::symlink("/", (vol + "/sub/root").c_str()) == 0);

  backend->deprovision(rec, soon());
  CHECK_FALSE(exists(vol));
  CHECK(read_text(outside + "/passwd") == "root:x:0:0");
  CHECK(exists(dir.sub("vols")));
}

TEST_CASE("local backend: a symlink in place of the volume directory is refused", "[unit][local]") {
  TempDir dir;
  auto backend = make("base_dir: " + dir.sub("vols"), dir.sub("state"));
  std::string outside = dir.sub("elsewhere");
  REQUIRE(::mkdir(outside.c_str(), 0700) == 0);
  auto prep = record("prep");
  backend->provision(prep, soon());  // creates base_dir
  REQUIRE(::symlink(outside.c_str(), dir.sub("vols/swapped").c_str()) == 0);
  auto rec = record("swapped", {{"mode", "0777"}});
  CHECK_THAT(error_of([&] { backend->provision(rec, soon()); }, ErrorKind::conflict),
             Catch::Contains("exists and is not a directory"));
  CHECK_THROWS_AS(backend->attach(rec, "", soon()), holdfast::Error);
  CHECK((stat_of(outside).st_mode & 07777) == 0700);  // not chmod'ed through the link
  CHECK_FALSE(backend->is_attached(rec));
  // Delete removes the link, not the target.
  backend->deprovision(rec, soon());
  CHECK_FALSE(exists(dir.sub("vols/swapped")));
  CHECK(exists(outside));
}

TEST_CASE("local backend: attach recreates a directory an operator deleted", "[unit][local]") {
  TempDir dir;
  auto backend = make("base_dir: " + dir.sub("vols"), dir.sub("state"));
  auto rec = record("gone", {{"mode", "0700"}});
  backend->provision(rec, soon());
  REQUIRE(::rmdir(dir.sub("vols/gone").c_str()) == 0);
  CHECK_FALSE(backend->is_attached(rec));
  CHECK(backend->attach(rec, dir.sub("mnt"), soon()) == dir.sub("vols/gone"));
  CHECK((stat_of(dir.sub("vols/gone")).st_mode & 07777) == 0700);
  CHECK(backend->is_attached(rec));
}

TEST_CASE("local backend: config errors name the file, line and key", "[unit][local]") {
  TempDir dir;
  auto inv = ErrorKind::invalid_argument;
  CHECK(error_of([&] { make("base_dir: relative/path\n", dir.path()); }, inv) ==
        "holdfast.yaml:1: backends.local.base_dir: must be an absolute path, got \"relative/path\"");
  CHECK_THAT(error_of([&] { make("base_dir: /\n", dir.path()); }, inv), Catch::Contains("must not be /"));
  CHECK_THAT(error_of([&] { make("on_remove: shred\n", dir.path()); }, inv),
             Catch::Contains("holdfast.yaml:1: backends.local.on_remove: \"shred\" is not one of: delete, retain"));
  CHECK_THAT(error_of([&] { make("base_dir: /x\nbasedir: /y\n", dir.path()); }, inv),
             Catch::Contains("holdfast.yaml:2: backends.local: unknown key \"basedir\""));
  CHECK_THAT(error_of([&] { make("uid: -3\n", dir.path()); }, inv), Catch::Contains("backends.local.uid"));
  CHECK_THAT(error_of([&] { make("mode: 9\n", dir.path()); }, inv), Catch::Contains("backends.local.mode"));
  // Trailing slashes are normalised.
  auto backend = make("base_dir: " + dir.sub("v") + "//\n", dir.path());
  CHECK(backend->status(record("a"))["path"] == dir.sub("v/a"));
}
