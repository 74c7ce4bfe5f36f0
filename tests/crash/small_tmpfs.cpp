#include "small_tmpfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <holdfast/fd.hpp>

namespace holdfast::crash {

SmallTmpfs::SmallTmpfs(std::string path, std::size_t bytes) : m_path(std::move(path)) {
  if (::mkdir(m_path.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::runtime_error("mkdir " + m_path + ": " + std::strerror(errno));
  }
  const std::string data = "size=" + std::to_string(bytes) + ",mode=0700";
  if (::mount("tmpfs", m_path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data.c_str()) != 0) {
    throw std::runtime_error("mount tmpfs on " + m_path + ": " + std::strerror(errno));
  }
}

SmallTmpfs::~SmallTmpfs() {
  if (::umount2(m_path.c_str(), UMOUNT_NOFOLLOW) != 0) {
    ::umount2(m_path.c_str(), UMOUNT_NOFOLLOW | MNT_DETACH);
  }
}

std::size_t Filler::fill() {
  Fd fd(::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) {
    if (errno == ENOSPC) {
      return 0;  // not even an inode left
    }
    throw std::runtime_error("open " + m_path + ": " + std::strerror(errno));
  }
  const std::vector<char> block(4096, 'x');
  std::size_t added = 0;
  for (;;) {
    ssize_t n = ::write(fd.get(), block.data(), block.size());
    if (n > 0) {
      added += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == ENOSPC) {
      return added;
    }
    throw std::runtime_error("write " + m_path + ": " + std::strerror(errno));
  }
}

void Filler::release() {
  ::unlink(m_path.c_str());
}

}  // namespace holdfast::crash
