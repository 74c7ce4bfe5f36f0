// Unit tests of the iSCSI backend's own logic that needs no target: the
// option allowlist and values, idempotent attach/detach paths that must not
// touch the network, and Status from memory. (Everything that talks to a
// target is in iscsi_integration_test.cpp, against tgtd.)
#include "iscsi_backend.hpp"

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

#include "fake_device_ops.hpp"
#include "support/fake_mounter.hpp"
#include "support/fake_runner.hpp"

using namespace holdfast;
using namespace holdfast::iscsi;

namespace {

struct Fixture {
  holdfast::test::FakeRunner runner;
  holdfast::test::FakeMounter mounter;
  iscsi::test::FakeDeviceOps* devices = nullptr;
  std::unique_ptr<IscsiBackend> backend;

  explicit Fixture(TakeoverMode takeover = TakeoverMode::never) {
    IscsiConfig c;
    c.takeover.mode = takeover;
    c.takeover_dir = "/state/backends/san/takeover";
    c.instance = "san";
    c.host_id = "node-a";
    // Nothing may be contacted: the cases below must not need the target.
    c.portals = {parse_portal("127.0.0.1:9")};
    c.target = "iqn.2024-01.io.holdfast:pool";
    c.initiator_name = "iqn.2024-01.io.holdfast:node-a";
    c.luns = {1, 2, 3, 10};
    c.io_timeout = std::chrono::milliseconds(500);
    auto fake = std::make_unique<iscsi::test::FakeDeviceOps>();
    devices = fake.get();
    backend = std::make_unique<IscsiBackend>(std::move(c), runner, mounter, std::move(fake));
  }
};

}  // namespace

TEST_CASE("the backend is global and accepts size, lun and fs", "[backend]") {
  Fixture f;
  CHECK(f.backend->type() == "iscsi");
  CHECK(f.backend->scope() == Scope::global);
  std::vector<std::string> names;
  for (const auto& o : f.backend->accepted_options()) {
    names.push_back(o.name);
  }
  CHECK(names == std::vector<std::string>{"size", "lun", "fs"});
}

TEST_CASE("option values are validated without touching the target", "[backend]") {
  Fixture f;
  CHECK_NOTHROW(f.backend->validate({}));
  CHECK_NOTHROW(f.backend->validate({{"size", "10G"}, {"lun", "10"}, {"fs", "xfs"}}));
  for (const Options& bad : std::vector<Options>{{{"size", "ten"}},
                                                 {{"size", "0"}},
                                                 {{"lun", "4"}},
                                                 {{"lun", "1x"}},
                                                 {{"lun", "-1"}},
                                                 {{"fs", "btrfs"}}}) {
    INFO(bad.begin()->first << "=" << bad.begin()->second);
    try {
      f.backend->validate(bad);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_argument);
    }
  }
  CHECK_THROWS_WITH(f.backend->validate({{"lun", "4"}}), Catch::Contains("1,2,3,10"));
}

TEST_CASE("attach of a volume already mounted at its target returns without the network", "[backend]") {
  Fixture f;
  VolumeRecord r;
  r.name = "v";
  r.backend_data = {{"lun", 2}};
  f.mounter.add_mount("/dev/sdb", "/mnt/v", "ext4");
  auto t0 = std::chrono::steady_clock::now();
  CHECK(f.backend->attach(r, "/mnt/v", Deadline::after(std::chrono::seconds(5))) == "/mnt/v");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(400));
  CHECK(f.runner.calls().empty());
  r.mountpoint = "/mnt/v";
  CHECK(f.backend->is_attached(r));
  auto s = f.backend->status(r);
  CHECK(s["attached_here"] == true);
  CHECK(s["holder"] == "node-a");
  CHECK(s["lun"] == 2);
}

TEST_CASE("Status names the host that created the volume, from memory", "[backend]") {
  Fixture f;
  VolumeRecord r;
  r.name = "shared";
  r.backend_data = {{"lun", 3}};
  CHECK_FALSE(f.backend->status(r).contains("created_by"));
  r.created_by = "node-b";  // as discovery sets it from the claim label
  auto s = f.backend->status(r);
  CHECK(s["created_by"] == "node-b");
  CHECK(f.runner.calls().empty());
}

TEST_CASE("detach of a volume this backend never attached does nothing", "[backend]") {
  Fixture f;
  VolumeRecord r;
  r.name = "never";
  CHECK_NOTHROW(f.backend->detach(r, "/mnt/never", Deadline::after(std::chrono::seconds(5))));
  CHECK(f.runner.calls().empty());
  CHECK_FALSE(f.backend->is_attached(r));
  auto s = f.backend->status(r);
  CHECK(s["holder"] == "");
  CHECK(s["target"] == "iqn.2024-01.io.holdfast:pool");
}

TEST_CASE("operator verb release: touches the takeover file the policy honours", "[backend]") {
  VolumeRecord r;
  r.name = "v";
  r.backend_data = {{"lun", 2}};
  Deadline d = Deadline::after(std::chrono::seconds(5));
  {
    Fixture f(TakeoverMode::operator_);
    auto result = f.backend->operator_action("release", r, nlohmann::json::object(), d);
    CHECK(result["takeover_file"] == "/state/backends/san/takeover/v");
    CHECK(result["valid_for_seconds"] == 3600);
    CHECK(result["policy"] == "operator");
    CHECK(f.devices->modified_at("/state/backends/san/takeover/v"));
    CHECK_NOTHROW(f.backend->operator_action("takeover", r, nlohmann::json::object(), d));
    CHECK_THROWS_WITH(f.backend->operator_action("resize", r, nlohmann::json::object(), d),
                      Catch::Contains("has no operator verb \"resize\""));
    CHECK(f.backend->backend_status()["takeover"] == "operator");
  }
  {
    Fixture f(TakeoverMode::never);
    try {
      f.backend->operator_action("release", r, nlohmann::json::object(), d);
      FAIL("accepted under the policy never");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::conflict);
      CHECK_THAT(e.what(), Catch::Contains("\"never\""));
    }
    CHECK_FALSE(f.devices->modified_at("/state/backends/san/takeover/v"));
  }
  {
    // Attached here (as after a restart): nothing to take over.
    Fixture f(TakeoverMode::operator_);
    r.mountpoint = "/mnt/v";
    f.mounter.add_mount("/dev/sdb", "/mnt/v", "ext4");
    REQUIRE(f.backend->is_attached(r));
    CHECK_THROWS_WITH(f.backend->operator_action("release", r, nlohmann::json::object(), d),
                      Catch::Contains("attached on this host"));
    CHECK(f.backend->backend_status()["held_here"].size() == 1);
  }
}
