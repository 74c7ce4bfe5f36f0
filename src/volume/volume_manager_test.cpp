// Unit tests of the volume manager against FakeBackend and FakeMounter:
// names and options at the door, mount counts per ID, durability, locking,
// deadlines with late compensation, reconcile at start, shared backends.
#include "volume/volume_manager.hpp"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

#include "support/fake_backend.hpp"
#include "support/fake_mounter.hpp"
#include "support/temp_dir.hpp"
#include "sys/atomic_file.hpp"
#include "volume/backend_set.hpp"
#include "volume/state_store.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

template <class F>
std::optional<Error> error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// A StateStore whose next saves can be made to fail (ENOSPC-like).
class FlakyStore : public StateStore {
 public:
  using StateStore::StateStore;
  void save(const VolumeRecord& record) override {
    ++saves;
    if (fail_saves > 0) {
      --fail_saves;
      throw unavailable("write: No space left on device");
    }
    StateStore::save(record);
  }
  std::atomic<int> fail_saves{0};
  std::atomic<int> saves{0};
};

// One host: a local fake backend "local" (default) and a global one
// "shared", a fake mount table, a state dir and a manager.
class Host {
 public:
  explicit Host(std::shared_ptr<FakeStorage> shared_storage = nullptr, std::string host_id = "host-a",
                std::function<void(Config&)> tweak = {}) {
    config.state_dir = dir.sub("state");
    config.mount_root = dir.sub("mounts");
    config.host_id = std::move(host_id);
    config.default_backend = "local";
    config.deadlines.create = 5s;
    config.deadlines.remove = 5s;
    config.deadlines.mount = 5s;
    config.deadlines.unmount = 5s;
    config.deadlines.volume_lock = 5s;
    config.refresh_interval = 1s;
    if (tweak) {
      tweak(config);
    }
    auto l = std::make_unique<FakeBackend>(Scope::local);
    auto s = std::make_unique<FakeBackend>(Scope::global, "fake", std::move(shared_storage));
    local = l.get();
    shared = s.get();
    local->set_mounter(&mounter);
    shared->set_mounter(&mounter);
    std::map<std::string, std::unique_ptr<Backend>> set;
    set.emplace("local", std::move(l));
    set.emplace("shared", std::move(s));
    backends = std::make_unique<BackendSet>(std::move(set), "local");
    restart();
  }

  // A new manager (and store) over the same state dir, backends and mount
  // table: a daemon restart while containers keep running.
  void restart() {
    manager.reset();
    store = std::make_unique<FlakyStore>(config.state_dir);
    manager = std::make_unique<VolumeManager>(*backends, *store, mounter, config);
    report = manager->start();
  }

  std::string state_file(const std::string& name) const { return config.state_dir + "/volumes/" + name + ".json"; }
  std::string target(const std::string& name) const { return config.mount_root + "/" + name; }
  VolumeRecord saved(const std::string& name) const {
    auto text = read_file(state_file(name), 1 << 20);
    REQUIRE(text);
    return record_from_json(*text);
  }
  VolumeRecord rec(const std::string& name) const {
    auto r = manager->record(name);
    REQUIRE(r);
    return *r;
  }

  TempDir dir;
  Config config;
  FakeMounter mounter;
  FakeBackend* local = nullptr;
  FakeBackend* shared = nullptr;
  std::unique_ptr<BackendSet> backends;
  std::unique_ptr<FlakyStore> store;
  std::unique_ptr<VolumeManager> manager;
  ReconcileReport report;
};

using Counts = std::map<std::string, std::uint32_t>;

}  // namespace

