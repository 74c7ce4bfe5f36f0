// holdfast::AuditLog: one JSON line per mutating call, appended to a file
// (config `audit_log`, default <state_dir>/audit.log), for "who did what to
// which volume, and did it work":
//
//   {"time":"2026-11-28T10:15:02.123Z","source":"plugin","call":"mount",
//    "volume":"db","mount_id":"3f2a...","outcome":"ok","duration_ms":12.4}
//
// Plugin calls Create/Remove/Mount/Unmount and the operator's resize,
// release and reconcile --apply are recorded; reads are not. An error's text
// is passed through redact() (it is already redacted at its source; this is
// a second net): the log never holds a secret, and never a volume's options.
//
// The file is opened once with O_APPEND (mode 0600) and each line is one
// write(2), so lines from concurrent calls never interleave. A failed write
// is logged (once until a write succeeds again) and never fails the call.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include <holdfast/fd.hpp>

namespace holdfast {

struct AuditEntry {
  std::string source;  // "plugin" or "admin"
  std::string call;    // "create", "remove", "mount", "unmount", "resize", "release", "reconcile"
  std::string volume;
  std::string mount_id;
  std::string error;  // "" when the call succeeded
  std::chrono::microseconds duration{0};
  nlohmann::json details = nlohmann::json::object();  // e.g. {"size":"20G"}; omitted when empty
};

class AuditLog {
 public:
  // Disabled: write() does nothing.
  AuditLog() = default;
  // Opens `path` for appending, creating it (0600) and a missing parent
  // directory (0700). Throws holdfast::Error naming the path.
  explicit AuditLog(const std::string& path);

  bool enabled() const { return static_cast<bool>(m_fd); }
  const std::string& path() const { return m_path; }

  // Appends one line. Never throws.
  void write(const AuditEntry& entry) noexcept;

  // The line (with its newline) for `entry` at `now`.
  static std::string line(const AuditEntry& entry, std::chrono::system_clock::time_point now);

 private:
  std::string m_path;
  Fd m_fd;
  std::atomic<bool> m_failing{false};
};

}  // namespace holdfast
