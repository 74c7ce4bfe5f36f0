#include "volume/reconcile_plan.hpp"

#include <holdfast/error.hpp>

namespace holdfast {

std::string_view to_string(ReconcileAction action) {
  switch (action) {
    case ReconcileAction::none: return "none";
    case ReconcileAction::keep_mounts: return "keep_mounts";
    case ReconcileAction::drop_mounts: return "mounts_vanished";
    case ReconcileAction::detach_leak: return "leaked_attachment";
    case ReconcileAction::clear_mountpoint: return "stale_mountpoint";
    case ReconcileAction::undetermined: return "undetermined";
    case ReconcileAction::missing_backend: return "missing_backend";
  }
  return "unknown";
}

VolumePlan plan_volume(const VolumeRecord& record, bool backend_configured, bool mounted_under_root,
                       const std::string& default_target, const AttachProbe& probe) {
  VolumePlan plan;
  plan.mountpoint = record.mountpoint;
  if (!backend_configured) {
    plan.action = ReconcileAction::missing_backend;
    return plan;
  }
  if (record.mount_count() > 0) {
    try {
      plan.action = probe(record) ? ReconcileAction::keep_mounts : ReconcileAction::drop_mounts;
    } catch (const Error& e) {
      plan.action = ReconcileAction::undetermined;
      plan.detail = e.what();
    }
    return plan;
  }
  if (record.mountpoint.empty() && !mounted_under_root) {
    return plan;
  }
  // Attached with no count: a crash between attach and the state write
  // (mountpoint not saved yet: look at <mount_root>/<name>), or a detach
  // that failed at the last Unmount (mountpoint kept).
  VolumeRecord probed = record;
  if (probed.mountpoint.empty()) {
    probed.mountpoint = default_target;
  }
  plan.mountpoint = probed.mountpoint;
  try {
    if (probe(probed)) {
      plan.action = ReconcileAction::detach_leak;
    } else if (!record.mountpoint.empty()) {
      plan.action = ReconcileAction::clear_mountpoint;
    }
  } catch (const Error& e) {
    plan.action = ReconcileAction::undetermined;
    plan.detail = e.what();
  }
  return plan;
}

std::map<std::string, std::vector<std::string>> mounts_under_root(const std::vector<MountEntry>& table,
                                                                  const std::string& mount_root) {
  std::map<std::string, std::vector<std::string>> out;
  const std::string prefix = mount_root == "/" ? "/" : mount_root + "/";
  for (const auto& entry : table) {
    const auto& point = entry.mount_point;
    if (point.size() > prefix.size() && point.compare(0, prefix.size(), prefix) == 0) {
      auto rest = point.substr(prefix.size());
      out[rest.substr(0, rest.find('/'))].push_back(point);
    }
  }
  return out;
}

}  // namespace holdfast
