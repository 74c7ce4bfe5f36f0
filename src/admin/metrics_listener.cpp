#include "admin/metrics_listener.hpp"

#include <chrono>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>

#include "admin/metrics_text.hpp"

namespace holdfast {

namespace {

constexpr std::size_t k_listener_threads = 2;

}  // namespace

MetricsListener::MetricsListener(ListenAddress address, Render render)
    : m_address(std::move(address)), m_render(std::move(render)), m_server(std::make_unique<httplib::Server>()) {
  m_server->new_task_queue = [] { return new httplib::ThreadPool(k_listener_threads); };
  m_server->set_read_timeout(5, 0);
  m_server->set_write_timeout(5, 0);
  m_server->set_payload_max_length(4096);
  m_server->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    try {
      response.set_content(m_render(), k_prometheus_content_type);
    } catch (const std::exception& e) {
      response.status = 500;
      response.set_content(std::string("internal error: ") + e.what() + "\n", "text/plain");
    }
  });
}

MetricsListener::~MetricsListener() { stop(); }

void MetricsListener::start() {
  if (!m_server->bind_to_port(m_address.host, m_address.port)) {
    throw unavailable("cannot listen on " + m_address.text() + " for metrics (metrics_listen): the port is in use "
                      "or the address is not on this host");
  }
  m_thread = std::thread([this] {
    m_server->listen_after_bind();
    m_done = true;
  });
  spdlog::info("serving metrics on http://{}/metrics", m_address.text());
}

void MetricsListener::stop() {
  if (!m_thread.joinable()) {
    return;
  }
  // httplib's stop() only acts once its listen loop runs: wait for that
  // (it starts at once) unless the loop already ended.
  while (!m_server->is_running() && !m_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  m_server->stop();
  m_thread.join();
}

}  // namespace holdfast
