#include "plugin_api/metrics.hpp"

#include <fmt/format.h>

namespace holdfast {

void PluginMetrics::record(Endpoint endpoint, bool error, std::chrono::microseconds duration) {
  Slot& slot = m_slots.at(static_cast<std::size_t>(endpoint));
  auto micros = static_cast<std::uint64_t>(duration.count() > 0 ? duration.count() : 0);
  slot.requests.fetch_add(1, std::memory_order_relaxed);
  if (error) {
    slot.errors.fetch_add(1, std::memory_order_relaxed);
  }
  slot.total_micros.fetch_add(micros, std::memory_order_relaxed);
  std::uint64_t seen = slot.max_micros.load(std::memory_order_relaxed);
  while (micros > seen && !slot.max_micros.compare_exchange_weak(seen, micros, std::memory_order_relaxed)) {
  }
}

void PluginMetrics::record_unrouted() {
  m_unrouted.fetch_add(1, std::memory_order_relaxed);
}

EndpointCounters PluginMetrics::counters(Endpoint endpoint) const {
  const Slot& slot = m_slots.at(static_cast<std::size_t>(endpoint));
  EndpointCounters out;
  out.requests = slot.requests.load(std::memory_order_relaxed);
  out.errors = slot.errors.load(std::memory_order_relaxed);
  out.total_micros = slot.total_micros.load(std::memory_order_relaxed);
  out.max_micros = slot.max_micros.load(std::memory_order_relaxed);
  return out;
}

std::uint64_t PluginMetrics::unrouted() const {
  return m_unrouted.load(std::memory_order_relaxed);
}

std::string PluginMetrics::render() const {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (std::size_t i = 0; i < k_endpoint_count; ++i) {
      auto endpoint = static_cast<Endpoint>(i);
      out += fmt::format("{}{{endpoint=\"{}\"}} {}\n", name, endpoint_name(endpoint), value(counters(endpoint)));
    }
  };
  family("holdfast_plugin_requests_total", "counter", "Plugin API requests by endpoint.",
         [](const EndpointCounters& c) { return c.requests; });
  family("holdfast_plugin_errors_total", "counter", "Plugin API requests answered with an error.",
         [](const EndpointCounters& c) { return c.errors; });
  family("holdfast_plugin_request_seconds_sum", "counter", "Total time spent answering, in seconds.",
         [](const EndpointCounters& c) { return static_cast<double>(c.total_micros) / 1e6; });
  family("holdfast_plugin_request_seconds_max", "gauge", "Slowest request since start, in seconds.",
         [](const EndpointCounters& c) { return static_cast<double>(c.max_micros) / 1e6; });
  out += "# HELP holdfast_plugin_unrouted_total Requests for an unknown path or with a wrong method.\n";
  out += "# TYPE holdfast_plugin_unrouted_total counter\n";
  out += fmt::format("holdfast_plugin_unrouted_total {}\n", unrouted());
  return out;
}

}  // namespace holdfast
