// Filesystems on attached block devices: probing what a device carries
// (blkid), making a filesystem of an exact size (mkfs.ext4 / mkfs.xfs with
// lazy initialisation, so a large LUN formats within Docker's budget), and
// turning a mount(8)-style option string into mount(2) flags and data.
//
// Commands run through the injected CommandRunner with argv vectors and the
// caller's Deadline. Stateless functions: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <holdfast/deadline.hpp>
#include <holdfast/host.hpp>

namespace holdfast::iscsi {

struct ProbeResult {
  // Empty when blkid found nothing at all (the only case in which holdfast
  // formats); otherwise TYPE (a filesystem) or "partition table <PTTYPE>".
  std::string content;
  std::string fs_type;  // TYPE=, when it is a filesystem
};

// `blkid -p -o export <device>` (low-level probe, no cache). Exit 2 means
// nothing found. Ambivalent results and errors throw, so an unreadable
// device is never mistaken for an empty one.
ProbeResult probe_device(CommandRunner& runner, const std::string& device, Deadline deadline);

// The mkfs argv for `fs` ("ext4" | "xfs") sized to exactly `fs_bytes`
// (the rest of the LUN holds the claim label).
std::vector<std::string> mkfs_argv(const std::string& fs, const std::string& device, std::uint64_t fs_bytes,
                                   const std::vector<std::string>& extra);

struct MountFlags {
  unsigned long flags = 0;
  std::string data;  // what mount(2) passes to the filesystem
};

// "noatime,ro,discard" -> MS_NOATIME|MS_RDONLY, "discard". Generic flags
// (ro, rw, noatime, nodiratime, relatime, strictatime, lazytime, nodev,
// nosuid, noexec, sync, dirsync, defaults) become flags; the rest is data.
MountFlags parse_mount_options(const std::string& options);

}  // namespace holdfast::iscsi
