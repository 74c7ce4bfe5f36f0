// The iSCSI backend: each volume is one LUN of a configured pool on an iSCSI
// target, carrying a filesystem and holdfast's claim label.
//
//   provision    claims a free LUN (or the one named with -o lun=N) through
//                libiscsi and writes the label            (control_plane)
//   deprovision  retains or wipes the LUN per `remove:`    (control_plane)
//   attach       fences with a SCSI-3 reservation, logs the kernel in,
//                formats only a LUN with our claim and no filesystem, mounts
//                                          (control_plane, kernel_initiator)
//   detach       unmounts, tears the kernel side down, releases the
//                reservation
//   discover     reads the pool's labels: the volumes every host created
//   refresh      heartbeats the LUNs this host holds
//
// Scope global: the LUNs are the catalogue. Thread-safety: calls on
// different volumes may run concurrently; the cache and the set of held
// LUNs have their own mutex, the control plane and the kernel initiator
// serialise what must be serialised.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <holdfast/backend.hpp>

#include "control_plane.hpp"
#include "device_ops.hpp"
#include "fencing.hpp"
#include "iscsi_config.hpp"
#include "kernel_initiator.hpp"

namespace holdfast::iscsi {

std::unique_ptr<Backend> make_backend(ConfigReader& config, BackendEnv& env);

class IscsiBackend : public Backend {
 public:
  IscsiBackend(IscsiConfig config, CommandRunner& runner, Mounter& mounter,
               std::unique_ptr<DeviceOps> devices);

  std::string_view type() const override { return "iscsi"; }
  Scope scope() const override { return Scope::global; }
  std::vector<OptionSpec> accepted_options() const override;
  void validate(const Options& options) const override;
  void provision(VolumeRecord& record, Deadline deadline) override;
  void deprovision(const VolumeRecord& record, Deadline deadline) override;
  std::string attach(VolumeRecord& record, const std::string& target, Deadline deadline) override;
  void detach(VolumeRecord& record, const std::string& mountpoint, Deadline deadline) override;
  bool is_attached(const VolumeRecord& record) override;
  nlohmann::json status(const VolumeRecord& record) const override;
  std::optional<std::vector<VolumeRecord>> discover(Deadline deadline) override;
  void refresh(Deadline deadline) override;
  // Target, takeover policy, volumes held here, releases still pending.
  nlohmann::json backend_status() const override;
  // "release" (alias "takeover"): the operator's go-ahead to take the LUN
  // over from a holder known to be down. Touches the takeover file that
  // the `operator` and `grace` policies honour (valid for one hour); the
  // next Mount on this host preempts the holder and deletes the file.
  // Refused under the policy `never` and for a volume attached here.
  nlohmann::json operator_action(std::string_view verb, VolumeRecord& record, const nlohmann::json& args,
                                 Deadline deadline) override;

  const IscsiConfig& config() const { return m_config; }
  std::uint64_t key() const { return m_control.key(); }

 private:
  struct Facts {
    int lun = -1;
    std::uint64_t capacity = 0;
    std::string fs;
    std::string holder;  // host name, "" when not attached anywhere
    std::string holder_since;
    std::string device;  // on this host, when attached here
  };

  // The LUN that carries `record` (backend_data first, verified; else a scan).
  std::optional<int> find_lun(const VolumeRecord& record, Deadline deadline);
  TakeoverDecision decide(const std::string& volume, int lun, const HolderView& holder);
  void remember(const std::string& volume, const Facts& facts);
  void cleanup_after_failed_attach(const std::string& target_iqn, int lun,
                                   const std::string& volume) noexcept;

  IscsiConfig m_config;
  CommandRunner& m_runner;
  Mounter& m_mounter;
  std::unique_ptr<DeviceOps> m_devices;
  ControlPlane m_control;
  KernelInitiator m_kernel;
  HeartbeatTracker m_tracker;

  mutable std::mutex m_mutex;
  std::map<std::string, Facts> m_facts;          // guarded by m_mutex
  std::map<std::string, int> m_held;             // volumes attached here -> LUN; guarded by m_mutex
  std::map<std::string, int> m_pending_release;  // detached, reservation not yet released; guarded by m_mutex
};

}  // namespace holdfast::iscsi
