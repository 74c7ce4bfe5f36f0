// Unit tests of the nfs backend's host-side logic (validation, mount.nfs
// argv, attach/detach, is_attached, status) against FakeRunner and
// FakeMounter. The server side (libnfs) is proven by the integration suite
// against nfs-ganesha (nfs_backend_integration_test.cpp).
#include "nfs_backend.hpp"

#include <catch2/catch.hpp>

#include <support/fake_mounter.hpp>
#include <support/fake_runner.hpp>

using namespace holdfast;
using namespace holdfast::nfs;
using holdfast::test::FakeMounter;
using holdfast::test::FakeRunner;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  FakeRunner runner;
  FakeMounter mounter;
  BackendEnv env{"filer", "host-a", "/var/lib/holdfast", runner, mounter};
  std::vector<std::string> probed;
  std::unique_ptr<NfsBackend> backend;

  explicit Fixture(const std::string& extra = "") {
    holdfast::ConfigReader reader(YAML::Load("type: nfs\nserver: 10.0.0.5\nexport: /srv/docker\n" + extra),
                                  "holdfast.yaml", "backends.filer");
    backend = std::make_unique<NfsBackend>(read_nfs_config(reader), env);
    // The record on the export names the volume's generation directory.
    backend->set_probe([this](const std::string& name, Deadline) {
      probed.push_back(name);
      return name + "@20261129T010203Z.0000abcd";
    });
    // mount.nfs "mounts" into the fake table, as the kernel would.
    runner.on_call([this](const std::vector<std::string>& argv, const std::string&, Deadline)
                       -> std::optional<CommandResult> {
      if (!argv.empty() && argv[0] == "mount.nfs") {
        mounter.add_mount(argv[1], argv[2], "nfs4");
        return CommandResult{0, false, "", ""};
      }
      return std::nullopt;
    });
  }

  VolumeRecord record(const std::string& name, Options options = {}) const {
    VolumeRecord r;
    r.name = name;
    r.backend = "filer";
    r.options = std::move(options);
    return r;
  }
};

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  FAIL("expected a holdfast::Error");
  return ErrorKind::internal;
}

}  // namespace

TEST_CASE("nfs backend: identity", "[nfs][backend]") {
  Fixture f;
  CHECK(f.backend->type() == "nfs");
  CHECK(f.backend->scope() == Scope::global);
  std::set<std::string> names;
  for (const auto& spec : f.backend->accepted_options()) {
    names.insert(spec.name);
    CHECK_FALSE(spec.help.empty());
  }
  for (std::string n : {"uid", "gid", "mode", "vers", "proto", "port", "timeo", "retrans", "hard", "soft", "rsize",
                        "wsize", "noatime", "nconnect", "sec"}) {
    CHECK(names.count(n) == 1);
  }
}

TEST_CASE("nfs backend: validate", "[nfs][backend]") {
  Fixture f;
  SECTION("[Success] ownership and mount options") {
    f.backend->validate({{"uid", "1000"}, {"gid", "0"}, {"mode", "0750"}, {"timeo", "50"}, {"hard", ""},
                         {"vers", "3"}, {"nconnect", "4"}});
    f.backend->validate({{"mode", "1777"}, {"uid", "4294967294"}});
  }
  SECTION("[Error] bad values") {
    for (const Options& o : std::vector<Options>{{{"uid", "-1"}},
                                                 {{"uid", "1000,suid"}},
                                                 {{"uid", "4294967295"}},
                                                 {{"gid", "root"}},
                                                 {{"mode", "0800"}},
                                                 {{"mode", "17777"}},
                                                 {{"mode", ""}},
                                                 {{"timeo", "600,suid"}},
                                                 {{"sec", "none"}},
                                                 {{"hard", ""}, {"soft", ""}},
                                                 {{"noatime", ""}, {"relatime", ""}},
                                                 {{"addr", "10.0.0.6"}}}) {
      INFO(o.begin()->first << "=" << o.begin()->second);
      CHECK(kind_of([&] { f.backend->validate(o); }) == ErrorKind::invalid_argument);
    }
  }
  SECTION("[Error] suid and dev are refused unless the config allows them") {
    try {
      f.backend->validate({{"suid", ""}});
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Catch::Contains("allow_options"));
    }
    CHECK(kind_of([&] { f.backend->validate({{"dev", "true"}}); }) == ErrorKind::invalid_argument);
    Fixture allowed("allow_options: [suid]\n");
    allowed.backend->validate({{"suid", ""}});
    CHECK(kind_of([&] { allowed.backend->validate({{"dev", ""}}); }) == ErrorKind::invalid_argument);
  }
  SECTION("[Error] ownership needs provision_version 3") {
    Fixture v4("provision_version: 4\n");
    v4.backend->validate({{"mode", "0700"}});
    CHECK(kind_of([&] { v4.backend->validate({{"uid", "1000"}}); }) == ErrorKind::invalid_argument);
  }
}

