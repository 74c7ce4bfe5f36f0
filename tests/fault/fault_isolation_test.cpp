// Fault isolation: one failing storage must not take the daemon with it.
// The real holdfastd serves local volumes next to a failing backend:
//  - an nfs server that accepts and never answers (BlackHole on 127.0.0.1),
//  - an iSCSI target (tgtd) frozen, then killed in the middle of a Create,
//  - a state directory that is full, then read-only (a small tmpfs).
// Each failing call must end with a clear Err within its configured
// deadline (an upper bound: deadline plus slack for a loaded machine, a
// correctness bound, not a speed target), leave nothing half-made, and
// Get/List/Path of the local volumes must keep answering meanwhile. How
// fast they answer during a fault is measured by bench/holdfast_fault_bench,
// not here. See docs/reliability.md, "Fault isolation".
#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "crash/small_tmpfs.hpp"
#include "iscsi/tgtd_fixture.hpp"
#include "support/backend_yaml.hpp"
#include "support/black_hole.hpp"
#include "support/daemon_process.hpp"
#include "support/footprint.hpp"
#include "support/socket_client.hpp"
#include "support/temp_dir.hpp"
#include "volume/state_store.hpp"

using namespace std::chrono_literals;
using holdfast::test::BlackHole;
using holdfast::test::DaemonProcess;
using holdfast::test::DaemonSettings;
using holdfast::test::SocketClient;
using holdfast::test::TempDir;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// What a machine shared with other builds may add to a deadline.
constexpr auto k_slack = 8s;
const std::vector<std::string> k_local = {"l0", "l1", "l2", "l3", "l4"};

struct Outcome {
  long status = 0;
  std::string err;
  std::chrono::milliseconds took{0};
  bool answered = false;
};

Outcome call(const std::string& socket, const std::string& endpoint, const Json& body) {
  SocketClient client(socket, 60s);
  Outcome out;
  auto t0 = Clock::now();
  auto reply = client.try_post(endpoint, body.dump());
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  if (reply) {
    out.answered = true;
    out.status = reply->status;
    auto parsed = Json::parse(reply->body, nullptr, false);
    if (parsed.is_object() && parsed.contains("Err") && parsed["Err"].is_string()) {
      out.err = parsed["Err"].get<std::string>();
    }
  }
  return out;
}

void create_local_volumes(const std::string& socket) {
  SocketClient client(socket, 10s);
  for (const auto& name : k_local) {
    REQUIRE(client.post("/VolumeDriver.Create", Json{{"Name", name}}.dump()).status == 200);
  }
}

// Keeps asking Get, List and Path about the local volumes until `done`;
// returns {answered, failed}. Every reply must be a 200 with Err "".
struct Served {
  int ok = 0;
  int failed = 0;
  std::string first_failure;
};

Served serve_local_until(const std::string& socket, const std::atomic<bool>& done) {
  SocketClient client(socket, 10s);
  Served out;
  for (std::size_t i = 0; !done || out.ok + out.failed < 30; ++i) {
    const std::string& name = k_local[i % k_local.size()];
    const char* endpoint = i % 3 == 0 ? "/VolumeDriver.Get" : (i % 3 == 1 ? "/VolumeDriver.Path" : "/VolumeDriver.List");
    auto reply = client.try_post(endpoint, Json{{"Name", name}}.dump());
    auto parsed = reply ? Json::parse(reply->body, nullptr, false) : Json();
    if (reply && reply->status == 200 && parsed.is_object() && parsed.value("Err", "x").empty()) {
      ++out.ok;
    } else {
      if (out.failed++ == 0) {
        out.first_failure = std::string(endpoint) + " " + name + ": " + (reply ? reply->body : "no reply");
      }
    }
    std::this_thread::sleep_for(2ms);
  }
  return out;
}

void check_served(const Served& served) {
  INFO("first failure: " << served.first_failure);
  CHECK(served.failed == 0);
  CHECK(served.ok >= 30);
}

