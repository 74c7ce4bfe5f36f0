// holdfast::AdminServer: the admin API (admin_api.hpp) on its own unix
// socket, connection pool and thread, plus the optional metrics TCP
// listener; started and stopped by the daemon beside the plugin socket.
//
// The plugin API matters more than the operator's: when the admin socket
// or the metrics port cannot be opened, the error is logged (and reported
// by doctor, for the metrics port) and holdfastd serves Docker anyway.
//
// Thread-safety: open(), start() and join() from the daemon's main thread;
// stop_serving() from any thread.
#pragma once

#include <memory>
#include <thread>

#include "admin/admin_api.hpp"
#include "admin/metrics_listener.hpp"
#include "plugin_api/unix_http_server.hpp"

namespace holdfast {

class AdminServer {
 public:
  explicit AdminServer(AdminContext& context);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Creates the admin socket (mode 0600; connections wait in its backlog
  // until start()) and starts the metrics listener when configured.
  void open();
  // Serves the admin socket on a thread of its own.
  void start();
  // Stops accepting; in-flight admin requests finish (bounded).
  void stop_serving();
  // Waits for the serving thread and stops the metrics listener. False when
  // admin requests were still running after the drain timeout.
  bool join();

 private:
  AdminContext& m_context;
  AdminApi m_api;
  UnixHttpServer m_server;
  std::unique_ptr<MetricsListener> m_metrics;
  bool m_open = false;
  bool m_drained = true;
  std::thread m_thread;
};

}  // namespace holdfast
