// holdfast::VolumeManager: names, per-volume locks, mount counts per mount
// ID, and durable state. The protocol layer calls it; it calls backends.
//
// Thread-safety: all public methods may be called concurrently.
//  - A catalog mutex guards the name -> volume map and the published copy of
//    each record; it is only ever held for memory operations, so Get, List,
//    Path and Capabilities never wait on a backend or on disk.
//  - Each volume has an operation lock held across Create/Remove/Mount/
//    Unmount of that volume (backend call + state write). Waiting for it is
//    bounded (Deadlines::volume_lock) and ends in a "busy" error.
//  - Backend calls run with a deadline; if a backend overruns it the caller
//    gets a timeout error and the late result is compensated (a late attach
//    is detached) when it arrives.
//
// Durability: a reply only reports success after the new state is on disk
// (StateStore writes atomically). Start-up reloads state and reconciles it
// with the mount table (see start()).
//
// Decisions beyond docs/architecture.md:
//  - A failed (or overrun) detach at the last Unmount still drops the mount
//    ID, but the record keeps its mountpoint ("maybe still attached there").
//    Get/Path show a mountpoint only while the count is non-zero. The next
//    Mount re-uses the attachment (attach is idempotent), Remove detaches it
//    before deprovisioning, and start() detaches it.
//  - Late outcomes of abandoned backend calls: a late attach is detached; a
//    late detach clears the kept mountpoint; a late deprovision forgets the
//    volume; a late provision is NOT recorded (a retried Create adopts it:
//    provision is idempotent, and undoing it could delete a shared volume
//    another host created). The volume's operation lock is held until the
//    late outcome has been dealt with.
//  - If saving the record fails after provision, the volume is deprovisioned
//    again, unless provision adopted a volume created by another host.
//  - Volumes discovered on shared storage are kept in memory only (the
//    storage is the source of truth); the first Mount on this host persists
//    the record so that its counts survive a restart. refresh() drops names
//    that vanished from the storage unless they are mounted here or an
//    operation on them is running; a persisted one also loses its file.
//  - Create of a name already known on a shared backend still provisions
//    (idempotent): the catalogue may be stale after a crash (a creator died
//    before placing the data, a Remove was cut off after the storage let
//    the volume go), and Create must not acknowledge what the storage lacks.
//    Local backends answer from the catalogue (their state file is the truth).
//  - Volumes whose backend instance is not configured any more are loaded
//    and listed; every operation on them fails with `unavailable`.
//  - Backend calls run on a thread each (see backend_call.hpp); the
//    destructor waits for abandoned calls to finish.
//  - Only reconcile findings and compensations are logged here; the
//    protocol layer logs one line per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <holdfast/backend.hpp>
#include <holdfast/volume.hpp>

#include "config/config.hpp"
#include "volume/backend_metrics.hpp"
#include "volume/reconcile_plan.hpp"

namespace holdfast {

class StateStore;
class BackendSet;

// What Get/List report for a volume.
struct VolumeInfo {
  std::string name;
  std::string mountpoint;         // "" when not mounted on this host
  std::optional<std::string> created_at;  // RFC 3339, absent if unknown
  nlohmann::json status = nlohmann::json::object();
};

// What reconcile() found and did at start-up.
struct ReconcileReport {
  std::size_t volumes_loaded = 0;
  std::size_t mounts_kept = 0;        // volumes still attached whose counts were kept
  std::size_t mounts_dropped = 0;     // volumes whose counts were dropped: attachment vanished
  std::size_t leaks_detached = 0;     // volumes attached with no count: detached
  std::vector<std::string> unknown_mounts;  // under the mount root, not ours: reported only
  std::vector<std::string> unreadable_state;  // state files that could not be parsed (kept aside)
  // Volumes whose backend instance is no longer in the config: loaded and
  // listed, but every operation on them fails until the instance is back.
  std::vector<std::string> missing_backend;
  // Volumes whose Remove an earlier holdfastd began and did not finish, and
  // whose backend finishes it (Backend::remove_pending): dropped at start.
  std::vector<std::string> removes_finished;
};

// How one backend's refresh went (VolumeManager::refresh).
struct BackendRefresh {
  std::string instance;
  bool ok = false;
  bool skipped = false;  // an earlier refresh of this backend is still running
  std::string error;     // when !ok
  std::chrono::milliseconds took{0};
};

class VolumeManager {
 public:
  VolumeManager(BackendSet& backends, StateStore& store, Mounter& mounter, const Config& config);
  ~VolumeManager();
  VolumeManager(const VolumeManager&) = delete;
  VolumeManager& operator=(const VolumeManager&) = delete;

  // Loads saved state and reconciles it with the mount table (read once):
  // counts of attached volumes are kept, counts whose attachment vanished are
  // dropped, attachments with no count (under <mount_root>/<name> or a kept
  // mountpoint) are detached, and mounts under the mount root that no volume
  // owns are reported. One log line per finding. Call once before serving.
  ReconcileReport start();

  // Docker's calls. Each throws holdfast::Error whose message starts with the
  // operation and volume ("create volume \"x\": ...").
  // `options` is nullopt when Docker sent null or no Opts.
  void create(const std::string& name, const std::optional<Options>& options);
  void remove(const std::string& name);
  std::string mount(const std::string& name, const std::string& mount_id);
  void unmount(const std::string& name, const std::string& mount_id);
  std::string path(const std::string& name) const;
  VolumeInfo get(const std::string& name) const;
  std::vector<VolumeInfo> list() const;
  Scope scope() const;

  // For the operator CLI and tests: a copy of the full record.
  std::optional<VolumeRecord> record(const std::string& name) const;
  std::vector<VolumeRecord> records() const;

  // First saves again every volume whose last state write failed (an
  // Unmount on a full disk released its mount ID in memory only). Then
  // calls every backend's refresh() and merges shared backends' discover()
  // into the catalogue, each within `refresh_interval`; a backend whose
  // previous refresh overran is skipped until it ends. Never throws for a
  // backend failure (logged, and returned per backend, sorted by name).
  // Run by the maintenance thread and by the operator's doctor.
  std::vector<BackendRefresh> refresh();

  // The operator's reconcile: compares every volume's record with the mount
  // table now, as start() does (reconcile_plan.hpp), under each volume's
  // operation lock (a volume busy for more than a second is reported as
  // "busy" and skipped). With `apply`, fixes what start() would fix: resets
  // counts whose attachment vanished, detaches attachments with no count,
  // forgets stale mountpoints, and unmounts mounts under the mount root that
  // belong to no volume (nothing outside the mount root). Without, only
  // reports. Findings in volume order; volumes with nothing to do are left out.
  std::vector<ReconcileFinding> reconcile(bool apply);

  // An operator verb of the volume's backend (Backend::operator_action),
  // under the volume's operation lock, within `budget`; the record is saved
  // when the backend changed it. Throws holdfast::Error ("<verb> volume
  // \"x\": ..."); timeout when the backend overruns (the call goes on and
  // its record change is saved when it ends).
  nlohmann::json operator_action(const std::string& name, const std::string& verb, const nlohmann::json& args,
                                 std::chrono::milliseconds budget);

  // Per-backend call counters (for /metrics).
  const BackendMetrics& backend_metrics() const;

  // Backend calls still running on worker threads, including calls
  // abandoned after their deadline. The destructor waits for all of them;
  // a daemon that must exit promptly checks this first and _Exit()s
  // instead of destroying the manager while a backend hangs.
  std::size_t background_calls() const;

 private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace holdfast
