#include "daemon/daemon.hpp"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <holdfast/error.hpp>

#include "admin/admin_server.hpp"
#include "admin/audit_log.hpp"
#include "plugin_api/handlers.hpp"
#include "plugin_api/metrics.hpp"
#include "plugin_api/unix_http_server.hpp"
#include "sys/logging.hpp"
#include "sys/process_runner.hpp"
#include "sys/system_mounter.hpp"
#include "volume/backend_set.hpp"
#include "volume/state_store.hpp"
#include "volume/volume_manager.hpp"

namespace holdfast {

namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Calls VolumeManager::refresh() at once, then every `interval` until
// stopped. The first pass runs on this thread, never on start-up's path:
// it lists what shared exports hold but this host's state does not (a
// Create cut off by a crash, another host's volumes) without the plugin
// socket waiting for an NFS server that may be dead.
class MaintenanceThread {
 public:
  MaintenanceThread(VolumeManager& manager, std::chrono::milliseconds interval)
      : m_manager(manager), m_interval(interval), m_thread([this] { run(); }) {}
  ~MaintenanceThread() { stop(); }
  MaintenanceThread(const MaintenanceThread&) = delete;
  MaintenanceThread& operator=(const MaintenanceThread&) = delete;

  void stop() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable() && m_thread.get_id() != std::this_thread::get_id()) {
      m_thread.join();
    }
  }

 private:
  void run() {
    std::unique_lock lock(m_mutex);
    for (bool first = true;; first = false) {
      if (m_wake.wait_for(lock, first ? std::chrono::milliseconds(0) : m_interval, [this] { return m_stop; })) {
        return;
      }
      lock.unlock();
      // A thread's top level: a failed refresh is logged and retried next
      // period, it must not end the daemon.
      try {
        m_manager.refresh();
      } catch (const std::exception& e) {
        spdlog::warn("background refresh failed: {}", e.what());
      }
      lock.lock();
    }
  }

  VolumeManager& m_manager;
  const std::chrono::milliseconds m_interval;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stop = false;
  std::thread m_thread;  // last: starts after the members it uses
};

// The audit log, or a disabled one (logged) when it cannot be opened: a
// full or read-only log disk must not keep Docker's volumes from working.
std::unique_ptr<AuditLog> open_audit_log(const Config& config) {
  const std::string path = audit_log_path(config);
  if (path.empty()) {
    spdlog::info("audit log disabled (audit_log: \"\")");
    return std::make_unique<AuditLog>();
  }
  try {
    return std::make_unique<AuditLog>(path, AuditRotation{config.audit_log_max_bytes, config.audit_log_keep});
  } catch (const Error& e) {
    spdlog::error("{}; mutating calls are not audited", e.what());
    return std::make_unique<AuditLog>();
  }
}

}  // namespace

Config load_daemon_config(const DaemonOptions& options) {
  Config config;
  if (options.config_path_explicit || file_exists(options.config_path)) {
    config = load_config(options.config_path);
  } else {
    config = default_config();
  }
  if (options.socket_path) {
    config.socket_path = *options.socket_path;
  }
  if (options.admin_socket_path) {
    config.admin_socket_path = *options.admin_socket_path;
  }
  if (options.state_dir) {
    config.state_dir = *options.state_dir;
  }
  if (options.mount_root) {
    config.mount_root = *options.mount_root;
  }
  if (options.log_level) {
    config.log_level = *options.log_level;
  }
  return config;
}

int check_config(const DaemonOptions& options) {
  try {
    Config config = load_daemon_config(options);
    setup_logging(config.log_level);
    ProcessRunner runner;
    SystemMounter mounter;
    BackendSet backends(config, runner, mounter);
    std::cout << "config OK" << (config.file.empty() ? " (built-in defaults)" : " (" + config.file + ")") << ": "
              << backends.names().size() << " backend(s), default \"" << backends.default_name() << "\", socket "
              << config.socket_path << "\n";
    return 0;
  } catch (const std::exception& e) {
    // --check-config's whole purpose is to report this error.
    std::cerr << "holdfastd: " << e.what() << "\n";
    return 1;
  }
}

