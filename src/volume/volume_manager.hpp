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
// with the mount table (see reconcile()).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <holdfast/backend.hpp>
#include <holdfast/volume.hpp>

#include "config/config.hpp"

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
  std::size_t mounts_kept = 0;        // attached volumes whose counts were kept
  std::size_t mounts_dropped = 0;     // counts dropped because the attachment vanished
  std::size_t leaks_detached = 0;     // attached with no count: detached
  std::vector<std::string> unknown_mounts;  // under the mount root, not ours: reported only
  std::vector<std::string> unreadable_state;  // state files that could not be parsed (kept aside)
};

class VolumeManager {
 public:
  VolumeManager(BackendSet& backends, StateStore& store, Mounter& mounter, const Config& config);
  ~VolumeManager();
  VolumeManager(const VolumeManager&) = delete;
  VolumeManager& operator=(const VolumeManager&) = delete;

  // Loads saved state and reconciles it with the mount table. Call once
  // before serving.
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

  // Refreshes shared backends' catalogues (discover) and caches; run by the
  // maintenance thread.
  void refresh();

 private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace holdfast
