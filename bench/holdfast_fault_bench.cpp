// holdfast_fault_bench: how much a failing storage slows the daemon down
// for everyone else. Runs the real holdfastd with a local backend (100
// volumes), an nfs backend whose server is a black hole (accepts, never
// answers), an iSCSI backend on a private tgtd (when tgt is installed), and
// its state directory on a small tmpfs (when it can mount one). For each
// fault it measures the latency of Get, List and Path on the local volumes
// from one keep-alive client, first with no fault, then while several
// clients keep calling into the fault:
//   nfs black hole   Create and Mount on the nfs backend (each waits for
//                    its deadline: provision_timeout 2s / probe_timeout 1s)
//   iscsi frozen     Create on the iSCSI backend with tgtd SIGSTOPped
//   state dir full   Create and Mount on local volumes with the state
//                    tmpfs full (each fails at its state write)
// and prints p50 and p99 before and during, and the p99 ratio. Target (not
// asserted): p99 during a fault within 2x of p99 before.
//
// Usage: holdfast_fault_bench [--requests N] [--fault-clients N] [--fault-pause-ms N]
// (holdfastd: $HOLDFAST_DAEMON, else the build tree's). Needs root for the
// tmpfs; the iSCSI fault needs tgtd.
#include <sys/mount.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crash/small_tmpfs.hpp"
#include "iscsi/tgtd_fixture.hpp"
#include "support/backend_yaml.hpp"
#include "support/black_hole.hpp"
#include "support/daemon_process.hpp"
#include "support/socket_client.hpp"
#include "support/temp_dir.hpp"
#include "volume/state_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using namespace std::chrono_literals;
using holdfast::test::SocketClient;

constexpr int k_local_volumes = 100;
const char* const k_endpoints[] = {"/VolumeDriver.Get", "/VolumeDriver.List", "/VolumeDriver.Path"};

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
};

Percentiles percentiles(std::vector<double> micros) {
  if (micros.empty()) {
    return {};
  }
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) { return micros[static_cast<std::size_t>(q * static_cast<double>(micros.size() - 1))]; };
  return {at(0.50), at(0.99)};
}

// Latencies (microseconds) per endpoint of `requests` calls spread over
// Get, List and Path of the local volumes. Failed calls are counted.
struct Sample {
  std::map<std::string, std::vector<double>> micros;
  int failures = 0;
};

Sample measure(const std::string& socket, int requests) {
  SocketClient client(socket, 30s);
  Sample out;
  for (int i = 0; i < requests; ++i) {
    const std::string endpoint = k_endpoints[i % 3];
    const std::string name = "local" + std::to_string(i % k_local_volumes);
    const std::string body = endpoint == "/VolumeDriver.List" ? "{}" : Json{{"Name", name}}.dump();
    auto t0 = Clock::now();
    auto reply = client.try_post(endpoint, body);
    auto took = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (!reply || reply->status != 200) {
      ++out.failures;
      continue;
    }
    out.micros[endpoint].push_back(took);
  }
  return out;
}

// Clients calling into a fault until stopped; each call's outcome ignored
// (they are expected to fail), only counted.
class FaultLoad {
 public:
  // Each client makes a call, waits `pause`, and so on: a fault that fails
  // fast must not turn into a CPU benchmark of the clients themselves.
  FaultLoad(const std::string& socket, int clients, std::chrono::milliseconds pause,
            const std::function<void(SocketClient&, int, int)>& call) {
    for (int c = 0; c < clients; ++c) {
      m_threads.emplace_back([this, c, call, socket, pause] {
        SocketClient client(socket, 120s);
        for (int i = 0; !m_stop; ++i) {
          call(client, c, i);
          ++m_calls;
          std::this_thread::sleep_for(pause);
        }
      });
    }
  }
  ~FaultLoad() { stop(); }
  FaultLoad(const FaultLoad&) = delete;
  FaultLoad& operator=(const FaultLoad&) = delete;

  // Stops the clients (each finishes its call) and returns how many calls
  // they made.
  int stop() {
    m_stop = true;
    for (auto& t : m_threads) {
      if (t.joinable()) {
        t.join();
      }
    }
    return m_calls.load();
  }

