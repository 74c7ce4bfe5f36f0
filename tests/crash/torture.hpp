// holdfast::crash::run_torture: the crash torture's driver. Each cycle
// (re)starts the real holdfastd, checks everything it shows against the
// clients' model (observer.hpp, crash_model.hpp), lets several clients run
// concurrently (client.hpp), and kills the daemon with SIGKILL after a
// random delay: mostly mid-traffic, sometimes before the first call lands,
// and sometimes during its start-up (state load, reconcile) before it
// serves at all. Bounded by the number of kills; every random choice comes
// from one seed, so a failing run can be replayed (HOLDFAST_CRASH_SEED;
// thread scheduling still varies).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "client.hpp"
#include "crash_model.hpp"
#include "observer.hpp"
#include "storage_view.hpp"
#include "support/daemon_process.hpp"

namespace holdfast::crash {

struct TortureSettings {
  int kills = 200;
  unsigned seed = 0;
  int clients = 4;
  ClientRules rules;
  ObserveOptions observe;
  // Run before the clients of each cycle (the disk-full test tops up its
  // filler here).
  std::function<void()> before_clients;
  // Run after each kill, before the restart (the nfs test waits there until
  // the server has finished the calls the killed daemon had sent).
  std::function<void()> after_kill;
  // Share of cycles that kill the daemon during its start-up instead.
  int startup_kill_percent = 10;
};

struct TortureReport {
  int kills = 0;
  int startup_kills = 0;
  std::size_t calls = 0;
  std::size_t acknowledged = 0;
  std::size_t refused = 0;
  std::size_t lost = 0;
  LostTally lost_outcomes;
  std::size_t checks = 0;  // volume states compared after restarts
  std::map<std::string, std::size_t> max_leftovers;
  std::vector<std::string> failures;
  std::chrono::milliseconds elapsed{0};

  std::string summary() const;
};

// Runs until `settings.kills` kills, then starts the daemon once more and
// checks it (left running). `model` carries the clients' knowledge in and
// out (a later phase can continue from it).
TortureReport run_torture(test::DaemonProcess& daemon, Model& model, const StorageView& storage,
                          const TortureSettings& settings);

// Observes a running daemon and reconciles `model` with it, appending any
// disagreement to `report.failures` prefixed with `when`.
void check_daemon(const test::DaemonProcess& daemon, Model& model, const StorageView& storage,
                  const ObserveOptions& options, const std::string& when, TortureReport& report);

// HOLDFAST_CRASH_KILLS (default `fallback`) and HOLDFAST_CRASH_SEED
// (default: random).
int kills_from_env(int fallback);
unsigned seed_from_env();

}  // namespace holdfast::crash
