#include "sys/system_mounter.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

namespace holdfast {

namespace {

// The mount table is a few hundred KiB at most; this only stops a runaway.
constexpr std::size_t k_max_mountinfo = 64 * 1024 * 1024;

std::string read_all(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    throw from_errno("read mount table " + path, errno);
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<std::size_t>(n));
      if (text.size() > k_max_mountinfo) {
        throw internal_error("read mount table " + path + ": larger than 64 MiB");
      }
    } else if (n == 0) {
      return text;
    } else if (errno != EINTR) {
      throw from_errno("read mount table " + path, errno);
    }
  }
}

std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  return path;
}

}  // namespace

int call_with_deadline(std::function<int()> call, Deadline deadline, const std::string& what) {
  // Shared with the thread, so that an abandoned thread still has somewhere
  // to write when it finally returns.
  struct Shared {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    int err = 0;
  };
  auto shared = std::make_shared<Shared>();
  try {
    std::thread([shared, call = std::move(call)] {
      int err = call();
      std::lock_guard lock(shared->mutex);
      shared->done = true;
      shared->err = err;
      shared->done_cv.notify_all();
    }).detach();
  } catch (const std::system_error& e) {
    throw internal_error(what + ": cannot start a thread: " + e.what());
  }
  std::unique_lock lock(shared->mutex);
  if (!shared->done_cv.wait_until(lock, deadline.when(), [&] { return shared->done; })) {
    throw timeout(what + ": still running in the kernel when the deadline passed; abandoned");
  }
  return shared->err;
}

SystemMounter::SystemMounter(std::string mountinfo_path) : m_mountinfo_path(std::move(mountinfo_path)) {}

std::vector<MountEntry> SystemMounter::mounts() { return parse_mountinfo(read_all(m_mountinfo_path)); }

void SystemMounter::mount(const std::string& source, const std::string& target, const std::string& fs_type,
                          unsigned long flags, const std::string& data, Deadline deadline) {
  // The option string may carry credentials: it never enters a message.
  std::string what = "mount " + redact(source) + " on " + target + " (" + fs_type + ")";
  int err = call_with_deadline(
      [source, target, fs_type, flags, data] {
        int rc = ::mount(source.c_str(), target.c_str(), fs_type.c_str(), flags,
                         data.empty() ? nullptr : data.c_str());
        return rc == 0 ? 0 : errno;
      },
      deadline, what);
  if (err != 0) {
    throw from_errno(what, err);
  }
}

void SystemMounter::unmount(const std::string& target, UnmountMode mode, Deadline deadline) {
  int flags = UMOUNT_NOFOLLOW;
  if (mode == UnmountMode::lazy) {
    flags |= MNT_DETACH;
  } else if (mode == UnmountMode::force) {
    flags |= MNT_FORCE;
  }
  std::string what = "unmount " + target;
  int err = call_with_deadline(
      [target, flags] {
        int rc = ::umount2(target.c_str(), flags);
        return rc == 0 ? 0 : errno;
      },
      deadline, what);
  // EINVAL: not a mount point; ENOENT: no such path. Either way not mounted,
  // which is what the caller wants.
  if (err != 0 && err != EINVAL && err != ENOENT) {
    throw from_errno(what, err);
  }
}

bool SystemMounter::is_mounted(const std::string& target) {
  std::string want = without_trailing_slashes(target);
  auto table = mounts();
  return std::any_of(table.begin(), table.end(),
                     [&](const MountEntry& e) { return e.mount_point == want; });
}

}  // namespace holdfast
