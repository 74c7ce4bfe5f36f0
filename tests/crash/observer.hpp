// holdfast::crash::observe: the state of a just restarted daemon, gathered
// from every side and cross-checked while no client runs:
//  - the state files: each must parse with the daemon's own reader; no temp
//    file or file set aside as corrupt may be left (the daemon cleans temp
//    files at load, so any left means one escaped it);
//  - the protocol: List, and Get of every name (Get's Mountpoint is
//    non-empty exactly when the volume's mount count is positive);
//  - the storage (StorageView): for shared storage, List must agree with
//    the on-export records (the daemon merges them at refresh: waited for
//    within a bound) and no state file may outlive its volume;
//  - the mount table: every mount under the mount root belongs to a
//    volume with a positive count, and (where Mount really mounts) every
//    volume with a positive count is mounted.
// Counts come from the state files: Get's Status does not carry them.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "crash_model.hpp"
#include "storage_view.hpp"
#include "support/daemon_process.hpp"

namespace holdfast::crash {

struct Observation {
  std::map<std::string, ObservedVolume> volumes;  // every existing volume
  std::vector<std::string> problems;
  std::map<std::string, std::size_t> leftovers;  // StorageView::leftovers plus "mount root directories"
};

struct ObserveOptions {
  // Mount attaches in the kernel (a mount under the mount root per mounted
  // volume). False for the local backend (it hands out its directory) and
  // for NFS here (no kernel NFS client: Mount fails at mount.nfs).
  bool mounts_in_kernel = false;
  // Names the test uses (Get is asked for each, existing or not).
  std::set<std::string> names;
};

Observation observe(const holdfast::test::DaemonProcess& daemon, const StorageView& storage,
                    const ObserveOptions& options);

}  // namespace holdfast::crash
