// holdfast::Fd: move-only owner of a file descriptor (closes on destruction).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <string>
#include <utility>

namespace holdfast {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset(std::exchange(other.m_fd, -1));
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const noexcept { return m_fd; }
  explicit operator bool() const noexcept { return m_fd >= 0; }

  // Gives up ownership without closing.
  int release() noexcept { return std::exchange(m_fd, -1); }

  void reset(int fd = -1) noexcept {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }

 private:
  int m_fd = -1;
};

// Reads from `fd` until end of file or `max_bytes`, retrying EINTR. Throws
// holdfast::Error "<what>: <strerror>" on a read error. Used where a backend
// reads small files (sysfs attributes, secret files) without src/sys.
std::string read_bounded(const Fd& fd, std::size_t max_bytes, const std::string& what);

}  // namespace holdfast
