// Unit tests of the kernel side of an iSCSI attach: the exact iscsiadm argv
// on every path, sysfs writes, device waits, multipath, key registration and
// the logout decision, against a FakeRunner and a simulated sysfs.
#include "kernel_initiator.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include <holdfast/error.hpp>

#include "fake_device_ops.hpp"
#include "fake_kernel.hpp"
#include "support/fake_runner.hpp"

using namespace holdfast;
using namespace holdfast::iscsi;
using holdfast::test::FakeRunner;

namespace {

const std::string k_target = "iqn.2024-01.io.holdfast:pool";

const char* k_sample_p3 = R"(iSCSI Transport Class version 2.0-870
version 2.1.8
Target: iqn.2024-01.io.holdfast:pool (non-flash)
	Current Portal: 10.0.0.1:3260,1
	Persistent Portal: 10.0.0.1:3260,1
		**********
		Interface:
		**********
		Iface Name: holdfast
		Iface Transport: tcp
		Iface Initiatorname: iqn.2024-01.io.holdfast:host-a
		SID: 4
		iSCSI Connection State: LOGGED IN
		************************
		Attached SCSI devices:
		************************
		Host Number: 7	State: running
		scsi7 Channel 00 Id 0 Lun: 0
		scsi7 Channel 00 Id 0 Lun: 3
			Attached scsi disk sdc		State: running
		scsi7 Channel 00 Id 0 Lun: 5
			Attached scsi disk sdd		State: running
	Current Portal: 10.0.0.2:3260,1
	Persistent Portal: 10.0.0.2:3260,1
		Iface Name: default
		SID: 5
		Host Number: 8	State: running
Target: iqn.2024-01.other:t (non-flash)
	Current Portal: 10.0.0.9:3260,1
	Persistent Portal: 10.0.0.9:3260,1
		Iface Name: holdfast
		SID: 6
		Host Number: 9	State: running
)";

struct SimKernel {
  IscsiConfig config;
  FakeRunner runner;
  iscsi::test::FakeDeviceOps devices;
  iscsi::test::FakeKernel kernel{runner, devices};

  SimKernel() {
    config.instance = "san";
    config.initiator_name = "iqn.2024-01.io.holdfast:host-a";
    config.portals = {parse_portal("10.0.0.1"), parse_portal("10.0.0.2")};
    config.chap.username = "hf";
    config.chap.secret = "kernel-chap-secret-1";
    register_secret(config.chap.secret);
  }

  std::vector<std::string> joined() {
    std::vector<std::string> out;
    for (const auto& a : runner.argvs()) {
      out.push_back(FakeRunner::join(a));
    }
    return out;
  }
};

}  // namespace

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::size_t index_of(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<std::size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

}  // namespace

// Two sessions to one portal through two ifaces (two holdfastd on one host),
// as open-iscsi 2.1.8 prints them: the second one has no portal lines.
const char* k_same_portal_p3 = R"(iSCSI Transport Class version 2.0-870
version 2.1.8
Target: iqn.2024-01.io.holdfast:e2e (non-flash)
	Current Portal: 127.0.0.1:3260,1
	Persistent Portal: 127.0.0.1:3260,1
		**********
		Interface:
		**********
		Iface Name: holdfast
		Iface Transport: tcp
		SID: 1
		iSCSI Connection State: LOGGED IN
		************************
		Attached SCSI devices:
		************************
		Host Number: 2	State: running
		scsi2 Channel 00 Id 0 Lun: 1
			Attached scsi disk sda		State: running

		**********
		Interface:
		**********
		Iface Name: holdfast-b
		Iface Transport: tcp
		SID: 2
		iSCSI Connection State: LOGGED IN
		************************
		Attached SCSI devices:
		************************
		Host Number: 3	State: running
	Current Portal: 127.0.0.1:3261,1
	Persistent Portal: 127.0.0.1:3261,1
		**********
		Interface:
		**********
		Iface Name: holdfast
		SID: 3
		Host Number: 4	State: running
		scsi4 Channel 00 Id 0 Lun: 8
			Attached scsi disk sdb		State: running
)";