TEST_CASE("[Success] create, get, list, path and remove a volume", "[unit]") {
  Host h;
  h.manager->create("v1", Options{{"size", "1G"}});

  auto r = h.rec("v1");
  CHECK(r.backend == "local");
  CHECK(r.options == Options{{"size", "1G"}});
  CHECK(r.created_by == "host-a");
  CHECK(h.saved("v1").options == Options{{"size", "1G"}});
  CHECK(h.local->calls(FakeOp::provision) == 1);

  auto info = h.manager->get("v1");
  CHECK(info.name == "v1");
  CHECK(info.mountpoint.empty());
  REQUIRE(info.created_at);
  CHECK(parse_rfc3339(*info.created_at) == r.created_at);
  CHECK(info.status["backend"] == "fake");
  CHECK(info.status["attached"] == false);

  auto all = h.manager->list();
  REQUIRE(all.size() == 1);
  CHECK(all[0].name == "v1");
  CHECK(h.manager->path("v1").empty());

  h.manager->remove("v1");
  CHECK(h.local->calls(FakeOp::deprovision) == 1);
  CHECK_FALSE(h.manager->record("v1"));
  CHECK_FALSE(exists(h.state_file("v1")));
  CHECK(h.manager->list().empty());
  auto e = error_of([&] { h.manager->get("v1"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::not_found);
  CHECK_THAT(e->what(), StartsWith("get volume \"v1\": "));
}

TEST_CASE("[Error] names and mount IDs are validated at the door", "[unit]") {
  Host h;
  const std::vector<std::string> bad = {"", "a/b", "..", ".hidden", "-x", "x y", "x\ny", std::string(129, 'a')};
  for (const auto& name : bad) {
    INFO("name: " << name);
    std::vector<std::pair<std::string, std::function<void()>>> ops = {
        {"create", [&] { h.manager->create(name, Options{{"size", "1G"}}); }},
        {"remove", [&] { h.manager->remove(name); }},
        {"mount", [&] { h.manager->mount(name, "id1"); }},
        {"unmount", [&] { h.manager->unmount(name, "id1"); }},
        {"path", [&] { h.manager->path(name); }},
        {"get", [&] { h.manager->get(name); }},
    };
    for (auto& [op, call] : ops) {
      auto e = error_of(call);
      REQUIRE(e);
      CHECK(e->kind() == ErrorKind::invalid_argument);
      CHECK_THAT(e->what(), StartsWith(op + " volume \""));
    }
  }
  // Nothing reached a backend (not even validate or discover).
  CHECK(h.local->log().empty());
  CHECK(h.shared->log().empty());

  h.manager->create("v", std::nullopt);
  for (const auto& id : {std::string(), std::string("a b"), std::string(300, 'f'), std::string("x\ty")}) {
    auto e = error_of([&] { h.manager->mount("v", id); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::invalid_argument);
    CHECK_THAT(e->what(), StartsWith("mount volume \"v\": mount ID"));
    CHECK(error_of([&] { h.manager->unmount("v", id); }));
  }
  CHECK(h.local->calls(FakeOp::attach) == 0);

  // Anonymous volumes: 64 hex characters.
  const std::string anon = "3f2a9c1b7d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";
  h.manager->create(anon, std::nullopt);
  CHECK(h.manager->mount(anon, anon) == h.target(anon));
}

TEST_CASE("[Error] options: backend instance, allowlist, validate", "[unit]") {
  Host h;
  SECTION("unknown backend instance lists the configured ones") {
    auto e = error_of([&] { h.manager->create("v", Options{{"backend", "nope"}}); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::invalid_argument);
    CHECK_THAT(e->what(), StartsWith("create volume \"v\": unknown backend \"nope\""));
    CHECK_THAT(e->what(), Contains("local, shared"));
  }
  SECTION("unknown key lists the accepted ones") {
    auto e = error_of([&] { h.manager->create("v", Options{{"sise", "1G"}}); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::invalid_argument);
    CHECK_THAT(e->what(), Contains("unknown option \"sise\""));
    CHECK_THAT(e->what(), Contains("accepted options: backend, size, mode"));
    CHECK(h.local->calls(FakeOp::validate) == 0);
  }
  SECTION("validate() rejects a value") {
    h.local->set_validator([](const Options& o) {
      if (o.count("size") && o.at("size") == "lots") {
        throw invalid_argument("size: \"lots\" is not a size");
      }
    });
    auto e = error_of([&] { h.manager->create("v", Options{{"size", "lots"}}); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::invalid_argument);
    CHECK(std::string(e->what()) == "create volume \"v\": size: \"lots\" is not a size");
  }
  SECTION("the allowlist is per backend") {
    h.shared->set_accepted_options({{"export", "which export"}});
    CHECK(error_of([&] { h.manager->create("v", Options{{"backend", "shared"}, {"size", "1G"}}); }));
    h.manager->create("v", Options{{"backend", "shared"}, {"export", "/x"}});
    CHECK(h.rec("v").backend == "shared");
    CHECK(h.rec("v").options == Options{{"export", "/x"}});
    CHECK(h.shared->calls(FakeOp::provision) == 1);
    CHECK(h.local->calls(FakeOp::provision) == 0);
    return;
  }
  CHECK(h.local->calls(FakeOp::provision) == 0);
  CHECK_FALSE(exists(h.state_file("v")));
  CHECK_FALSE(h.manager->record("v"));
}

TEST_CASE("[Success] create is idempotent, other options are a conflict", "[unit]") {
  Host h;
  h.manager->create("v", Options{{"size", "1G"}});
  h.manager->create("v", Options{{"size", "1G"}});
  h.manager->create("v", Options{{"size", "1G"}, {"backend", "local"}});
  h.manager->create("v", std::nullopt);  // implicit creation (Opts null/absent)
  h.manager->create("v", Options{});     // Opts {}
  CHECK(h.local->calls(FakeOp::provision) == 1);

  auto e = error_of([&] { h.manager->create("v", Options{{"size", "2G"}}); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::conflict);
  CHECK_THAT(e->what(), StartsWith("create volume \"v\": already exists with other options"));
  CHECK_THAT(e->what(), Contains("size=1G"));
  CHECK_THAT(e->what(), Contains("size=2G"));

  e = error_of([&] { h.manager->create("v", Options{{"backend", "shared"}, {"size", "1G"}}); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::conflict);
  CHECK(h.rec("v").options == Options{{"size", "1G"}});
}

TEST_CASE("[Error] create: state is saved before success, rolled back on failure", "[unit]") {
  Host h;
  SECTION("save fails after provision: deprovision and report") {
    h.store->fail_saves = 1;
    auto e = error_of([&] { h.manager->create("v", Options{{"size", "1G"}}); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::unavailable);
    CHECK_THAT(e->what(), StartsWith("create volume \"v\": saving the state failed: write: No space left on device"));
    CHECK_THAT(e->what(), Contains("deprovisioned again"));
    CHECK(h.local->calls(FakeOp::deprovision) == 1);
    CHECK(h.local->storage()->size() == 0);
    CHECK_FALSE(h.manager->record("v"));
    CHECK_FALSE(exists(h.state_file("v")));
    // The name is free again.
    h.manager->create("v", Options{{"size", "1G"}});
    CHECK(h.saved("v").name == "v");
  }
  SECTION("provision fails: nothing is saved") {
    h.local->fail(FakeOp::provision, unavailable("server said no"), 1);
    auto e = error_of([&] { h.manager->create("v", std::nullopt); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::unavailable);
    CHECK(std::string(e->what()) == "create volume \"v\": server said no");
    CHECK(h.store->saves == 0);
    CHECK_FALSE(exists(h.state_file("v")));
    CHECK_FALSE(h.manager->record("v"));
    h.manager->create("v", std::nullopt);
    CHECK(h.manager->record("v"));
  }
  SECTION("a volume adopted from shared storage is never deprovisioned by a rollback") {
    VolumeRecord theirs;
    theirs.name = "v";
    theirs.backend = "shared";
    theirs.created_by = "host-b";
    theirs.created_at = parse_rfc3339("2024-05-01T10:00:00Z");
    h.shared->storage()->put(theirs);
    h.store->fail_saves = 1;
    auto e = error_of([&] { h.manager->create("v", Options{{"backend", "shared"}}); });
    REQUIRE(e);
    CHECK_THAT(e->what(), Contains("adopted"));
    CHECK(h.shared->calls(FakeOp::deprovision) == 0);
    CHECK(h.shared->storage()->find("v"));
    h.manager->create("v", Options{{"backend", "shared"}});
    CHECK(h.rec("v").created_by == "host-b");
    CHECK(format_rfc3339(h.rec("v").created_at) == "2024-05-01T10:00:00Z");
  }
}

TEST_CASE("[Success] mount counts per ID, attach and detach exactly at the edges", "[unit]") {
  Host h;
  h.manager->create("v", std::nullopt);
  // The mountpoint directory exists (0755) when attach runs.
  std::atomic<unsigned> mode_at_attach{0};
  h.local->set_attach_path([&](const VolumeRecord&, const std::string& target) {
    struct stat st {};
    if (::lstat(target.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      mode_at_attach = st.st_mode & 07777;
    }
    return target;
  });

  CHECK(h.manager->mount("v", "A") == h.target("v"));
  CHECK(mode_at_attach == 0755);
  CHECK(h.mounter.is_mounted(h.target("v")));
  CHECK(h.manager->mount("v", "B") == h.target("v"));
  CHECK(h.manager->mount("v", "A") == h.target("v"));  // same ID again (docker cp)
  CHECK(h.local->calls(FakeOp::attach) == 1);
  CHECK(h.rec("v").mounts == Counts{{"A", 2}, {"B", 1}});
  CHECK(h.saved("v").mounts == Counts{{"A", 2}, {"B", 1}});
  CHECK(h.saved("v").backend_data["device"] == "/dev/fake/v");
  CHECK(h.manager->get("v").mountpoint == h.target("v"));
  CHECK(h.manager->path("v") == h.target("v"));

  int saves = h.store->saves;
  h.manager->unmount("v", "never-mounted");  // unknown ID: success, no-op
  CHECK(h.store->saves == saves);
  CHECK(h.rec("v").mounts == Counts{{"A", 2}, {"B", 1}});

  h.manager->unmount("v", "A");
  CHECK(h.rec("v").mounts == Counts{{"A", 1}, {"B", 1}});
  h.manager->unmount("v", "B");
  CHECK(h.rec("v").mounts == Counts{{"A", 1}});
  CHECK(h.local->calls(FakeOp::detach) == 0);
  CHECK(h.manager->path("v") == h.target("v"));

  h.manager->unmount("v", "A");
  CHECK(h.local->calls(FakeOp::detach) == 1);
  CHECK(h.rec("v").mounts.empty());
  CHECK(h.rec("v").mountpoint.empty());
  CHECK(h.saved("v").mounts.empty());
  CHECK(h.saved("v").mountpoint.empty());
  CHECK_FALSE(h.mounter.is_mounted(h.target("v")));
  CHECK_FALSE(exists(h.target("v")));  // the empty mountpoint dir is tidied away
  CHECK(h.manager->path("v").empty());
  CHECK(h.manager->get("v").mountpoint.empty());

  h.manager->unmount("v", "A");  // again: unknown now
  CHECK(h.local->calls(FakeOp::detach) == 1);

  // The next first mount attaches again.
  h.manager->mount("v", "C");
  CHECK(h.local->calls(FakeOp::attach) == 2);
}

TEST_CASE("[Success] the backend's path is handed out (local-style backends)", "[unit]") {
  Host h;
  h.local->set_attach_path([](const VolumeRecord& r, const std::string&) { return "/srv/volumes/" + r.name; });
  h.manager->create("v", std::nullopt);
  CHECK(h.manager->mount("v", "A") == "/srv/volumes/v");
  CHECK(h.manager->path("v") == "/srv/volumes/v");
  CHECK(h.saved("v").mountpoint == "/srv/volumes/v");

  h.local->set_attach_path([](const VolumeRecord&, const std::string&) { return std::string("relative"); });
  h.manager->create("w", std::nullopt);
  auto e = error_of([&] { h.manager->mount("w", "A"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::internal);
  CHECK_THAT(e->what(), Contains("invalid mountpoint"));
  CHECK(h.local->calls(FakeOp::detach) == 1);  // undone
  CHECK(h.rec("w").mounts.empty());
}

TEST_CASE("[Error] remove is refused while mounted", "[unit]") {
  Host h;
  h.manager->create("v", std::nullopt);
  h.manager->mount("v", "A");
  h.manager->mount("v", "A");
  auto e = error_of([&] { h.manager->remove("v"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::busy);
  CHECK_THAT(e->what(), StartsWith("remove volume \"v\": volume is in use: 2 mount(s)"));
  CHECK(h.local->calls(FakeOp::deprovision) == 0);
  h.manager->unmount("v", "A");
  CHECK(error_of([&] { h.manager->remove("v"); }));
  h.manager->unmount("v", "A");
  h.manager->remove("v");
  CHECK_FALSE(h.manager->record("v"));

  e = error_of([&] { h.manager->remove("v"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::not_found);
  CHECK(std::string(e->what()) == "remove volume \"v\": no such volume");
}

TEST_CASE("[Error] unmount drops the ID even when detach fails", "[unit]") {
  Host h;
  h.manager->create("v", std::nullopt);
  h.manager->mount("v", "A");
  h.local->fail(FakeOp::detach, busy("target is busy"), 1);
  auto e = error_of([&] { h.manager->unmount("v", "A"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::busy);
  CHECK_THAT(e->what(), StartsWith("unmount volume \"v\": detach: target is busy"));
  CHECK_THAT(e->what(), Contains("mount ID was released"));
  CHECK(h.rec("v").mounts.empty());
  CHECK(h.saved("v").mounts.empty());
  // The leftover attachment is remembered, but not shown as mounted.
  CHECK(h.rec("v").mountpoint == h.target("v"));
  CHECK(h.saved("v").mountpoint == h.target("v"));
  CHECK(h.manager->get("v").mountpoint.empty());
  CHECK(h.manager->path("v").empty());

  SECTION("a later mount re-uses it (attach is idempotent)") {
    CHECK(h.manager->mount("v", "B") == h.target("v"));
    CHECK(h.local->calls(FakeOp::attach) == 2);
    h.manager->unmount("v", "B");
    CHECK(h.local->calls(FakeOp::detach) == 2);
    CHECK(h.rec("v").mountpoint.empty());
  }
  SECTION("remove detaches it before deprovisioning") {
    h.manager->remove("v");
    auto log = h.local->log();
    REQUIRE(log.size() >= 2);
    CHECK(log[log.size() - 2] == "detach v " + h.target("v"));
    CHECK(log.back() == "deprovision v");
    CHECK_FALSE(h.mounter.is_mounted(h.target("v")));
  }
  SECTION("remove fails while the leftover cannot be detached") {
    h.local->fail(FakeOp::detach, busy("still busy"), 1);
    auto r = error_of([&] { h.manager->remove("v"); });
    REQUIRE(r);
    CHECK_THAT(r->what(), StartsWith("remove volume \"v\": still busy"));
    CHECK(h.local->calls(FakeOp::deprovision) == 0);
    CHECK(h.manager->record("v"));
  }
  SECTION("the next start detaches it") {
    h.restart();
    CHECK(h.report.leaks_detached == 1);
    CHECK(h.rec("v").mountpoint.empty());
    CHECK(h.saved("v").mountpoint.empty());
    CHECK_FALSE(h.mounter.is_mounted(h.target("v")));
  }
}

TEST_CASE("[Error] mount: save failure after attach detaches again", "[unit]") {
  Host h;
  h.manager->create("v", std::nullopt);
  h.store->fail_saves = 1;
  auto e = error_of([&] { h.manager->mount("v", "A"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::unavailable);
  CHECK_THAT(e->what(), StartsWith("mount volume \"v\": saving the state failed: write: No space left on device"));
  CHECK_THAT(e->what(), Contains("detached again"));
  CHECK(h.local->calls(FakeOp::attach) == 1);
  CHECK(h.local->calls(FakeOp::detach) == 1);
  CHECK_FALSE(h.mounter.is_mounted(h.target("v")));
  CHECK(h.rec("v").mounts.empty());
  CHECK(h.rec("v").mountpoint.empty());

  // With a mount already counted, a failed save changes nothing.
  h.manager->mount("v", "A");
  h.store->fail_saves = 1;
  CHECK(error_of([&] { h.manager->mount("v", "B"); }));
  CHECK(h.rec("v").mounts == Counts{{"A", 1}});
  CHECK(h.local->calls(FakeOp::detach) == 1);
  CHECK(h.mounter.is_mounted(h.target("v")));

  SECTION("attach failure: nothing counted, no detach") {
    h.local->fail(FakeOp::attach, unavailable("mount.nfs: connection refused"), 1);
    h.manager->create("w", std::nullopt);
    auto a = error_of([&] { h.manager->mount("w", "A"); });
    REQUIRE(a);
    CHECK(std::string(a->what()) == "mount volume \"w\": mount.nfs: connection refused");
    CHECK(h.rec("w").mounts.empty());
    CHECK_FALSE(exists(h.target("w")));
  }
}

TEST_CASE("[Success] a restart keeps the counts", "[unit]") {
  Host h;
  h.manager->create("v", std::nullopt);
  h.manager->mount("v", "A");
  h.manager->mount("v", "A");
  h.manager->mount("v", "B");
  h.restart();
  CHECK(h.report.volumes_loaded == 1);
  CHECK(h.report.mounts_kept == 1);
  CHECK(h.report.mounts_dropped == 0);
  CHECK(h.rec("v").mounts == Counts{{"A", 2}, {"B", 1}});
  CHECK(h.manager->path("v") == h.target("v"));
  h.manager->unmount("v", "A");
  h.manager->unmount("v", "B");
  CHECK(h.local->calls(FakeOp::detach) == 0);
  h.manager->unmount("v", "A");
  CHECK(h.local->calls(FakeOp::detach) == 1);
  CHECK(h.local->calls(FakeOp::attach) == 1);
}

TEST_CASE("[Success] a volume whose remove was cut off by a crash is dropped at start when its backend finishes it",
          "[unit]") {
  Host h;
  h.manager->create("gone", std::nullopt);
  h.manager->create("kept", std::nullopt);
  h.manager->create("busy", std::nullopt);
  h.manager->mount("busy", "A");
  h.local->set_remove_pending({"gone", "busy"});
  h.restart();
  CHECK(h.report.removes_finished == std::vector<std::string>{"gone"});
  CHECK_FALSE(h.manager->record("gone"));
  CHECK_FALSE(std::filesystem::exists(h.state_file("gone")));
  CHECK(h.manager->record("kept"));
  // Remove is refused while mounted: a mounted volume was never being removed.
  CHECK(h.rec("busy").mounts == Counts{{"A", 1}});
  CHECK(h.local->calls(FakeOp::deprovision) == 0);  // the backend finishes it, not the manager
}

TEST_CASE("[Success] mounts of two volumes run in parallel", "[unit]") {
  Host h;
  h.manager->create("v1", std::nullopt);
  h.manager->create("v2", std::nullopt);
  auto gate = h.local->block(FakeOp::attach);
  auto m1 = std::async(std::launch::async, [&] { return h.manager->mount("v1", "A"); });
  auto m2 = std::async(std::launch::async, [&] { return h.manager->mount("v2", "A"); });
  REQUIRE(gate->wait_arrivals(2));
  CHECK(h.local->in_flight(FakeOp::attach) == 2);
  gate->open();
  CHECK(m1.get() == h.target("v1"));
  CHECK(m2.get() == h.target("v2"));
}

TEST_CASE("[Success] Get/List/Path answer while a mount is stuck in the backend", "[unit]") {
  Host h;
  h.manager->create("v1", std::nullopt);
  h.manager->create("v2", std::nullopt);
  h.manager->mount("v2", "A");
  auto gate = h.local->block(FakeOp::attach);
  auto stuck = std::async(std::launch::async, [&] { return h.manager->mount("v1", "A"); });
  REQUIRE(gate->wait_arrivals(1));

  // The same volume and another one, while v1's mount holds its lock and sits
  // in the backend.
  auto info = h.manager->get("v1");
  CHECK(info.name == "v1");
  CHECK(info.mountpoint.empty());
  CHECK(h.manager->get("v2").mountpoint == h.target("v2"));
  CHECK(h.manager->list().size() == 2);
  CHECK(h.manager->path("v1").empty());
  CHECK(h.manager->path("v2") == h.target("v2"));
  CHECK(h.manager->scope() == Scope::local);
  CHECK(h.manager->records().size() == 2);
  h.manager->create("v1", std::nullopt);  // exists: answered from memory too

  // All of that happened while the mount was still blocked.
  CHECK(gate->departures() == 0);
  CHECK(stuck.wait_for(0ms) == std::future_status::timeout);
  gate->open();
  CHECK(stuck.get() == h.target("v1"));
}

TEST_CASE("[Error] a second operation on a busy volume gives up after volume_lock", "[unit]") {
  Host h(nullptr, "host-a", [](Config& c) { c.deadlines.volume_lock = 100ms; });
  h.manager->create("v", std::nullopt);
  auto gate = h.local->block(FakeOp::attach);
  auto stuck = std::async(std::launch::async, [&] { return h.manager->mount("v", "A"); });
  REQUIRE(gate->wait_arrivals(1));
  for (auto op : {std::function<void()>([&] { h.manager->mount("v", "B"); }),
                  std::function<void()>([&] { h.manager->remove("v"); })}) {
    auto e = error_of(op);
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::busy);
    CHECK_THAT(e->what(), Contains("volume \"v\": another operation (mount) on volume \"v\" has been running for"));
  }
  gate->open();
  stuck.get();
  h.manager->mount("v", "B");
  CHECK(h.rec("v").mounts == Counts{{"A", 1}, {"B", 1}});
}

TEST_CASE("[Error] deadlines: a late attach is detached, the lock held until then", "[unit]") {
  Host h(nullptr, "host-a", [](Config& c) {
    c.deadlines.mount = 300ms;
    c.deadlines.volume_lock = 100ms;
  });
  h.manager->create("v", std::nullopt);
  auto gate = h.local->block(FakeOp::attach);
  auto e = error_of([&] { h.manager->mount("v", "A"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::timeout);
  CHECK_THAT(e->what(), StartsWith("mount volume \"v\": attach did not finish within 300ms (backend \"local\")"));
  auto budget = h.local->last_budget(FakeOp::attach);
  REQUIRE(budget);
  CHECK(*budget <= 300ms);
  CHECK(h.rec("v").mounts.empty());
  CHECK(h.local->in_flight(FakeOp::attach) == 1);  // abandoned, still running
  CHECK(h.manager->background_calls() == 1);

  // Still locked by the abandoned call.
  auto b = error_of([&] { h.manager->mount("v", "B"); });
  REQUIRE(b);
  CHECK(b->kind() == ErrorKind::busy);
  // Queries still answer.
  CHECK(h.manager->get("v").mountpoint.empty());

  h.local->unblock(FakeOp::attach);  // the backend finally returns, successfully
  REQUIRE(eventually([&] { return h.local->successes(FakeOp::detach) == 1; }));
  CHECK(h.local->successes(FakeOp::attach) == 1);
  CHECK_FALSE(h.mounter.is_mounted(h.target("v")));
  REQUIRE(eventually([&] { return !error_of([&] { h.manager->mount("v", "C"); }); }));
  CHECK(h.rec("v").mounts == Counts{{"C", 1}});
  CHECK(h.local->calls(FakeOp::attach) == 2);
  CHECK(gate->departures() == 1);
  REQUIRE(eventually([&] { return h.manager->background_calls() == 0; }));
}

TEST_CASE("[Error] deadlines: a late failing attach just releases the lock", "[unit]") {
  Host h(nullptr, "host-a", [](Config& c) { c.deadlines.mount = 200ms; });
  h.manager->create("v", std::nullopt);
  auto gate = h.local->block(FakeOp::attach);
  h.local->fail(FakeOp::attach, unavailable("no route to host"), 1);
  CHECK(error_of([&] { h.manager->mount("v", "A"); })->kind() == ErrorKind::timeout);
  h.local->unblock(FakeOp::attach);
  REQUIRE(eventually([&] { return h.local->in_flight(FakeOp::attach) == 0; }));
  h.manager->mount("v", "B");
  CHECK(h.local->calls(FakeOp::detach) == 0);
  CHECK(h.rec("v").mounts == Counts{{"B", 1}});
}

// Regression: an attach that returned a timeout error of its own (an nfs
// server that does not answer the probe) was taken for an abandoned call,
// and the empty mount directory was left under the mount root.
TEST_CASE("[Error] an attach failing with its own timeout leaves no mount directory", "[unit]") {
  Host h;
  h.manager->create("v", std::nullopt);
  h.local->fail(FakeOp::attach, holdfast::timeout("server 127.0.0.1 not answering"), 1);
  auto error = error_of([&] { h.manager->mount("v", "A"); });
  REQUIRE(error);
  CHECK(error->kind() == ErrorKind::timeout);
  CHECK_FALSE(exists(h.target("v")));
  CHECK(h.rec("v").mounts.empty());
}

TEST_CASE("[Error] deadlines: unmount's detach overrun releases the ID, late success clears", "[unit]") {
  Host h(nullptr, "host-a", [](Config& c) { c.deadlines.unmount = 300ms; });
  h.manager->create("v", std::nullopt);
  h.manager->mount("v", "A");
  auto gate = h.local->block(FakeOp::detach);
  auto e = error_of([&] { h.manager->unmount("v", "A"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::timeout);
  CHECK_THAT(e->what(), StartsWith("unmount volume \"v\": detach did not finish within 300ms"));
  CHECK_THAT(e->what(), Contains("mount ID was released"));
  CHECK(h.rec("v").mounts.empty());
  CHECK(h.rec("v").mountpoint == h.target("v"));
  CHECK(h.saved("v").mountpoint == h.target("v"));
  gate->open();
  REQUIRE(eventually([&] { return h.rec("v").mountpoint.empty(); }));
  REQUIRE(eventually([&] { return h.saved("v").mountpoint.empty(); }));
  CHECK_FALSE(h.mounter.is_mounted(h.target("v")));
}

TEST_CASE("[Error] deadlines: create and remove overruns", "[unit]") {
  Host h(nullptr, "host-a", [](Config& c) {
    c.deadlines.create = 200ms;
    c.deadlines.remove = 200ms;
  });
  SECTION("late provision is not recorded; a retried create adopts it") {
    auto gate = h.local->block(FakeOp::provision);
    auto e = error_of([&] { h.manager->create("v", std::nullopt); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::timeout);
    CHECK_THAT(e->what(), StartsWith("create volume \"v\": provision did not finish within 200ms"));
    CHECK_FALSE(h.manager->record("v"));
    h.local->unblock(FakeOp::provision);
    REQUIRE(eventually([&] { return h.local->successes(FakeOp::provision) == 1; }));
    CHECK(h.local->calls(FakeOp::deprovision) == 0);
    REQUIRE(eventually([&] { return !error_of([&] { h.manager->create("v", std::nullopt); }); }));
    CHECK(h.manager->record("v"));
  }
  SECTION("late deprovision forgets the volume") {
    h.manager->create("v", std::nullopt);
    auto gate = h.local->block(FakeOp::deprovision);
    auto e = error_of([&] { h.manager->remove("v"); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::timeout);
    CHECK_THAT(e->what(), StartsWith("remove volume \"v\": deprovision did not finish within 200ms"));
    CHECK(h.manager->get("v").name == "v");
    gate->open();
    REQUIRE(eventually([&] { return !h.manager->record("v"); }));
    CHECK_FALSE(exists(h.state_file("v")));
  }
}

TEST_CASE("[Success] reconcile at start: kept, dropped, leaked, unknown, orphaned", "[unit]") {
  Host h;
  for (const char* name : {"kept", "dropped", "leak", "idle"}) {
    h.manager->create(name, std::nullopt);
  }
  h.manager->mount("kept", "A");
  h.manager->mount("dropped", "A");
  h.manager->mount("dropped", "B");
  // While the daemon was down: the attachment of "dropped" vanished; "leak"
  // got attached without its count saved (crash between attach and save); a
  // stranger mounted something under the mount root.
  h.mounter.drop_mount(h.target("dropped"));
  h.mounter.add_mount("fake:leak", h.target("leak"), "fake");
  h.mounter.add_mount("tmpfs", h.target("stranger"), "tmpfs");
  // A volume whose backend instance left the config, and a damaged file.
  VolumeRecord orphan;
  orphan.name = "orphan";
  orphan.backend = "gone";
  orphan.created_at = parse_rfc3339("2024-05-01T10:00:00Z");
  h.store->save(orphan);
  write_file_atomically(h.state_file("broken"), "{\"name\": \"broken\", ");

  h.mounter.clear_calls();
  auto detaches = h.local->calls(FakeOp::detach);
  h.restart();
  const auto& r = h.report;
  CHECK(r.volumes_loaded == 5);
  CHECK(r.mounts_kept == 1);
  CHECK(r.mounts_dropped == 1);
  CHECK(r.leaks_detached == 1);
  CHECK(r.unknown_mounts == std::vector<std::string>{h.target("stranger")});
  CHECK(r.missing_backend == std::vector<std::string>{"orphan"});
  REQUIRE(r.unreadable_state.size() == 1);
  CHECK_THAT(r.unreadable_state[0], Contains("broken.json"));
  CHECK(h.mounter.count("mounts") == 1);  // the mount table is read once

  CHECK(h.rec("kept").mounts == Counts{{"A", 1}});
  CHECK(h.rec("dropped").mounts.empty());
  CHECK(h.rec("dropped").mountpoint.empty());
  CHECK(h.saved("dropped").mounts.empty());
  CHECK(h.local->calls(FakeOp::detach) == detaches + 1);
  CHECK_FALSE(h.mounter.is_mounted(h.target("leak")));
  CHECK(h.rec("leak").mountpoint.empty());
  CHECK(h.mounter.is_mounted(h.target("stranger")));  // reported, left alone
  CHECK(h.mounter.is_mounted(h.target("kept")));

  // The orphan is served from memory; operations say why they fail.
  auto info = h.manager->get("orphan");
  CHECK(info.created_at == std::optional<std::string>("2024-05-01T10:00:00Z"));
  CHECK_THAT(info.status["error"].get<std::string>(), Contains("not configured"));
  CHECK(h.manager->list().size() == 5);
  for (auto op : {std::function<void()>([&] { h.manager->mount("orphan", "A"); }),
                  std::function<void()>([&] { h.manager->remove("orphan"); })}) {
    auto e = error_of(op);
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::unavailable);
    CHECK_THAT(e->what(), Contains("backend instance \"gone\" is not configured"));
  }
  h.manager->create("orphan", std::nullopt);  // exists: fine

  // Nothing left to fix at the next start.
  h.restart();
  CHECK(h.report.mounts_dropped == 0);
  CHECK(h.report.leaks_detached == 0);
  CHECK(h.report.unreadable_state.empty());
  CHECK(h.report.volumes_loaded == 5);
}

TEST_CASE("[Success] shared backends: discovery, mount of an unseen name, vanishing", "[unit]") {
  Host a;
  Host b(a.shared->storage(), "host-b");
  a.manager->create("sv", Options{{"backend", "shared"}});
  CHECK(error_of([&] { b.manager->get("sv"); })->kind() == ErrorKind::not_found);

  b.manager->refresh();
  auto info = b.manager->get("sv");
  CHECK(info.created_at == a.manager->get("sv").created_at);
  CHECK(b.rec("sv").created_by == "host-a");
  CHECK(b.rec("sv").backend == "shared");
  CHECK_FALSE(exists(b.state_file("sv")));  // the storage is the source of truth
  CHECK(b.shared->calls(FakeOp::refresh) == 1);
  CHECK(b.local->calls(FakeOp::refresh) == 1);
  CHECK(b.local->calls(FakeOp::discover) == 0);

  // Mounting on B persists the record there (its counts must survive).
  b.manager->mount("sv", "X");
  CHECK(b.saved("sv").mounts == Counts{{"X", 1}});

  // Removed by A: B keeps it while mounted, forgets it once unmounted.
  a.manager->remove("sv");
  b.manager->refresh();
  CHECK(b.manager->record("sv"));
  b.manager->unmount("sv", "X");
  b.manager->refresh();
  CHECK_FALSE(b.manager->record("sv"));
  CHECK_FALSE(exists(b.state_file("sv")));

  // A Mount of a name B has not seen yet discovers it within the Mount.
  a.manager->create("sv2", Options{{"backend", "shared"}});
  CHECK(b.manager->mount("sv2", "Y") == b.target("sv2"));
  CHECK(b.saved("sv2").created_by == "host-a");
  auto e = error_of([&] { b.manager->mount("nowhere", "Z"); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::not_found);
  CHECK_THAT(e->what(), StartsWith("mount volume \"nowhere\": no such volume"));

  // A discovered, never-mounted volume disappears with the storage entry.
  a.manager->create("sv3", Options{{"backend", "shared"}});
  b.manager->refresh();
  CHECK(b.manager->record("sv3"));
  a.shared->storage()->erase("sv3");
  b.manager->refresh();
  CHECK_FALSE(b.manager->record("sv3"));

  // Local volumes are never touched by another backend's discovery.
  b.manager->create("mine", std::nullopt);
  b.manager->refresh();
  CHECK(b.manager->record("mine"));

  SECTION("an unreachable storage fails the Mount of an unseen name with its own error") {
    b.shared->fail(FakeOp::discover, unavailable("filer: connection refused"), 1);
    auto d = error_of([&] { b.manager->mount("sv4", "Z"); });
    REQUIRE(d);
    CHECK(d->kind() == ErrorKind::unavailable);
    CHECK_THAT(d->what(), Contains("filer: connection refused"));
  }
}

// Regression (found by the crash torture, tests/crash): after a kill the
// catalogue can know a shared volume the storage lacks, and Create answered
// from the catalogue alone acknowledged a volume that was then lost.
TEST_CASE("[Error] create of a known shared volume confirms it on the storage", "[unit]") {
  Host a;
  SECTION("known from discovery, its creator died before placing it") {
    Host b(a.shared->storage(), "host-b");
    a.manager->create("sv", Options{{"backend", "shared"}});
    b.manager->refresh();
    REQUIRE(b.manager->record("sv"));
    a.shared->storage()->erase("sv");
    b.manager->create("sv", std::nullopt);
    CHECK(b.shared->calls(FakeOp::provision) == 1);
    CHECK(a.shared->storage()->find("sv"));
  }
  SECTION("a state file left by a Remove killed after its deprovision") {
    a.manager->create("sv", Options{{"backend", "shared"}});
    a.shared->storage()->erase("sv");
    a.restart();
    a.manager->create("sv", std::nullopt);
    a.manager->refresh();
    CHECK(a.manager->record("sv"));  // acknowledged, so not forgotten by the refresh
    CHECK(a.shared->storage()->find("sv"));
  }
  // A local backend's state file is the truth: no backend call.
  a.manager->create("lv", std::nullopt);
  a.manager->create("lv", std::nullopt);
  CHECK(a.local->calls(FakeOp::provision) == 1);
}

// Regression (found by the crash torture with a full state filesystem): an
// Unmount whose save failed released its mount ID in memory only, and a
// later restart counted it again (a volume in use forever).
TEST_CASE("[Error] an unmount that could not be saved is saved at the next refresh", "[unit]") {
  Host h;
  h.manager->create("v", std::nullopt);
  h.manager->mount("v", "X");
  h.manager->mount("v", "Y");
  h.store->fail_saves = 1;
  auto e = error_of([&] { h.manager->unmount("v", "X"); });
  REQUIRE(e);
  CHECK_THAT(e->what(), Contains("the mount ID was released"));
  CHECK(h.saved("v").mounts == Counts{{"X", 1}, {"Y", 1}});  // on disk: not yet
  h.manager->refresh();
  CHECK(h.saved("v").mounts == Counts{{"Y", 1}});
  h.restart();
  CHECK(h.rec("v").mounts == Counts{{"Y", 1}});
}

TEST_CASE("[Error] a refresh stuck in a backend is abandoned and not piled up", "[unit]") {
  Host h;
  auto gate = h.shared->block(FakeOp::discover);
  h.manager->refresh();  // returns after the refresh budget (1 s)
  CHECK(h.shared->in_flight(FakeOp::discover) == 1);
  h.manager->refresh();  // skipped for "shared" while the first still runs
  CHECK(h.shared->calls(FakeOp::discover) == 1);
  CHECK(h.local->calls(FakeOp::refresh) == 2);
  gate->open();
  REQUIRE(eventually([&] { return h.shared->in_flight(FakeOp::discover) == 0; }));
  h.shared->unblock(FakeOp::discover);
  REQUIRE(eventually([&] {
    h.manager->refresh();
    return h.shared->calls(FakeOp::discover) >= 2;
  }));
}

TEST_CASE("[Error] a volume removed while a refresh lists the storage does not come back", "[unit]") {
  // Found by the crash torture: the start-up refresh listed the export, a
  // client's Remove finished meanwhile, and the merge re-added the name.
  Host h;
  h.manager->create("gone", Options{{"backend", "shared"}});
  h.manager->create("kept", Options{{"backend", "shared"}});
  h.shared->set_discover_result(std::vector<VolumeRecord>{h.rec("gone"), h.rec("kept")});  // the listing
  auto gate = h.shared->block(FakeOp::discover);
  std::thread refresher([&] { h.manager->refresh(); });
  REQUIRE(eventually([&] { return h.shared->in_flight(FakeOp::discover) == 1; }));
  h.manager->remove("gone");
  gate->open();
  refresher.join();
  CHECK_FALSE(h.manager->record("gone"));
  CHECK(error_of([&] { h.manager->get("gone"); })->kind() == ErrorKind::not_found);
  CHECK(h.manager->record("kept"));

  // Once no discovery that began before the Remove runs, the name is
  // nothing special: a later listing that has it (another host created it
  // again) adds it.
  h.shared->unblock(FakeOp::discover);
  h.manager->refresh();
  CHECK(h.manager->record("gone"));
}

TEST_CASE("[Success] concurrent mounts and unmounts of one volume keep counts exact", "[unit]") {
  Host h;
  h.manager->create("v", std::nullopt);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 15; ++i) {
        std::string id = "id-" + std::to_string(t) + "-" + std::to_string(i % 3);
        h.manager->mount("v", id);
        h.manager->get("v");
        h.manager->unmount("v", id);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(h.rec("v").mounts.empty());
  CHECK(h.rec("v").mountpoint.empty());
  CHECK(h.local->calls(FakeOp::attach) == h.local->calls(FakeOp::detach));
  CHECK(h.local->calls(FakeOp::attach) >= 1);
  CHECK_FALSE(h.mounter.is_mounted(h.target("v")));
  CHECK(h.saved("v").mounts.empty());
}

TEST_CASE("[Success] capabilities: global only when every backend is", "[unit]") {
  Host h;
  CHECK(h.manager->scope() == Scope::local);
  h.local->set_scope(Scope::global);
  CHECK(h.manager->scope() == Scope::global);
}

TEST_CASE("[Success] operator reconcile: dry run reports, apply fixes, only under the mount root", "[unit]") {
  Host h;
  for (const char* name : {"kept", "dropped", "leak", "stale"}) {
    h.manager->create(name, std::nullopt);
  }
  h.manager->mount("kept", "A");
  h.manager->mount("dropped", "A");
  h.manager->mount("stale", "A");
  // While running: someone unmounted "dropped" by hand, "leak" got attached
  // behind our back, a stranger mounted under the mount root and elsewhere.
  h.mounter.drop_mount(h.target("dropped"));
  h.mounter.add_mount("fake:leak", h.target("leak"), "fake");
  h.mounter.add_mount("tmpfs", h.target("stranger"), "tmpfs");
  h.mounter.add_mount("tmpfs", h.target("stranger") + "/inner", "tmpfs");
  h.mounter.add_mount("tmpfs", h.dir.sub("outside"), "tmpfs");

  auto kinds = [](const std::vector<ReconcileFinding>& findings) {
    std::map<std::string, ReconcileFinding> out;
    for (const auto& f : findings) {
      out[f.volume] = f;
    }
    return out;
  };
  auto dry = kinds(h.manager->reconcile(false));
  REQUIRE(dry.size() == 3);
  CHECK(dry["dropped"].kind == "mounts_vanished");
  CHECK(dry["leak"].kind == "leaked_attachment");
  CHECK(dry["stranger"].kind == "unknown_mount");
  CHECK(dry["stranger"].mountpoint == h.target("stranger") + "/inner " + h.target("stranger"));
  for (const auto& [name, f] : dry) {
    CHECK(f.outcome == "planned");
  }
  // A dry run changes nothing.
  CHECK(h.rec("dropped").mounts == Counts{{"A", 1}});
  CHECK(h.mounter.is_mounted(h.target("leak")));

  auto applied = kinds(h.manager->reconcile(true));
  REQUIRE(applied.size() == 3);
  for (const auto& [name, f] : applied) {
    CHECK(f.outcome == "done");
  }
  CHECK(h.rec("dropped").mounts.empty());
  CHECK(h.saved("dropped").mounts.empty());
  CHECK_FALSE(h.mounter.is_mounted(h.target("leak")));
  CHECK_FALSE(h.mounter.is_mounted(h.target("stranger")));
  CHECK_FALSE(h.mounter.is_mounted(h.target("stranger") + "/inner"));
  CHECK(h.mounter.is_mounted(h.dir.sub("outside")));  // outside the mount root: never touched
  CHECK(h.mounter.is_mounted(h.target("kept")));
  CHECK(h.rec("kept").mounts == Counts{{"A", 1}});
  CHECK(h.manager->reconcile(false).empty());
}

TEST_CASE("[Error] operator verbs: unknown volume, verb the backend lacks, allowlist", "[unit]") {
  Host h;
  h.manager->create("v", std::nullopt);
  auto missing = error_of([&] { h.manager->operator_action("nope", "resize", nlohmann::json::object(), 1s); });
  REQUIRE(missing);
  CHECK(missing->kind() == ErrorKind::not_found);
  auto lacking = error_of([&] { h.manager->operator_action("v", "resize", nlohmann::json::object(), 1s); });
  REQUIRE(lacking);
  CHECK(lacking->kind() == ErrorKind::invalid_argument);
  CHECK_THAT(lacking->what(), StartsWith("resize volume \"v\": ") && Contains("has no operator verb \"resize\""));
  auto bad = error_of([&] { h.manager->operator_action("v", "Re size", nlohmann::json::object(), 1s); });
  REQUIRE(bad);
  CHECK(bad->kind() == ErrorKind::invalid_argument);
}

TEST_CASE("[Success] backend metrics count calls, errors by kind and overruns", "[unit]") {
  Host h;
  h.manager->create("m", std::nullopt);
  h.manager->mount("m", "A");
  h.manager->unmount("m", "A");
  auto c = h.manager->backend_metrics().counters("local");
  CHECK(c.calls == 3);  // provision, attach, detach
  CHECK(c.errors.at(static_cast<std::size_t>(ErrorKind::timeout)) == 0);
  h.local->fail(FakeOp::attach, unavailable("server gone"));
  CHECK(error_of([&] { h.manager->mount("m", "B"); }));
  c = h.manager->backend_metrics().counters("local");
  CHECK(c.calls == 4);
  CHECK(c.errors.at(static_cast<std::size_t>(ErrorKind::unavailable)) == 1);
  CHECK(c.overruns == 0);
  CHECK(h.manager->backend_metrics().instances() == std::vector<std::string>{"local", "shared"});
}
