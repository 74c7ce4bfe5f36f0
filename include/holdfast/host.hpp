// The host boundary that backends use: running programs and mounting.
//
// Backends never spawn processes or call mount(2) themselves; they receive a
// CommandRunner and a Mounter (real ones in src/sys, fakes in tests/support),
// as ninja's CommandRunner and leveldb's Env do.
#pragma once

#include <string>
#include <vector>

#include <holdfast/deadline.hpp>

namespace holdfast {

struct CommandResult {
  int exit_code = -1;      // exit status, or -1 when killed or not started
  bool timed_out = false;  // killed because the deadline passed
  std::string out;         // captured stdout (bounded)
  std::string err;         // captured stderr (bounded)
};

// Runs a program from an argv vector, never through a shell.
// Thread-safe: may be called from any thread concurrently.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;

  // argv[0] is an absolute path or a program name looked up in a fixed,
  // trusted PATH. The process is killed (SIGKILL to its process group) when
  // the deadline passes. Never throws for a non-zero exit; throws
  // holdfast::Error only when the program cannot be started.
  virtual CommandResult run(const std::vector<std::string>& argv, Deadline deadline,
                            const std::string& stdin_data = {}) = 0;
};

// Runs argv and throws unless it exits 0. The error names `what`, the exit
// status and the (redacted, trimmed) stderr; a timeout throws ErrorKind::timeout.
// Returns stdout.
std::string run_checked(CommandRunner& runner, const std::vector<std::string>& argv,
                        Deadline deadline, const std::string& what);

// One line of /proc/self/mountinfo (see proc(5)); octal escapes decoded.
struct MountEntry {
  int mount_id = 0;
  int parent_id = 0;
  unsigned major = 0;
  unsigned minor = 0;
  std::string root;
  std::string mount_point;
  std::string mount_options;
  std::string fs_type;
  std::string source;
  std::string super_options;
};

// Parses mountinfo text; malformed lines are skipped (and counted in
// `skipped` when given). Never throws.
std::vector<MountEntry> parse_mountinfo(const std::string& text, std::size_t* skipped = nullptr);

enum class UnmountMode { normal, lazy, force };

// Mounting and the mount table. Thread-safe.
class Mounter {
 public:
  virtual ~Mounter() = default;

  // Current mount table of this process (/proc/self/mountinfo).
  virtual std::vector<MountEntry> mounts() = 0;

  // mount(2) wrapper. `data` is the comma-separated option string passed to
  // the filesystem. Throws holdfast::Error (classified from errno).
  virtual void mount(const std::string& source, const std::string& target,
                     const std::string& fs_type, unsigned long flags, const std::string& data,
                     Deadline deadline) = 0;

  // umount2(2) wrapper. Succeeds if `target` is not mounted. Throws
  // holdfast::Error.
  virtual void unmount(const std::string& target, UnmountMode mode, Deadline deadline) = 0;

  // True if some mount has exactly this mount point (no filesystem access,
  // so it cannot hang on a dead NFS server).
  virtual bool is_mounted(const std::string& target) = 0;
};

}  // namespace holdfast