 private:
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_calls{0};
  std::vector<std::thread> m_threads;
};

void report(const std::string& fault, const Sample& before, const Sample& during, int fault_calls) {
  std::printf("\n%s  (%d calls into the fault while measuring; failed reads: before %d, during %d)\n",
              fault.c_str(), fault_calls, before.failures, during.failures);
  std::printf("  %-22s %10s %10s %10s %10s %8s\n", "endpoint", "p50 before", "p99 before", "p50 during",
              "p99 during", "p99 x");
  std::vector<double> all_before;
  std::vector<double> all_during;
  for (const char* endpoint : k_endpoints) {
    auto b = percentiles(before.micros.count(endpoint) ? before.micros.at(endpoint) : std::vector<double>{});
    auto d = percentiles(during.micros.count(endpoint) ? during.micros.at(endpoint) : std::vector<double>{});
    std::printf("  %-22s %8.0fus %8.0fus %8.0fus %8.0fus %7.2fx\n", endpoint + 1, b.p50, b.p99, d.p50, d.p99,
                b.p99 > 0 ? d.p99 / b.p99 : 0.0);
    if (before.micros.count(endpoint)) {
      all_before.insert(all_before.end(), before.micros.at(endpoint).begin(), before.micros.at(endpoint).end());
    }
    if (during.micros.count(endpoint)) {
      all_during.insert(all_during.end(), during.micros.at(endpoint).begin(), during.micros.at(endpoint).end());
    }
  }
  auto b = percentiles(all_before);
  auto d = percentiles(all_during);
  const double ratio = b.p99 > 0 ? d.p99 / b.p99 : 0.0;
  std::printf("  %-22s %8.0fus %8.0fus %8.0fus %8.0fus %7.2fx  (target <= 2.00x: %s)\n", "all", b.p50, b.p99,
              d.p50, d.p99, ratio, ratio <= 2.0 ? "met" : "MISSED");
}

// Measures before, then during `load` (started by `start_fault`, which also
// breaks the storage), then lets `end_fault` repair it.
struct LoadShape {
  int requests = 20'000;  // measured Get/List/Path calls per phase
  int clients = 8;        // clients calling into the fault
  std::chrono::milliseconds pause{20};  // between one client's fault calls
};

void run_fault(const std::string& name, const std::string& socket, const LoadShape& shape,
               const std::function<void()>& start_fault, const std::function<void(SocketClient&, int, int)>& call,
               const std::function<void()>& end_fault) {
  Sample before = measure(socket, shape.requests);
  start_fault();
  int calls = 0;
  Sample during;
  {
    FaultLoad load(socket, shape.clients, shape.pause, call);
    std::this_thread::sleep_for(300ms);  // let the fault calls pile up first
    during = measure(socket, shape.requests);
    calls = load.stop();
  }
  end_fault();
  report(name, before, during, calls);
}

}  // namespace

