// Fuzz target: the YAML config loader (src/config/config.cpp, parse_config)
// and the readers of the backend sections whose parsing is pure (nfs, lvm:
// backends/*/..._config.cpp). The local backend creates directories and the
// iscsi reader opens the files the config names, so their factories are not
// run on fuzzed paths.
//
// Contract checked (config.hpp): a bad config throws holdfast::Error (with
// the file and line), never anything else and never a crash; an accepted
// config has absolute paths, a configured default backend and deadlines
// inside their documented bounds.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <holdfast/config_reader.hpp>
#include <holdfast/error.hpp>

#include "config/config.hpp"
#include "fuzz_check.hpp"
#include "lvm_config.hpp"
#include "nfs_config.hpp"

using holdfast::fuzz::fuzz_require;
using namespace std::chrono_literals;

namespace {

void check_accepted(const holdfast::Config& config) {
  for (const std::string* path : {&config.socket_path, &config.state_dir, &config.mount_root,
                                  &config.admin_socket_path}) {
    fuzz_require(!path->empty() && path->front() == '/', "relative path accepted");
  }
  bool found = false;
  for (const auto& backend : config.backends) {
    found = found || backend.name == config.default_backend;
  }
  fuzz_require(found, "default_backend is not a configured backend");
  const auto& d = config.deadlines;
  for (auto deadline : {d.create, d.mount, d.remove, d.unmount}) {
    fuzz_require(deadline >= 1s && deadline <= 115s, "deadline out of bounds accepted");
  }
  fuzz_require(config.refresh_interval >= 1s, "refresh_interval below 1 s accepted");
}

// What BackendSet does with each section, for the backends whose reader
// touches nothing outside the YAML.
void read_backend_sections(const holdfast::Config& config) {
  for (const auto& bc : config.backends) {
    holdfast::ConfigReader reader(bc.section, config.file, "backends." + bc.name);
    try {
      if (bc.type == "nfs") {
        (void)holdfast::nfs::read_nfs_config(reader);
      } else if (bc.type == "lvm") {
        (void)holdfast::lvm::read_lvm_config(reader);
      }
    } catch (const holdfast::Error&) {
      // A bad backend section: the documented outcome.
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  holdfast::fuzz::silence_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  holdfast::Config config;
  try {
    config = holdfast::parse_config(std::string(holdfast::fuzz::as_text(data, size)), "fuzz.yaml");
  } catch (const holdfast::Error&) {
    return 0;  // a bad config: the documented outcome
  }
  check_accepted(config);
  read_backend_sections(config);
  return 0;
}
