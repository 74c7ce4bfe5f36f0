#include "admin/admin_server.hpp"

#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>

namespace holdfast {

namespace {

UnixHttpServerOptions admin_options(const Config& config) {
  UnixHttpServerOptions options;
  options.socket_path = config.admin_socket_path;
  options.role = "admin API";
  // systemd's socket (LISTEN_FDS) is the plugin socket, never this one.
  options.accept_socket_activation = false;
  options.keep_alive_timeout = std::chrono::seconds(10);
  options.pool.min_threads = 1;
  options.pool.max_threads = 8;
  options.pool.drain_timeout = std::chrono::seconds(10);
  return options;
}

}  // namespace

AdminServer::AdminServer(AdminContext& context)
    : m_context(context), m_api(context), m_server(admin_options(context.config)) {
  m_api.install(m_server);
}

AdminServer::~AdminServer() {
  stop_serving();
  join();
}

void AdminServer::open() {
  try {
    m_server.open();
    m_open = true;
  } catch (const Error& e) {
    spdlog::error("admin socket: {}; serving the plugin API without it (holdfast CLI unavailable)", e.what());
  }
  if (m_context.config.metrics_listen) {
    m_metrics = std::make_unique<MetricsListener>(*m_context.config.metrics_listen, [this] { return m_api.metrics(); });
    try {
      m_metrics->start();
    } catch (const Error& e) {
      m_context.metrics_listener_error = e.what();
      m_metrics.reset();
      spdlog::error("{}; serving without it", e.what());
    }
  }
}

void AdminServer::start() {
  if (m_open && !m_thread.joinable()) {
    m_thread = std::thread([this] { m_drained = m_server.serve(); });
  }
}

void AdminServer::stop_serving() { m_server.stop_serving(); }

bool AdminServer::join() {
  if (m_thread.joinable()) {
    m_thread.join();
  }
  if (m_metrics) {
    m_metrics->stop();
  }
  return m_drained;
}

}  // namespace holdfast
