// holdfast::nfs::NfsConfig: one `type: nfs` section of the config file,
// read strictly (unknown keys and bad values are errors with file:line),
// with every default in one place. docs/backends/nfs.md documents each key.
//
//   backends:
//     filer:
//       type: nfs
//       server: 10.0.0.5            # required: host name or IPv4 address
//       export: /srv/docker         # required: the exported path
//       base_path: /holdfast        # directory in the export holding the volumes
//       nfs_version: "4"            # kernel mount: 3, 4, 4.0, 4.1, 4.2
//       provision_version: 3        # protocol holdfast provisions with (libnfs): 3 or 4
//       mount_options: [hard, proto=tcp, timeo=600, retrans=2]
//       allow_options: []           # suid, dev: refused unless listed
//       on_remove: delete           # delete | archive | retain
//       ...
//
// Plain data after parsing; thread-safe to read.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <holdfast/config_reader.hpp>

namespace holdfast::nfs {

enum class RemovePolicy { remove_data, archive, retain };

struct NfsConfig {
  std::string server;
  std::string export_path;
  std::string base_path = "/holdfast";
  std::string nfs_version = "4";
  int provision_version = 3;
  std::vector<std::pair<std::string, std::string>> mount_options = {
      {"hard", ""}, {"proto", "tcp"}, {"timeo", "600"}, {"retrans", "2"}};
  std::set<std::string> allow_options;
  std::optional<int> port;
  std::optional<int> mount_port;
  std::optional<std::uint32_t> default_uid;
  std::optional<std::uint32_t> default_gid;
  unsigned default_mode = 0755;
  RemovePolicy on_remove = RemovePolicy::remove_data;
  // A directory <base>/<name> that exists without a holdfast record (left by
  // on_remove=retain, or made by hand) is adopted by Create only if true.
  bool adopt_existing = false;
  // Budgets; each is capped by the Deadline the volume manager gives.
  std::chrono::milliseconds provision_timeout{30'000};
  std::chrono::milliseconds mount_timeout{60'000};
  std::chrono::milliseconds probe_timeout{5'000};
  std::chrono::milliseconds unmount_timeout{10'000};
  // Upper bound on records read by one discovery.
  std::size_t max_volumes = 10'000;
};

// Reads every key of the section and calls config.finish(). Throws
// invalid_argument located at the offending key.
NfsConfig read_nfs_config(ConfigReader& config);

std::string to_string(RemovePolicy policy);

}  // namespace holdfast::nfs
