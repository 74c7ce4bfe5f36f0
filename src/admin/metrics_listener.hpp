// holdfast::MetricsListener: GET /metrics over plain HTTP on a loopback TCP
// address (config `metrics_listen`), for a Prometheus that cannot reach the
// root-only admin socket. Serves nothing else (404), from two threads of its
// own, so a slow scraper never holds a plugin or admin thread.
//
// Thread-safety: start() and stop() from one thread; the render function is
// called from the listener's threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "config/config.hpp"

namespace httplib {
class Server;
}

namespace holdfast {

class MetricsListener {
 public:
  using Render = std::function<std::string()>;

  MetricsListener(ListenAddress address, Render render);
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // Binds and starts serving. Throws holdfast::Error (unavailable) naming
  // the address when it cannot bind (port in use).
  void start();
  // Stops accepting and joins the thread. Idempotent.
  void stop();

 private:
  ListenAddress m_address;
  Render m_render;
  std::unique_ptr<httplib::Server> m_server;
  std::atomic<bool> m_done{false};
  std::thread m_thread;
};

}  // namespace holdfast
