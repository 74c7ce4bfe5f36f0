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
#include <set>
#include <string>

#include <holdfast/backend.hpp>

#include "nfs_config.hpp"
#include "nfs_context.hpp"
#include "nfs_metadata.hpp"
#include "remove_journal.hpp"

namespace holdfast::nfs {

class NfsBackend final : public Backend {
 public:
  // Checks, before a kernel mount, that the server answers and that the
  // volume's directory exists; throws holdfast::Error. The default uses
  // libnfs; unit tests replace it.
  // Before a mount: reads the volume's record and checks its directory on
  // the server, within the probe deadline; returns the directory's name
  // inside the base path (VolumeMetadata::dir).
  using Probe = std::function<std::string(const std::string& name, Deadline deadline)>;

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
  bool remove_pending(const VolumeRecord& record) const override;

  const NfsConfig& config() const { return m_config; }
  // "server:/export/base/<dir>", what mount.nfs mounts (`dir` as in
  // VolumeMetadata::dir).
  std::string mount_source(const std::string& dir) const;
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
  void ensure_volume_dir(NfsContext& nfs, const std::string& dir, const Options& options, Deadline deadline,
                         std::chrono::milliseconds wait_for_creator);
  // The directory (inside the base path) of a volume as this host last
  // learnt it, without touching the network: "" when unknown.
  std::string known_dir(const VolumeRecord& record) const;
  // Puts back records that a late Remove of an earlier generation moved
  // into the trash while their directory is still live (only those of
  // volume `only` when given); returns the names restored. Run by every
  // discovery, and by a Create or Mount that finds no record.
  // The record at `path` in the trash when a late Remove of another
  // generation moved it there (its name has no record in `listed`, its
  // directory is live and was not retained); nullopt otherwise.
  std::optional<VolumeMetadata> is_displaced_record(NfsContext& nfs, const std::string& path,
                                                    const std::map<std::string, NfsStat>& listed,
                                                    Deadline deadline) const;
  std::vector<std::string> restore_displaced_records(NfsContext& nfs, const std::map<std::string, NfsStat>& listed,
                                                     Deadline deadline, const std::string& only = {}) const;
  // Moves the record of `name` into the trash under a unique name (see the
  // definition for why not an unlink); returns that path, "" when there
  // was no record.
  std::string retire_record(NfsContext& nfs, const std::string& name, Deadline deadline) const;
  std::chrono::milliseconds creator_grace(const VolumeMetadata& existing) const;
  bool purge_tree(NfsContext& nfs, const std::string& root, Deadline budget, Deadline deadline) const;
  void purge_trash(NfsContext& nfs, Deadline deadline) const;
  // Removes this host's staging entries left by an earlier holdfastd
  // process (one killed mid-Create); other hosts clean up their own.
  void purge_stale_staging(NfsContext& nfs, Deadline deadline) const;
  std::string default_probe(const std::string& name, Deadline deadline);
  // Finishes a Remove of `name` that the journal holds and that is not
  // running in this process (cut off by a crash, or failed), before the
  // name is used again; see remove_journal.hpp.
  void settle_pending_remove(NfsContext& nfs, const std::string& name, Deadline deadline);
  void settle_predecessors_removes(NfsContext& nfs, Deadline deadline);
  enum class RemoveMode {
    remove,          // a Remove that has just read the record naming volume_dir
    without_record,  // a Remove that found no record: one that appears is retired only if it names volume_dir
    settle,          // finishing a journaled Remove inside another call: as without_record, and the
                     // deleting of the data is left to refresh
  };
  // The Remove of one generation (directory `volume_dir`) per on_remove.
  void remove_generation(NfsContext& nfs, const std::string& name, const std::string& volume_dir, RemoveMode mode,
                         Deadline deadline);
  std::string unique_suffix() const;

  NfsConfig m_config;
  ExportLayout m_layout;
  std::string m_instance;
  std::string m_host_id;
  CommandRunner& m_runner;
  Mounter& m_mounter;
  Probe m_probe;
  RemoveJournal m_journal;

  std::timed_mutex m_settle_mutex;  // held while a journaled Remove is finished
  mutable std::mutex m_mutex;
  Capacity m_capacity;                          // guarded by m_mutex
  std::map<std::string, CachedRecord> m_cache;  // guarded by m_mutex
  bool m_layout_ready = false;                  // guarded by m_mutex
  std::set<std::string> m_removing;              // names being removed by this process; guarded by m_mutex
  mutable std::set<std::string> m_retired_seen;  // trash records seen by the last refresh; guarded by m_mutex
};

// The registry's factory (backends/registry.cpp).
std::unique_ptr<Backend> make_backend(ConfigReader& config, BackendEnv& env);

}  // namespace holdfast::nfs
