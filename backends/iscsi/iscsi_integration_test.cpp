// Integration tests of the iSCSI backend against a real target: tgtd
// started by each test on 127.0.0.1 with file-backed LUNs. Everything that
// talks to the target is real (libiscsi sessions, CHAP, labels, SCSI-3
// persistent reservations); the kernel side (iscsiadm, sysfs, SG_IO, mount)
// is the FakeKernel, because this build host has no SCSI layer: the VM suite
// proves that part. Each "host" is a separate backend instance with its own
// initiator name and host id, exactly as two machines would be.
//
// Skips with a warning when tgtd is not installed.
#include "iscsi_backend.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <iostream>
#include <set>
#include <thread>

#include <holdfast/error.hpp>

#include "claim_label.hpp"
#include "fake_device_ops.hpp"
#include "fake_kernel.hpp"
#include "iscsi_context.hpp"
#include "support/fake_mounter.hpp"
#include "support/fake_runner.hpp"
#include "support/temp_dir.hpp"
#include "tgtd_fixture.hpp"

using namespace holdfast;
using namespace holdfast::iscsi;
using namespace std::chrono_literals;
using iscsi::test::FakeDeviceOps;
using iscsi::test::FakeKernel;
using iscsi::test::Tgtd;

namespace {

const std::string k_iqn = "iqn.2024-01.io.holdfast:pool";
constexpr std::uint64_t k_mib = 1024 * 1024;

#define SKIP_WITHOUT_TGTD()                                                       \
  do {                                                                            \
    if (!Tgtd::available()) {                                                     \
      WARN("tgtd/tgtadm (package tgt) not installed: iSCSI integration skipped"); \
      return;                                                                     \
    }                                                                             \
  } while (false)

Deadline soon() {
  return Deadline::after(20s);
}

SessionParams observer_params(const std::string& initiator = "iqn.2024-01.io.holdfast:observer") {
  SessionParams p;
  p.initiator_name = initiator;
  p.target = k_iqn;
  p.io_timeout = 5s;
  return p;
}

IscsiContext observer(const Tgtd& t) {
  return IscsiContext::open(parse_portal(t.portal()), observer_params(), soon());
}

VolumeRecord record(const std::string& name, Options options = {}) {
  VolumeRecord r;
  r.name = name;
  r.backend = "san";
  r.options = std::move(options);
  return r;
}

// One machine: its own initiator name, host id, runner, mounter, simulated
// kernel, and backend instance.
struct Host {
  std::string id;
  std::string initiator;
  holdfast::test::TempDir state;
  holdfast::test::FakeRunner runner;
  holdfast::test::FakeMounter mounter;
  FakeDeviceOps* devices = nullptr;
  std::unique_ptr<FakeKernel> kernel;
  std::unique_ptr<IscsiBackend> backend;
  std::string portal;

  Host(const Tgtd& t, const std::string& host_id, std::vector<int> luns,
       const std::function<void(IscsiConfig&)>& tweak = {})
      : id(host_id), initiator("iqn.2024-01.io.holdfast:" + host_id), portal(t.portal()) {
    IscsiConfig c;
    c.instance = "san";
    c.host_id = host_id;
    c.portals = {parse_portal(t.portal())};
    c.target = k_iqn;
    c.initiator_name = initiator;
    c.luns = std::move(luns);
    c.io_timeout = 3s;
    c.takeover_dir = state.sub("takeover");
    if (tweak) {
      tweak(c);
    }
    auto dev = std::make_unique<FakeDeviceOps>();
    devices = dev.get();
    kernel = std::make_unique<FakeKernel>(runner, *dev);
    runner.on({"blkid"}, 2);  // empty until a test says otherwise
    // The kernel's path registers through its own I_T nexus (SG_IO on
    // /dev/sdX in production); here a libiscsi session with this host's
    // initiator name plays that nexus, and stays logged in as the kernel's
    // session does.
    devices->on_register_key([this](const std::string& device, std::uint64_t key) {
      int lun = kernel->lun_of(device);
      REQUIRE(lun >= 0);
      auto& path = kernel_paths[lun];
      if (!path) {
        path.emplace(IscsiContext::open(parse_portal(portal), observer_params(initiator), soon()));
      }
      path->reserve_out(lun, PrAction::register_ignore, 0, 0, key, soon());
    });
    backend = std::make_unique<IscsiBackend>(std::move(c), runner, mounter, std::move(dev));
  }

