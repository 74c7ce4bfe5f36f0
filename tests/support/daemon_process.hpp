// holdfast::test::DaemonProcess: the real holdfastd binary run as a child
// process for protocol, crash and bench code.
//
// Everything lives under one directory the caller owns (usually a TempDir):
//   <root>/holdfast.yaml   the config (given, or a local backend under <root>)
//   <root>/state           --state-dir
//   <root>/mounts          --mount-root
//   <root>/run/plugin.sock --socket
//   <root>/run/admin.sock  --admin-socket
//   <root>/daemon.log      the daemon's stdout and stderr (appended across
//                          restarts), for printing when a test fails
// start() waits until the socket answers /Plugin.Activate; stop() sends
// SIGTERM and reaps, kill() sends SIGKILL. The child is started with fork +
// execve (only async-signal-safe calls in between), which also allows
// handing it a listening socket as systemd does (LISTEN_FDS/LISTEN_PID).
//
// The binary is $HOLDFAST_DAEMON if set, else
// HOLDFAST_BINARY_DIR/src/daemon/holdfastd.
//
// Not thread-safe: one thread drives a DaemonProcess. The destructor kills a
// child still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace holdfast::test {

struct DaemonSettings {
  // Config file contents; empty means a local backend storing volumes in
  // <root>/volumes.
  std::string config_yaml;
  std::string log_level = "debug";
  std::vector<std::string> extra_args;
};

class DaemonProcess {
 public:
  DaemonProcess(std::string root, DaemonSettings settings = {});
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  static std::string binary_path();

  // Starts the daemon and waits until it answers Activate. Throws
  // std::runtime_error (with the daemon's log) if it exits or does not
  // answer within `timeout`.
  void start(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Starts without waiting. With `listen_fd` >= 0, the child gets that
  // socket as fd 3 with LISTEN_FDS=1 and LISTEN_PID=<its pid>.
  void spawn(int listen_fd = -1);
  // Waits until Activate answers 200; false if the daemon exits or the
  // timeout passes.
  bool wait_ready(std::chrono::milliseconds timeout);

  // SIGTERM, then waits; SIGKILL after `timeout`. Returns the exit status
  // (128 + signal if killed by one).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // SIGKILL and reap.
  void kill();
  // stop() (or kill() when `hard`) and start() again.
  void restart(bool hard = false);
  // Waits for the child to exit by itself; its status, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  pid_t pid() const { return m_pid; }

  const std::string& root() const { return m_root; }
  const std::string& config_path() const { return m_config_path; }
  const std::string& socket_path() const { return m_socket_path; }
  const std::string& admin_socket_path() const { return m_admin_socket_path; }
  const std::string& state_dir() const { return m_state_dir; }
  const std::string& mount_root() const { return m_mount_root; }
  const std::string& log_path() const { return m_log_path; }
  // The log file's contents (everything the daemon printed so far).
  std::string log() const;
  std::vector<std::string> argv() const;

 private:
  std::optional<int> reap(bool block);

  std::string m_root;
  DaemonSettings m_settings;
  std::string m_config_path;
  std::string m_socket_path;
  std::string m_admin_socket_path;
  std::string m_state_dir;
  std::string m_mount_root;
  std::string m_log_path;
  pid_t m_pid = -1;
};

struct CommandOutput {
  int exit_code = -1;  // 128 + signal if killed by one
  std::string out;
  std::string err;
};

// Runs holdfastd with `args` to completion (for --check-config, --version),
// killing it after `timeout`.
CommandOutput run_holdfastd(const std::vector<std::string>& args,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));
// Runs any program (argv[0]: its path) to completion the same way.
CommandOutput run_program(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace holdfast::test
