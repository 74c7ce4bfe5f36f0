// YAML sections for the `backends:` map of a config that tests hand to the
// real holdfastd (DaemonSettings::config_yaml): one function per backend
// shape the reliability suites and benches use, indented to sit directly
// under `backends:`. Pure functions.
#pragma once

#include <string>
#include <vector>

namespace holdfast::test {

// "local" of type local, storing volumes in `base_dir`.
std::string local_backend_yaml(const std::string& base_dir);

// An nfs backend `name` on 127.0.0.1:`port` (NFS and MOUNT, export /export),
// plus `extra` keys as written ("provision_timeout: 2s").
std::string nfs_backend_yaml(const std::string& name, int port, const std::vector<std::string>& extra = {});

}  // namespace holdfast::test
