// holdfast::iscsi::DeviceOps: the iSCSI backend's direct contact with the
// host's device files: sysfs reads and writes (scan one LUN, delete a SCSI
// device, find a multipath holder), /dev checks, the operator's takeover
// files, and SCSI-3 PERSISTENT RESERVE OUT through SG_IO on a block device
// (registering the kernel's own I_T nexus with this host's key).
//
// An interface so unit and integration tests can run the kernel-side logic
// against a fake (this build host has no SCSI layer); SystemDeviceOps is the
// real one. Implementations are thread-safe (no shared mutable state).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <holdfast/deadline.hpp>

namespace holdfast::iscsi {

class DeviceOps {
 public:
  virtual ~DeviceOps() = default;

  virtual bool exists(const std::string& path) = 0;
  // Entry names of a directory, sorted; empty when it does not exist.
  virtual std::vector<std::string> list(const std::string& dir) = 0;
  // A small file's contents with trailing whitespace removed. Throws.
  virtual std::string read(const std::string& path) = 0;
  // Writes `data` to an existing file (a sysfs attribute). Throws.
  virtual void write(const std::string& path, const std::string& data) = 0;
  // Modification time of a file, nullopt when it does not exist.
  virtual std::optional<std::chrono::system_clock::time_point> modified_at(const std::string& path) = 0;
  // Removes a file; succeeds when it does not exist.
  virtual void remove(const std::string& path) = 0;
  // Creates a file (mode 0600, empty) or sets its modification time to now:
  // the operator's takeover file. Throws.
  virtual void touch_file(const std::string& path) = 0;
  // PERSISTENT RESERVE OUT, REGISTER AND IGNORE EXISTING KEY with
  // `new_key` (0 unregisters) sent through SG_IO on `device`. Retries UNIT
  // ATTENTION. Throws conflict on RESERVATION CONFLICT, else unavailable.
  virtual void register_key(const std::string& device, std::uint64_t new_key, Deadline deadline) = 0;
};

class SystemDeviceOps : public DeviceOps {
 public:
  bool exists(const std::string& path) override;
  std::vector<std::string> list(const std::string& dir) override;
  std::string read(const std::string& path) override;
  void write(const std::string& path, const std::string& data) override;
  std::optional<std::chrono::system_clock::time_point> modified_at(const std::string& path) override;
  void remove(const std::string& path) override;
  void touch_file(const std::string& path) override;
  void register_key(const std::string& device, std::uint64_t new_key, Deadline deadline) override;
};

}  // namespace holdfast::iscsi