int run_daemon(const DaemonOptions& options) {
  // Signals are taken synchronously by one thread (sigwait), so they are
  // blocked here, before any other thread exists, and every thread inherits
  // the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that disconnects must not kill us on write.
  ::signal(SIGPIPE, SIG_IGN);
  // One malloc arena per connection thread (glibc's default, up to 8 per
  // core) multiplies the daemon's resident memory for no gain on a
  // mostly idle daemon; two arenas keep contention low enough.
  ::mallopt(M_ARENA_MAX, 2);
  // A fixed threshold (glibc raises it after each large free otherwise)
  // keeps big, short-lived buffers such as a List reply of 10,000 volumes
  // in mmap()ed memory that is returned as soon as the reply is sent.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);

  const auto exec_time = std::chrono::steady_clock::now();
  Config config = load_daemon_config(options);
  setup_logging(config.log_level);
  spdlog::info("holdfastd {} starting ({})", HOLDFAST_VERSION,
               config.file.empty() ? std::string("no config file: built-in defaults") : "config " + config.file);

  ProcessRunner runner;
  SystemMounter mounter;
  BackendSet backends(config, runner, mounter);
  StateStore store(config.state_dir);
  VolumeManager manager(backends, store, mounter, config);
  PluginMetrics metrics;
  std::unique_ptr<AuditLog> audit = open_audit_log(config);
  PluginApi api(manager, metrics, audit.get());
  AdminContext admin_context(config, manager, backends, metrics, *audit, runner);
  AdminServer admin(admin_context);

  UnixHttpServerOptions server_options;
  server_options.socket_path = config.socket_path;
  UnixHttpServer server(server_options);
  api.install(server);
  // Listen before the slow part (state load, reconcile): the engine's
  // connections wait in the backlog instead of being refused.
  server.open();
  admin.open();

  // Logs its own summary (reconcile: ...) and every finding.
  ReconcileReport report = manager.start();
  // Loading state leaves freed parse buffers in the heap; give them back.
  ::malloc_trim(0);
  admin_context.start_report = &report;
  admin.start();
  MaintenanceThread maintenance(manager, config.refresh_interval);
  // Started once start() is done: a SIGTERM that arrives during start-up
  // stays pending (blocked) and is handled right after.
  std::atomic<bool> serving_done{false};
  std::atomic<bool> stop_requested{false};
  std::thread signal_thread([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) {
        continue;
      }
      if (serving_done) {
        return;
      }
      if (sig == SIGHUP) {
        spdlog::info("SIGHUP ignored: holdfastd reads its configuration only at start; restart it to reload");
        continue;
      }
      spdlog::info("{} received: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      stop_requested = true;
      sd_notify(0, "STOPPING=1");
      server.stop_serving();
      admin.stop_serving();
      return;
    }
  });

  const auto startup = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                             exec_time);
  spdlog::info("ready in {} ms", startup.count());
  sd_notifyf(0, "READY=1\nSTATUS=serving %zu volume(s)", report.volumes_loaded);

  bool drained = server.serve();

  serving_done = true;
  if (!stop_requested) {
    // serve() ended without a signal (the listening socket failed): wake
    // the signal thread so it can be joined.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
  }
  signal_thread.join();
  admin.stop_serving();
  drained = admin.join() && drained;
  maintenance.stop();
  if (!drained) {
    // Connection threads are still inside the manager (a backend call past
    // its deadline); destroying the manager under them is not an option.
    spdlog::warn("exiting with requests still in progress");
    spdlog::shutdown();
    std::_Exit(0);
  }
  if (!stop_requested) {
    spdlog::error("the plugin socket stopped accepting connections; exiting");
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace holdfast
