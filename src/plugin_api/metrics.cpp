#include "plugin_api/metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace holdfast {

std::string format_seconds(std::uint64_t micros) {
  // Exact decimal text (no binary floating point): whole seconds, then up
  // to six fractional digits without trailing zeros.
  std::string out = std::to_string(micros / 1'000'000);
  std::uint64_t fraction = micros % 1'000'000;
  if (fraction != 0) {
    std::string digits = fmt::format("{:06}", fraction);
    digits.erase(digits.find_last_not_of('0') + 1);
    out += "." + digits;
  }
  return out;
}

void PluginMetrics::record(Endpoint endpoint, bool error, std::chrono::microseconds duration) {
  Slot& slot = m_slots.at(static_cast<std::size_t>(endpoint));
  auto micros = static_cast<std::uint64_t>(duration.count() > 0 ? duration.count() : 0);
  slot.requests.fetch_add(1, std::memory_order_relaxed);
  if (error) {
    slot.errors.fetch_add(1, std::memory_order_relaxed);
  }
  slot.total_micros.fetch_add(micros, std::memory_order_relaxed);
  auto bound = std::lower_bound(k_latency_bounds_micros.begin(), k_latency_bounds_micros.end(), micros);
  slot.buckets.at(static_cast<std::size_t>(bound - k_latency_bounds_micros.begin()))
      .fetch_add(1, std::memory_order_relaxed);
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
  for (std::size_t i = 0; i < k_latency_buckets; ++i) {
    out.buckets.at(i) = slot.buckets.at(i).load(std::memory_order_relaxed);
  }
  return out;
}

std::uint64_t PluginMetrics::unrouted() const {
  return m_unrouted.load(std::memory_order_relaxed);
}

std::string PluginMetrics::render() const {
  std::array<EndpointCounters, k_endpoint_count> all;
  for (std::size_t i = 0; i < k_endpoint_count; ++i) {
    all.at(i) = counters(static_cast<Endpoint>(i));
  }
  std::string out;
  auto header = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    header(name, type, help);
    for (std::size_t i = 0; i < k_endpoint_count; ++i) {
      out += fmt::format("{}{{endpoint=\"{}\"}} {}\n", name, endpoint_name(static_cast<Endpoint>(i)), value(all.at(i)));
    }
  };
  family("holdfast_plugin_requests_total", "counter", "Plugin API requests by endpoint.",
         [](const EndpointCounters& c) { return c.requests; });
  family("holdfast_plugin_errors_total", "counter", "Plugin API requests answered with an error.",
         [](const EndpointCounters& c) { return c.errors; });

  const char* histogram = "holdfast_plugin_request_duration_seconds";
  header(histogram, "histogram", "Time to answer a plugin API request, in seconds.");
  for (std::size_t i = 0; i < k_endpoint_count; ++i) {
    const EndpointCounters& c = all.at(i);
    const std::string_view endpoint = endpoint_name(static_cast<Endpoint>(i));
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < k_latency_buckets; ++b) {
      cumulative += c.buckets.at(b);
      std::string le = b < k_latency_bounds_micros.size() ? format_seconds(k_latency_bounds_micros.at(b)) : "+Inf";
      out += fmt::format("{}_bucket{{endpoint=\"{}\",le=\"{}\"}} {}\n", histogram, endpoint, le, cumulative);
    }
    out += fmt::format("{}_sum{{endpoint=\"{}\"}} {}\n", histogram, endpoint, format_seconds(c.total_micros));
    out += fmt::format("{}_count{{endpoint=\"{}\"}} {}\n", histogram, endpoint, cumulative);
  }

  family("holdfast_plugin_request_seconds_max", "gauge", "Slowest request since start, in seconds.",
         [](const EndpointCounters& c) { return format_seconds(c.max_micros); });
  header("holdfast_plugin_unrouted_total", "counter", "Requests for an unknown path or with a wrong method.");
  out += fmt::format("holdfast_plugin_unrouted_total {}\n", unrouted());
  return out;
}

}  // namespace holdfast
