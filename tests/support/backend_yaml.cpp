#include "support/backend_yaml.hpp"

namespace holdfast::test {

std::string local_backend_yaml(const std::string& base_dir) {
  return "  local:\n"
         "    type: local\n"
         "    base_dir: " + base_dir + "\n";
}

std::string nfs_backend_yaml(const std::string& name, int port, const std::vector<std::string>& extra) {
  std::string out = "  " + name + ":\n"
                    "    type: nfs\n"
                    "    server: 127.0.0.1\n"
                    "    export: /export\n"
                    "    port: " + std::to_string(port) + "\n"
                    "    mount_port: " + std::to_string(port) + "\n";
  for (const auto& line : extra) {
    out += "    " + line + "\n";
  }
  return out;
}

}  // namespace holdfast::test