int main(int argc, char** argv) {
  LoadShape shape;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--requests" && i + 1 < argc) {
      shape.requests = std::atoi(argv[++i]);
    } else if (arg == "--fault-clients" && i + 1 < argc) {
      shape.clients = std::atoi(argv[++i]);
    } else if (arg == "--fault-pause-ms" && i + 1 < argc) {
      shape.pause = std::chrono::milliseconds(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--requests N] [--fault-clients N] [--fault-pause-ms N]\n", argv[0]);
      return 2;
    }
  }

  try {
    holdfast::test::TempDir dir;
    holdfast::test::BlackHole hole;
    std::unique_ptr<holdfast::crash::SmallTmpfs> state_fs;
    try {
      state_fs = std::make_unique<holdfast::crash::SmallTmpfs>(dir.sub("state"), 4U << 20U);
    } catch (const std::exception& e) {
      std::printf("state dir full: skipped (%s)\n", e.what());
    }
    std::unique_ptr<holdfast::iscsi::test::Tgtd> target;
    const std::string iqn = "iqn.2024-01.io.holdfast:bench";
    if (holdfast::iscsi::test::Tgtd::available()) {
      target = std::make_unique<holdfast::iscsi::test::Tgtd>();
      target->add_target(1, iqn);
      target->add_lun(1, 1, 40ULL << 20U);
    } else {
      std::printf("iscsi frozen: skipped (tgtd not installed)\n");
    }

    std::string yaml = "refresh_interval: 1440m\n"
                       "backends:\n" +
                       holdfast::test::local_backend_yaml(dir.sub("volumes")) +
                       holdfast::test::nfs_backend_yaml("filer", hole.port(),
                                                        {"provision_timeout: 2s", "probe_timeout: 1s"});
    if (target) {
      yaml += "  san:\n"
              "    type: iscsi\n"
              "    portals: [\"" + target->portal() + "\"]\n"
              "    target: " + iqn + "\n"
              "    initiator_name: iqn.2024-01.io.holdfast:bench-host\n"
              "    luns: \"1\"\n"
              "    io_timeout: 2s\n";
    }
    holdfast::test::DaemonProcess daemon(dir.path(), holdfast::test::DaemonSettings{yaml, "warn", {}});
    {
      holdfast::StateStore store(daemon.state_dir());
      holdfast::VolumeRecord record;
      record.name = "shared1";
      record.backend = "filer";
      record.created_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      store.save(record);
    }
    daemon.start();
    const std::string socket = daemon.socket_path();
    {
      SocketClient client(socket, 30s);
      for (int i = 0; i < k_local_volumes; ++i) {
        auto reply = client.post("/VolumeDriver.Create", Json{{"Name", "local" + std::to_string(i)}}.dump());
        if (reply.status != 200) {
          throw std::runtime_error("cannot create local volumes: " + reply.body);
        }
      }
      // Some are mounted, so Get and Path return a mountpoint.
      for (int i = 0; i < k_local_volumes; i += 2) {
        client.post("/VolumeDriver.Mount", Json{{"Name", "local" + std::to_string(i)}, {"ID", "bench"}}.dump());
      }
    }
    std::printf("holdfast_fault_bench: %d local volumes, %d requests per phase, %d clients calling into each "
                "fault (%lld ms between one client's calls)\n",
                k_local_volumes, shape.requests, shape.clients, static_cast<long long>(shape.pause.count()));
    (void)measure(socket, shape.requests / 4);  // warm-up

    run_fault(
        "nfs black hole (Create: provision_timeout 2s; Mount: probe_timeout 1s)", socket, shape, [] {},
        [](SocketClient& client, int c, int i) {
          if (c % 2 == 0) {
            client.try_post("/VolumeDriver.Create",
                            Json{{"Name", "nfs" + std::to_string(c) + "-" + std::to_string(i)},
                                 {"Opts", {{"backend", "filer"}}}}
                                .dump());
          } else {
            client.try_post("/VolumeDriver.Mount", Json{{"Name", "shared1"}, {"ID", "b" + std::to_string(c)}}.dump());
          }
        },
        [] {});
    if (target) {
      run_fault(
          "iscsi target frozen (Create: io_timeout 2s)", socket, shape, [&] { target->freeze(); },
          [](SocketClient& client, int c, int i) {
            client.try_post("/VolumeDriver.Create",
                            Json{{"Name", "san" + std::to_string(c) + "-" + std::to_string(i)},
                                 {"Opts", {{"backend", "san"}}}}
                                .dump());
          },
          [&] { target->thaw(); });
    }
    if (state_fs) {
      auto filler = std::make_unique<holdfast::crash::Filler>(dir.sub("state/filler"));
      run_fault(
          "state dir full (Create and Mount fail at the state write)", socket, shape,
          [&] { filler->fill(); },
          [](SocketClient& client, int c, int i) {
            if (c % 2 == 0) {
              client.try_post("/VolumeDriver.Create",
                              Json{{"Name", "full" + std::to_string(c) + "-" + std::to_string(i)}}.dump());
            } else {
              client.try_post("/VolumeDriver.Mount",
                              Json{{"Name", "local" + std::to_string(1 + 2 * (i % 40))}, {"ID", "f"}}.dump());
            }
          },
          [&] { filler->release(); });
    }
    daemon.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "holdfast_fault_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