TEST_CASE("nfs backend: attach runs mount.nfs with an argv and validated options", "[nfs][backend]") {
  Fixture f("mount_port: 20048\nport: 20490\n");
  VolumeRecord r = f.record("db", {{"uid", "1000"}, {"timeo", "50"}, {"noatime", ""}});
  const std::string target = "/var/lib/holdfast/mounts/db";

  std::string path = f.backend->attach(r, target, Deadline::after(30s));
  CHECK(path == target);
  REQUIRE(f.probed == std::vector<std::string>{"db"});
  auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() == 1);
  const std::string source = "10.0.0.5:/srv/docker/holdfast/db@20261129T010203Z.0000abcd";
  CHECK(argvs[0] == std::vector<std::string>{"mount.nfs", source, target, "-o",
                                             "vers=4,proto=tcp,port=20490,hard,timeo=50,retrans=2,noatime,nodev,nosuid"});
  CHECK(r.backend_data["source"] == source);
  CHECK(r.backend_data["dir"] == "db@20261129T010203Z.0000abcd");
  CHECK(f.backend->status(r)["path"] == "/srv/docker/holdfast/db@20261129T010203Z.0000abcd");

  SECTION("idempotent: already mounted -> no probe, no second mount") {
    CHECK(f.backend->attach(r, target, Deadline::after(30s)) == target);
    CHECK(f.runner.argvs().size() == 1);
    CHECK(f.probed.size() == 1);
  }
  SECTION("another file system on the target is a conflict") {
    f.mounter.add_mount("tmpfs", "/var/lib/holdfast/mounts/other", "tmpfs");
    VolumeRecord other = f.record("other");
    CHECK(kind_of([&] { f.backend->attach(other, "/var/lib/holdfast/mounts/other", Deadline::after(30s)); }) ==
          ErrorKind::conflict);
  }
}

TEST_CASE("nfs backend: attach recognises any generation of the volume as already attached, nothing else",
          "[nfs][backend]") {
  Fixture f;
  VolumeRecord r = f.record("db");
  SECTION("a format 1 directory") {
    f.mounter.add_mount("10.0.0.5:/srv/docker/holdfast/db", "/m/db", "nfs4");
    CHECK(f.backend->attach(r, "/m/db", Deadline::after(30s)) == "/m/db");
  }
  SECTION("an earlier generation (restart after the record was read)") {
    f.mounter.add_mount("10.0.0.5:/srv/docker/holdfast/db@20261101T000000Z.12345678", "/m/db", "nfs4");
    CHECK(f.backend->attach(r, "/m/db", Deadline::after(30s)) == "/m/db");
  }
  SECTION("[Error] another volume whose name starts alike") {
    f.mounter.add_mount("10.0.0.5:/srv/docker/holdfast/db2", "/m/db", "nfs4");
    CHECK(kind_of([&] { f.backend->attach(r, "/m/db", Deadline::after(30s)); }) == ErrorKind::conflict);
  }
  SECTION("[Error] a path below the volume's directory") {
    f.mounter.add_mount("10.0.0.5:/srv/docker/holdfast/db@x/../../etc", "/m/db", "nfs4");
    CHECK(kind_of([&] { f.backend->attach(r, "/m/db", Deadline::after(30s)); }) == ErrorKind::conflict);
  }
  CHECK(f.runner.argvs().empty());
}

