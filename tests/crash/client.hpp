// holdfast::crash::run_client: one client of the crash torture. It has its
// own connection (keep-alive, like the Docker engine) and its own mount
// IDs, and sends random Create, Remove, Mount, Unmount and Get calls on the
// shared volume names until its call fails at the transport level (the
// daemon was killed). Each reply is checked against the model (crash_model.hpp)
// and the model is updated with what was acknowledged; the call that was
// cut off is recorded with both candidate outcomes.
#pragma once

#include <atomic>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "crash_model.hpp"

namespace holdfast::crash {

struct ClientRules {
  // Whether Mount of an existing volume can succeed (false for NFS here:
  // no kernel NFS client, so mount.nfs fails and Mount must say so).
  bool mount_works = true;
  // The state directory's filesystem is full: Create and Mount may fail
  // (cleanly: nothing changes), and an Unmount may fail after releasing its
  // mount ID in memory (the daemon says so in the error; the release is
  // durable once a refresh saves it, so until the restart it is unknown).
  bool disk_full = false;
  // Files a client writes into a volume after each acknowledged Mount (as
  // a container would), so that Remove has a tree to delete and a kill
  // can land in the middle of it. Only where Mount hands out a directory.
  int files_per_mount = 0;
};

struct ClientTally {
  std::size_t calls = 0;
  std::size_t acknowledged = 0;  // 200 replies
  std::size_t refused = 0;       // error replies (expected or not)
  std::size_t lost = 0;          // calls cut off by a kill
  std::vector<std::string> failures;
};

// `index` makes the client's mount IDs ("c<index>-<k>"). Returns when the
// daemon stops answering. `killing` is set by the driver just before it
// kills the daemon: a transport error before that is a failure.
void run_client(int index, const std::string& socket_path, Model& model, const ClientRules& rules,
                std::mt19937& rng, const std::atomic<bool>& killing, ClientTally& tally);

}  // namespace holdfast::crash
