// holdfast::run_doctor: the checks behind `holdfast doctor` (GET /v1/doctor).
// Each is bounded in time, so doctor never hangs on a dead server:
//
//   config           the config file still loads and builds its backends, and
//                    has not changed since the daemon started (else: restart)
//   start-up         state files the start-up reconcile could not read
//   backend <name>   the backend's refresh (reachability: NFS export,
//                    iSCSI target, `lvs`) within the refresh budget, and its
//                    backend_status() (thin pool fill, pending releases)
//   mounts           the reconcile dry run: counts whose attachment vanished,
//                    attachments with no count, mounts under the mount root
//                    that no volume owns
//   iscsi sessions   with an iSCSI backend: `iscsiadm -m session` (10 s),
//                    sessions to a configured target with no holdfast volume
//                    attached here
//   sockets          the plugin socket answers; sockets nobody listens on
//                    left in the plugin and admin socket folders
//   audit log        open and rotated at its cap, or why not (could not be
//                    opened; writes or rotation failing now)
//   metrics          the TCP listener, when configured
//
// Thread-safe as its inputs are (the manager is).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <holdfast/host.hpp>

#include "admin/audit_log.hpp"
#include "admin/doctor_checks.hpp"
#include "config/config.hpp"
#include "volume/backend_set.hpp"
#include "volume/volume_manager.hpp"

namespace holdfast {

struct DoctorContext {
  const Config& config;
  VolumeManager& manager;
  const BackendSet& backends;
  CommandRunner& runner;
  const AuditLog& audit;
  std::chrono::system_clock::time_point started;
  const ReconcileReport* start_report = nullptr;  // null until start-up is done
  std::string metrics_listener_error;             // "" when fine or not configured
};

std::vector<Check> run_doctor(const DoctorContext& context);

}  // namespace holdfast