  // The kernel's session for each LUN it registered (see above).
  std::map<int, std::optional<IscsiContext>> kernel_paths;

  // A write through this host's kernel path, as the mounted filesystem would.
  void kernel_write(int lun) {
    auto& path = kernel_paths.at(lun);
    REQUIRE(path);
    path->write(lun, k_mib, std::vector<unsigned char>(512, 0x5a), 512, soon());
  }

  std::string target_dir(const std::string& name) { return state.sub("mnt-" + name); }

  std::string attach(VolumeRecord& r) {
    auto path = backend->attach(r, target_dir(r.name), soon());
    r.mountpoint = path;
    return path;
  }
};

// A tgtd with one target and `sizes.size()` LUNs numbered from 1.
std::unique_ptr<Tgtd> start_target(const std::vector<std::uint64_t>& sizes) {
  auto t = std::make_unique<Tgtd>();
  t->add_target(1, k_iqn);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    t->add_lun(1, static_cast<int>(i + 1), sizes[i]);
  }
  return t;
}

std::vector<int> range(int first, int last) {
  std::vector<int> out;
  for (int i = first; i <= last; ++i) {
    out.push_back(i);
  }
  return out;
}

DecodedLabel label_on(Tgtd& t, int lun, std::uint64_t size) {
  auto layout = LunLayout::for_capacity(size, 512);
  auto block = t.read_backing(1, lun, layout.label_offset, k_label_size);
  return decode_label(block.data(), block.size());
}

int lun_of(const VolumeRecord& r) {
  return r.backend_data.at("lun").get<int>();
}

template <typename F>
ErrorKind error_kind(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message != nullptr) {
      *message = e.what();
    }
    return e.kind();
  }
  FAIL("no error");
  return ErrorKind::internal;
}

}  // namespace

TEST_CASE("discovery finds the target, CHAP and mutual CHAP are enforced", "[integration]") {
  SKIP_WITHOUT_TGTD();
  Tgtd t;
  t.add_target(1, k_iqn);
  t.add_lun(1, 1, 64 * k_mib);
  t.add_account("hfuser", "initiator-secret-1");
  t.add_account("tgtuser", "target-secret-22");
  t.bind_account(1, "hfuser", false);
  t.bind_account(1, "tgtuser", true);

  auto chap = [](const std::string& secret, const std::string& mutual) {
    return [=](IscsiConfig& c) {
      c.target.clear();  // found through SendTargets
      c.chap.username = "hfuser";
      c.chap.secret = secret;
      register_secret(secret);
      if (!mutual.empty()) {
        c.chap.mutual_username = "tgtuser";
        c.chap.mutual_secret = mutual;
        register_secret(mutual);
      }
    };
  };

  SECTION("right secrets") {
    Host a(t, "host-a", {1}, chap("initiator-secret-1", "target-secret-22"));
    auto found = a.backend->discover(soon());
    REQUIRE(found);
    CHECK(found->empty());
    auto r = record("v1");
    a.backend->provision(r, soon());
    CHECK(r.backend_data["target"] == k_iqn);
    CHECK(lun_of(r) == 1);
  }
  SECTION("wrong initiator secret") {
    Host a(t, "host-a", {1}, chap("wrong-secret-333", ""));
    std::string msg;
    CHECK(error_kind([&] { a.backend->discover(soon()); }, &msg) == ErrorKind::permission);
    CHECK_THAT(msg, !Catch::Contains("wrong-secret-333"));
    CHECK_THAT(msg, Catch::Contains("127.0.0.1"));
  }
  SECTION("wrong mutual secret: the target fails to prove itself") {
    Host a(t, "host-a", {1}, chap("initiator-secret-1", "not-the-target-4444"));
    std::string msg;
    auto kind = error_kind([&] { a.backend->discover(soon()); }, &msg);
    CHECK((kind == ErrorKind::permission || kind == ErrorKind::unavailable));
    CHECK_THAT(msg, !Catch::Contains("not-the-target-4444"));
    CHECK_THAT(msg, !Catch::Contains("initiator-secret-1"));
  }
  SECTION("no CHAP at all") {
    Host a(t, "host-a", {1}, [](IscsiConfig& c) { c.target.clear(); });
    CHECK(error_kind([&] { a.backend->discover(soon()); }) == ErrorKind::permission);
  }
  SECTION("two targets: discovery asks for `target:`") {
    t.add_target(2, "iqn.2024-01.io.holdfast:second");
    Host a(t, "host-a", {1}, chap("initiator-secret-1", ""));
    std::string msg;
    CHECK(error_kind([&] { a.backend->discover(soon()); }, &msg) == ErrorKind::invalid_argument);
    CHECK_THAT(msg, Catch::Contains("iqn.2024-01.io.holdfast:second"));
    CHECK_THAT(msg, Catch::Contains("set `target:`"));
  }
}

