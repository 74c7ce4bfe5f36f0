// plan_volume and mounts_under_root: the reconcile decisions (unit).
#include "volume/reconcile_plan.hpp"

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

using namespace holdfast;

namespace {

VolumeRecord record(std::uint32_t mounts, std::string mountpoint) {
  VolumeRecord r;
  r.name = "v";
  r.backend = "b";
  if (mounts > 0) {
    r.mounts["A"] = mounts;
  }
  r.mountpoint = std::move(mountpoint);
  return r;
}

AttachProbe answers(bool attached, std::string* probed = nullptr) {
  return [attached, probed](const VolumeRecord& r) {
    if (probed != nullptr) {
      *probed = r.mountpoint;
    }
    return attached;
  };
}

}  // namespace

TEST_CASE("plan_volume: each state of a record against the mount table", "[unit][reconcile]") {
  const std::string target = "/m/v";
  CHECK(plan_volume(record(1, target), true, true, target, answers(true)).action == ReconcileAction::keep_mounts);
  CHECK(plan_volume(record(2, target), true, false, target, answers(false)).action == ReconcileAction::drop_mounts);
  CHECK(plan_volume(record(0, ""), true, false, target, answers(true)).action == ReconcileAction::none);
  CHECK(plan_volume(record(0, target), true, false, target, answers(false)).action ==
        ReconcileAction::clear_mountpoint);
  CHECK(plan_volume(record(0, target), true, true, target, answers(true)).action == ReconcileAction::detach_leak);
  CHECK(plan_volume(record(1, target), false, true, target, answers(true)).action ==
        ReconcileAction::missing_backend);

  // No recorded mountpoint but something under <root>/<name>: probed there.
  std::string probed;
  auto leak = plan_volume(record(0, ""), true, true, target, answers(true, &probed));
  CHECK(leak.action == ReconcileAction::detach_leak);
  CHECK(leak.mountpoint == target);
  CHECK(probed == target);
  CHECK(plan_volume(record(0, ""), true, true, target, answers(false)).action == ReconcileAction::none);

  auto failing = [](const VolumeRecord&) -> bool { throw unavailable("cannot read the table"); };
  auto unknown = plan_volume(record(1, target), true, true, target, failing);
  CHECK(unknown.action == ReconcileAction::undetermined);
  CHECK(unknown.detail == "cannot read the table");
  CHECK(to_string(ReconcileAction::drop_mounts) == "mounts_vanished");
}

TEST_CASE("mounts_under_root: strictly below the root, grouped by entry", "[unit][reconcile]") {
  std::vector<MountEntry> table(5);
  table[0].mount_point = "/m";
  table[1].mount_point = "/m/a";
  table[2].mount_point = "/m/a/inner";
  table[3].mount_point = "/mx/b";
  table[4].mount_point = "/m/c";
  auto under = mounts_under_root(table, "/m");
  REQUIRE(under.size() == 2);
  CHECK(under["a"] == std::vector<std::string>{"/m/a", "/m/a/inner"});
  CHECK(under["c"] == std::vector<std::string>{"/m/c"});
}
