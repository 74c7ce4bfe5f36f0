// The NFS backend: one subdirectory per volume on an NFS export,
// provisioned through libnfs (the export is never mounted just to manage
// it), mounted on this host by the kernel through mount.nfs, shared by
// every host pointed at the same export (Scope::global).
//
// On the export, under base_path:
//   <name>/                        the volume's data (uid/gid/mode as asked)
//   .holdfast/volumes/<name>.json  the volume's record (nfs_metadata.hpp):
//                                  options, creation time, creating host
//   .holdfast/tmp/                 records and directories being prepared
//   .holdfast/trash/               archived volumes (<name>@<time>) and
//                                  deleted trees still being purged (.delete-*)
//
// Create: claim = hard link of a complete record (race-safe across hosts:
// exactly one link succeeds; losers compare options: equal -> adopt, else
// conflict), then the directory, prepared in .holdfast/tmp with its
// ownership and mode and renamed into place. Mount: a bounded libnfs probe
// (server answers, directory exists), then mount.nfs with an argv, a
// deadline and options from the allowlist. Unmount: umount, lazy detach when
// the server is gone. Remove: per on_remove (delete | archive | retain).
// See docs/backends/nfs.md.
//
// Thread-safety: all methods may be called concurrently for different
// volumes (the volume manager serialises calls per volume). Every network
// operation opens its own NfsContext. A mutex guards the capacity cache
// (written by refresh(), read by status()) and the parsed-record cache of
// discover().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <holdfast/backend.hpp>

#include "nfs_config.hpp"
#include "nfs_context.hpp"
#include "nfs_metadata.hpp"

namespace holdfast::nfs {

class NfsBackend final : public Backend {
 public:
  // Checks, before a kernel mount, that the server answers and that the
  // volume's directory exists; throws holdfast::Error. The default uses
  // libnfs; unit tests replace it.
  using Probe = std::function<void(const std::string& volume_path, Deadline deadline)>;

  NfsBackend(NfsConfig config, const BackendEnv& env);

  std::string_view type() const override { return "nfs"; }
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

  const NfsConfig& config() const { return m_config; }
  // "server:/export/base/name", what mount.nfs mounts.
  std::string mount_source(const std::string& name) const;
  // The option string for mount.nfs -o.
  std::string mount_options(const Options& options) const;
  // Test seam: replaces the libnfs probe run before each mount.
  void set_probe(Probe probe) { m_probe = std::move(probe); }

 private:
  struct Ownership {
    std::optional<std::uint32_t> uid;
    std::optional<std::uint32_t> gid;
    unsigned mode = 0755;
  };
  struct Capacity {
    std::optional<NfsFsStat> stat;
    SystemTime checked_at{};
    std::string error;  // last refresh failure, "" when the last one worked
    SystemTime error_at{};
  };
  struct CachedRecord {
    NfsStat stat;                          // of the record file when read
    std::optional<VolumeMetadata> parsed;  // nullopt: unreadable (logged once)
  };

  NfsTarget target() const;
  Ownership ownership(const Options& options) const;
  void ensure_layout(NfsContext& nfs, Deadline deadline);
  std::optional<VolumeMetadata> read_record(NfsContext& nfs, const std::string& name, Deadline deadline) const;
  void adopt(VolumeRecord& record, const VolumeMetadata& existing) const;
  void ensure_volume_dir(NfsContext& nfs, const std::string& name, const Options& options, Deadline deadline,
                         std::chrono::milliseconds wait_for_creator);
  std::chrono::milliseconds creator_grace(const VolumeMetadata& existing) const;
  bool purge_tree(NfsContext& nfs, const std::string& root, Deadline budget, Deadline deadline) const;
  void purge_trash(NfsContext& nfs, Deadline deadline) const;
  // Removes this host's staging entries left by an earlier holdfastd
  // process (one killed mid-Create); other hosts clean up their own.
  void purge_stale_staging(NfsContext& nfs, Deadline deadline) const;
  void default_probe(const std::string& volume_path, Deadline deadline) const;
  std::string unique_suffix() const;

  NfsConfig m_config;
  ExportLayout m_layout;
  std::string m_instance;
  std::string m_host_id;
  CommandRunner& m_runner;
  Mounter& m_mounter;
  Probe m_probe;

  mutable std::mutex m_mutex;
  Capacity m_capacity;                          // guarded by m_mutex
  std::map<std::string, CachedRecord> m_cache;  // guarded by m_mutex
  bool m_layout_ready = false;                  // guarded by m_mutex
};

// The registry's factory (backends/registry.cpp).
std::unique_ptr<Backend> make_backend(ConfigReader& config, BackendEnv& env);

}  // namespace holdfast::nfs
