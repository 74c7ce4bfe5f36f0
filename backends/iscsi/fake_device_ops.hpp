// holdfast::iscsi::test::FakeDeviceOps: an in-memory DeviceOps for the iSCSI
// backend's tests (this build host has no SCSI layer). Files and directories
// are a map; writes are logged and may trigger a hook (a sysfs scan write
// makes the LUN's disk "appear"); register_key is logged and forwarded to an
// optional hook (the integration test registers a real libiscsi nexus there,
// standing in for the kernel's).
//
// Test-only (not part of holdfast_backend_iscsi). Thread-safe.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <holdfast/error.hpp>

#include "device_ops.hpp"

namespace holdfast::iscsi::test {

class FakeDeviceOps : public DeviceOps {
 public:
  using WriteHook =
      std::function<void(FakeDeviceOps& self, const std::string& path, const std::string& data)>;
  using KeyHook = std::function<void(const std::string& device, std::uint64_t key)>;

  bool exists(const std::string& path) override {
    std::lock_guard lock(m_mutex);
    if (m_files.count(path) != 0) {
      return true;
    }
    std::string prefix = path + "/";
    return std::any_of(m_files.begin(), m_files.end(),
                       [&](const auto& kv) { return kv.first.rfind(prefix, 0) == 0; });
  }

  std::vector<std::string> list(const std::string& dir) override {
    std::lock_guard lock(m_mutex);
    std::set<std::string> names;
    std::string prefix = dir + "/";
    for (const auto& [path, data] : m_files) {
      if (path.rfind(prefix, 0) == 0) {
        std::string rest = path.substr(prefix.size());
        names.insert(rest.substr(0, rest.find('/')));
      }
    }
    return {names.begin(), names.end()};
  }

  std::string read(const std::string& path) override {
    std::lock_guard lock(m_mutex);
    auto it = m_files.find(path);
    if (it == m_files.end()) {
      throw not_found("open " + path + ": No such file or directory");
    }
    return it->second;
  }

  void write(const std::string& path, const std::string& data) override {
    WriteHook hook;
    {
      std::lock_guard lock(m_mutex);
      m_writes.emplace_back(path, data);
      hook = m_write_hook;
      if (!hook) {
        m_files[path] = data;
      }
    }
    if (hook) {
      hook(*this, path, data);
    }
  }

  std::optional<std::chrono::system_clock::time_point> modified_at(const std::string& path) override {
    std::lock_guard lock(m_mutex);
    auto it = m_mtimes.find(path);
    if (it == m_mtimes.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  void remove(const std::string& path) override {
    std::lock_guard lock(m_mutex);
    m_mtimes.erase(path);
    m_removed.push_back(path);
  }

  void touch_file(const std::string& path) override {
    std::lock_guard lock(m_mutex);
    m_mtimes[path] = std::chrono::system_clock::now();
  }

  void register_key(const std::string& device, std::uint64_t key, Deadline /*deadline*/) override {
    KeyHook hook;
    {
      std::lock_guard lock(m_mutex);
      m_keys.emplace_back(device, key);
      hook = m_key_hook;
    }
    if (hook) {
      hook(device, key);
    }
  }

  // Scripting and inspection.
  void put(const std::string& path, const std::string& data = {}) {
    std::lock_guard lock(m_mutex);
    m_files[path] = data;
  }
  void erase_tree(const std::string& path) {
    std::lock_guard lock(m_mutex);
    std::string prefix = path + "/";
    for (auto it = m_files.begin(); it != m_files.end();) {
      if (it->first == path || it->first.rfind(prefix, 0) == 0) {
        it = m_files.erase(it);
      } else {
        ++it;
      }
    }
  }
  void touch(const std::string& path, std::chrono::system_clock::time_point when) {
    std::lock_guard lock(m_mutex);
    m_mtimes[path] = when;
  }
  void on_write(WriteHook hook) {
    std::lock_guard lock(m_mutex);
    m_write_hook = std::move(hook);
  }
  void on_register_key(KeyHook hook) {
    std::lock_guard lock(m_mutex);
    m_key_hook = std::move(hook);
  }
  std::vector<std::pair<std::string, std::string>> writes() const {
    std::lock_guard lock(m_mutex);
    return m_writes;
  }
  std::vector<std::pair<std::string, std::uint64_t>> keys() const {
    std::lock_guard lock(m_mutex);
    return m_keys;
  }
  std::vector<std::string> removed() const {
    std::lock_guard lock(m_mutex);
    return m_removed;
  }

 private:
  mutable std::mutex m_mutex;
  std::map<std::string, std::string> m_files;
  std::map<std::string, std::chrono::system_clock::time_point> m_mtimes;
  std::vector<std::pair<std::string, std::string>> m_writes;
  std::vector<std::pair<std::string, std::uint64_t>> m_keys;
  std::vector<std::string> m_removed;
  WriteHook m_write_hook;
  KeyHook m_key_hook;
};

}  // namespace holdfast::iscsi::test
