// The LVM backend: each volume is a logical volume with its own filesystem
// (ext4 or xfs) in a configured volume group on this host, thick (lvcreate
// -L) or thin in a configured thin pool, so a volume has a real size limit.
//
//   provision    lvcreate (tagged holdfast, holdfast.volume=<name>,
//                holdfast.fs=<fs>, holdfast.incomplete=<token>), mkfs, then
//                the incomplete tag is dropped; `from=<volume>` makes a thin
//                snapshot (thin pool) or a bounded full copy with dd (thick).
//                Any failure after lvcreate removes the LV again.
//   deprovision  lvremove -f, only of an LV tagged as this volume.
//   attach       lvchange -ay when the device is not active, mount(2) on the
//                target; finishes a pending filesystem grow.
//   detach       umount (lazy as a last resort); optional lvchange -an.
//   status       memory only: the last `lvs` report and statvfs of mounted
//                volumes, both refreshed by refresh().
//   resize       (operator verb "resize": `holdfast resize` through the
//                admin socket) lvextend + online resize2fs / xfs_growfs;
//                shrinking is refused.
// Every command runs through the CommandRunner with an argv and a deadline.
// The LV of a volume is found by the names kept in record.backend_data
// ("vg", "lv", "fs", ...) or, for a record without them, by the name mapping
// of lvm_names.hpp.
//
// Thread-safety: calls on different volumes may run concurrently (LVM
// serialises its own metadata updates with its VG lock); the caches are
// guarded by one mutex that is held only for memory work. Calls on one
// volume are serialised by the volume manager, resize() included (the
// caller holds the volume's operation lock).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <holdfast/backend.hpp>

#include "lvm_config.hpp"
#include "lvm_fs.hpp"
#include "lvm_names.hpp"
#include "lvm_report.hpp"

namespace holdfast::lvm {

struct FsUsage {
  std::uint64_t total = 0;      // bytes
  std::uint64_t used = 0;       // bytes
  std::uint64_t available = 0;  // bytes available to unprivileged users
};

// The few direct filesystem calls the backend makes (no programs, no
// mounts): a seam so unit tests need no real devices.
class LocalFs {
 public:
  virtual ~LocalFs() = default;
  // statvfs(2) of a mounted filesystem; nullopt when it fails.
  virtual std::optional<FsUsage> usage(const std::string& path);
  // Whether `path` resolves to a block device (an active LV's node).
  virtual bool is_block_device(const std::string& path);
  // rmdir(2); false when it did not remove anything (absent, not empty).
  virtual bool remove_empty_dir(const std::string& path);
};

// What resize() did.
struct ResizeResult {
  std::uint64_t old_size = 0;   // LV size before, bytes
  std::uint64_t new_size = 0;   // LV size after (rounded up to the VG's extent size)
  bool lv_extended = false;     // lvextend ran
  bool fs_grown = false;        // the filesystem was grown online now
  bool fs_grow_pending = false; // not mounted: the filesystem grows at the next mount
};

class LvmBackend final : public Backend {
 public:
  // `local_fs` defaults to the real one.
  LvmBackend(LvmConfig config, BackendEnv& env, std::unique_ptr<LocalFs> local_fs = nullptr);
  ~LvmBackend() override;
  LvmBackend(const LvmBackend&) = delete;
  LvmBackend& operator=(const LvmBackend&) = delete;

  std::string_view type() const override { return "lvm"; }
  Scope scope() const override { return Scope::local; }
  std::vector<OptionSpec> accepted_options() const override;
  void validate(const Options& options) const override;
  void provision(VolumeRecord& record, Deadline deadline) override;
  void deprovision(const VolumeRecord& record, Deadline deadline) override;
  std::string attach(VolumeRecord& record, const std::string& target, Deadline deadline) override;
  void detach(VolumeRecord& record, const std::string& mountpoint, Deadline deadline) override;
  bool is_attached(const VolumeRecord& record) override;
  nlohmann::json status(const VolumeRecord& record) const override;
  void refresh(Deadline deadline) override;
  // The thin pool's fill (thin backends) and the last report error.
  nlohmann::json backend_status() const override;
  // "resize" with {"size": "20G"}: resize() below, answered as
  // {"old_size", "new_size" (bytes), "lv_extended", "fs_grown", "fs_grow_pending"}.
  nlohmann::json operator_action(std::string_view verb, VolumeRecord& record, const nlohmann::json& args,
                                 Deadline deadline) override;

