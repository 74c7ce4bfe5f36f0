// holdfast::PluginMetrics: per-endpoint counters of the plugin API (requests,
// errors, a latency histogram and the worst latency), rendered in the
// Prometheus text format by the admin socket's GET /metrics.
//
// Lock-free: every counter is a relaxed atomic, so recording costs a few
// atomic adds and a scan of a short bucket table on the request path. A
// snapshot is not one consistent instant (counters are read one by one),
// which is fine for monitoring; within one endpoint's histogram the count is
// derived from the buckets read, so `_count` always equals the +Inf bucket.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "plugin_api/messages.hpp"

namespace holdfast {

// Upper bounds of the latency histogram's buckets, in microseconds: from
// memory-only calls (Get, List: tens of microseconds) to Docker's 120 s limit.
inline constexpr std::array<std::uint64_t, 16> k_latency_bounds_micros = {
    100,     500,     1'000,     2'500,     5'000,      10'000,     25'000,     100'000,
    250'000, 500'000, 1'000'000, 2'500'000, 10'000'000, 30'000'000, 60'000'000, 120'000'000};
inline constexpr std::size_t k_latency_buckets = k_latency_bounds_micros.size() + 1;  // + the +Inf bucket

struct EndpointCounters {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;  // replies with a non-empty Err (HTTP 400/500)
  std::uint64_t total_micros = 0;
  std::uint64_t max_micros = 0;
  // Requests per bucket (not cumulative); the last one is above every bound.
  std::array<std::uint64_t, k_latency_buckets> buckets{};
};

class PluginMetrics {
 public:
  void record(Endpoint endpoint, bool error, std::chrono::microseconds duration);
  // Requests for no endpoint (404) or with a wrong method (405).
  void record_unrouted();

  EndpointCounters counters(Endpoint endpoint) const;
  std::uint64_t unrouted() const;

  // Prometheus text exposition format: holdfast_plugin_requests_total,
  // holdfast_plugin_errors_total, the histogram
  // holdfast_plugin_request_duration_seconds, holdfast_plugin_request_seconds_max
  // (each by endpoint), and holdfast_plugin_unrouted_total.
  std::string render() const;

 private:
  struct Slot {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> total_micros{0};
    std::atomic<std::uint64_t> max_micros{0};
    std::array<std::atomic<std::uint64_t>, k_latency_buckets> buckets{};
  };
  std::array<Slot, k_endpoint_count> m_slots;
  std::atomic<std::uint64_t> m_unrouted{0};
};

// "0.0001", "2.5", "120": a bucket bound in seconds as Prometheus prints it.
std::string format_seconds(std::uint64_t micros);

}  // namespace holdfast
