// holdfast::iscsi::KernelInitiator: the host side of an iSCSI attach, done by
// the kernel's initiator (open-iscsi) so that a LUN becomes a block device
// the kernel can mount.
//
// Attach: an iscsiadm interface record pins the initiator name; a node
// record per portal (startup manual, session.scan manual so a login does
// not attach every LUN of the target, CHAP); login (already logged in is
// fine); then only this LUN is scanned in through sysfs
// (/sys/class/scsi_host/hostH/scan), its sdX waited for, a multipath map
// waited for when there are several paths, and every path's I_T nexus
// registered with this host's reservation key (SG_IO through DeviceOps), so
// the kernel can write under the reservation the control plane holds.
// Detach: flush, flush the multipath map, delete each SCSI device
// (/sys/block/sdX/device/delete), and log out of (and delete the node record
// of) every session that has no disk left. The paths' registrations are
// dropped afterwards by the control plane (ControlPlane::release).
//
// Every command is an argv through the CommandRunner with the caller's
// Deadline; secrets appear only in `iscsiadm -o update` argv (iscsiadm has
// no other way to take them) and are redacted from every message.
//
// Thread-safe: every attach and detach in the process (all instances: two
// instances may share a target's sessions) serialise on one timed mutex,
// taken within the deadline, because a logout decided by one detach must not
// pull a session from under a concurrent attach.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <holdfast/deadline.hpp>
#include <holdfast/host.hpp>

#include "device_ops.hpp"
#include "iscsi_config.hpp"

namespace holdfast::iscsi {

// One session from `iscsiadm -m session -P 3`.
struct KernelSession {
  std::string target;
  std::string portal;  // persistent portal, "addr:port" (the ",tpgt" removed)
  std::string iface;
  int sid = -1;
  int host = -1;
  std::map<int, std::string> disks;  // LUN -> block device name ("sdb")
};

// Parses `iscsiadm -m session -P 3` output. Never throws; unknown lines are
// ignored, and so is a disk that is not a plain kernel name (letters,
// digits, '-', '_'; it becomes a path under /dev and /sys/block).
std::vector<KernelSession> parse_sessions(const std::string& text);

struct AttachedLun {
  std::vector<std::string> paths;  // block devices, one per session ("sdb")
  std::string multipath;           // "dm-3" when a multipath map is used
  std::string device;              // what to probe, format and mount
};

class KernelInitiator {
 public:
  KernelInitiator(const IscsiConfig& config, CommandRunner& runner, DeviceOps& devices);

  // Logs in (as needed), brings up `lun` and returns its device; registers
  // `key` on every path. Throws holdfast::Error; on failure the sessions
  // stay (a later detach or attach cleans up).
  AttachedLun attach(const std::string& target, int lun, std::uint64_t key, Deadline deadline);

  // Tears `lun` down (see above). Idempotent: nothing attached is success.
  void detach(const std::string& target, int lun, Deadline deadline);

  // What is attached for `lun` now (empty paths when nothing).
  AttachedLun find(const std::string& target, int lun, Deadline deadline);

  std::vector<KernelSession> sessions(Deadline deadline);

  // The argv prefix for a node: iscsiadm -m node -T <target> -p <portal> -I <iface>.
  std::vector<std::string> node_argv(const std::string& target, const Portal& portal) const;

 private:
  void ensure_iface(Deadline deadline);
  void setup_node(const std::string& target, const Portal& portal, Deadline deadline);
  void update_node(const std::string& target, const Portal& portal, const std::string& name,
                   const std::string& value, Deadline deadline);
  void login(const std::string& target, const Portal& portal, Deadline deadline);
  std::vector<KernelSession> our_sessions(const std::string& target, Deadline deadline);
  std::string disk_of(int host, int lun);
  std::string holder_of(const std::string& disk);

  const IscsiConfig& m_config;
  CommandRunner& m_runner;
  DeviceOps& m_devices;
  bool m_iface_ready = false;  // guarded by session_mutex()
};

}  // namespace holdfast::iscsi
