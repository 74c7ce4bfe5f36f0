#include "volume/snapshot_mounter.hpp"

#include <utility>

namespace holdfast {

void SnapshotMounter::fill(Snapshot& snapshot, std::vector<MountEntry> table) {
  snapshot.points.clear();
  snapshot.points.reserve(table.size());
  for (const auto& entry : table) {
    snapshot.points.insert(entry.mount_point);
  }
  snapshot.table = std::move(table);
  snapshot.stale = false;
}

void SnapshotMounter::begin_snapshot(std::vector<MountEntry> table) {
  std::lock_guard lock(m_mutex);
  // Not emplace(): clang 14 (the fuzz build) does not see a nested struct
  // with member initializers as default-constructible.
  m_snapshot.emplace(Snapshot{});
  fill(*m_snapshot, std::move(table));
}

void SnapshotMounter::end_snapshot() {
  std::lock_guard lock(m_mutex);
  m_snapshot.reset();
}

std::vector<MountEntry> SnapshotMounter::mounts() {
  std::lock_guard lock(m_mutex);
  if (!m_snapshot) {
    return m_real.mounts();
  }
  if (m_snapshot->stale) {
    fill(*m_snapshot, m_real.mounts());
  }
  return m_snapshot->table;
}

bool SnapshotMounter::is_mounted(const std::string& target) {
  std::lock_guard lock(m_mutex);
  if (!m_snapshot) {
    return m_real.is_mounted(target);
  }
  if (m_snapshot->stale) {
    fill(*m_snapshot, m_real.mounts());
  }
  return m_snapshot->points.count(target) > 0;
}

void SnapshotMounter::mount(const std::string& source, const std::string& target, const std::string& fs_type,
                            unsigned long flags, const std::string& data, Deadline deadline) {
  // Not under m_mutex: a mount may take long and must not block questions.
  struct MarkStale {
    SnapshotMounter& self;
    ~MarkStale() {
      std::lock_guard lock(self.m_mutex);
      if (self.m_snapshot) {
        self.m_snapshot->stale = true;
      }
    }
  } mark{*this};
  m_real.mount(source, target, fs_type, flags, data, deadline);
}

void SnapshotMounter::unmount(const std::string& target, UnmountMode mode, Deadline deadline) {
  struct MarkStale {
    SnapshotMounter& self;
    ~MarkStale() {
      std::lock_guard lock(self.m_mutex);
      if (self.m_snapshot) {
        self.m_snapshot->stale = true;
      }
    }
  } mark{*this};
  m_real.unmount(target, mode, deadline);
}

}  // namespace holdfast
