#include "sys/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

namespace holdfast {

namespace {

std::atomic<unsigned long> g_temp_counter{0};

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    return ".";
  }
  if (slash == 0) {
    return "/";
  }
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Removes the temp file unless disarmed: every failure path leaves only
// the old file behind.
class TempGuard {
 public:
  explicit TempGuard(std::string path) : m_path(std::move(path)) {}
  ~TempGuard() {
    if (!m_path.empty()) {
      ::unlink(m_path.c_str());
    }
  }
  TempGuard(const TempGuard&) = delete;
  TempGuard& operator=(const TempGuard&) = delete;
  void disarm() { m_path.clear(); }

 private:
  std::string m_path;
};

}  // namespace

void fsync_directory(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    throw from_errno("open directory " + path, errno);
  }
  if (::fsync(fd.get()) != 0) {
    throw from_errno("fsync directory " + path, errno);
  }
}

void write_file_atomically(const std::string& path, std::string_view content, mode_t mode) {
  std::string base = base_of(path);
  if (base.empty()) {
    throw invalid_argument("write " + path + ": not a file path");
  }
  std::string dir = parent_of(path);
  std::string temp = dir + "/." + base + std::string(k_temp_marker) + std::to_string(::getpid()) + "-" +
                     std::to_string(g_temp_counter.fetch_add(1));

  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) {
    throw from_errno("write " + path + ": create temp file", errno);
  }
  TempGuard guard(temp);
  // open's mode is reduced by the umask; the caller asked for `mode`.
  if (::fchmod(fd.get(), mode) != 0) {
    throw from_errno("write " + path + ": chmod", errno);
  }
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw from_errno("write " + path, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    throw from_errno("write " + path + ": fsync", errno);
  }
  // close() can report a deferred write error (NFS); do not ignore it.
  if (::close(fd.release()) != 0) {
    throw from_errno("write " + path + ": close", errno);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    throw from_errno("write " + path + ": rename", errno);
  }
  guard.disarm();
  fsync_directory(dir);
}

std::optional<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    throw from_errno("read " + path, errno);
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      if (text.size() + static_cast<std::size_t>(n) > max_bytes) {
        throw invalid_argument("read " + path + ": larger than " + std::to_string(max_bytes) + " bytes");
      }
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      return text;
    } else if (errno != EINTR) {
      throw from_errno("read " + path, errno);
    }
  }
}

void remove_file_durably(const std::string& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) {
      return;
    }
    throw from_errno("remove " + path, errno);
  }
  fsync_directory(parent_of(path));
}

}  // namespace holdfast
