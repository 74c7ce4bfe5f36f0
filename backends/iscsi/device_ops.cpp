#include "device_ops.hpp"

#include <fcntl.h>
#include <scsi/sg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

namespace holdfast::iscsi {

namespace {

constexpr std::size_t k_max_read = 64 * 1024;

std::string rtrim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.pop_back();
  }
  return s;
}

}  // namespace

bool SystemDeviceOps::exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> SystemDeviceOps::list(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string SystemDeviceOps::read(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    throw from_errno("open " + path, errno);
  }
  std::string out = read_bounded(fd, k_max_read, "read " + path);
  return rtrim(out);
}

void SystemDeviceOps::write(const std::string& path, const std::string& data) {
  // No O_CREAT: these are sysfs attributes that must already exist.
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    throw from_errno("open " + path + " for writing", errno);
  }
  ssize_t n = 0;
  do {
    n = ::write(fd.get(), data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    throw from_errno("write " + path, errno);
  }
  if (static_cast<std::size_t>(n) != data.size()) {
    throw unavailable("write " + path + ": short write");
  }
}

std::optional<std::chrono::system_clock::time_point> SystemDeviceOps::modified_at(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return std::nullopt;
    }
    throw from_errno("stat " + path, errno);
  }
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

void SystemDeviceOps::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw from_errno("remove " + path, errno);
  }
}

void SystemDeviceOps::touch_file(const std::string& path) {
  // O_NOFOLLOW: a symlink planted in the takeover folder must not make us
  // create or touch a file elsewhere.
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    throw from_errno("create " + path, errno);
  }
  if (::futimens(fd.get(), nullptr) != 0) {
    throw from_errno("set the modification time of " + path, errno);
  }
}

void SystemDeviceOps::register_key(const std::string& device, std::uint64_t new_key, Deadline deadline) {
  Fd fd(::open(device.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    throw from_errno("open " + device + " for SG_IO", errno);
  }
  // PERSISTENT RESERVE OUT (5Fh), service action 06h REGISTER AND IGNORE
  // EXISTING KEY, 24-byte basic parameter list (SPC-4 6.16).
  unsigned char cdb[10] = {0x5f, 0x06, 0, 0, 0, 0, 0, 0, 24, 0};
  unsigned char params[24] = {};
  for (int i = 0; i < 8; ++i) {
    params[8 + i] = static_cast<unsigned char>((new_key >> (56 - 8 * i)) & 0xff);
  }
  for (int attempt = 1;; ++attempt) {
    if (deadline.expired()) {
      throw timeout("PERSISTENT RESERVE OUT on " + device + " did not finish within its deadline");
    }
    unsigned char sense[32] = {};
    sg_io_hdr_t io{};
    io.interface_id = 'S';
    io.dxfer_direction = SG_DXFER_TO_DEV;
    io.cmd_len = sizeof cdb;
    io.cmdp = cdb;
    io.dxfer_len = sizeof params;
    io.dxferp = params;
    io.mx_sb_len = sizeof sense;
    io.sbp = sense;
    io.timeout = static_cast<unsigned>(std::clamp<long long>(deadline.remaining().count(), 1, 60'000));
    if (::ioctl(fd.get(), SG_IO, &io) != 0) {
      throw from_errno("SG_IO PERSISTENT RESERVE OUT on " + device, errno);
    }
    if (io.status == 0 && io.host_status == 0 && (io.driver_status & 0x0f) == 0) {
      return;
    }
    if (io.status == 0x18) {
      throw conflict("PERSISTENT RESERVE OUT on " + device + ": RESERVATION CONFLICT");
    }
    // Fixed (70h/71h) or descriptor (72h/73h) sense: key in byte 2 or 1.
    int key = -1;
    if (io.sb_len_wr > 2) {
      key = (sense[0] & 0x7f) >= 0x72 ? (sense[1] & 0x0f) : (sense[2] & 0x0f);
    }
    if (key == 0x06 && attempt < 5) {
      continue;  // UNIT ATTENTION (login, reset, preempt): retry
    }
    if (io.status == 0x08 && attempt < 5) {  // BUSY
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "status 0x%02x host 0x%02x driver 0x%02x sense key 0x%x", io.status,
                  io.host_status, io.driver_status, key < 0 ? 0 : key);
    throw unavailable("PERSISTENT RESERVE OUT on " + device + " failed: " + buf);
  }
}

}  // namespace holdfast::iscsi
