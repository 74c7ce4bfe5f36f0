// The filesystems the LVM backend puts on its volumes (ext4, xfs): the
// mkfs argv, mount options turned into mount(2) flags and data, and the
// online grow command.
//
// Options come from two places. The operator's config is trusted: its mkfs
// options are passed through, its mount options may name any filesystem
// option. A volume's options (`-o mkfs_options=...`, `-o mount_options=...`)
// come from any Docker user, so each item must be in the allowlist below,
// with its value checked; anything else is refused with invalid_argument
// listing what is accepted.
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::lvm {

enum class FsType { ext4, xfs };

std::string_view to_string(FsType fs);
// nullopt unless "ext4" or "xfs".
std::optional<FsType> parse_fs(std::string_view text);

// mkfs.xfs refuses filesystems smaller than 300 MiB (xfsprogs 5.19+).
inline constexpr std::uint64_t k_xfs_min_size = 300ULL * 1024 * 1024;

// mkfs options, whitespace separated, as for mkfs.ext4 / mkfs.xfs:
//   ext4: -m <0-50>  -i <bytes-per-inode 1024-67108864>  -I <128|256|512|1024>
//         -N <inodes>  -b <1024|2048|4096>  -L <label, up to 16 chars>
//         -E <lazy_itable_init=0|1, lazy_journal_init=0|1, discard, nodiscard,
//             stride=N, stripe_width=N>  -T <default|small|news|largefile|largefile4>
//   xfs:  -L <label, up to 12 chars>  -K  -m <crc=0|1, finobt=0|1, reflink=0|1,
//         bigtime=0|1, rmapbt=0|1>  -i <size=256|512|1024|2048, maxpct=0-100>
//         -d <agcount=1-1024>
// No value may start with '-' (mkfs_argv() would read it as a flag).
// Returns the tokens (validated when `allowlisted`). Throws invalid_argument.
std::vector<std::string> parse_mkfs_options(std::string_view text, FsType fs, bool allowlisted,
                                            std::string_view what = "mkfs_options");

// The mkfs argv: defaults (quiet, force, lazy init, no discard), then the
// config's options, then the volume's; sub-option flags (-E for ext4; -m,
// -i, -d for xfs) are merged into one occurrence each, later values winning.
std::vector<std::string> mkfs_argv(FsType fs, const std::vector<std::string>& config_options,
                                   const std::vector<std::string>& volume_options,
                                   const std::string& device);

struct MountSpec {
  unsigned long flags = 0;  // MS_* flags
  std::string data;         // filesystem options, comma separated
  bool read_write = false;  // "rw" given: clears MS_RDONLY of a base in merge()
};

// Comma-separated mount options. Generic ones (ro, rw, noatime, relatime,
// strictatime, nodiratime, lazytime, nosuid, nodev, noexec, sync, dirsync,
// defaults) become flags; others go to `data`. Allowlisted data options:
//   ext4: discard, nodiscard, data=ordered|writeback|journal, commit=<1-600>,
//         errors=remount-ro|continue, noauto_da_alloc, dioread_nolock,
//         journal_checksum, barrier
//   xfs:  discard, nodiscard, inode64, noquota, usrquota, grpquota, prjquota,
//         uquota, gquota, pquota, largeio, swalloc, allocsize=<4k-1g, power of 2>
// Throws invalid_argument.
MountSpec parse_mount_options(std::string_view text, FsType fs, bool allowlisted,
                              std::string_view what = "mount_options");

// `base` followed by `extra` (flags OR-ed, "rw" in `extra` clears a read-only
// `base`, data joined).
MountSpec merge(const MountSpec& base, const MountSpec& extra);

// Grows the filesystem to the size of its (already extended) device, online:
// resize2fs <device> for ext4, xfs_growfs <mountpoint> for xfs.
std::vector<std::string> grow_argv(FsType fs, const std::string& device,
                                   const std::string& mountpoint);

}  // namespace holdfast::lvm
