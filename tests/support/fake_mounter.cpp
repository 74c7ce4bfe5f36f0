#include "support/fake_mounter.hpp"

#include <algorithm>
#include <thread>

namespace holdfast::test {

namespace {

// Sleeps `delay`, but not past the deadline; a delay that outlasts the
// deadline ends in a timeout, as the real mounter abandons a hung syscall.
void wait(std::chrono::milliseconds delay, Deadline deadline, const std::string& what) {
  if (delay.count() <= 0) {
    return;
  }
  if (delay > deadline.remaining()) {
    std::this_thread::sleep_for(deadline.remaining());
    throw timeout(what + ": did not finish within its deadline");
  }
  std::this_thread::sleep_for(delay);
}

}  // namespace

std::optional<Error> FakeMounter::take_failure(std::vector<Failure>& failures,
                                               const std::string& target) {
  for (auto it = failures.begin(); it != failures.end(); ++it) {
    if (!it->target.empty() && it->target != target) {
      continue;
    }
    Error error = it->error;
    if (it->times) {
      if (--*it->times <= 0) {
        failures.erase(it);
      }
    }
    return error;
  }
  return std::nullopt;
}

std::vector<MountEntry> FakeMounter::mounts() {
  std::lock_guard lock(m_mutex);
  m_calls.push_back(Call{"mounts", {}, {}, {}, 0, {}, UnmountMode::normal});
  return m_table;
}

void FakeMounter::mount(const std::string& source, const std::string& target,
                        const std::string& fs_type, unsigned long flags, const std::string& data,
                        Deadline deadline) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(m_mutex);
    m_calls.push_back(Call{"mount", source, target, fs_type, flags, data, UnmountMode::normal});
    delay = m_mount_delay;
  }
  wait(delay, deadline, "mount " + target);
  std::lock_guard lock(m_mutex);
  if (auto error = take_failure(m_mount_failures, target)) {
    throw *error;
  }
  MountEntry e;
  e.mount_id = m_next_id++;
  e.parent_id = 1;
  e.root = "/";
  e.mount_point = target;
  e.mount_options = "rw";
  e.fs_type = fs_type;
  e.source = source;
  e.super_options = data;
  m_table.push_back(std::move(e));
}

void FakeMounter::unmount(const std::string& target, UnmountMode mode, Deadline deadline) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(m_mutex);
    m_calls.push_back(Call{"unmount", {}, target, {}, 0, {}, mode});
    delay = m_unmount_delay;
  }
  wait(delay, deadline, "unmount " + target);
  std::lock_guard lock(m_mutex);
  if (auto error = take_failure(m_unmount_failures, target)) {
    throw *error;
  }
  // The topmost (last) mount at that point goes, like umount2.
  for (auto it = m_table.rbegin(); it != m_table.rend(); ++it) {
    if (it->mount_point == target) {
      m_table.erase(std::next(it).base());
      return;
    }
  }
}

bool FakeMounter::is_mounted(const std::string& target) {
  std::lock_guard lock(m_mutex);
  m_calls.push_back(Call{"is_mounted", {}, target, {}, 0, {}, UnmountMode::normal});
  return std::any_of(m_table.begin(), m_table.end(),
                     [&](const MountEntry& e) { return e.mount_point == target; });
}

void FakeMounter::fail_mount(const std::string& target, Error error, std::optional<int> times) {
  std::lock_guard lock(m_mutex);
  m_mount_failures.push_back(Failure{target, std::move(error), times});
}

void FakeMounter::fail_unmount(const std::string& target, Error error, std::optional<int> times) {
  std::lock_guard lock(m_mutex);
  m_unmount_failures.push_back(Failure{target, std::move(error), times});
}

void FakeMounter::delay_mount(std::chrono::milliseconds delay) {
  std::lock_guard lock(m_mutex);
  m_mount_delay = delay;
}

void FakeMounter::delay_unmount(std::chrono::milliseconds delay) {
  std::lock_guard lock(m_mutex);
  m_unmount_delay = delay;
}

void FakeMounter::clear_failures() {
  std::lock_guard lock(m_mutex);
  m_mount_failures.clear();
  m_unmount_failures.clear();
}

void FakeMounter::add_mount(const std::string& source, const std::string& target,
                            const std::string& fs_type) {
  std::lock_guard lock(m_mutex);
  MountEntry e;
  e.mount_id = m_next_id++;
  e.parent_id = 1;
  e.root = "/";
  e.mount_point = target;
  e.mount_options = "rw";
  e.fs_type = fs_type;
  e.source = source;
  m_table.push_back(std::move(e));
}

void FakeMounter::drop_mount(const std::string& target) {
  std::lock_guard lock(m_mutex);
  m_table.erase(std::remove_if(m_table.begin(), m_table.end(),
                               [&](const MountEntry& e) { return e.mount_point == target; }),
                m_table.end());
}

std::vector<FakeMounter::Call> FakeMounter::calls() const {
  std::lock_guard lock(m_mutex);
  return m_calls;
}

std::size_t FakeMounter::count(const std::string& op, const std::string& target) const {
  std::lock_guard lock(m_mutex);
  return static_cast<std::size_t>(std::count_if(m_calls.begin(), m_calls.end(), [&](const Call& c) {
    return c.op == op && (target.empty() || c.target == target);
  }));
}

void FakeMounter::clear_calls() {
  std::lock_guard lock(m_mutex);
  m_calls.clear();
}

}  // namespace holdfast::test
