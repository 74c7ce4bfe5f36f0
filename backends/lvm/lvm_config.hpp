// The configuration of one LVM backend instance (a section under
// `backends:` with `type: lvm`), read strictly through ConfigReader: unknown
// keys and bad values are errors with the file and line. Every default is
// here; config/holdfast.yaml and docs/backends/lvm.md document them.
//
// Plain data, immutable once read; thread-safe to share.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <holdfast/config_reader.hpp>

#include "lvm_fs.hpp"
#include "lvm_size.hpp"

namespace holdfast::lvm {

// Bounds on each external command, so that one stuck command cannot use up a
// whole operation and leave no time to clean up. Each is also capped by the
// deadline of the operation (the daemon's `deadlines:`).
struct LvmTimeouts {
  std::chrono::milliseconds command{30'000};  // lvs, lvcreate, lvchange, lvextend, lvremove
  std::chrono::milliseconds mkfs{60'000};
  std::chrono::milliseconds copy{90'000};     // dd of a thick clone
  std::chrono::milliseconds grow{60'000};     // resize2fs / xfs_growfs
  // Removing a half-made LV after a failure: a fresh budget, because the
  // failure may have been the operation's deadline itself.
  std::chrono::milliseconds cleanup{30'000};
};

struct LvmConfig {
  std::string volume_group;           // required
  std::string thin_pool;              // LV name of a thin pool in the VG; empty: thick volumes
  std::string lv_prefix = "hf-";
  std::uint64_t default_size = 10 * k_gib;
  std::uint64_t max_size = 16 * k_tib;  // refuse bigger `size` options
  FsType fs = FsType::ext4;
  // Trusted operator options, per filesystem.
  std::vector<std::string> mkfs_ext4;
  std::vector<std::string> mkfs_xfs;
  std::string mount_ext4;
  std::string mount_xfs;
  int pool_warning_percent = 80;      // thin pool data or metadata fill that warns
  std::uint64_t max_copy_size = 16 * k_gib;  // biggest thick clone; 0 refuses thick clones
  bool deactivate_on_unmount = false;
  LvmTimeouts timeouts;

  bool thin() const { return !thin_pool.empty(); }
  const std::vector<std::string>& mkfs_options(FsType type) const {
    return type == FsType::ext4 ? mkfs_ext4 : mkfs_xfs;
  }
  const std::string& mount_options(FsType type) const {
    return type == FsType::ext4 ? mount_ext4 : mount_xfs;
  }
};

// Smallest volume: below this ext4 has no room for its journal.
inline constexpr std::uint64_t k_min_size = 16 * k_mib;

// Reads the section and calls config.finish(). Throws invalid_argument.
LvmConfig read_lvm_config(ConfigReader& config);

}  // namespace holdfast::lvm