bool listed(const std::string& socket, const std::string& name) {
  SocketClient client(socket, 10s);
  auto body = Json::parse(client.post("/VolumeDriver.List", "{}").body);
  for (const auto& v : body["Volumes"]) {
    if (v["Name"] == name) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("a black-holed nfs server: Create and Mount fail in time while local volumes keep answering",
          "[integration][fault]") {
  TempDir dir;
  BlackHole hole;
  DaemonSettings settings;
  // refresh_interval 2s: the background discovery runs into the black hole
  // too, as it would in production.
  settings.config_yaml = "refresh_interval: 2s\n"
                         "backends:\n" +
                         holdfast::test::local_backend_yaml(dir.sub("volumes")) +
                         holdfast::test::nfs_backend_yaml(
                             "filer", hole.port(), {"provision_timeout: 2s", "probe_timeout: 1s", "mount_timeout: 2s"});
  DaemonProcess daemon(dir.path(), settings);
  // A volume created while the server still answered.
  {
    holdfast::StateStore store(daemon.state_dir());
    holdfast::VolumeRecord record;
    record.name = "shared1";
    record.backend = "filer";
    record.created_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    record.created_by = "another-host";
    store.save(record);
  }
  // The mount root is made by the first Mount; it is no leftover.
  std::filesystem::create_directories(daemon.mount_root());
  daemon.start();
  const std::string socket = daemon.socket_path();
  create_local_volumes(socket);
  auto before = holdfast::test::capture_footprint({daemon.state_dir(), dir.sub("volumes"), daemon.mount_root()},
                                                  dir.path());

  std::atomic<bool> done{false};
  auto local = std::async(std::launch::async, [&] { return serve_local_until(socket, done); });
  auto create = std::async(std::launch::async, [&] {
    return call(socket, "/VolumeDriver.Create", {{"Name", "nfs-new"}, {"Opts", {{"backend", "filer"}}}});
  });
  auto create2 = std::async(std::launch::async, [&] {
    return call(socket, "/VolumeDriver.Create", {{"Name", "nfs-new2"}, {"Opts", {{"backend", "filer"}}}});
  });
  auto mount = std::async(std::launch::async, [&] {
    return call(socket, "/VolumeDriver.Mount", {{"Name", "shared1"}, {"ID", "c0ffee"}});
  });
  Outcome created = create.get();
  Outcome created2 = create2.get();
  Outcome mounted = mount.get();
  done = true;
  Served served = local.get();

  for (const Outcome* o : {&created, &created2}) {
    INFO("Create Err: " << o->err << " (" << o->took.count() << " ms)");
    REQUIRE(o->answered);
    CHECK(o->status >= 400);
    CHECK_THAT(o->err, Catch::Contains("create volume \"nfs-new") && Catch::Contains("127.0.0.1"));
    CHECK(o->took < 2s + k_slack);  // provision_timeout + slack
  }
  {
    INFO("Mount Err: " << mounted.err << " (" << mounted.took.count() << " ms)");
    REQUIRE(mounted.answered);
    CHECK(mounted.status >= 400);
    CHECK_THAT(mounted.err, Catch::Contains("mount volume \"shared1\"") && Catch::Contains("127.0.0.1"));
    CHECK(mounted.took < 1s + k_slack);  // probe_timeout + slack
  }
  check_served(served);
  CHECK(hole.accepted() > 0);  // the calls did reach the (silent) server

  // Nothing half-made: no new volume, no mount count, no mount, no file.
  CHECK_FALSE(listed(socket, "nfs-new"));
  CHECK_FALSE(listed(socket, "nfs-new2"));
  SocketClient client(socket, 10s);
  auto get = Json::parse(client.post("/VolumeDriver.Get", R"({"Name":"shared1"})").body);
  CHECK(get["Volume"].value("Mountpoint", "") == "");
  auto after = holdfast::test::capture_footprint({daemon.state_dir(), dir.sub("volumes"), daemon.mount_root()},
                                                 dir.path());
  INFO("changed:\n" << before.diff(after));
  CHECK(after == before);
  CHECK(daemon.running());
}

TEST_CASE("an iSCSI target frozen or killed mid-Create: bounded Err while local volumes keep answering",
          "[integration][fault]") {
  using holdfast::iscsi::test::Tgtd;
  if (!Tgtd::available()) {
    WARN("tgtd/tgtadm (package tgt) not installed: skipped");
    return;
  }
  const std::string iqn = "iqn.2024-01.io.holdfast:fault";
  auto target = std::make_unique<Tgtd>();
  target->add_target(1, iqn);
  for (int lun = 1; lun <= 4; ++lun) {
    target->add_lun(1, lun, 40ULL << 20U);
  }
  TempDir dir;
  DaemonSettings settings;
  settings.config_yaml = "refresh_interval: 1440m\n"
                         "backends:\n" +
                         holdfast::test::local_backend_yaml(dir.sub("volumes")) +
                         "  san:\n"
                         "    type: iscsi\n"
                         "    portals: [\"" + target->portal() + "\"]\n"
                         "    target: " + iqn + "\n"
                         "    initiator_name: iqn.2024-01.io.holdfast:fault-host\n"
                         "    luns: \"1-4\"\n"
                         "    io_timeout: 2s\n";
  DaemonProcess daemon(dir.path(), settings);
  daemon.start();
  const std::string socket = daemon.socket_path();
  create_local_volumes(socket);
  auto create_on_san = [&](const std::string& name) {
    return call(socket, "/VolumeDriver.Create", {{"Name", name}, {"Opts", {{"backend", "san"}}}});
  };
  REQUIRE(create_on_san("alive").err.empty());

  SECTION("frozen target") {
    target->freeze();
    std::atomic<bool> done{false};
    auto local = std::async(std::launch::async, [&] { return serve_local_until(socket, done); });
    Outcome frozen = create_on_san("frozen1");
    done = true;
    Served served = local.get();
    target->thaw();
    INFO("Err: " << frozen.err << " (" << frozen.took.count() << " ms)");
    CHECK(frozen.status >= 400);
    CHECK_THAT(frozen.err, Catch::Contains("create volume \"frozen1\""));
    // Each network step is capped by io_timeout (2 s); a claim takes a few.
    CHECK(frozen.took < 3 * 2s + k_slack);
    check_served(served);
    CHECK_FALSE(listed(socket, "frozen1"));
    // Service resumes once the target answers again.
    CHECK(create_on_san("after-thaw").err.empty());
  }
  SECTION("target killed in the middle of a Create") {
    std::atomic<bool> done{false};
    auto local = std::async(std::launch::async, [&] { return serve_local_until(socket, done); });
    std::thread killer([&] {
      std::this_thread::sleep_for(20ms);
      target->kill();
    });
    Outcome mid = create_on_san("mid1");
    killer.join();
    Outcome dead = create_on_san("dead1");
    done = true;
    Served served = local.get();
    INFO("mid-Create: " << mid.err << " (" << mid.took.count() << " ms); after: " << dead.err);
    // Either it finished before the kill or it failed cleanly.
    CHECK(mid.answered);
    CHECK(mid.took < 3 * 2s + k_slack);
    CHECK(listed(socket, "mid1") == mid.err.empty());
    CHECK(dead.status >= 400);
    CHECK_THAT(dead.err, Catch::Contains("create volume \"dead1\"") && Catch::Contains("127.0.0.1"));
    CHECK(dead.took < 2s + k_slack);
    CHECK_FALSE(listed(socket, "dead1"));
    check_served(served);
  }
  CHECK(daemon.running());
}

TEST_CASE("a full then read-only state directory: Create fails cleanly and the daemon keeps serving",
          "[integration][fault]") {
  TempDir dir;
  std::unique_ptr<holdfast::crash::SmallTmpfs> state;
  try {
    state = std::make_unique<holdfast::crash::SmallTmpfs>(dir.sub("state"), 256 * 1024);
  } catch (const std::exception& e) {
    WARN("cannot mount a tmpfs (needs root): " << e.what() << "; skipped");
    return;
  }
  DaemonProcess daemon(dir.path());  // local backend under <root>/volumes, state on the tmpfs
  daemon.start();
  const std::string socket = daemon.socket_path();
  create_local_volumes(socket);
  SocketClient client(socket, 10s);
  REQUIRE(client.post("/VolumeDriver.Mount", R"({"Name":"l0","ID":"m1"})").status == 200);

  holdfast::crash::Filler filler(dir.sub("state/filler"));
  REQUIRE(filler.fill() > 0);
  auto before = holdfast::test::capture_footprint({daemon.state_dir() + "/volumes", dir.sub("volumes")}, dir.path());

  auto expect_clean_failure = [&](const std::string& name, const std::string& cause) {
    std::atomic<bool> done{false};
    auto local = std::async(std::launch::async, [&] { return serve_local_until(socket, done); });
    Outcome created = call(socket, "/VolumeDriver.Create", {{"Name", name}});
    Outcome mounted = call(socket, "/VolumeDriver.Mount", {{"Name", "l1"}, {"ID", "m2"}});
    done = true;
    Served served = local.get();
    INFO("Create Err: " << created.err);
    CHECK(created.status >= 400);
    CHECK_THAT(created.err, Catch::Contains("create volume \"" + name + "\"") && Catch::Contains(cause));
    // The volume's directory was made, then removed again when its state
    // could not be saved.
    CHECK_FALSE(std::filesystem::exists(dir.sub("volumes/" + name)));
    CHECK_FALSE(listed(socket, name));
    INFO("Mount Err: " << mounted.err);
    CHECK(mounted.status >= 400);
    CHECK_THAT(mounted.err, Catch::Contains("mount volume \"l1\"") && Catch::Contains(cause));
    check_served(served);
    auto after =
        holdfast::test::capture_footprint({daemon.state_dir() + "/volumes", dir.sub("volumes")}, dir.path());
    INFO("changed:\n" << before.diff(after));
    CHECK(after == before);
    // Volumes and mounts made before the fault are intact.
    auto get = Json::parse(client.post("/VolumeDriver.Get", R"({"Name":"l0"})").body);
    CHECK(get["Volume"]["Mountpoint"] == dir.sub("volumes/l0"));
    auto l1 = Json::parse(client.post("/VolumeDriver.Get", R"({"Name":"l1"})").body);
    CHECK(l1["Volume"].value("Mountpoint", "") == "");
  };

  SECTION("full") { expect_clean_failure("victim", "No space left on device"); }
  SECTION("read-only") {
    // A read-only bind mount of the state files' directory (the audit log
    // beside it stays writable, as a separate log volume would).
    filler.release();
    const std::string volumes = daemon.state_dir() + "/volumes";
    REQUIRE(::mount(volumes.c_str(), volumes.c_str(), nullptr, MS_BIND, nullptr) == 0);
    struct Unbind {
      std::string path;
      ~Unbind() { ::umount2(path.c_str(), MNT_DETACH); }
    } unbind{volumes};
    REQUIRE(::mount(nullptr, volumes.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) == 0);
    before = holdfast::test::capture_footprint({volumes, dir.sub("volumes")}, dir.path());
    expect_clean_failure("victim-ro", "Read-only file system");
  }
  CHECK(daemon.running());
  daemon.stop();
}