TEST_CASE("nfs backend: a probe naming a directory of another volume stops the mount", "[nfs][backend]") {
  Fixture f;
  for (const std::string dir : {"other@x", "db/../other", "db@a/b", "", ".."}) {
    INFO(dir);
    f.backend->set_probe([dir](const std::string&, Deadline) { return dir; });
    VolumeRecord r = f.record("db");
    CHECK(kind_of([&] { f.backend->attach(r, "/m/db", Deadline::after(30s)); }) == ErrorKind::internal);
  }
  CHECK(f.runner.argvs().empty());
}

TEST_CASE("nfs backend: a failed probe stops the mount", "[nfs][backend]") {
  Fixture f;
  f.backend->set_probe([](const std::string&, Deadline) -> std::string {
    throw timeout("nfs server 10.0.0.5 not answering on port 2049 (no reply to mount of the export within 5.0s)");
  });
  VolumeRecord r = f.record("db");
  try {
    f.backend->attach(r, "/m/db", Deadline::after(30s));
    FAIL("attached");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::timeout);
    CHECK_THAT(e.what(), Catch::Contains("not answering on port 2049"));
  }
  CHECK(f.runner.argvs().empty());
}

TEST_CASE("nfs backend: mount.nfs failures are classified with its own text", "[nfs][backend]") {
  Fixture f;
  f.runner.reset_scripts();
  VolumeRecord r = f.record("db");
  SECTION("access denied -> permission") {
    f.runner.on({"mount.nfs"}, 32, "", "mount.nfs: access denied by server while mounting 10.0.0.5:/srv/docker/holdfast/db\n");
    try {
      f.backend->attach(r, "/m/db", Deadline::after(30s));
      FAIL("attached");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::permission);
      CHECK_THAT(e.what(), Catch::Contains("access denied by server") && Catch::Contains("exit status 32"));
    }
  }
  SECTION("connection refused -> unavailable") {
    f.runner.on({"mount.nfs"}, 32, "", "mount.nfs: Connection refused\n");
    CHECK(kind_of([&] { f.backend->attach(r, "/m/db", Deadline::after(30s)); }) == ErrorKind::unavailable);
  }
  SECTION("killed at the deadline -> timeout, and a late mount is detached") {
    f.runner.on_call([&](const std::vector<std::string>& argv, const std::string&, Deadline) -> std::optional<CommandResult> {
      f.mounter.add_mount(argv[1], argv[2], "nfs4");  // the kernel finished as we killed mount.nfs
      return CommandResult{-1, true, "", ""};
    });
    CHECK(kind_of([&] { f.backend->attach(r, "/m/db", Deadline::after(30s)); }) == ErrorKind::timeout);
    CHECK_FALSE(f.mounter.is_mounted("/m/db"));
    bool lazy = false;
    for (const auto& call : f.mounter.calls()) {
      lazy = lazy || (call.op == "unmount" && call.mode == UnmountMode::lazy);
    }
    CHECK(lazy);
  }
  SECTION("success without a mount -> internal") {
    f.runner.on({"mount.nfs"}, 0);
    CHECK(kind_of([&] { f.backend->attach(r, "/m/db", Deadline::after(30s)); }) == ErrorKind::internal);
  }
}

