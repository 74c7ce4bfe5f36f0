#include "torture.hpp"

#include <atomic>
#include <cstdlib>
#include <random>
#include <sstream>
#include <thread>

namespace holdfast::crash {

namespace {

using namespace std::chrono_literals;

// Delay between the clients' start and the kill: mostly mid-traffic, some
// long enough for many calls, some so short the first calls are cut.
std::chrono::microseconds kill_delay(std::mt19937& rng) {
  const int roll = std::uniform_int_distribution<int>(0, 99)(rng);
  if (roll < 10) {
    return std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3'000)(rng));
  }
  if (roll < 80) {
    return std::chrono::microseconds(std::uniform_int_distribution<int>(3'000, 120'000)(rng));
  }
  return std::chrono::microseconds(std::uniform_int_distribution<int>(120'000, 400'000)(rng));
}

void add(TortureReport& report, const ClientTally& tally, const std::string& when) {
  report.calls += tally.calls;
  report.acknowledged += tally.acknowledged;
  report.refused += tally.refused;
  report.lost += tally.lost;
  for (const auto& failure : tally.failures) {
    report.failures.push_back(when + ": " + failure);
  }
}

}  // namespace

std::string TortureReport::summary() const {
  std::ostringstream out;
  out << kills << " kills (" << startup_kills << " during start-up) in " << elapsed.count() / 1000.0 << " s; "
      << calls << " calls: " << acknowledged << " acknowledged, " << refused << " refused, " << lost
      << " cut off by a kill (" << lost_outcomes.applied << " changes applied, " << lost_outcomes.not_applied
      << " not); " << checks << " volume states checked; most leftovers at a restart:";
  for (const auto& [kind, n] : max_leftovers) {
    out << " " << kind << " " << n << ";";
  }
  out << " " << failures.size() << " failures";
  return out.str();
}

void check_daemon(const test::DaemonProcess& daemon, Model& model, const StorageView& storage,
                  const ObserveOptions& options, const std::string& when, TortureReport& report) {
  Observation seen = observe(daemon, storage, options);
  for (const auto& problem : seen.problems) {
    report.failures.push_back(when + ": " + problem);
  }
  for (const auto& [name, volume] : seen.volumes) {
    if (model.find(name) == nullptr) {
      report.failures.push_back(when + ": unknown volume " + name + " exists");
    }
  }
  for (std::size_t i = 0; i < model.size(); ++i) {
    VolumeSlot& slot = model.slot(i);
    const bool acknowledged = slot.model.exists && slot.model.created && !slot.model.maybe_exists;
    auto it = seen.volumes.find(slot.name);
    const ObservedVolume actual = it == seen.volumes.end() ? ObservedVolume{} : it->second;
    const bool has_data = actual.exists && storage.has_data(slot.name);
    const std::string held =
        std::string(slot.model.exists ? (slot.model.created ? "created" : "existing") : "absent") +
        (slot.model.maybe_exists ? (*slot.model.maybe_exists ? " (or created)" : " (or removed)") : "");
    for (const auto& problem : reconcile(slot.name, slot.model, actual, report.lost_outcomes)) {
      report.failures.push_back(when + ": " + problem);
    }
    slot.note(when + ": the clients hold it " + held + "; the daemon shows it " +
              (actual.exists ? (has_data ? "with its data" : "without its data") : "absent"));
    if (acknowledged && actual.exists && !has_data) {
      report.failures.push_back(when + ": " + slot.name +
                                " was created (acknowledged) but its data directory is gone");
    }
    ++report.checks;
  }
  for (const auto& [kind, n] : seen.leftovers) {
    report.max_leftovers[kind] = std::max(report.max_leftovers[kind], n);
  }
}

TortureReport run_torture(test::DaemonProcess& daemon, Model& model, const StorageView& storage,
                          const TortureSettings& settings) {
  TortureReport report;
  const auto started = std::chrono::steady_clock::now();
  std::mt19937 rng(settings.seed);
  for (int cycle = 0; report.kills < settings.kills; ++cycle) {
    const std::string when = "after kill " + std::to_string(report.kills);
    if (!daemon.running()) {
      if (cycle > 0 && std::uniform_int_distribution<int>(0, 99)(rng) < settings.startup_kill_percent) {
        daemon.spawn();
        std::this_thread::sleep_for(
            std::chrono::microseconds(std::uniform_int_distribution<int>(0, 40'000)(rng)));
        daemon.kill();
        ++report.kills;
        ++report.startup_kills;
        if (settings.after_kill) {
          settings.after_kill();
        }
        continue;
      }
      daemon.start();
    }
    check_daemon(daemon, model, storage, settings.observe, when, report);
    if (settings.before_clients) {
      settings.before_clients();
    }

    std::atomic<bool> killing{false};
    std::vector<ClientTally> tallies(static_cast<std::size_t>(settings.clients));
    std::vector<std::thread> clients;
    for (int c = 0; c < settings.clients; ++c) {
      clients.emplace_back([&, c, client_seed = rng()] {
        std::mt19937 client_rng(client_seed);
        run_client(c, daemon.socket_path(), model, settings.rules, client_rng, killing,
                   tallies[static_cast<std::size_t>(c)]);
      });
    }
    std::this_thread::sleep_for(kill_delay(rng));
    killing = true;
    daemon.kill();
    ++report.kills;
    for (auto& client : clients) {
      client.join();
    }
    if (settings.after_kill) {
      settings.after_kill();
    }
    for (const auto& tally : tallies) {
      add(report, tally, when);
    }
  }
  daemon.start();
  check_daemon(daemon, model, storage, settings.observe, "after the last kill", report);
  report.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return report;
}

int kills_from_env(int fallback) {
  const char* text = std::getenv("HOLDFAST_CRASH_KILLS");
  if (text == nullptr || *text == '\0') {
    return fallback;
  }
  return std::max(1, std::atoi(text));
}

unsigned seed_from_env() {
  if (const char* text = std::getenv("HOLDFAST_CRASH_SEED"); text != nullptr && *text != '\0') {
    return static_cast<unsigned>(std::strtoul(text, nullptr, 10));
  }
  return std::random_device{}();
}

}  // namespace holdfast::crash
