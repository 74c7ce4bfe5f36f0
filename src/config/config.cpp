#include "config/config.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

#include <holdfast/backend.hpp>
#include <holdfast/config_reader.hpp>
#include <holdfast/error.hpp>
#include <holdfast/volume.hpp>

namespace holdfast {

namespace {

using namespace std::chrono_literals;

// Docker waits 120 s for Create/Mount and 60 s for the other calls; our
// budgets must end early enough for the reply to arrive in time.
constexpr std::chrono::milliseconds k_max_long_deadline = 115s;
constexpr std::chrono::milliseconds k_max_short_deadline = 55s;
constexpr std::chrono::milliseconds k_min_deadline = 1s;

// The audit log's size cap: below 64 KiB a file holds a few dozen lines;
// above 4 GiB the cap no longer protects a state filesystem.
constexpr std::uint64_t k_min_audit_bytes = 64 * 1024;
constexpr std::uint64_t k_max_audit_bytes = std::uint64_t{4} << 30;
constexpr long long k_max_audit_keep = 100;

// sockaddr_un::sun_path holds 108 bytes including the terminating NUL.
constexpr std::size_t k_max_socket_path = 107;

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
    return "localhost";
  }
  return buf;
}

std::string absolute_path(ConfigReader& reader, const std::string& key, const std::string& fallback) {
  std::string value = reader.string(key, fallback);
  if (value.empty() || value.front() != '/') {
    reader.fail(key, "must be an absolute path, got \"" + value + "\"");
  }
  if (value.find('\0') != std::string::npos) {
    reader.fail(key, "must not contain a NUL byte");
  }
  return value;
}

std::string socket_path(ConfigReader& reader, const std::string& key, const std::string& fallback) {
  std::string value = absolute_path(reader, key, fallback);
  if (value.size() > k_max_socket_path) {
    reader.fail(key, "a unix socket path can be at most " + std::to_string(k_max_socket_path) +
                         " bytes, this one is " + std::to_string(value.size()));
  }
  return value;
}

// The same rule as volume names: safe in paths, labels and messages.
void check_identifier(ConfigReader& reader, const std::string& key, const std::string& value,
                      const std::string& what) {
  bool ok = !value.empty() && value.size() <= 64;
  for (std::size_t i = 0; ok && i < value.size(); ++i) {
    char c = value[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '_' || c == '.' || c == '-'));
  }
  if (!ok) {
    reader.fail(key, what + " \"" + value +
                         "\" is not allowed: use 1 to 64 letters, digits, '_', '.' and '-', starting with a "
                         "letter or digit");
  }
}

// A plain number of bytes, checked here (not by ConfigReader::integer) so
// that "10M" or a negative number gets a message that says what to write.
std::uint64_t audit_max_bytes(ConfigReader& reader, std::uint64_t fallback) {
  const std::string key = "audit_log_max_bytes";
  auto text = reader.string(key);
  if (!text) {
    return fallback;
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < k_min_audit_bytes ||
      value > k_max_audit_bytes) {
    reader.fail(key, "expected a number of bytes from " + std::to_string(k_min_audit_bytes) + " (64 KiB) to " +
                         std::to_string(k_max_audit_bytes) + " (4 GiB), such as 10485760 (10 MiB); got \"" +
                         *text + "\"");
  }
  return value;
}

std::string known_types() {
  std::string out;
  for (const auto& d : backend_registry()) {
    out += (out.empty() ? "" : ", ") + std::string(d.type);
  }
  return out;
}

void read_deadlines(ConfigReader reader, Deadlines& d) {
  d.create = reader.duration("create", d.create, k_min_deadline, k_max_long_deadline);
  d.mount = reader.duration("mount", d.mount, k_min_deadline, k_max_long_deadline);
  d.remove = reader.duration("remove", d.remove, k_min_deadline, k_max_short_deadline);
  d.unmount = reader.duration("unmount", d.unmount, k_min_deadline, k_max_short_deadline);
  d.volume_lock = reader.duration("volume_lock", d.volume_lock, 0ms, k_max_short_deadline);
  reader.finish();
}

// An absent, empty (`backends:`) or `{}` section gives no entries, and the
// caller keeps the built-in default, so that a config whose backends are
// all commented out still serves volumes.
std::vector<BackendConfig> read_backends(ConfigReader& top, YAML::Node root) {
  ConfigReader section = top.child("backends");
  std::vector<BackendConfig> out;
  for (const auto& name : section.keys()) {
    check_identifier(section, name, name, "backend name");
    if (!section.has(name)) {
      section.fail(name, "expected a mapping with at least a `type`");
    }
    ConfigReader entry = section.child(name);
    std::string type = entry.required_string("type");
    if (find_backend_type(type) == nullptr) {
      entry.fail("type", "unknown backend type \"" + type + "\" (available: " + known_types() + ")");
    }
    BackendConfig bc;
    bc.name = name;
    bc.type = type;
    out.push_back(std::move(bc));
  }
  // Before anything is changed below: a repeated name is reported here.
  section.finish();
  for (auto& bc : out) {
    // Handed to the factory without `type` (read above), so that its
    // finish() sees only its own keys. Removing from the loaded document
    // keeps every node's line for the factory's messages.
    bc.section = root["backends"][bc.name];
    bc.section.remove("type");
  }
  return out;
}