TEST_CASE("pool claims: best fit, lun=N, idempotence, foreign data, a full pool", "[integration]") {
  SKIP_WITHOUT_TGTD();
  std::vector<std::uint64_t> sizes = {40 * k_mib, 64 * k_mib, 100 * k_mib, 64 * k_mib, 64 * k_mib};
  auto t = start_target(sizes);
  // LUN 4 carries someone's data at its head; LUN 5 garbage where the label goes.
  t->write_backing(1, 4, 0, std::vector<unsigned char>(4096, 0xee));
  t->write_backing(1, 5, LunLayout::for_capacity(sizes[4], 512).label_offset,
                   std::vector<unsigned char>(16, 0x11));
  Host a(*t, "host-a", range(1, 5));

  auto v1 = record("v1", {{"size", "60M"}});
  a.backend->provision(v1, soon());
  CHECK(lun_of(v1) == 2);  // the smallest LUN that fits; LUN 4 is never taken
  auto l2 = label_on(*t, 2, sizes[1]);
  REQUIRE(l2.kind == BlockKind::label);
  CHECK(l2.label->volume == "v1");
  CHECK(l2.label->created_by == "host-a");
  CHECK(l2.label->options == Options{{"size", "60M"}});
  CHECK(v1.created_by == "host-a");

  // Idempotent create; implicit create with no options adopts the stored ones.
  auto again = record("v1", {{"size", "60M"}});
  a.backend->provision(again, soon());
  CHECK(lun_of(again) == 2);
  CHECK(again.created_at == v1.created_at);
  auto implicit = record("v1");
  a.backend->provision(implicit, soon());
  CHECK(implicit.options == Options{{"size", "60M"}});
  auto other = record("v1", {{"size", "10M"}});
  std::string msg;
  CHECK(error_kind([&] { a.backend->provision(other, soon()); }, &msg) == ErrorKind::conflict);
  CHECK_THAT(msg, Catch::Contains("LUN 2"));

  auto v2 = record("v2", {{"lun", "3"}, {"fs", "xfs"}});
  a.backend->provision(v2, soon());
  CHECK(lun_of(v2) == 3);
  CHECK(label_on(*t, 3, sizes[2]).label->fs == "xfs");

  auto v3 = record("v3", {{"lun", "4"}});
  CHECK(error_kind([&] { a.backend->provision(v3, soon()); }, &msg) == ErrorKind::conflict);
  CHECK_THAT(msg, Catch::Contains("not blank"));
  auto v3b = record("v3", {{"lun", "5"}});
  CHECK(error_kind([&] { a.backend->provision(v3b, soon()); }, &msg) == ErrorKind::conflict);
  CHECK_THAT(msg, Catch::Contains("foreign data"));
  auto big = record("big", {{"size", "1G"}});
  CHECK(error_kind([&] { a.backend->provision(big, soon()); }, &msg) == ErrorKind::unavailable);
  CHECK_THAT(msg, Catch::Contains("at least 1.0 GiB"));

  auto v4 = record("v4");
  a.backend->provision(v4, soon());
  CHECK(lun_of(v4) == 1);
  auto v5 = record("v5");
  CHECK(error_kind([&] { a.backend->provision(v5, soon()); }, &msg) == ErrorKind::unavailable);
  CHECK_THAT(msg, Catch::Contains("3 claimed"));
  CHECK_THAT(msg, Catch::Contains("2 unusable"));
  // Nothing was written to the LUNs holdfast must not touch.
  CHECK(t->read_backing(1, 4, 0, 4096) == std::vector<unsigned char>(4096, 0xee));
  CHECK(label_on(*t, 5, sizes[4]).kind == BlockKind::foreign);

  SECTION("a second host sees every volume through the labels alone") {
    Host b(*t, "host-b", range(1, 5));
    auto found = b.backend->discover(soon());
    REQUIRE(found);
    std::map<std::string, VolumeRecord> by_name;
    for (const auto& r : *found) {
      by_name[r.name] = r;
    }
    CHECK(by_name.size() == 3);
    CHECK(by_name["v1"].options == Options{{"size", "60M"}});
    CHECK(by_name["v1"].created_by == "host-a");
    CHECK(by_name["v1"].created_at == v1.created_at);
    CHECK(lun_of(by_name["v2"]) == 3);
    CHECK(by_name["v4"].backend == "san");
    auto status = b.backend->status(by_name["v1"]);
    CHECK(status["lun"] == 2);
    CHECK(status["capacity"] == sizes[1]);
    CHECK(status["holder"] == "");
    CHECK(status["target"] == k_iqn);
  }
}

