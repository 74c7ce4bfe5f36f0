// holdfast::iscsi::test::FakeKernel: open-iscsi and the SCSI layer in
// miniature, for tests on a host without them. It answers iscsiadm through a
// FakeRunner callback (sessions appear at --login and vanish at --logout;
// `-m session -P 3` lists them with their disks) and reacts to sysfs writes
// through a FakeDeviceOps hook (a scan of "0 0 L" on hostH makes disk sdX of
// LUN L appear, with a multipath holder when `multipathd` is on; a write to
// /sys/block/sdX/device/delete removes it). Commands it does not model fall
// through to the FakeRunner's scripts (default: exit 0).
//
// Test-only. Thread-safe (one mutex).
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fake_device_ops.hpp"
#include "support/fake_runner.hpp"

namespace holdfast::iscsi::test {

class FakeKernel {
 public:
  FakeKernel(holdfast::test::FakeRunner& runner, FakeDeviceOps& devices) {
    runner.on_call(
        [this](const std::vector<std::string>& argv, const std::string&, Deadline) { return handle(argv); });
    devices.on_write([this](FakeDeviceOps& d, const std::string& path, const std::string& data) {
      on_write(d, path, data);
    });
  }

  void set_multipathd(bool on) {
    std::lock_guard lock(m_mutex);
    m_multipathd = on;
  }
  void set_lun_appears(bool on) {
    std::lock_guard lock(m_mutex);
    m_lun_appears = on;
  }
  void fail_login_on(std::set<std::string> portals) {
    std::lock_guard lock(m_mutex);
    m_fail_login = std::move(portals);
  }
  std::vector<std::string> logged_in_portals() {
    std::lock_guard lock(m_mutex);
    std::vector<std::string> out;
    for (const auto& s : m_sessions) {
      out.push_back(s.second);
    }
    return out;
  }
  // The LUN whose disk is `device` ("/dev/sdb"), or -1.
  int lun_of(const std::string& device) {
    std::lock_guard lock(m_mutex);
    for (const auto& [hl, disk] : m_disks) {
      if ("/dev/" + disk == device) {
        return hl.second;
      }
    }
    return -1;
  }
  std::size_t disk_count() {
    std::lock_guard lock(m_mutex);
    return m_disks.size();
  }

 private:
  int host_of(std::size_t index) const { return 10 + static_cast<int>(index); }

  std::optional<CommandResult> handle(const std::vector<std::string>& argv) {
    std::lock_guard lock(m_mutex);
    CommandResult ok;
    ok.exit_code = 0;
    auto has = [&](const char* s) { return std::find(argv.begin(), argv.end(), s) != argv.end(); };
    if (argv.size() >= 5 && argv[0] == "iscsiadm" && argv[2] == "session") {
      if (m_sessions.empty()) {
        CommandResult none;
        none.exit_code = 21;
        none.err = "iscsiadm: No active sessions.";
        return none;
      }
      ok.out = "iSCSI Transport Class version 2.0-870\nversion 2.1.8\n";
      for (std::size_t i = 0; i < m_sessions.size(); ++i) {
        int host = host_of(i);
        ok.out += "Target: " + m_sessions[i].first +
                  " (non-flash)\n\tCurrent Portal: " + m_sessions[i].second +
                  ",1\n\tPersistent Portal: " + m_sessions[i].second +
                  ",1\n\t\tIface Name: holdfast\n\t\tSID: " + std::to_string(i + 1) +
                  "\n\t\tHost Number: " + std::to_string(host) + "\tState: running\n";
        for (const auto& [hl, disk] : m_disks) {
          if (hl.first == host) {
            ok.out += "\t\tscsi" + std::to_string(host) +
                      " Channel 00 Id 0 Lun: " + std::to_string(hl.second) + "\n\t\t\tAttached scsi disk " +
                      disk + "\t\tState: running\n";
          }
        }
      }
      return ok;
    }
    if (argv.size() >= 7 && argv[0] == "iscsiadm" && argv[2] == "node" &&
        (has("--login") || has("--logout"))) {
      std::pair<std::string, std::string> session{argv[4], argv[6]};
      if (has("--login")) {
        if (m_fail_login.count(argv[6]) != 0) {
          CommandResult bad;
          bad.exit_code = 24;
          bad.err = "iscsiadm: Login failed to authenticate with target";
          return bad;
        }
        if (std::find(m_sessions.begin(), m_sessions.end(), session) == m_sessions.end()) {
          m_sessions.push_back(session);
        }
      } else {
        m_sessions.erase(std::remove(m_sessions.begin(), m_sessions.end(), session), m_sessions.end());
      }
      return ok;
    }
    return std::nullopt;
  }

  void on_write(FakeDeviceOps& d, const std::string& path, const std::string& data) {
    std::lock_guard lock(m_mutex);
    const std::string scan_prefix = "/sys/class/scsi_host/host";
    if (path.rfind(scan_prefix, 0) == 0 && m_lun_appears) {
      int host = std::stoi(path.substr(scan_prefix.size()));
      int lun = std::stoi(data.substr(4));
      auto& disk = m_disks[{host, lun}];
      if (disk.empty()) {
        disk = "sd" + std::string(1, static_cast<char>('b' + m_next_disk++ % 24));
        d.put("/sys/class/scsi_device/" + std::to_string(host) + ":0:0:" + std::to_string(lun) +
              "/device/block/" + disk + "/dev");
        d.put("/dev/" + disk);
        d.put("/sys/block/" + disk + "/device/delete");
      }
      if (m_multipathd) {
        d.put("/sys/block/" + disk + "/holders/dm-0/x");
        d.put("/sys/block/dm-0/dm/name", "mpatha");
        d.put("/dev/mapper/mpatha");
      }
    }
    const std::string suffix = "/device/delete";
    if (path.rfind("/sys/block/", 0) == 0 && path.size() > suffix.size() &&
        path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string disk = path.substr(11, path.size() - 11 - suffix.size());
      for (auto it = m_disks.begin(); it != m_disks.end();) {
        if (it->second == disk) {
          d.erase_tree("/sys/class/scsi_device/" + std::to_string(it->first.first) +
                       ":0:0:" + std::to_string(it->first.second));
          it = m_disks.erase(it);
        } else {
          ++it;
        }
      }
      d.erase_tree("/sys/block/" + disk);
      d.erase_tree("/dev/" + disk);
    }
  }

  std::mutex m_mutex;
  std::vector<std::pair<std::string, std::string>> m_sessions;  // (target, portal)
  std::map<std::pair<int, int>, std::string> m_disks;           // (host, lun) -> sdX
  int m_next_disk = 0;
  bool m_multipathd = false;
  bool m_lun_appears = true;
  std::set<std::string> m_fail_login;
};

}  // namespace holdfast::iscsi::test
