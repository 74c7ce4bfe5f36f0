// holdfast::PluginMetrics: per-endpoint request counters of the plugin API
// (requests, errors, total and worst latency), for an admin /metrics
// endpoint to render.
//
// Lock-free: every counter is a relaxed atomic, so recording costs a few
// atomic adds on the request path. A snapshot is not one consistent instant
// (counters are read one by one), which is fine for monitoring.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "plugin_api/messages.hpp"

namespace holdfast {

struct EndpointCounters {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;  // replies with a non-empty Err (HTTP 400/500)
  std::uint64_t total_micros = 0;
  std::uint64_t max_micros = 0;
};

class PluginMetrics {
 public:
  void record(Endpoint endpoint, bool error, std::chrono::microseconds duration);
  // Requests for no endpoint (404) or with a wrong method (405).
  void record_unrouted();

  EndpointCounters counters(Endpoint endpoint) const;
  std::uint64_t unrouted() const;

  // Prometheus text exposition format (holdfast_plugin_requests_total{endpoint="..."} ...).
  std::string render() const;

 private:
  struct Slot {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> total_micros{0};
    std::atomic<std::uint64_t> max_micros{0};
  };
  std::array<Slot, k_endpoint_count> m_slots;
  std::atomic<std::uint64_t> m_unrouted{0};
};

}  // namespace holdfast