  // Grows the volume to `size` (written as for `-o size=`): lvextend, then,
  // when it is mounted (record.mountpoint), an online resize2fs/xfs_growfs;
  // when it is not, record.backend_data is marked so that the next attach
  // grows the filesystem, and the caller must save the record. A size equal
  // to the current one (after rounding to extents) runs no lvextend but
  // still grows a mounted filesystem (finishing an interrupted resize); a
  // smaller one is refused (invalid_argument). Throws holdfast::Error;
  // not_found when the LV is gone.
  ResizeResult resize(VolumeRecord& record, std::string_view size, Deadline deadline);

  const LvmConfig& config() const { return m_config; }
  // The LV name a new volume of this name gets.
  std::string lv_name_for(std::string_view volume) const { return m_namer.lv_name(volume); }

 private:
  struct Placement {
    std::string vg;
    std::string lv;
    FsType fs = FsType::ext4;
  };
  class InFlight;
  class PendingLv;

  Placement placement(const VolumeRecord& record) const;
  std::string device(const Placement& p) const { return "/dev/" + p.vg + "/" + p.lv; }
  std::string full_name(const std::string& lv) const { return m_config.volume_group + "/" + lv; }
  Deadline command_deadline(Deadline deadline) const { return deadline.capped(m_config.timeouts.command); }

  std::vector<LvInfo> list_lvs(Deadline deadline);
  // lvcreate of a new, empty LV for `record` (thick or thin per config).
  // Returns false when an LV of that name already exists.
  bool create_lv(const VolumeRecord& record, const std::string& lv, std::uint64_t size, FsType fs,
                 Deadline deadline);
  // An LV of the wanted name exists: adopt it (true) if it is this volume's
  // complete LV with compatible options, remove it if it is a half-made one
  // of this volume (false: create again), refuse otherwise.
  bool adopt_existing(VolumeRecord& record, const LvInfo& existing, std::uint64_t size, FsType fs,
                      Deadline deadline);
  void provision_new(VolumeRecord& record, const std::string& lv, Deadline deadline);
  void provision_clone(VolumeRecord& record, const std::string& lv, const std::string& from,
                       Deadline deadline);
  void mark_complete(const std::string& lv, Deadline deadline);
  void activate(const Placement& p, Deadline deadline);
  void grow_filesystem(const Placement& p, const std::string& mountpoint, Deadline deadline);
  bool mounted_anywhere(const Placement& p);
  // Cleanup paths: never throw, log what they could not do.
  void discard_lv(const std::string& lv) noexcept;
  void discard_if_half_made(const std::string& lv, const std::string& volume) noexcept;

  void remember_mount(const std::string& volume, const std::string& mountpoint);
  void forget_mount(const std::string& volume);
  void update_cache(const std::vector<LvInfo>& lvs);
  std::string log_prefix() const;
  // Appends the instance's health warnings (thin pool over the threshold
  // or missing, when `thin`; the last report's error); m_mutex held.
  void add_health_warnings_locked(bool thin, std::vector<std::string>& warnings) const;

  LvmConfig m_config;
  LvNamer m_namer;
  std::string m_instance;
  CommandRunner& m_runner;
  Mounter& m_mounter;
  std::unique_ptr<LocalFs> m_local_fs;
  std::string m_incomplete_tag;  // incomplete_tag(<this process's token>)

  mutable std::mutex m_mutex;  // guards everything below; memory work only
  std::map<std::string, LvInfo> m_lvs;  // LV name -> last report
  std::optional<LvInfo> m_pool;
  bool m_have_report = false;
  std::string m_report_error;
  bool m_pool_warned = false;
  std::map<std::string, std::string> m_mounted;  // volume -> mountpoint
  std::map<std::string, FsUsage> m_usage;         // volume -> last statvfs
  std::set<std::string> m_in_flight;              // LV names being provisioned
};

// The registry's factory (type "lvm").
std::unique_ptr<Backend> make_backend(ConfigReader& config, BackendEnv& env);

}  // namespace holdfast::lvm
