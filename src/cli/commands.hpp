// The verbs of the holdfast CLI: each sends one request to the admin API,
// prints the reply (human text, or the JSON as it is with --json) and
// returns the process's exit code (admin_client.hpp lists them).
#pragma once

#include <string>

#include "cli/admin_client.hpp"

namespace holdfast::cli {

struct Settings {
  std::string admin_socket;
  bool json = false;
};

int run_ls(AdminClient& client, const Settings& settings);
int run_inspect(AdminClient& client, const Settings& settings, const std::string& volume);
// 0 all ok, 1 warnings only, 2 any failure.
int run_doctor(AdminClient& client, const Settings& settings);
// Dry run: 0 nothing to do, 1 differences found. With apply: 0 all fixed, 1 some fix failed.
int run_reconcile(AdminClient& client, const Settings& settings, bool apply);
int run_resize(AdminClient& client, const Settings& settings, const std::string& volume, const std::string& size);
int run_release(AdminClient& client, const Settings& settings, const std::string& volume);
int run_metrics(AdminClient& client);
int run_info(AdminClient& client, const Settings& settings);

// The admin socket when --admin-socket is not given: `admin_socket` from the
// daemon's config file if it exists and sets it, else /run/holdfast/admin.sock.
// A config file that cannot be read is reported on stderr and ignored.
std::string default_admin_socket(const std::string& config_path);

}  // namespace holdfast::cli
