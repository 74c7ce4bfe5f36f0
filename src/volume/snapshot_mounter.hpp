// holdfast::SnapshotMounter: a Mounter that forwards to the real one, except
// that while a snapshot is active mounts() and is_mounted() answer from a
// copy of the mount table read once.
//
// Why: at start-up the volume manager asks every backend is_attached() for
// each volume with saved mounts; backends answer through Mounter, which
// reads /proc/self/mountinfo per question. With 10,000 volumes that is
// quadratic. The manager reads the table once and activates it here for the
// duration of reconcile. mount()/unmount() always go to the real mounter and
// mark the copy stale, so the next question re-reads the table once.
//
// Owned by BackendSet (backends hold a reference to it). Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <holdfast/host.hpp>

namespace holdfast {

class SnapshotMounter final : public Mounter {
 public:
  explicit SnapshotMounter(Mounter& real) : m_real(real) {}

  std::vector<MountEntry> mounts() override;
  void mount(const std::string& source, const std::string& target, const std::string& fs_type,
             unsigned long flags, const std::string& data, Deadline deadline) override;
  void unmount(const std::string& target, UnmountMode mode, Deadline deadline) override;
  bool is_mounted(const std::string& target) override;

  // Answers from `table` until end_snapshot().
  void begin_snapshot(std::vector<MountEntry> table);
  void end_snapshot();

 private:
  struct Snapshot {
    std::vector<MountEntry> table;
    std::unordered_set<std::string> points;
    bool stale = false;
  };
  void fill(Snapshot& snapshot, std::vector<MountEntry> table);

  Mounter& m_real;
  std::mutex m_mutex;
  std::optional<Snapshot> m_snapshot;
};

}  // namespace holdfast
