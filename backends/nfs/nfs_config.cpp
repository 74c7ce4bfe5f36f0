#include "nfs_config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <holdfast/error.hpp>

#include "nfs_options.hpp"

namespace holdfast::nfs {

namespace {

using std::chrono::milliseconds;

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

bool is_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_' || c == '/';
}

// Host names and IPv4 literals. IPv6 literals are not accepted: libnfs 4.0
// cannot parse them in its URL syntax, which it needs for explicit ports.
void check_server(ConfigReader& config, const std::string& server) {
  bool ok = !server.empty() && server.size() <= 253 && std::all_of(server.begin(), server.end(), is_host_char) &&
            server.front() != '-' && server.front() != '.';
  if (!ok) {
    config.fail("server", "\"" + server + "\" is not a host name or IPv4 address");
  }
}

// Absolute, normalised, from a plain character set: the export path and the
// base path end up in a libnfs URL, in mount.nfs's "server:/path" argument
// and in messages.
std::string check_path(ConfigReader& config, const std::string& key, const std::string& path, bool allow_root) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') {
    trimmed.pop_back();
  }
  bool ok = !trimmed.empty() && trimmed.size() <= 1024 && trimmed.front() == '/' &&
            std::all_of(trimmed.begin(), trimmed.end(), is_path_char) && trimmed.find("//") == std::string::npos;
  if (ok) {
    std::size_t start = 1;
    while (start <= trimmed.size()) {
      auto end = trimmed.find('/', start);
      std::string part = trimmed.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (part == "." || part == "..") {
        ok = false;
      }
      if (end == std::string::npos) {
        break;
      }
      start = end + 1;
    }
  }
  if (!ok) {
    config.fail(key, "\"" + path +
                         "\" must be an absolute path of letters, digits, '.', '-', '_' and '/', "
                         "without \".\" or \"..\" components");
  }
  if (!allow_root && trimmed == "/") {
    config.fail(key, "must not be \"/\"");
  }
  return trimmed;
}

std::optional<std::uint32_t> id_value(ConfigReader& config, const std::string& key) {
  auto v = config.integer(key, 0, 4'294'967'294LL);
  if (!v) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(*v);
}

}  // namespace

std::string to_string(RemovePolicy policy) {
  switch (policy) {
    case RemovePolicy::remove_data: return "delete";
    case RemovePolicy::archive: return "archive";
    case RemovePolicy::retain: return "retain";
  }
  return "delete";
}

NfsConfig read_nfs_config(ConfigReader& config) {
  NfsConfig out;
  // The daemon dispatches on `type`; reading it here marks it as known.
  (void)config.string("type");

  out.server = config.required_string("server");
  check_server(config, out.server);
  out.export_path = check_path(config, "export", config.required_string("export"), true);
  // base_path is a path inside the export; "/" puts volumes at its top.
  out.base_path = check_path(config, "base_path", config.string("base_path", out.base_path), true);

  out.nfs_version = config.string("nfs_version", out.nfs_version);
  if (!is_nfs_version(out.nfs_version)) {
    config.fail("nfs_version", "\"" + out.nfs_version + "\" is not one of 3, 4, 4.0, 4.1, 4.2");
  }
  out.provision_version = static_cast<int>(config.integer("provision_version", out.provision_version, 3, 4));

  if (config.has("mount_options")) {
    out.mount_options.clear();
    for (const auto& entry : config.string_list("mount_options")) {
      std::pair<std::string, std::string> option;
      std::string problem;
      try {
        option = parse_mount_option(entry);
      } catch (const Error& e) {
        problem = e.what();
      }
      if (!problem.empty()) {
        config.fail("mount_options", problem);
      }
      if (option.first == "vers") {
        config.fail("mount_options", "set the version with nfs_version, not vers=");
      }
      out.mount_options.push_back(option);
    }
  } else {
    (void)config.string_list("mount_options");
  }
  for (const auto& name : config.string_list("allow_options")) {
    if (k_privileged_options.count(name) == 0) {
      config.fail("allow_options", "\"" + name + "\" is not an option that needs allowing (suid, dev)");
    }
    out.allow_options.insert(name);
  }
  for (const auto& [name, value] : out.mount_options) {
    (void)value;
    if (k_privileged_options.count(name) != 0 && out.allow_options.count(name) == 0) {
      config.fail("mount_options", name + " weakens the host; list it in allow_options to use it");
    }
  }

  if (auto port = config.integer("port", 1, 65535)) {
    out.port = static_cast<int>(*port);
  }
  if (auto port = config.integer("mount_port", 1, 65535)) {
    out.mount_port = static_cast<int>(*port);
  }
  out.default_uid = id_value(config, "default_uid");
  out.default_gid = id_value(config, "default_gid");
  if (auto mode = config.mode("default_mode")) {
    if (*mode > 07777) {
      config.fail("default_mode", "out of range");
    }
    out.default_mode = *mode;
  }
  std::string policy = config.choice("on_remove", "delete", {"delete", "archive", "retain"});
  out.on_remove = policy == "archive" ? RemovePolicy::archive
                  : policy == "retain" ? RemovePolicy::retain
                                       : RemovePolicy::remove_data;
  out.adopt_existing = config.boolean("adopt_existing", out.adopt_existing);

  out.provision_timeout = config.duration("provision_timeout", out.provision_timeout, milliseconds(500), milliseconds(600'000));
  out.mount_timeout = config.duration("mount_timeout", out.mount_timeout, milliseconds(1'000), milliseconds(600'000));
  out.probe_timeout = config.duration("probe_timeout", out.probe_timeout, milliseconds(200), milliseconds(60'000));
  out.unmount_timeout = config.duration("unmount_timeout", out.unmount_timeout, milliseconds(200), milliseconds(600'000));
  out.max_volumes = static_cast<std::size_t>(config.integer("max_volumes", static_cast<long long>(out.max_volumes), 1, 1'000'000));

  if (out.provision_version == 4 && (out.default_uid || out.default_gid)) {
    config.fail("provision_version",
                "4 cannot set ownership (libnfs 4.0's NFSv4 client cannot chown directories); "
                "use provision_version: 3 or drop default_uid/default_gid");
  }
  config.finish();
  return out;
}

}  // namespace holdfast::nfs