bool all_digits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::string ListenAddress::text() const {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                             : host + ":" + std::to_string(port);
}

ListenAddress parse_loopback_address(const std::string& text) {
  const std::string usage = "expected a loopback address and a port, such as 127.0.0.1:9436 or [::1]:9436";
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw invalid_argument("\"" + text + "\": " + usage);
  }
  std::string host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    throw invalid_argument("\"" + text + "\": write an IPv6 address in brackets; " + usage);
  }
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  if (!all_digits(port) || port.size() > 5 || std::stoul(port) == 0 || std::stoul(port) > 65535) {
    throw invalid_argument("\"" + text + "\": the port must be 1 to 65535; " + usage);
  }
  in_addr v4{};
  in6_addr v6{};
  bool loopback = false;
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    loopback = (ntohl(v4.s_addr) >> 24U) == 127U;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    loopback = IN6_IS_ADDR_LOOPBACK(&v6);
    host = "::1";
  } else {
    throw invalid_argument("\"" + text + "\": \"" + host + "\" is not an IP address; " + usage);
  }
  if (!loopback) {
    throw invalid_argument("\"" + text + "\": " + host +
                           " is not a loopback address; metrics are served without authentication and name "
                           "volumes, so only 127.0.0.0/8 and [::1] are accepted (scrape remote hosts through a "
                           "local agent or an SSH tunnel)");
  }
  return ListenAddress{host, static_cast<std::uint16_t>(std::stoul(port))};
}

std::string audit_log_path(const Config& config) {
  if (config.audit_log) {
    return *config.audit_log;
  }
  return config.state_dir + "/audit.log";
}

Config default_config() {
  Config config;
  config.host_id = hostname();
  BackendConfig local;
  local.name = "local";
  local.type = "local";
  local.section = YAML::Node(YAML::NodeType::Map);
  config.backends.push_back(std::move(local));
  return config;
}

Config parse_config(const std::string& text, const std::string& file_name) {
  std::string file = file_name.empty() ? std::string("config") : file_name;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's what() repeats the position; its msg does not.
    std::string where = e.mark.line >= 0 ? file + ":" + std::to_string(e.mark.line + 1) : file;
    throw invalid_argument(where + ": YAML syntax error: " + e.msg);
  }

  Config config = default_config();
  config.file = file_name;
  ConfigReader top(root, file, "");

  config.socket_path = socket_path(top, "socket", config.socket_path);
  config.state_dir = absolute_path(top, "state_dir", config.state_dir);
  config.mount_root = absolute_path(top, "mount_root", config.mount_root);
  config.admin_socket_path = socket_path(top, "admin_socket", config.admin_socket_path);
  if (auto listen = top.string("metrics_listen")) {
    try {
      config.metrics_listen = parse_loopback_address(*listen);
    } catch (const Error& e) {
      top.fail("metrics_listen", e.what());
    }
  }
  if (auto audit = top.string("audit_log")) {
    if (!audit->empty()) {
      *audit = absolute_path(top, "audit_log", "");
    }
    config.audit_log = *audit;
  }
  config.audit_log_max_bytes = audit_max_bytes(top, config.audit_log_max_bytes);
  config.audit_log_keep =
      static_cast<unsigned>(top.integer("audit_log_keep", config.audit_log_keep, 1, k_max_audit_keep));
  config.log_level = top.choice("log_level", config.log_level, {"trace", "debug", "info", "warn", "error"});
  if (auto host = top.string("host_id")) {
    check_identifier(top, "host_id", *host, "host_id");
    config.host_id = *host;
  }
  config.refresh_interval = top.duration("refresh_interval", config.refresh_interval, 1s, 24h);
  read_deadlines(top.child("deadlines"), config.deadlines);

  auto backends = read_backends(top, root);
  if (!backends.empty()) {
    config.backends = std::move(backends);
  }

  auto default_backend = top.string("default_backend");
  if (default_backend) {
    config.default_backend = *default_backend;
  } else if (config.backends.size() == 1) {
    config.default_backend = config.backends.front().name;
  }
  bool found = false;
  std::string names;
  for (const auto& bc : config.backends) {
    found = found || bc.name == config.default_backend;
    names += (names.empty() ? "" : ", ") + bc.name;
  }
  if (!found) {
    if (default_backend) {
      top.fail("default_backend", "\"" + *default_backend + "\" is not a configured backend (configured: " +
                                      names + ")");
    }
    top.fail("default_backend", "is required when several backends are configured and none is named "
                                "\"local\" (configured: " + names + ")");
  }

  top.finish();
  return config;
}

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw from_errno("config file " + path, errno);
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw from_errno("config file " + path, errno);
  }
  return parse_config(text.str(), path);
}

}  // namespace holdfast