TEST_CASE("a second session on the same portal is its own session", "[kernel]") {
  auto s = parse_sessions(k_same_portal_p3);
  REQUIRE(s.size() == 3);
  CHECK(s[0].iface == "holdfast");
  CHECK(s[0].sid == 1);
  CHECK(s[0].host == 2);
  CHECK(s[0].disks == std::map<int, std::string>{{1, "sda"}});
  CHECK(s[1].target == "iqn.2024-01.io.holdfast:e2e");
  CHECK(s[1].portal == "127.0.0.1:3260");
  CHECK(s[1].iface == "holdfast-b");
  CHECK(s[1].sid == 2);
  CHECK(s[1].host == 3);
  CHECK(s[1].disks.empty());
  CHECK(s[2].portal == "127.0.0.1:3261");
  CHECK(s[2].iface == "holdfast");
  CHECK(s[2].disks == std::map<int, std::string>{{8, "sdb"}});
}

TEST_CASE("iscsiadm -P 3 output is parsed into sessions, LUNs and disks", "[kernel]") {
  auto s = parse_sessions(k_sample_p3);
  REQUIRE(s.size() == 3);
  CHECK(s[0].target == "iqn.2024-01.io.holdfast:pool");
  CHECK(s[0].portal == "10.0.0.1:3260");
  CHECK(s[0].iface == "holdfast");
  CHECK(s[0].sid == 4);
  CHECK(s[0].host == 7);
  CHECK(s[0].disks == std::map<int, std::string>{{3, "sdc"}, {5, "sdd"}});
  CHECK(s[1].iface == "default");
  CHECK(s[1].disks.empty());
  CHECK(s[2].target == "iqn.2024-01.other:t");
  CHECK(parse_sessions("").empty());
  CHECK(parse_sessions("garbage\n\tSID: x\n").empty());
}

TEST_CASE("a disk that is not a kernel name is ignored (never made a path)", "[kernel]") {
  // detach() writes /sys/block/<disk>/device/delete: "../class/..." would
  // delete another SCSI device (found by fuzz_iscsi_sessions).
  auto s = parse_sessions(
      "Target: iqn.2024-01.io.holdfast:e2e (non-flash)\n"
      "\tCurrent Portal: 127.0.0.1:3260,1\n\tPersistent Portal: 127.0.0.1:3260,1\n"
      "\t\tIface Name: holdfast\n\t\tHost Number: 2\tState: running\n"
      "\t\tscsi2 Channel 00 Id 0 Lun: 1\n\t\t\tAttached scsi disk ../class/scsi_device/0:0:0:0\t\tState: running\n"
      "\t\tscsi2 Channel 00 Id 0 Lun: 2\n\t\t\tAttached scsi disk \tsdb\t\tState: running\n"
      "\t\tscsi2 Channel 00 Id 0 Lun: 3\n\t\t\tAttached scsi disk sdc\t\tState: running\n");
  REQUIRE(s.size() == 1);
  CHECK(s[0].disks == std::map<int, std::string>{{3, "sdc"}});
}

