// NFS mount options: the allowlist, value validation, and the `-o` string
// handed to mount.nfs.
//
// Every option holdfast passes to the kernel comes from this table, whether
// it was written in the config (`mount_options:`) or given per volume
// (`docker volume create -o timeo=600`). Values are checked against a type
// (flag, bounded unsigned integer, fixed choice), so nothing a user writes
// can add a comma, an '=', a space or a newline to the option string: an
// option can only ever be one the table knows, with a value it accepts.
//
// Options that weaken the host (suid, dev) are refused unless the backend's
// config lists them in `allow_options`; everything else is mounted with
// nosuid,nodev.
//
// Pure functions over values; thread-safe.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <holdfast/volume.hpp>

namespace holdfast::nfs {

// Options that weaken the host; mounted "no<name>" unless allowed and asked for.
inline const std::set<std::string> k_privileged_options = {"suid", "dev"};

// The mount options of the table, with their help text (for the allowlist
// the volume manager checks and for error messages).
std::vector<OptionSpec> mount_option_specs();

bool is_mount_option(std::string_view name);

// Checks one option as Docker delivers it (`-o timeo=600` -> {"timeo",
// "600"}; `-o noatime` -> {"noatime", ""}). Flags accept "" or "true".
// Returns the normalised value ("" for a flag). Throws invalid_argument
// naming the option and what it accepts. Privileged options are checked by
// the caller (it knows the config).
std::string validate_mount_option(const std::string& name, const std::string& value);

// Parses one config list entry ("timeo=600", "hard") into name and value,
// validated as above.
std::pair<std::string, std::string> parse_mount_option(const std::string& entry);

// The NFS versions holdfast mounts with, as written in config and options.
bool is_nfs_version(std::string_view version);

// Everything that decides a volume's mount option string.
struct MountOptionInputs {
  std::string version;  // backend's nfs_version ("4.1"); a volume's `vers` wins
  std::vector<std::pair<std::string, std::string>> defaults;  // config mount_options, validated
  Options volume;  // the volume's options (non-mount keys such as uid are ignored)
  std::optional<int> port;        // backend's port (NFS), unless the volume sets one
  std::optional<int> mount_port;  // backend's mount_port (MOUNT, v3)
  std::set<std::string> allowed;  // privileged options the config allows
};

// Builds "vers=4.1,hard,proto=tcp,timeo=600,retrans=2,nosuid,nodev".
// Volume options override defaults of the same name and of the same
// exclusive group (hard/soft, noatime/relatime). Throws invalid_argument
// for a privileged option that is not allowed (defence in depth: validate()
// refuses it first).
std::string build_mount_options(const MountOptionInputs& inputs);

}  // namespace holdfast::nfs
