// holdfast::SystemMounter: the real Mounter, over mount(2), umount2(2) and
// /proc/self/mountinfo.
//
// mount() and unmount() run the syscall on a helper thread and wait for it
// only until the Deadline: a mount against a dead NFS server can sit in the
// kernel for minutes, and the caller must get its `timeout` in time. The
// abandoned thread is detached and finishes (or not) on its own; whatever it
// does later shows up in the mount table, which is what the volume manager
// reconciles against. is_mounted() only reads the mount table and never
// touches the target path, so it cannot hang on a dead server either.
//
// Thread-safe: no mutable state.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <holdfast/host.hpp>

namespace holdfast {

// Runs `call` (a syscall wrapper returning 0 or an errno value) on a
// detached thread and waits for it until `deadline`. Returns the errno (0 on
// success); throws timeout ("<what>: ...") when the deadline passes first,
// leaving the thread to finish on its own. Used by SystemMounter.
int call_with_deadline(std::function<int()> call, Deadline deadline, const std::string& what);

class SystemMounter : public Mounter {
 public:
  // `mountinfo_path` is read by mounts()/is_mounted(); tests feed a file.
  explicit SystemMounter(std::string mountinfo_path = "/proc/self/mountinfo");

  std::vector<MountEntry> mounts() override;
  void mount(const std::string& source, const std::string& target, const std::string& fs_type,
             unsigned long flags, const std::string& data, Deadline deadline) override;
  // umount2 with UMOUNT_NOFOLLOW plus MNT_DETACH (lazy) or MNT_FORCE (force).
  // Not mounted (EINVAL) or missing target (ENOENT) count as success.
  void unmount(const std::string& target, UnmountMode mode, Deadline deadline) override;
  // Exact comparison of mount points (trailing slashes ignored), no stat().
  bool is_mounted(const std::string& target) override;

 private:
  std::string m_mountinfo_path;
};

}  // namespace holdfast
