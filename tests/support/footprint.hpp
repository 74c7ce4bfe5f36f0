// holdfast::test::Footprint: what the daemon has left on the host, captured
// before and after a hostile or failing request to prove that it left
// nothing behind: every entry under some directories (type, mode, owner,
// size, inode and mtime, so a rewritten file shows too) and the mount points
// at or below a scope directory (from /proc/self/mountinfo).
//
// Plain values; capture() reads the file system and is thread-safe.
#pragma once

#include <string>
#include <vector>

namespace holdfast::test {

struct Footprint {
  std::vector<std::string> entries;  // "<dir>/<relative path> <type> <mode> ..." sorted
  std::vector<std::string> mounts;   // mount points, sorted

  bool operator==(const Footprint&) const = default;

  // Entries and mounts in one but not the other ("+ x" / "- x"), for a
  // failure message; empty when equal.
  std::string diff(const Footprint& after) const;
};

// Walks each of `dirs` (a missing one counts as empty; symlinks are listed,
// never followed) and lists the mounts at or below `mount_scope`. Files
// whose name starts with one of `ignored_prefixes` are left out (logs that
// are meant to grow, such as the audit log).
Footprint capture_footprint(const std::vector<std::string>& dirs, const std::string& mount_scope,
                            const std::vector<std::string>& ignored_prefixes = {"audit.log"});

// Mount points at or below `dir`, from /proc/self/mountinfo, sorted.
std::vector<std::string> mount_points_under(const std::string& dir);

}  // namespace holdfast::test