TEST_CASE("concurrent claims from two hosts never give one LUN to two volumes", "[integration]") {
  SKIP_WITHOUT_TGTD();
  auto t = start_target(std::vector<std::uint64_t>(8, 40 * k_mib));
  Host a(*t, "host-a", range(1, 8));
  Host b(*t, "host-b", range(1, 8));

  SECTION("different names fill the pool exactly") {
    std::vector<VolumeRecord> ra;
    std::vector<VolumeRecord> rb;
    std::atomic<int> failures{0};
    auto run = [&](Host& h, const std::string& prefix, std::vector<VolumeRecord>& out) {
      for (int i = 0; i < 4; ++i) {
        auto r = record(prefix + std::to_string(i));
        try {
          h.backend->provision(r, soon());
          out.push_back(r);
        } catch (const Error& e) {
          std::cerr << "claim failed: " << e.what() << "\n";
          ++failures;
        }
      }
    };
    std::thread ta(run, std::ref(a), "a", std::ref(ra));
    std::thread tb(run, std::ref(b), "b", std::ref(rb));
    ta.join();
    tb.join();
    CHECK(failures == 0);
    std::set<int> luns;
    for (const auto& r : ra) {
      luns.insert(lun_of(r));
    }
    for (const auto& r : rb) {
      luns.insert(lun_of(r));
    }
    CHECK(luns.size() == 8);
    // What the LUNs say agrees with what each host was told.
    for (const auto& r : ra) {
      CHECK(label_on(*t, lun_of(r), 40 * k_mib).label->volume == r.name);
    }
    for (const auto& r : rb) {
      CHECK(label_on(*t, lun_of(r), 40 * k_mib).label->volume == r.name);
    }
  }

  SECTION("one name created on both hosts at once ends on one LUN") {
    for (int round = 0; round < 6; ++round) {
      INFO("round " << round);
      auto r1 = record("shared", {{"size", "32M"}});
      auto r2 = record("shared", {{"size", "32M"}});
      std::optional<Error> e1;
      std::optional<Error> e2;
      std::thread ta([&] {
        try {
          a.backend->provision(r1, soon());
        } catch (const Error& e) {
          e1 = e;
        }
      });
      std::thread tb([&] {
        try {
          b.backend->provision(r2, soon());
        } catch (const Error& e) {
          e2 = e;
        }
      });
      ta.join();
      tb.join();
      CHECK_FALSE(e1.has_value());
      CHECK_FALSE(e2.has_value());
      int claims = 0;
      for (int lun = 1; lun <= 8; ++lun) {
        auto l = label_on(*t, lun, 40 * k_mib);
        claims += (l.kind == BlockKind::label && l.label->volume == "shared" &&
                   l.label->state == LabelState::claimed)
                      ? 1
                      : 0;
      }
      CHECK(claims == 1);
      if (!e1 && !e2) {
        CHECK(lun_of(r1) == lun_of(r2));
        // Remove it (retained) so the next round races to take it back.
        a.backend->deprovision(r1, soon());
      }
    }
  }
}

