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
// The file is opened with O_APPEND (mode 0600) and each line is one
// write(2) made under a mutex, so lines never interleave. A failed write
// is logged (once until a write succeeds again) and never fails the call; a
// short write (disk full) is cut back off the file, so every line in it
// stays one whole JSON object.
//
// Size cap (config audit_log_max_bytes, audit_log_keep): before a line
// would take the file past the cap, audit.log.<keep-1> becomes
// audit.log.<keep> (the oldest is dropped), ..., audit.log becomes
// audit.log.1, and a fresh audit.log (0600) is opened. The size is read
// from the open file at each write, so an outside logrotate `copytruncate`
// still works. A rotation that fails is logged (once until one succeeds)
// and the line is appended to the current file: auditing goes on, past the
// cap. Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
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

// When to rotate. The daemon's defaults are in config/config.hpp; this
// default (max_bytes 0) never rotates.
struct AuditRotation {
  std::uint64_t max_bytes = 0;  // rotate before the file would grow past this; 0: never
  unsigned keep = 1;            // rotated files kept: <path>.1 (newest) to <path>.<keep>
};

class AuditLog {
 public:
  // Disabled: write() does nothing.
  AuditLog() = default;
  // Opens `path` for appending, creating it (0600) and a missing parent
  // directory (0700). Throws holdfast::Error naming the path (also for a
  // rotation with max_bytes > 0 and keep 0).
  explicit AuditLog(const std::string& path, AuditRotation rotation = {});

  bool enabled() const { return m_enabled; }
  const std::string& path() const { return m_path; }
  const AuditRotation& rotation() const { return m_rotation; }

  // Appends one line, rotating first when the cap requires it. Never throws.
  void write(const AuditEntry& entry) noexcept;

  // What currently goes wrong (the last failed write or rotation, for
  // doctor); "" when the last write and rotation worked.
  std::string trouble() const;

  // The line (with its newline) for `entry` at `now`.
  static std::string line(const AuditEntry& entry, std::chrono::system_clock::time_point now);

 private:
  // Each needs m_mutex held. rotate_if_needed, rotate and reopen return
  // whether lines now go to another (fresh) file; `size` and `before` are
  // the current file's size (-1 when unknown).
  bool rotate_if_needed(off_t size, std::size_t incoming);
  bool rotate();
  bool reopen();
  void rotation_failed(const std::string& what, int err, const std::string& meanwhile);
  void append(const std::string& text, off_t before);

  std::string m_path;
  AuditRotation m_rotation;
  bool m_enabled = false;  // set by the constructor only

  mutable std::mutex m_mutex;  // guards everything below
  Fd m_fd;
  // The file was renamed away but a fresh one could not be opened yet:
  // lines go on to the renamed file, and each write tries to open again.
  bool m_reopen_pending = false;
  std::string m_write_trouble;   // "" while writes work
  std::string m_rotate_trouble;  // "" while rotations work
};

}  // namespace holdfast
