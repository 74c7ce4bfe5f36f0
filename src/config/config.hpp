// holdfastd's configuration: the YAML file (/etc/holdfast/holdfast.yaml) read
// into typed values, with every default in one place (config/holdfast.yaml
// documents each key). With no file at all, holdfastd serves one backend,
// "local", of type local, as the default.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace holdfast {

// Budgets for backend calls. Docker gives Create/Mount 120 s and the other
// calls 60 s; a managed plugin enabled with `docker plugin enable` gets 30 s
// for everything. Defaults stay below the v1 limits with margin.
struct Deadlines {
  std::chrono::milliseconds create{100'000};
  std::chrono::milliseconds remove{50'000};
  std::chrono::milliseconds mount{100'000};
  std::chrono::milliseconds unmount{50'000};
  // How long a call waits for another operation on the same volume to end
  // before answering "busy".
  std::chrono::milliseconds volume_lock{50'000};
};

// One entry under `backends:`; its section is kept as YAML and handed to the
// backend's factory (which validates its own keys). `section` no longer
// contains `type` (read here), so the factory's ConfigReader::finish() sees
// only the backend's own keys; its nodes keep their line numbers.
struct BackendConfig {
  std::string name;  // instance name, the key under `backends:`
  std::string type;  // registry type
  YAML::Node section;
};

// A TCP listening address (metrics_listen), always a loopback address.
struct ListenAddress {
  std::string host;  // an IPv4 address in 127.0.0.0/8, or "::1"
  std::uint16_t port = 0;

  // "127.0.0.1:9436", "[::1]:9436".
  std::string text() const;
};

struct Config {
  std::string file;  // where it was read from ("" = built-in defaults)
  std::string socket_path = "/run/docker/plugins/holdfast.sock";
  std::string state_dir = "/var/lib/holdfast";
  std::string mount_root = "/var/lib/holdfast/mounts";
  std::string admin_socket_path = "/run/holdfast/admin.sock";
  // Where GET /metrics is also served over TCP; absent: only on the admin socket.
  std::optional<ListenAddress> metrics_listen;
  // The audit log: absent means <state_dir>/audit.log (see audit_log_path),
  // "" means none.
  std::optional<std::string> audit_log;
  // The audit log is rotated before it would grow past this many bytes;
  // audit_log_keep rotated files are kept (audit.log.1 ... audit.log.<keep>).
  std::uint64_t audit_log_max_bytes = 10 * 1024 * 1024;
  unsigned audit_log_keep = 3;
  std::string log_level = "info";
  std::string host_id;  // default: the hostname
  // Absent in the file: "local" when such a backend is configured (always
  // true without `backends:`), else the only configured backend.
  std::string default_backend = "local";
  Deadlines deadlines;
  // Period of the background refresh (shared backends' discovery, capacity).
  std::chrono::milliseconds refresh_interval{15'000};
  std::vector<BackendConfig> backends;
};

// Reads and validates `path`. Unknown keys and bad values throw
// invalid_argument with "<file>:<line>: <key>: <reason>". Backend sections
// are checked for their `type` here and fully by `build_backends`. An
// unreadable file throws (a missing one: not_found), so the daemon can tell
// "no file" (zero-config: default_config()) from a broken one. An empty
// file, or one whose keys are all commented out, gives the defaults.
Config load_config(const std::string& path);
// Same, from text (for tests and --check-config on stdin).
Config parse_config(const std::string& text, const std::string& file_name);
// The zero-config default: one local backend named "local".
Config default_config();

// Parses "HOST:PORT" where HOST is a loopback address: 127.x.y.z,
// "localhost" (127.0.0.1) or "[::1]"; PORT 1 to 65535. Throws
// invalid_argument saying why (a non-loopback address is refused: metrics
// are served without authentication and name volumes).
ListenAddress parse_loopback_address(const std::string& text);

// The audit log file in effect: config.audit_log, else
// <state_dir>/audit.log; "" when disabled.
std::string audit_log_path(const Config& config);

}  // namespace holdfast