TEST_CASE("attach fences the LUN: taken, refused naming the holder, released at detach", "[integration]") {
  SKIP_WITHOUT_TGTD();
  auto t = start_target({64 * k_mib, 64 * k_mib});
  Host a(*t, "host-a", {1, 2});
  Host b(*t, "host-b", {1, 2});
  auto v = record("db");
  a.backend->provision(v, soon());
  int lun = lun_of(v);
  auto layout = LunLayout::for_capacity(64 * k_mib, 512);

  auto t0 = std::chrono::steady_clock::now();
  a.attach(v);
  auto attach_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << "iSCSI attach (control plane real, kernel faked): " << attach_ms.count() << " ms\n";

  // Formatted exactly once, sized to leave the label alone, then mounted.
  CHECK(a.runner.count({"mkfs.ext4"}) == 1);
  for (const auto& argv : a.runner.argvs()) {
    if (argv[0] == "mkfs.ext4") {
      CHECK(argv.back() == std::to_string(layout.fs_bytes / 1024) + "k");
      CHECK(argv[argv.size() - 2] == "/dev/sdb");
    }
  }
  CHECK(a.mounter.is_mounted(a.target_dir("db")));
  CHECK(v.backend_data["device"] == "/dev/sdb");

  auto obs = observer(*t);
  auto res = obs.read_reservation(lun, soon());
  CHECK(res.reserved);
  CHECK(res.key == a.backend->key());
  CHECK(res.type == k_pr_write_exclusive_registrants_only);
  auto keys = obs.read_keys(lun, soon()).keys;
  CHECK(std::set<std::uint64_t>(keys.begin(), keys.end()) == std::set<std::uint64_t>{a.backend->key()});
  auto label = label_on(*t, lun, 64 * k_mib);
  REQUIRE(label.label->holder);
  CHECK(label.label->holder->host == "host-a");

  // Fencing is real: A's kernel path writes; anybody else is refused.
  CHECK_NOTHROW(a.kernel_write(lun));
  CHECK(error_kind([&] { obs.write(lun, k_mib, std::vector<unsigned char>(512, 1), 512, soon()); }) ==
        ErrorKind::conflict);

  // B is refused, with an error that names A.
  auto vb = record("db");
  b.backend->provision(vb, soon());  // adopts (same LUN)
  CHECK(lun_of(vb) == lun);
  std::string msg;
  CHECK(error_kind([&] { b.attach(vb); }, &msg) == ErrorKind::conflict);
  CHECK_THAT(msg, Catch::Contains("host \"host-a\""));
  CHECK_THAT(msg, Catch::Contains("\"never\""));
  CHECK_FALSE(b.mounter.is_mounted(b.target_dir("db")));
  CHECK(b.runner.count({"iscsiadm", "-m", "node"}) == 0);  // refused before the kernel was touched
  // ...and cannot remove it either.
  CHECK(error_kind([&] { b.backend->deprovision(vb, soon()); }, &msg) == ErrorKind::busy);
  CHECK_THAT(msg, Catch::Contains("host \"host-a\""));
  // B's failed attempts left no registration behind.
  keys = obs.read_keys(lun, soon()).keys;
  CHECK(std::set<std::uint64_t>(keys.begin(), keys.end()) == std::set<std::uint64_t>{a.backend->key()});

  // Status on A says who holds it.
  auto st = a.backend->status(v);
  CHECK(st["holder"] == "host-a");
  CHECK(st["attached_here"] == true);

  // Re-attach on A (idempotent) and heartbeat.
  a.backend->refresh(soon());
  CHECK(label_on(*t, lun, 64 * k_mib).label->holder->beat == label.label->holder->beat + 1);

  // Detach releases everything.
  a.backend->detach(v, v.mountpoint, soon());
  CHECK_FALSE(a.mounter.is_mounted(a.target_dir("db")));
  res = obs.read_reservation(lun, soon());
  CHECK_FALSE(res.reserved);
  CHECK(obs.read_keys(lun, soon()).keys.empty());
  CHECK_FALSE(label_on(*t, lun, 64 * k_mib).label->holder.has_value());
  CHECK(a.kernel->logged_in_portals().empty());
  CHECK_NOTHROW(a.kernel_write(lun));  // no reservation at all now: nothing is fenced
  // B now attaches without a takeover and without formatting again.
  b.runner.on({"blkid"}, 0, "DEVNAME=/dev/sdb\nTYPE=ext4\n");
  b.attach(vb);
  CHECK(b.runner.count({"mkfs.ext4"}) == 0);
  CHECK(b.mounter.is_mounted(b.target_dir("db")));
  CHECK(obs.read_reservation(lun, soon()).key == b.backend->key());
  CHECK_FALSE(vb.backend_data.contains("taken_over_from"));
  b.backend->detach(vb, vb.mountpoint, soon());
  obs.close(soon());
}

