#include "nfs_options.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include <holdfast/error.hpp>

namespace holdfast::nfs {

namespace {

enum class ValueType { flag, number, choice };

struct Spec {
  std::string_view name;
  ValueType type;
  unsigned long min = 0;
  unsigned long max = 0;
  std::vector<std::string_view> choices;
  std::string_view group;  // options of one group exclude each other ("" = none)
  std::string_view help;
};

// Order here is the order in the built option string (after vers).
const std::vector<Spec>& table() {
  static const std::vector<Spec> specs = {
      {"vers", ValueType::choice, 0, 0, {"3", "4", "4.0", "4.1", "4.2"}, "", "NFS version: 3, 4, 4.0, 4.1 or 4.2"},
      {"proto", ValueType::choice, 0, 0, {"tcp", "tcp6", "rdma", "rdma6"}, "", "transport: tcp, tcp6, rdma or rdma6"},
      {"port", ValueType::number, 1, 65535, {}, "", "NFS server port"},
      {"mountport", ValueType::number, 1, 65535, {}, "", "MOUNT service port (NFSv3)"},
      {"hard", ValueType::flag, 0, 0, {}, "recovery", "retry NFS requests indefinitely (default)"},
      {"soft", ValueType::flag, 0, 0, {}, "recovery", "fail NFS requests after retrans retries"},
      {"timeo", ValueType::number, 1, 6000, {}, "", "RPC timeout in tenths of a second (1-6000)"},
      {"retrans", ValueType::number, 1, 100, {}, "", "retries before a major timeout (1-100)"},
      {"rsize", ValueType::number, 4096, 1048576, {}, "", "read size in bytes (4096-1048576)"},
      {"wsize", ValueType::number, 4096, 1048576, {}, "", "write size in bytes (4096-1048576)"},
      {"nconnect", ValueType::number, 1, 16, {}, "", "TCP connections to the server (1-16)"},
      {"sec", ValueType::choice, 0, 0, {"sys", "krb5", "krb5i", "krb5p"}, "", "security flavour: sys, krb5, krb5i or krb5p"},
      {"noatime", ValueType::flag, 0, 0, {}, "atime", "do not update access times"},
      {"relatime", ValueType::flag, 0, 0, {}, "atime", "update access times relative to modification"},
      {"nodiratime", ValueType::flag, 0, 0, {}, "", "do not update directory access times"},
      {"actimeo", ValueType::number, 0, 3600, {}, "", "attribute cache time for everything, seconds (0-3600)"},
      {"acregmin", ValueType::number, 0, 3600, {}, "", "minimum file attribute cache time, seconds"},
      {"acregmax", ValueType::number, 0, 3600, {}, "", "maximum file attribute cache time, seconds"},
      {"acdirmin", ValueType::number, 0, 3600, {}, "", "minimum directory attribute cache time, seconds"},
      {"acdirmax", ValueType::number, 0, 3600, {}, "", "maximum directory attribute cache time, seconds"},
      {"noac", ValueType::flag, 0, 0, {}, "", "no attribute caching"},
      {"nocto", ValueType::flag, 0, 0, {}, "", "no close-to-open cache consistency"},
      {"lookupcache", ValueType::choice, 0, 0, {"all", "none", "pos", "positive"}, "", "lookup cache: all, none, pos or positive"},
      {"nolock", ValueType::flag, 0, 0, {}, "", "no NLM locking (NFSv3)"},
      {"local_lock", ValueType::choice, 0, 0, {"none", "all", "flock", "posix"}, "", "local locking: none, all, flock or posix"},
      {"sync", ValueType::flag, 0, 0, {}, "", "synchronous writes"},
      {"ro", ValueType::flag, 0, 0, {}, "", "read-only mount"},
      {"noexec", ValueType::flag, 0, 0, {}, "", "no execution of binaries"},
      {"suid", ValueType::flag, 0, 0, {}, "", "honour set-user-ID bits (only if the config allows it)"},
      {"dev", ValueType::flag, 0, 0, {}, "", "honour device files (only if the config allows it)"},
  };
  return specs;
}

const Spec* find_spec(std::string_view name) {
  for (const auto& spec : table()) {
    if (spec.name == name) {
      return &spec;
    }
  }
  return nullptr;
}

std::string choices_text(const Spec& spec) {
  std::string out;
  for (auto c : spec.choices) {
    out += (out.empty() ? "" : ", ") + std::string(c);
  }
  return out;
}

// Visible form of a rejected value, so control characters cannot garble
// the message or the log.
std::string shown(std::string_view value) {
  std::string out;
  for (char ch : value.substr(0, 64)) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  if (value.size() > 64) {
    out += "...";
  }
  return out;
}

}  // namespace

std::vector<OptionSpec> mount_option_specs() {
  std::vector<OptionSpec> out;
  for (const auto& spec : table()) {
    out.push_back(OptionSpec{std::string(spec.name), std::string(spec.help)});
  }
  return out;
}

bool is_mount_option(std::string_view name) { return find_spec(name) != nullptr; }

bool is_nfs_version(std::string_view version) {
  const auto& choices = find_spec("vers")->choices;
  return std::find(choices.begin(), choices.end(), version) != choices.end();
}

std::string validate_mount_option(const std::string& name, const std::string& value) {
  const Spec* spec = find_spec(name);
  if (spec == nullptr) {
    throw invalid_argument(fmt::format("unknown nfs mount option \"{}\"", shown(name)));
  }
  switch (spec->type) {
    case ValueType::flag:
      if (value.empty() || value == "true") {
        return "";
      }
      throw invalid_argument(fmt::format("option {} is a flag: give it as \"-o {}\" (or {}=true), not \"{}\"",
                                         name, name, name, shown(value)));
    case ValueType::number: {
      unsigned long number = 0;
      bool digits = !value.empty() && value.size() <= 10 &&
                    std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (!digits || ec != std::errc() || end != value.data() + value.size() || number < spec->min ||
          number > spec->max) {
        throw invalid_argument(fmt::format("option {} must be a number from {} to {}, not \"{}\"", name,
                                           spec->min, spec->max, shown(value)));
      }
      return std::to_string(number);  // canonical: no leading zeros
    }
    case ValueType::choice:
      if (std::find(spec->choices.begin(), spec->choices.end(), value) != spec->choices.end()) {
        return value;
      }
      throw invalid_argument(fmt::format("option {} must be one of {}, not \"{}\"", name, choices_text(*spec),
                                         shown(value)));
  }
  throw internal_error("unreachable option type");
}

std::pair<std::string, std::string> parse_mount_option(const std::string& entry) {
  auto eq = entry.find('=');
  std::string name = entry.substr(0, eq);
  std::string value = eq == std::string::npos ? "" : entry.substr(eq + 1);
  const Spec* spec = find_spec(name);
  if (spec != nullptr && spec->type == ValueType::flag && eq != std::string::npos) {
    throw invalid_argument(fmt::format("mount option {} is a flag and takes no value (\"{}\")", name, shown(entry)));
  }
  if (spec != nullptr && spec->type != ValueType::flag && eq == std::string::npos) {
    throw invalid_argument(fmt::format("mount option {} needs a value ({}=...)", name, name));
  }
  return {name, validate_mount_option(name, value)};
}

std::string build_mount_options(const MountOptionInputs& inputs) {
  // name -> value for everything but vers, in table order when emitted.
  std::map<std::string, std::string> chosen;
  for (const auto& [name, value] : inputs.defaults) {
    chosen[name] = value;
  }
  std::string version = inputs.version;
  for (const auto& [name, value] : inputs.volume) {
    const Spec* spec = find_spec(name);
    if (spec == nullptr) {
      continue;  // uid, gid, mode: not mount options
    }
    if (name == "vers") {
      version = value;
      continue;
    }
    if (!spec->group.empty()) {
      for (const auto& other : table()) {
        if (other.group == spec->group) {
          chosen.erase(std::string(other.name));
        }
      }
    }
    chosen[name] = value;
  }
  if (inputs.port && chosen.count("port") == 0) {
    chosen["port"] = std::to_string(*inputs.port);
  }
  if (inputs.mount_port && chosen.count("mountport") == 0 && version == "3") {
    chosen["mountport"] = std::to_string(*inputs.mount_port);
  }
  if (version.empty() || !is_nfs_version(version)) {
    throw invalid_argument(fmt::format("invalid nfs version \"{}\"", shown(version)));
  }

  std::string out = "vers=" + version;
  for (const auto& spec : table()) {
    std::string name(spec.name);
    auto it = chosen.find(name);
    if (name == "vers" || it == chosen.end()) {
      continue;
    }
    if (k_privileged_options.count(name) != 0 && inputs.allowed.count(name) == 0) {
      throw invalid_argument(fmt::format("mount option {} is not allowed by this backend's allow_options", name));
    }
    // Re-validate: the string below must only ever hold table options.
    std::string value = validate_mount_option(name, it->second);
    out += "," + name;
    if (spec.type != ValueType::flag) {
      out += "=" + value;
    }
  }
  for (const auto& name : k_privileged_options) {
    if (chosen.count(name) == 0) {
      out += ",no" + name;
    }
  }
  return out;
}

}  // namespace holdfast::nfs
