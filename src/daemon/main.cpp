// holdfastd: the Docker volume plugin daemon. Parses the command line and
// hands over to run_daemon() (daemon.hpp), which owns the wiring.
#include <exception>
#include <iostream>
#include <string>

// GCC 12 reports a false -Wnull-dereference inside CLI11's inlined string
// splitting (CLI/StringTools.hpp) at -O2; this file only parses options.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include "daemon/daemon.hpp"

int main(int argc, char** argv) {
  holdfast::DaemonOptions options;
  bool check = false;
  std::string socket_path;
  std::string admin_socket_path;
  std::string state_dir;
  std::string mount_root;
  std::string log_level;

  CLI::App app{"holdfastd: Docker volume plugin for local, NFS, iSCSI and LVM storage"};
  app.set_version_flag("--version", std::string("holdfastd ") + HOLDFAST_VERSION);
  auto* config_option = app.add_option("--config", options.config_path,
                                       "Configuration file (a missing default file means built-in defaults)")
                            ->capture_default_str();
  app.add_flag("--check-config", check, "Validate the configuration and the backends, print the result, exit");
  auto* socket_option = app.add_option("--socket", socket_path, "Override the plugin socket path");
  auto* admin_socket_option =
      app.add_option("--admin-socket", admin_socket_path, "Override the admin socket path (holdfast CLI)");
  auto* state_option = app.add_option("--state-dir", state_dir, "Override the state directory");
  auto* mount_root_option = app.add_option("--mount-root", mount_root, "Override the mount root");
  auto* log_option =
      app.add_option("--log-level", log_level, "Override the log level")->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);

  options.config_path_explicit = config_option->count() > 0;
  if (socket_option->count() > 0) {
    options.socket_path = socket_path;
  }
  if (admin_socket_option->count() > 0) {
    options.admin_socket_path = admin_socket_path;
  }
  if (state_option->count() > 0) {
    options.state_dir = state_dir;
  }
  if (mount_root_option->count() > 0) {
    options.mount_root = mount_root;
  }
  if (log_option->count() > 0) {
    options.log_level = log_level;
  }

  if (check) {
    return holdfast::check_config(options);
  }
  // The process's top level: a start-up failure (bad config, socket in use,
  // unreadable state directory) becomes a message and exit status 1.
  try {
    return holdfast::run_daemon(options);
  } catch (const std::exception& e) {
    std::cerr << "holdfastd: " << e.what() << "\n";
    return 1;
  }
}