TEST_CASE("takeover of a LUN whose holder is gone follows the policy", "[integration]") {
  SKIP_WITHOUT_TGTD();
  auto t = start_target({64 * k_mib});
  Host a(*t, "host-a", {1});
  auto v = record("app");
  a.backend->provision(v, soon());
  a.attach(v);
  CHECK_NOTHROW(a.kernel_write(1));

  SECTION("operator: refused until the takeover file exists") {
    Host b(*t, "host-b", {1}, [](IscsiConfig& c) { c.takeover = parse_takeover("operator"); });
    auto vb = record("app");
    std::string msg;
    CHECK(error_kind([&] { b.attach(vb); }, &msg) == ErrorKind::conflict);
    std::string file = b.backend->config().takeover_dir + "/app";
    CHECK_THAT(msg, Catch::Contains("touch " + file));
    // A stale file (older than an hour) does not count.
    b.devices->touch(file, std::chrono::system_clock::now() - 2h);
    CHECK(error_kind([&] { b.attach(vb); }) == ErrorKind::conflict);
    b.devices->touch(file, std::chrono::system_clock::now());
    b.attach(vb);
    CHECK(vb.backend_data["taken_over_from"].get<std::string>().find("host-a") != std::string::npos);
    CHECK(b.devices->removed() == std::vector<std::string>{file});
    // A is fenced: its kernel path's writes now fail.
    std::string err;
    CHECK(error_kind([&] { a.kernel_write(1); }, &err) == ErrorKind::conflict);
    CHECK_THAT(err, Catch::Contains("RESERVATION CONFLICT"));
    CHECK(label_on(*t, 1, 64 * k_mib).label->holder->host == "host-b");
    // A's heartbeat notices and does not overwrite B's holder.
    a.backend->refresh(soon());
    CHECK(label_on(*t, 1, 64 * k_mib).label->holder->host == "host-b");
    b.backend->detach(vb, vb.mountpoint, soon());
  }

  SECTION("grace: refused while the holder's heartbeat moves, taken once it stands still") {
    Host b(*t, "host-b", {1}, [](IscsiConfig& c) {
      c.takeover.mode = TakeoverMode::grace;
      c.takeover.grace = 3s;  // far above the 200 ms heartbeat, even on a loaded machine
    });
    auto vb = record("app");
    std::atomic<bool> beating{true};
    std::thread heart([&] {
      while (beating) {
        a.backend->refresh(soon());
        std::this_thread::sleep_for(200ms);
      }
    });
    // At least three refusals spread over twice the grace period: the
    // heartbeat keeps the clock from ever reaching the grace.
    auto until = std::chrono::steady_clock::now() + 5s;
    int refusals = 0;
    while (std::chrono::steady_clock::now() < until || refusals < 3) {
      std::string msg;
      CHECK(error_kind([&] { b.attach(vb); }, &msg) == ErrorKind::conflict);
      CHECK_THAT(msg, Catch::Contains("looks alive"));
      ++refusals;
      std::this_thread::sleep_for(300ms);
    }
    beating = false;
    heart.join();
    // A is "dead" now: the first look starts the clock, the grace later B takes over.
    CHECK(error_kind([&] { b.attach(vb); }) == ErrorKind::conflict);
    std::this_thread::sleep_for(3200ms);
    b.attach(vb);
    CHECK(observer(*t).read_reservation(1, soon()).key == b.backend->key());
    CHECK(error_kind([&] { a.kernel_write(1); }) == ErrorKind::conflict);
    b.backend->detach(vb, vb.mountpoint, soon());
  }

  SECTION("a restarted holder re-attaches its own LUN without a takeover") {
    Host a2(*t, "host-a", {1});  // same host id and initiator: same key
    auto again = record("app");
    a2.attach(again);
    CHECK_FALSE(again.backend_data.contains("taken_over_from"));
    a2.backend->detach(again, again.mountpoint, soon());
  }
}

