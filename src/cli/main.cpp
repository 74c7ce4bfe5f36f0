// holdfast: the operator CLI. Talks to holdfastd's admin socket (JSON over
// HTTP on a unix socket, src/admin/admin_api.hpp); never touches volumes,
// state or the config itself. docs/operations.md ("Operator CLI") lists the
// verbs and exit codes.
#include <iostream>
#include <string>

// GCC 12 reports a false -Wnull-dereference inside CLI11's inlined string
// splitting (CLI/StringTools.hpp) at -O2, as in src/daemon/main.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include "cli/commands.hpp"

namespace {

using namespace holdfast::cli;

struct Arguments {
  std::string admin_socket;
  std::string config = "/etc/holdfast/holdfast.yaml";
  bool json = false;
  int timeout = 360;
  std::string volume;
  std::string size;
  bool apply = false;
};

}  // namespace

int main(int argc, char** argv) {
  Arguments a;
  CLI::App app{"holdfast: operate holdfastd (the Docker volume plugin) through its admin socket"};
  app.set_version_flag("--version", std::string("holdfast ") + HOLDFAST_VERSION);
  app.require_subcommand(1);
  app.add_option("--admin-socket", a.admin_socket,
                 "holdfastd's admin socket (default: admin_socket from --config, else /run/holdfast/admin.sock)")
      ->envname("HOLDFAST_ADMIN_SOCKET");
  app.add_option("--config", a.config, "holdfastd's config file, read for admin_socket only")->capture_default_str();
  app.add_flag("--json", a.json, "Print the daemon's JSON reply instead of text (for scripts)");
  app.add_option("--timeout", a.timeout, "Seconds to wait for the daemon's answer")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));

  auto* ls = app.add_subcommand("ls", "List volumes: backend, size, mounts, holder");
  auto* inspect = app.add_subcommand("inspect", "Show one volume's record, mounts and backend status");
  inspect->add_option("volume", a.volume, "volume name")->required();
  auto* doctor = app.add_subcommand("doctor", "Check config, backends, mounts, sessions, sockets (exit 0 ok, 1 warn, 2 fail)");
  auto* reconcile = app.add_subcommand("reconcile", "Compare saved state with the mount table (dry run)");
  reconcile->add_flag("--apply", a.apply, "Fix what was found (only under the mount root)");
  auto* resize = app.add_subcommand("resize", "Grow a volume (LVM): lvextend + online filesystem grow");
  resize->add_option("volume", a.volume, "volume name")->required();
  resize->add_option("size", a.size, "new size: 20G, 1.5T (binary units); shrinking is refused")->required();
  auto* release = app.add_subcommand("release", "iSCSI: let this host take over a LUN held by a dead host");
  release->alias("takeover");
  release->add_option("volume", a.volume, "volume name")->required();
  auto* metrics = app.add_subcommand("metrics", "Print the Prometheus metrics");
  auto* info = app.add_subcommand("info", "Show the daemon's version, sockets and paths");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : k_exit_usage;
  }

  Settings settings;
  settings.admin_socket = a.admin_socket.empty() ? default_admin_socket(a.config) : a.admin_socket;
  settings.json = a.json;
  // The program's one top-level handler: every failure becomes a message
  // and an exit code.
  try {
    AdminClient client(settings.admin_socket, std::chrono::seconds(a.timeout));
    if (*ls) {
      return run_ls(client, settings);
    }
    if (*inspect) {
      return run_inspect(client, settings, a.volume);
    }
    if (*doctor) {
      return run_doctor(client, settings);
    }
    if (*reconcile) {
      return run_reconcile(client, settings, a.apply);
    }
    if (*resize) {
      return run_resize(client, settings, a.volume, a.size);
    }
    if (*release) {
      return run_release(client, settings, a.volume);
    }
    if (*metrics) {
      return run_metrics(client);
    }
    if (*info) {
      return run_info(client, settings);
    }
    return k_exit_usage;
  } catch (const CliError& e) {
    std::cerr << "holdfast: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "holdfast: " << e.what() << "\n";
    return k_exit_failed;
  }
}
