// holdfastd's wiring: config, logging, backends, state, the volume manager
// and the plugin socket, started in the order the engine needs and stopped
// gracefully on SIGTERM/SIGINT.
//
// Start-up order (guides/docker-engine-contract.md 2.3: listen before any
// slow initialisation): load the config, set up logging, build the backends
// (no I/O), open the socket and listen, load and reconcile state
// (VolumeManager::start; connections wait in the backlog meanwhile), tell
// systemd READY=1, serve. A maintenance thread calls VolumeManager::refresh()
// every refresh_interval.
//
// The admin socket (src/admin/admin_server.hpp: the operator CLI's API and
// /metrics) is opened right after the plugin socket and served, on threads
// of its own, once start-up is done; it stops with the plugin socket.
//
// Shutdown: SIGTERM/SIGINT stop accepting, remove the socket file, let
// in-flight requests finish (bounded), then exit 0. SIGHUP is logged and
// ignored (configuration is only read at start). A bad request never ends
// the process.
//
// Not thread-safe: run_daemon() is called once, from main.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"

namespace holdfast {

inline constexpr const char* k_default_config_path = "/etc/holdfast/holdfast.yaml";

struct DaemonOptions {
  std::string config_path = k_default_config_path;
  // A missing default config file means zero-config; a missing file given
  // with --config is an error.
  bool config_path_explicit = false;
  // Command-line overrides of config keys (tests, debugging).
  std::optional<std::string> socket_path;
  std::optional<std::string> admin_socket_path;
  std::optional<std::string> state_dir;
  std::optional<std::string> mount_root;
  std::optional<std::string> log_level;
};

// The config as the daemon will run it: file (or defaults) plus overrides.
// Throws holdfast::Error.
Config load_daemon_config(const DaemonOptions& options);

// --check-config: validates the config and builds the backends. Prints
// "config OK" (stdout) or the error (stderr). Returns the exit code (0/1).
int check_config(const DaemonOptions& options);

// Runs the daemon until SIGTERM/SIGINT. Returns the exit code; may end the
// process itself (see daemon.cpp) when requests are still stuck at exit.
int run_daemon(const DaemonOptions& options);

}  // namespace holdfast
