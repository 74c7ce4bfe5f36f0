// holdfast::crash::Model: what the crash torture's clients know about the
// volumes they share, and the reconciliation of that knowledge with what the
// daemon shows after a restart.
//
// Every client works on the same small set of volume names, each with mount
// IDs of its own, so the count of a (volume, mount ID) pair is only ever
// changed by one client. Per volume, a reader-writer lock orders what must
// be ordered: Create and Remove take it exclusively (their outcome depends on
// every count), Mount, Unmount and Get share it (counts of different IDs
// commute), so Mounts of several clients still race inside the daemon.
//
// A call whose reply is lost in a kill has an unknown outcome: the model
// keeps both candidates (maybe_exists / maybe_mounts) and nobody else uses
// the volume until the restart, when reconcile() accepts whichever
// candidate the daemon shows and fails anything else.
//
// Thread-safety: VolumeSlot::order and VolumeSlot::data as documented on
// them; reconcile() runs while no client runs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

namespace holdfast::crash {

using Counts = std::map<std::string, std::uint32_t>;  // mount ID -> count (no zeros)

std::uint64_t total(const Counts& counts);
std::string describe(const Counts& counts);

// One volume as the daemon shows it when nothing runs.
struct ObservedVolume {
  bool exists = false;
  Counts mounts;
};

// One volume as the clients know it.
struct VolumeModel {
  bool exists = false;
  // A Create was acknowledged since the volume last came into existence (a
  // volume found existing after a lost Create may be half made: a Create
  // completes it, so only an acknowledged one promises its data).
  bool created = false;
  Counts mounts;
  // A Create or Remove whose reply was lost: the existence it would give.
  std::optional<bool> maybe_exists;
  // Mounts and Unmounts whose replies were lost: the count each would give
  // its mount ID (zero allowed).
  std::map<std::string, std::uint32_t> maybe_mounts;

  bool pending() const { return maybe_exists.has_value() || !maybe_mounts.empty(); }
};

// Outcomes of calls lost in kills, as the daemon resolved them.
struct LostTally {
  std::size_t applied = 0;
  std::size_t not_applied = 0;
};

// Compares `model` with `seen`, accepting either candidate of a lost call.
// Returns a description of each disagreement. Afterwards `model` equals
// `seen` (so one disagreement is reported once) with nothing pending.
std::vector<std::string> reconcile(const std::string& name, VolumeModel& model, const ObservedVolume& seen,
                                   LostTally& tally);

struct VolumeSlot {
  std::string name;
  // Exclusive for Create/Remove, shared for Mount/Unmount/Get.
  std::shared_mutex order;
  // Guards `model` and `history` (several Mount/Unmount holders of `order`
  // update them).
  std::mutex data;
  VolumeModel model;
  // Every call on this volume with its reply, and every check of it after a
  // restart (note()), printed when the volume fails.
  std::vector<std::string> history;

  void note(const std::string& event);
};

class Model {
 public:
  explicit Model(const std::vector<std::string>& names);
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  std::size_t size() const { return m_slots.size(); }
  VolumeSlot& slot(std::size_t i) { return *m_slots[i]; }
  VolumeSlot* find(const std::string& name);
  std::set<std::string> names() const;

 private:
  std::vector<std::unique_ptr<VolumeSlot>> m_slots;
};

}  // namespace holdfast::crash