TEST_CASE("remove keeps (retains) or wipes per policy", "[integration]") {
  SKIP_WITHOUT_TGTD();
  auto t = start_target({64 * k_mib, 64 * k_mib});
  SECTION("keep: the data stays and comes back under the same name") {
    Host a(*t, "host-a", {1, 2});
    auto v = record("keepme");
    a.backend->provision(v, soon());
    int lun = lun_of(v);
    t->write_backing(1, lun, 0, std::vector<unsigned char>(4096, 0x42));  // "the filesystem"
    a.backend->deprovision(v, soon());
    auto l = label_on(*t, lun, 64 * k_mib);
    CHECK(l.label->state == LabelState::retained);
    CHECK(a.backend->discover(soon())->empty());
    CHECK_NOTHROW(a.backend->deprovision(v, soon()));  // idempotent
    auto other = record("someone-else");
    a.backend->provision(other, soon());
    CHECK(lun_of(other) != lun);  // a retained LUN is not free
    auto back = record("keepme");
    a.backend->provision(back, soon());
    CHECK(lun_of(back) == lun);
    CHECK(t->read_backing(1, lun, 0, 4096) == std::vector<unsigned char>(4096, 0x42));
  }
  SECTION("wipe: signatures and label zeroed, the LUN is free again") {
    Host a(*t, "host-a", {1}, [](IscsiConfig& c) { c.remove = RemovePolicy::wipe; });
    auto v = record("wipeme");
    a.backend->provision(v, soon());
    t->write_backing(1, 1, 1024, std::vector<unsigned char>(2048, 0x53));  // an ext4 superblock, say
    a.backend->deprovision(v, soon());
    CHECK(t->read_backing(1, 1, 0, k_head_check) == std::vector<unsigned char>(k_head_check, 0));
    CHECK(label_on(*t, 1, 64 * k_mib).kind == BlockKind::blank);
    auto next = record("next");
    a.backend->provision(next, soon());
    CHECK(lun_of(next) == 1);
  }
}

TEST_CASE("attach formats only an empty LUN that carries our claim", "[integration]") {
  SKIP_WITHOUT_TGTD();
  auto t = start_target({64 * k_mib});
  Host a(*t, "host-a", {1});
  auto v = record("fsvol", {{"fs", "xfs"}});
  a.backend->provision(v, soon());
  auto obs = observer(*t);

  SECTION("an existing filesystem is mounted as it is") {
    a.runner.on({"blkid"}, 0, "TYPE=ext4\n");
    a.attach(v);
    CHECK(a.runner.count({"mkfs.xfs"}) == 0);
    CHECK(a.runner.count({"mkfs.ext4"}) == 0);
    CHECK(a.mounter.mounts().back().fs_type == "ext4");
    a.backend->detach(v, v.mountpoint, soon());
  }
  SECTION("empty: formatted with the label's filesystem") {
    a.attach(v);
    CHECK(a.runner.count({"mkfs.xfs"}) == 1);
    CHECK(a.mounter.mounts().back().fs_type == "xfs");
    a.backend->detach(v, v.mountpoint, soon());
  }
  SECTION("a partition table is neither formatted nor mounted; everything is undone") {
    a.runner.on({"blkid"}, 0, "PTTYPE=gpt\n");
    std::string msg;
    CHECK(error_kind([&] { a.attach(v); }, &msg) == ErrorKind::conflict);
    CHECK_THAT(msg, Catch::Contains("partition table gpt"));
    CHECK(a.runner.count({"mkfs.xfs"}) == 0);
    CHECK_FALSE(obs.read_reservation(1, soon()).reserved);
    CHECK(obs.read_keys(1, soon()).keys.empty());
    CHECK(a.kernel->logged_in_portals().empty());
  }
  SECTION("an unreadable device is never formatted") {
    a.runner.on({"blkid"}, 4, "", "blkid: error reading");
    CHECK(error_kind([&] { a.attach(v); }) == ErrorKind::unavailable);
    CHECK(a.runner.count({"mkfs.xfs"}) == 0);
    CHECK_FALSE(obs.read_reservation(1, soon()).reserved);
  }
  SECTION("the label was removed under us: no mkfs") {
    // Another host removed (wiped) the volume between discover and mount.
    t->write_backing(1, 1, LunLayout::for_capacity(64 * k_mib, 512).label_offset,
                     std::vector<unsigned char>(k_label_size, 0));
    CHECK(error_kind([&] { a.attach(v); }) == ErrorKind::not_found);
    CHECK(a.runner.count({"mkfs.xfs"}) == 0);
    CHECK(a.runner.count({"iscsiadm", "-m", "node"}) == 0);
  }
  obs.close(soon());
}

