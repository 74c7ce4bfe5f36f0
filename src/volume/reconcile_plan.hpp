// holdfast::plan_volume and friends: how a volume's saved record compares
// with the kernel's mount table, and what reconciling it means. Pure
// decisions, shared by the start-up reconcile (VolumeManager::start) and the
// operator's `holdfast reconcile` (VolumeManager::reconcile), which apply
// them differently (start-up before serving, the operator's under each
// volume's operation lock).
//
// Thread-safe (no state).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <holdfast/host.hpp>
#include <holdfast/volume.hpp>

namespace holdfast {

enum class ReconcileAction {
  none,              // nothing recorded, nothing attached
  keep_mounts,       // counted and attached: as it should be
  drop_mounts,       // counted, but the attachment vanished: reset the counts
  detach_leak,       // attached with no count: detach it
  clear_mountpoint,  // no count, recorded mountpoint no longer attached: forget it
  undetermined,      // the backend could not tell whether it is attached: left as it is
  missing_backend,   // its backend instance is not configured: left as it is
};

std::string_view to_string(ReconcileAction action);

struct VolumePlan {
  ReconcileAction action = ReconcileAction::none;
  std::string mountpoint;  // where the attachment is (or was recorded)
  std::string detail;      // why undetermined (the backend's error)
};

// Whether `record` is attached at record.mountpoint; may throw holdfast::Error
// (then the plan is `undetermined`).
using AttachProbe = std::function<bool(const VolumeRecord&)>;

// Decides for one volume. `mounted_under_root`: something is mounted at or
// below <mount_root>/<name>; `default_target` is <mount_root>/<name>, probed
// for a volume with no count and no recorded mountpoint (a crash between
// attach and the state write). The probe is not called when it cannot matter.
VolumePlan plan_volume(const VolumeRecord& record, bool backend_configured, bool mounted_under_root,
                       const std::string& default_target, const AttachProbe& probe);

// Mount points strictly below `mount_root`, grouped by the entry directly
// below it (the volume name they belong to).
std::map<std::string, std::vector<std::string>> mounts_under_root(const std::vector<MountEntry>& table,
                                                                  const std::string& mount_root);

// One difference between state and the mount table, as the operator's
// reconcile reports it.
struct ReconcileFinding {
  std::string kind;        // to_string(ReconcileAction), "unknown_mount" or "busy"
  std::string volume;      // the volume (for unknown_mount: the entry under the mount root)
  std::string mountpoint;  // the mount point concerned, if any
  std::string problem;     // what is wrong, one sentence
  std::string fix;         // what --apply does ("" when it does nothing)
  std::string outcome;     // "planned" (dry run), "done", "failed: <error>", "report only"
};

}  // namespace holdfast
