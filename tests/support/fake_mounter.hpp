// holdfast::test::FakeMounter: a Mounter for unit tests with an in-memory
// mount table, a call log, and scriptable failures and delays.
//
// mount() appends an entry (source, target, fs_type, data as super options)
// unless a failure is scripted for that target; a second mount on the same
// target stacks like the kernel does. unmount() removes the topmost entry at
// that target; not mounted -> success, as the real SystemMounter. Delays
// sleep (honouring the deadline: past it the call throws timeout, like the
// real mounter abandoning a hung syscall).
//
// Thread-safe: every method may be called concurrently; delays sleep without
// holding the lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <holdfast/error.hpp>
#include <holdfast/host.hpp>

namespace holdfast::test {

class FakeMounter : public Mounter {
 public:
  struct Call {
    std::string op;  // "mount", "unmount", "is_mounted", "mounts"
    std::string source;
    std::string target;
    std::string fs_type;
    unsigned long flags = 0;
    std::string data;
    UnmountMode mode = UnmountMode::normal;
  };

  std::vector<MountEntry> mounts() override;
  void mount(const std::string& source, const std::string& target, const std::string& fs_type,
             unsigned long flags, const std::string& data, Deadline deadline) override;
  void unmount(const std::string& target, UnmountMode mode, Deadline deadline) override;
  bool is_mounted(const std::string& target) override;

  // Scripting. An empty target matches every target. `times` = how many
  // calls fail (nullopt = every call until cleared).
  void fail_mount(const std::string& target, Error error, std::optional<int> times = std::nullopt);
  void fail_unmount(const std::string& target, Error error,
                    std::optional<int> times = std::nullopt);
  void delay_mount(std::chrono::milliseconds delay);
  void delay_unmount(std::chrono::milliseconds delay);
  void clear_failures();

  // Puts an entry in the table directly (a mount that existed "before").
  void add_mount(const std::string& source, const std::string& target,
                 const std::string& fs_type = "tmpfs");
  // Removes entries at `target` directly (a mount that vanished behind our back).
  void drop_mount(const std::string& target);

  std::vector<Call> calls() const;
  // Number of calls of `op` ("mount", "unmount", ...), optionally for one target.
  std::size_t count(const std::string& op, const std::string& target = {}) const;
  void clear_calls();

 private:
  struct Failure {
    std::string target;
    Error error;
    std::optional<int> times;
  };
  static std::optional<Error> take_failure(std::vector<Failure>& failures,
                                           const std::string& target);

  mutable std::mutex m_mutex;
  std::vector<MountEntry> m_table;
  int m_next_id = 100;
  std::vector<Failure> m_mount_failures;
  std::vector<Failure> m_unmount_failures;
  std::chrono::milliseconds m_mount_delay{0};
  std::chrono::milliseconds m_unmount_delay{0};
  std::vector<Call> m_calls;
};

}  // namespace holdfast::test
