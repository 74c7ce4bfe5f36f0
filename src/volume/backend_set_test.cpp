// Unit tests of the backend set: building instances from the config through
// the registry, lookups, scope, and the start-up mount-table snapshot.
#include "volume/backend_set.hpp"

#include <unistd.h>

#include <climits>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

#include "support/fake_backend.hpp"
#include "support/fake_mounter.hpp"
#include "support/fake_runner.hpp"
#include "support/temp_dir.hpp"
#include "volume/snapshot_mounter.hpp"

using namespace holdfast;
using namespace holdfast::test;
using Catch::Matchers::Contains;

namespace {

Config config_with(const std::string& name, const std::string& type, const std::string& yaml,
                   const std::string& state_dir) {
  Config c;
  c.file = "/etc/holdfast/holdfast.yaml";
  c.state_dir = state_dir;
  c.host_id = "host-a";
  c.default_backend = name;
  c.backends.push_back(BackendConfig{name, type, YAML::Load(yaml)});
  return c;
}

std::optional<Error> error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("[Success] backends are built from the config through the registry", "[unit]") {
  TempDir dir;
  FakeRunner runner;
  FakeMounter mounter;
  auto config = config_with("files", "local", "base_dir: " + dir.sub("vols"), dir.path());
  BackendSet set(config, runner, mounter);
  REQUIRE(set.find("files"));
  CHECK(set.find("files")->type() == "local");
  CHECK(set.find("nope") == nullptr);
  CHECK(set.default_name() == "files");
  CHECK(set.names() == std::vector<std::string>{"files"});
  CHECK(set.scope() == Scope::local);
  CHECK_FALSE(set.any_global());

  // `type` still inside the section (older config shape) is consumed, not
  // flagged as unknown by the factory's finish().
  auto typed = config_with("files", "local", "type: local\nbase_dir: " + dir.sub("vols"), dir.path());
  BackendSet set2(typed, runner, mounter);
  CHECK(set2.find("files"));
}

TEST_CASE("[Error] bad backend config", "[unit]") {
  TempDir dir;
  FakeRunner runner;
  FakeMounter mounter;
  SECTION("unknown type lists the available ones") {
    auto e = error_of([&] { BackendSet(config_with("x", "tape", "{}", dir.path()), runner, mounter); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::invalid_argument);
    CHECK_THAT(e->what(), Contains("unknown backend type \"tape\""));
    CHECK_THAT(e->what(), Contains("local"));
  }
  SECTION("the factory sees its section through a located ConfigReader") {
    auto e = error_of([&] { BackendSet(config_with("x", "local", "base_dri: /tmp/x", dir.path()), runner, mounter); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::invalid_argument);
    CHECK_THAT(e->what(), Contains("/etc/holdfast/holdfast.yaml"));
    CHECK_THAT(e->what(), Contains("backends.x"));
    CHECK_THAT(e->what(), Contains("base_dri"));
  }
  SECTION("default backend must be configured") {
    auto c = config_with("x", "local", "base_dir: " + dir.sub("v"), dir.path());
    c.default_backend = "y";
    auto e = error_of([&] { BackendSet(c, runner, mounter); });
    REQUIRE(e);
    CHECK_THAT(e->what(), Contains("default_backend \"y\" is not configured (configured: x)"));
  }
}

TEST_CASE("[Success] test constructor, scope and host id", "[unit]") {
  std::map<std::string, std::unique_ptr<Backend>> two;
  two.emplace("a", std::make_unique<FakeBackend>(Scope::global));
  two.emplace("b", std::make_unique<FakeBackend>(Scope::global));
  BackendSet set(std::move(two), "b");
  CHECK(set.scope() == Scope::global);
  CHECK(set.any_global());
  CHECK(set.names() == std::vector<std::string>{"a", "b"});
  dynamic_cast<FakeBackend*>(set.find("a"))->set_scope(Scope::local);
  CHECK(set.scope() == Scope::local);
  CHECK(set.any_global());

  std::map<std::string, std::unique_ptr<Backend>> one;
  one.emplace("a", std::make_unique<FakeBackend>());
  CHECK(error_of([&] { BackendSet(std::move(one), "zzz"); }));

  Config c;
  c.host_id = "node-7";
  CHECK(effective_host_id(c) == "node-7");
  c.host_id.clear();
  char buf[HOST_NAME_MAX + 1] = {};
  REQUIRE(::gethostname(buf, sizeof buf - 1) == 0);
  CHECK(effective_host_id(c) == buf);
}

TEST_CASE("[Success] snapshot mounter answers from one reading of the table", "[unit]") {
  FakeMounter real;
  real.add_mount("fake:a", "/m/a");
  SnapshotMounter snap(real);

  CHECK(snap.is_mounted("/m/a"));  // pass-through
  CHECK(real.count("is_mounted") == 1);

  real.clear_calls();
  snap.begin_snapshot(real.mounts());
  for (int i = 0; i < 100; ++i) {
    CHECK(snap.is_mounted("/m/a"));
    CHECK_FALSE(snap.is_mounted("/m/b"));
  }
  CHECK(snap.mounts().size() == 1);
  CHECK(real.count("mounts") == 1);  // the begin_snapshot reading only
  CHECK(real.count("is_mounted") == 0);

  // A mount through it makes the copy stale: re-read once, then cached.
  snap.mount("fake:b", "/m/b", "fake", 0, "", Deadline::after(std::chrono::seconds(1)));
  CHECK(snap.is_mounted("/m/b"));
  CHECK(snap.is_mounted("/m/b"));
  CHECK(real.count("mounts") == 2);
  snap.unmount("/m/a", UnmountMode::normal, Deadline::after(std::chrono::seconds(1)));
  CHECK_FALSE(snap.is_mounted("/m/a"));
  CHECK(real.count("mounts") == 3);

  snap.end_snapshot();
  real.clear_calls();
  CHECK(snap.is_mounted("/m/b"));
  CHECK(real.count("is_mounted") == 1);
}