TEST_CASE("single-path attach: iface, node record, CHAP, login, scan one LUN, register the key", "[kernel]") {
  SimKernel k;
  k.config.multipath = MultipathMode::off;
  k.runner.on({"iscsiadm", "-m", "iface", "-I", "holdfast"}, 21);  // no iface record yet
  k.runner.on({"iscsiadm", "-m", "iface", "-I", "holdfast", "-o"}, 0);
  KernelInitiator ki(k.config, k.runner, k.devices);
  auto a = ki.attach(k_target, 3, 0xABCDEF, Deadline::after(std::chrono::seconds(5)));
  CHECK(a.paths == std::vector<std::string>{"sdb"});
  CHECK(a.device == "/dev/sdb");
  CHECK(a.multipath.empty());

  auto calls = k.joined();
  const std::string node = "iscsiadm -m node -T " + k_target + " -p 10.0.0.1:3260 -I holdfast";
  std::vector<std::string> expected = {
      "iscsiadm -m iface -I holdfast",
      "iscsiadm -m iface -I holdfast -o new",
      "iscsiadm -m iface -I holdfast -o update -n iface.transport_name -v tcp",
      "iscsiadm -m iface -I holdfast -o update -n iface.initiatorname -v iqn.2024-01.io.holdfast:host-a",
      "iscsiadm -m session -P 3",
      node + " -o new",
      node + " -o update -n node.startup -v manual",
      node + " -o update -n node.session.scan -v manual",
      node + " -o update -n node.session.auth.authmethod -v CHAP",
      node + " -o update -n node.session.auth.username -v hf",
      node + " -o update -n node.session.auth.password -v kernel-chap-secret-1",
      node + " --login",
      "iscsiadm -m session -P 3",
  };
  CHECK(calls == expected);  // the second portal is only a fail-over without multipath
  auto writes = k.devices.writes();
  REQUIRE(writes.size() == 1);
  CHECK(writes[0] == std::make_pair(std::string("/sys/class/scsi_host/host10/scan"), std::string("0 0 3")));
  CHECK(k.devices.keys() == std::vector<std::pair<std::string, std::uint64_t>>{{"/dev/sdb", 0xABCDEF}});

  SECTION("a second attach on the live session skips the node setup and the iface") {
    k.runner.clear_calls();
    auto b = ki.attach(k_target, 4, 0xABCDEF, Deadline::after(std::chrono::seconds(5)));
    CHECK(b.device == "/dev/sdc");
    CHECK(k.joined() == std::vector<std::string>{"iscsiadm -m session -P 3", "iscsiadm -m session -P 3"});
  }
  SECTION("detach deletes the device and logs out once no disk is left") {
    auto b = ki.attach(k_target, 4, 0xABCDEF, Deadline::after(std::chrono::seconds(5)));
    k.runner.clear_calls();
    ki.detach(k_target, 3, Deadline::after(std::chrono::seconds(5)));
    auto c1 = k.joined();
    CHECK(contains(c1, "blockdev --flushbufs /dev/sdb"));
    CHECK_FALSE(contains(c1, node + " --logout"));  // LUN 4 still uses the session
    CHECK(k.devices.keys().size() == 2);  // registered at attach; detach leaves that to the control plane
    CHECK(k.devices.writes().back().first == "/sys/block/sdb/device/delete");
    k.runner.clear_calls();
    ki.detach(k_target, 4, Deadline::after(std::chrono::seconds(5)));
    auto c2 = k.joined();
    CHECK(index_of(c2, "blockdev --flushbufs /dev/sdc") < index_of(c2, node + " --logout"));
    CHECK(index_of(c2, node + " --logout") < index_of(c2, node + " -o delete"));
    CHECK(k.kernel.logged_in_portals().empty());
    // Idempotent: nothing attached any more.
    k.runner.clear_calls();
    CHECK_NOTHROW(ki.detach(k_target, 4, Deadline::after(std::chrono::seconds(5))));
    CHECK(k.joined() == std::vector<std::string>{"iscsiadm -m session -P 3", "iscsiadm -m session -P 3"});
  }
}

TEST_CASE("multipath attach logs in on every portal and waits for the map", "[kernel]") {
  SimKernel k;
  k.config.multipath = MultipathMode::on;
  k.kernel.set_multipathd(true);
  KernelInitiator ki(k.config, k.runner, k.devices);
  auto a = ki.attach(k_target, 2, 0x55, Deadline::after(std::chrono::seconds(5)));
  CHECK(a.paths.size() == 2);
  CHECK(a.multipath == "dm-0");
  CHECK(a.device == "/dev/mapper/mpatha");
  auto calls = k.joined();
  CHECK(contains(calls, "iscsiadm -m node -T " + k_target + " -p 10.0.0.2:3260 -I holdfast --login"));
  CHECK(contains(
      calls, "iscsiadm -m node -T " + k_target +
                 " -p 10.0.0.1:3260 -I holdfast -o update -n node.session.timeo.replacement_timeout -v 15"));
  CHECK(k.devices.keys().size() == 2);  // each path is its own I_T nexus

  k.runner.clear_calls();
  ki.detach(k_target, 2, Deadline::after(std::chrono::seconds(5)));
  auto d = k.joined();
  CHECK(index_of(d, "multipath -f mpatha") < index_of(d, "blockdev --flushbufs /dev/sdb"));
}

TEST_CASE("multipath without multipathd times out with a hint", "[kernel]") {
  SimKernel k;
  k.config.multipath = MultipathMode::on;
  KernelInitiator ki(k.config, k.runner, k.devices);
  try {
    ki.attach(k_target, 2, 0x55, Deadline::after(std::chrono::milliseconds(400)));
    FAIL("attached without a map");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::timeout);
    CHECK_THAT(e.what(), Catch::Contains("multipathd"));
  }
}