TEST_CASE("a target that stops answering gives bounded errors, and service resumes", "[integration]") {
  SKIP_WITHOUT_TGTD();
  auto t = start_target(std::vector<std::uint64_t>(4, 40 * k_mib));
  Host a(*t, "host-a", range(1, 4));
  auto v = record("v");
  a.backend->provision(v, soon());

  auto timed = [](auto&& f) {
    auto t0 = std::chrono::steady_clock::now();
    ErrorKind kind = ErrorKind::internal;
    std::string msg;
    try {
      f();
      kind = ErrorKind::internal;
      msg = "(succeeded)";
    } catch (const Error& e) {
      kind = e.kind();
      msg = e.what();
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    return std::make_tuple(kind, ms, msg);
  };

  SECTION("frozen target: calls end at their deadline") {
    t->freeze();
    auto [k1, ms1, m1] = timed([&] { a.backend->discover(Deadline::after(2s)); });
    CHECK(k1 == ErrorKind::timeout);
    CHECK(ms1 < 3500ms);  // bounded by the 2 s deadline (margin for a loaded machine)
    auto vb = record("v2");
    auto [k2, ms2, m2] = timed([&] { a.backend->provision(vb, Deadline::after(1500ms)); });
    CHECK(k2 == ErrorKind::timeout);
    CHECK(ms2 < 3000ms);
    auto [k3, ms3, m3] = timed([&] { a.attach(v); });  // 20 s deadline, capped per step by io_timeout (3 s)
    CHECK((k3 == ErrorKind::timeout || k3 == ErrorKind::unavailable));
    CHECK(ms3 < 8000ms);
    std::cout << "frozen target: discover " << ms1.count() << " ms, create " << ms2.count() << " ms, mount "
              << ms3.count() << " ms (" << m3 << ")\n";
    t->thaw();
    // Service resumes on the same backend object.
    auto found = a.backend->discover(soon());
    REQUIRE(found);
    CHECK(found->size() == 1);
  }
  SECTION("target killed: refused quickly") {
    t->kill();
    auto [k, ms, m] = timed([&] { a.backend->discover(Deadline::after(5s)); });
    CHECK(k == ErrorKind::unavailable);
    CHECK(ms < 2000ms);
    CHECK_THAT(m, Catch::Contains("127.0.0.1"));
  }
  SECTION("frozen in the middle of a claim") {
    std::atomic<bool> done{false};
    std::thread freezer([&] {
      std::this_thread::sleep_for(15ms);
      t->freeze();
    });
    auto vb = record("mid");
    auto [k, ms, m] = timed([&] { a.backend->provision(vb, Deadline::after(2s)); });
    freezer.join();
    // Either it finished before the freeze or it ended at its deadline.
    CHECK(((k == ErrorKind::internal && m == "(succeeded)") || k == ErrorKind::timeout));
    CHECK(ms < 3500ms);
    t->thaw();
    // A claim cut short left a lock behind at most on this host's own
    // nexus, which this host takes back: the next claim works.
    auto vc = record("after");
    a.backend->provision(vc, soon());
    CHECK(label_on(*t, lun_of(vc), 40 * k_mib).label->volume == "after");
    done = true;
  }
}
