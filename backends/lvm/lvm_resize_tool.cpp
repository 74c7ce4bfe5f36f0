// holdfast-lvm-resize: grows an LVM-backed volume from the command line,
// until holdfast's operator CLI (through the daemon's admin socket) exists.
//
//   holdfast-lvm-resize [--config FILE] VOLUME SIZE
//
// Reads the daemon's config and the volume's state file (read only: the
// daemon owns it), builds the volume's LVM backend and calls
// LvmBackend::resize(): lvextend, then an online resize2fs / xfs_growfs.
// A volume that is not mounted is mounted on a private temporary directory
// for the grow and unmounted again, so nothing is left for the daemon to
// finish. It runs beside the daemon without its per-volume lock: do not
// remove the volume while it runs. Exit status 0 on success, 1 on error
// (message on stderr), 2 on bad usage.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

// GCC 12 reports a false -Wnull-dereference inside CLI11's inlined string
// splitting (CLI/StringTools.hpp) at -O2, as in src/daemon/main.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include <holdfast/error.hpp>

#include "config/config.hpp"
#include "lvm_backend.hpp"
#include "lvm_size.hpp"
#include "sys/logging.hpp"
#include "sys/process_runner.hpp"
#include "sys/system_mounter.hpp"
#include "volume/state_store.hpp"

namespace {

using namespace holdfast;

// A temporary mount point that is removed again (rmdir; only when empty,
// so never with a filesystem still mounted on it).
class TempMountPoint {
 public:
  TempMountPoint() {
    char templ[] = "/run/holdfast-lvm-resize.XXXXXX";
    if (::mkdtemp(templ) == nullptr) {
      throw from_errno("create a temporary mount point", errno);
    }
    m_path = templ;
  }
  ~TempMountPoint() { ::rmdir(m_path.c_str()); }
  TempMountPoint(const TempMountPoint&) = delete;
  TempMountPoint& operator=(const TempMountPoint&) = delete;
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

VolumeRecord read_record(const Config& config, const std::string& name) {
  validate_volume_name(name);
  std::string path = config.state_dir + "/volumes/" + name + ".json";
  std::ifstream file(path);
  if (!file) {
    throw not_found("no volume \"" + name + "\" (no " + path + ")");
  }
  std::stringstream text;
  text << file.rdbuf();
  return record_from_json(text.str());
}

int run(const std::string& config_path, const std::string& name, const std::string& size) {
  Config config = load_config(config_path);
  setup_logging(config.log_level);
  VolumeRecord record = read_record(config, name);
  const BackendConfig* section = nullptr;
  for (const auto& b : config.backends) {
    if (b.name == record.backend) {
      section = &b;
    }
  }
  if (section == nullptr || section->type != "lvm") {
    throw invalid_argument("volume \"" + name + "\" is on backend \"" + record.backend +
                           "\", which is not an lvm backend in " + config.file);
  }
  ConfigReader reader(section->section, config.file, "backends." + section->name);
  ProcessRunner runner;
  SystemMounter mounter;
  BackendEnv env{section->name, config.host_id, config.state_dir, runner, mounter};
  lvm::LvmBackend backend(lvm::read_lvm_config(reader), env);
  Deadline deadline = Deadline::after(std::chrono::minutes(5));

  lvm::ResizeResult result;
  if (!record.mountpoint.empty() && mounter.is_mounted(record.mountpoint)) {
    result = backend.resize(record, size, deadline);
  } else {
    TempMountPoint temp;
    VolumeRecord scratch = record;
    scratch.mountpoint = backend.attach(scratch, temp.path(), deadline);
    // Unmounted again whatever resize() does; an unmount failure after a
    // successful resize is reported as the error.
    struct Unmount {
      lvm::LvmBackend& backend;
      VolumeRecord& record;
      const std::string& path;
      bool done = false;
      ~Unmount() {
        if (!done) {
          try {
            backend.detach(record, path, Deadline::after(std::chrono::seconds(30)));
          } catch (...) {  // cleanup path: the resize error is the one to report
            std::cerr << "holdfast-lvm-resize: could not unmount " << path << "\n";
          }
        }
      }
    } unmount{backend, scratch, temp.path()};
    result = backend.resize(scratch, size, deadline);
    backend.detach(scratch, temp.path(), Deadline::after(std::chrono::seconds(30)));
    unmount.done = true;
  }
  std::cout << name << ": " << lvm::format_size(result.old_size) << " -> " << lvm::format_size(result.new_size)
            << (result.lv_extended ? ", LV extended" : ", LV unchanged")
            << (result.fs_grown ? ", filesystem grown" : "") << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Grows a holdfast LVM volume (lvextend + online filesystem grow). Shrinking is refused."};
  std::string config_path = "/etc/holdfast/holdfast.yaml";
  std::string name;
  std::string size;
  app.add_option("--config", config_path, "holdfastd's config file")->capture_default_str();
  app.add_option("volume", name, "volume name")->required();
  app.add_option("size", size, "new size: 20G, 1.5T (binary units)")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    return run(config_path, name, size);
  } catch (const std::exception& e) {  // the program's one top-level handler
    std::cerr << "holdfast-lvm-resize: " << e.what() << "\n";
    return 1;
  }
}
