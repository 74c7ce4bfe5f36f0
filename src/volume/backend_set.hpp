// holdfast::BackendSet: the configured backend instances, built once at
// start-up from the config through the registry, looked up by instance name.
// Immutable after construction, so lookups need no lock.
//
// Backends built from the config receive a SnapshotMounter wrapping the real
// Mounter, so that the volume manager can let them answer is_attached() from
// one reading of the mount table during start-up (see snapshot_mounter.hpp).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <holdfast/backend.hpp>

#include "config/config.hpp"

namespace holdfast {

class SnapshotMounter;

// config.host_id, or the hostname when it is empty. Throws internal_error
// if gethostname fails.
std::string effective_host_id(const Config& config);

class BackendSet {
 public:
  // Builds every backend in `config.backends` with its registry factory:
  // ConfigReader(section, config.file, "backends.<name>"), `type` read first
  // so finish() accepts it. Throws invalid_argument for an unknown type, a
  // bad section (with the config file and line), or a default_backend that
  // is not configured. `runner` and `mounter` must outlive the set.
  BackendSet(const Config& config, CommandRunner& runner, Mounter& mounter);
  // For tests: adopt ready-made backends. Throws invalid_argument unless
  // `default_name` is one of them.
  BackendSet(std::map<std::string, std::unique_ptr<Backend>> backends, std::string default_name);
  ~BackendSet();
  BackendSet(const BackendSet&) = delete;
  BackendSet& operator=(const BackendSet&) = delete;

  // nullptr if there is no such instance.
  Backend* find(const std::string& instance) const;
  const std::string& default_name() const { return m_default; }
  // Instance names, sorted.
  std::vector<std::string> names() const;
  // global iff every configured backend is global.
  Scope scope() const;
  // True if some configured backend is global (discover() applies).
  bool any_global() const;

  // While active, backends' Mounter::mounts()/is_mounted() answer from
  // `table` (start-up reconcile). No effect on sets built for tests.
  void begin_mount_snapshot(std::vector<MountEntry> table);
  void end_mount_snapshot();

 private:
  std::unique_ptr<SnapshotMounter> m_mounter;  // before m_backends: they hold a reference to it
  std::map<std::string, std::unique_ptr<Backend>> m_backends;
  std::string m_default;
};

}  // namespace holdfast