TEST_CASE("nfs backend: detach", "[nfs][backend]") {
  Fixture f;
  VolumeRecord r = f.record("db");
  SECTION("not mounted: nothing to do") {
    f.backend->detach(r, "/m/db", Deadline::after(30s));
    CHECK(f.mounter.count("unmount") == 0);
  }
  SECTION("normal unmount") {
    f.mounter.add_mount("10.0.0.5:/srv/docker/holdfast/db", "/m/db", "nfs4");
    f.backend->detach(r, "/m/db", Deadline::after(30s));
    CHECK_FALSE(f.mounter.is_mounted("/m/db"));
    CHECK(f.mounter.count("unmount", "/m/db") == 1);
  }
  SECTION("a dead server: lazy detach so Docker is not blocked") {
    f.mounter.add_mount("10.0.0.5:/srv/docker/holdfast/db", "/m/db", "nfs4");
    f.mounter.fail_unmount("/m/db", timeout("umount2 did not return within 10s"), 1);
    f.backend->detach(r, "/m/db", Deadline::after(30s));
    CHECK_FALSE(f.mounter.is_mounted("/m/db"));
    auto calls = f.mounter.calls();
    std::vector<UnmountMode> modes;
    for (const auto& c : calls) {
      if (c.op == "unmount") {
        modes.push_back(c.mode);
      }
    }
    CHECK(modes == std::vector<UnmountMode>{UnmountMode::normal, UnmountMode::lazy});
  }
}

TEST_CASE("nfs backend: is_attached reads the mount table only", "[nfs][backend]") {
  Fixture f;
  VolumeRecord r = f.record("db");
  CHECK_FALSE(f.backend->is_attached(r));
  r.mountpoint = "/m/db";
  CHECK_FALSE(f.backend->is_attached(r));
  f.mounter.add_mount("tmpfs", "/m/db", "tmpfs");
  CHECK_FALSE(f.backend->is_attached(r));  // something else is mounted there
  f.mounter.drop_mount("/m/db");
  f.mounter.add_mount("10.0.0.5:/srv/docker/holdfast/db", "/m/db", "nfs4");
  CHECK(f.backend->is_attached(r));
}

TEST_CASE("nfs backend: status answers from memory", "[nfs][backend]") {
  Fixture f("on_remove: archive\n");
  VolumeRecord r = f.record("db", {{"vers", "3"}});
  r.created_by = "host-b";
  auto start = Deadline::Clock::now();
  nlohmann::json s = f.backend->status(r);
  CHECK(Deadline::Clock::now() - start < 50ms);
  CHECK(s["server"] == "10.0.0.5");
  CHECK(s["export"] == "/srv/docker");
  CHECK(s["path"] == "/srv/docker/holdfast/db");
  CHECK(s["nfs_version"] == "3");
  CHECK(s["on_remove"] == "archive");
  CHECK(s["created_by"] == "host-b");
  CHECK(s["capacity"] == "unknown (not measured yet)");
}

TEST_CASE("nfs backend: remove is refused while mounted on this host", "[nfs][backend]") {
  Fixture f;
  VolumeRecord r = f.record("db");
  r.mountpoint = "/m/db";
  f.mounter.add_mount("10.0.0.5:/srv/docker/holdfast/db", "/m/db", "nfs4");
  CHECK(kind_of([&] { f.backend->deprovision(r, Deadline::after(30s)); }) == ErrorKind::busy);
}

TEST_CASE("nfs backend: mount option strings per volume", "[nfs][backend]") {
  Fixture f("nfs_version: \"4.1\"\nmount_options: [hard, \"timeo=600\"]\n");
  CHECK(f.backend->mount_options({}) == "vers=4.1,hard,timeo=600,nodev,nosuid");
  CHECK(f.backend->mount_options({{"soft", ""}, {"retrans", "3"}, {"uid", "1"}}) ==
        "vers=4.1,soft,timeo=600,retrans=3,nodev,nosuid");
  CHECK(f.backend->mount_source("db") == "10.0.0.5:/srv/docker/holdfast/db");
  Fixture root("base_path: /\n");
  CHECK(root.backend->mount_source("db") == "10.0.0.5:/srv/docker/db");
}