TEST_CASE("a LUN that never appears times out within the deadline", "[kernel]") {
  SimKernel k;
  k.config.multipath = MultipathMode::off;
  k.kernel.set_lun_appears(false);
  KernelInitiator ki(k.config, k.runner, k.devices);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_MATCHES(
      ki.attach(k_target, 9, 1, Deadline::after(std::chrono::milliseconds(2500))), Error,
      Catch::Predicate<Error>([](const Error& e) { return e.kind() == ErrorKind::timeout; }));
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::milliseconds(4000));  // 2.5 s deadline, margin for a loaded machine
  // The scan is repeated while waiting (the first one can race the session).
  CHECK(k.devices.writes().size() >= 2);
}

TEST_CASE("login failures are classified and never show the CHAP secret", "[kernel]") {
  SimKernel k;
  k.config.multipath = MultipathMode::off;
  k.kernel.fail_login_on({"10.0.0.1:3260", "10.0.0.2:3260"});
  KernelInitiator ki(k.config, k.runner, k.devices);
  try {
    ki.attach(k_target, 1, 1, Deadline::after(std::chrono::seconds(5)));
    FAIL("logged in");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::permission);
    CHECK_THAT(e.what(), Catch::Contains("CHAP refused"));
    CHECK_THAT(e.what(), !Catch::Contains("kernel-chap-secret-1"));
  }
  SECTION("the second portal is a fail-over for the first") {
    k.kernel.fail_login_on({"10.0.0.1:3260"});
    auto a = ki.attach(k_target, 1, 1, Deadline::after(std::chrono::seconds(5)));
    CHECK(a.device == "/dev/sdb");
    CHECK(k.kernel.logged_in_portals() == std::vector<std::string>{"10.0.0.2:3260"});
  }
}

TEST_CASE("iscsid down and a killed iscsiadm are reported", "[kernel]") {
  SimKernel k;
  k.config.multipath = MultipathMode::off;
  KernelInitiator ki(k.config, k.runner, k.devices);
  SECTION("iscsid not running") {
    k.runner.on({"iscsiadm", "-m", "node"}, 20, "", "iscsiadm: can not connect to iSCSI daemon (111)!");
    try {
      ki.attach(k_target, 1, 1, Deadline::after(std::chrono::seconds(5)));
      FAIL("attached");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Catch::Contains("iSCSI daemon"));
    }
  }
  SECTION("session listing killed at the deadline") {
    k.runner.on_call([](const std::vector<std::string>&, const std::string&, Deadline) {
      CommandResult r;
      r.timed_out = true;
      return std::optional<CommandResult>(r);
    });
    CHECK_THROWS_MATCHES(
        ki.detach(k_target, 1, Deadline::after(std::chrono::seconds(1))), Error,
        Catch::Predicate<Error>([](const Error& e) { return e.kind() == ErrorKind::timeout; }));
  }
}

TEST_CASE("iscsiadm's own error text is redacted of the CHAP secret", "[kernel]") {
  IscsiConfig config;
  config.instance = "san";
  config.initiator_name = "iqn.2024-01.io.holdfast:host-a";
  config.portals = {parse_portal("10.0.0.1")};
  config.chap.username = "hf";
  config.chap.secret = "leaky-secret-42";
  register_secret(config.chap.secret);
  FakeRunner runner;
  iscsi::test::FakeDeviceOps devices;
  runner.on({"iscsiadm", "-m", "session"}, 21);
  runner.on({"iscsiadm", "-m", "node"}, 0);
  auto login = KernelInitiator(config, runner, devices).node_argv(k_target, config.portals[0]);
  login.push_back("--login");
  runner.on(login, 24, "", "iscsiadm: login rejected: node.session.auth.password = leaky-secret-42\n");
  KernelInitiator ki(config, runner, devices);
  try {
    ki.attach(k_target, 1, 1, Deadline::after(std::chrono::seconds(2)));
    FAIL("attached");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::permission);
    CHECK_THAT(e.what(), Catch::Contains("***"));
    CHECK_THAT(e.what(), !Catch::Contains("leaky-secret-42"));
  }
  // The secret did go to iscsiadm (it has no other way to take it).
  bool passed = false;
  for (const auto& argv : runner.argvs()) {
    passed = passed || std::find(argv.begin(), argv.end(), "leaky-secret-42") != argv.end();
  }
  CHECK(passed);
}
