// PluginMetrics: counters per endpoint and their text rendering (unit).
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "plugin_api/metrics.hpp"

using holdfast::Endpoint;
using holdfast::PluginMetrics;
using std::chrono::microseconds;

TEST_CASE("metrics count requests, errors and latency per endpoint", "[unit][metrics]") {
  PluginMetrics metrics;
  metrics.record(Endpoint::get, false, microseconds(30));
  metrics.record(Endpoint::get, true, microseconds(70));
  metrics.record(Endpoint::mount, false, microseconds(1500));
  metrics.record_unrouted();

  auto get = metrics.counters(Endpoint::get);
  CHECK(get.requests == 2);
  CHECK(get.errors == 1);
  CHECK(get.total_micros == 100);
  CHECK(get.max_micros == 70);
  CHECK(metrics.counters(Endpoint::mount).max_micros == 1500);
  CHECK(metrics.counters(Endpoint::list).requests == 0);
  CHECK(metrics.unrouted() == 1);

  std::string text = metrics.render();
  CHECK_THAT(text, Catch::Contains("holdfast_plugin_requests_total{endpoint=\"VolumeDriver.Get\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("holdfast_plugin_errors_total{endpoint=\"VolumeDriver.Get\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("holdfast_plugin_request_seconds_max{endpoint=\"VolumeDriver.Mount\"} 0.0015\n"));
  CHECK_THAT(text, Catch::Contains("holdfast_plugin_unrouted_total 1\n"));
  // Histogram: 30 us and 70 us fall in the first bucket (<= 100 us), 1.5 ms in le=0.0025.
  CHECK_THAT(text, Catch::Contains("holdfast_plugin_request_duration_seconds_bucket{endpoint=\"VolumeDriver.Get\",le=\"0.0001\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("holdfast_plugin_request_duration_seconds_bucket{endpoint=\"VolumeDriver.Mount\",le=\"0.001\"} 0\n"));
  CHECK_THAT(text, Catch::Contains("holdfast_plugin_request_duration_seconds_bucket{endpoint=\"VolumeDriver.Mount\",le=\"0.0025\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("holdfast_plugin_request_duration_seconds_bucket{endpoint=\"VolumeDriver.Mount\",le=\"+Inf\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("holdfast_plugin_request_duration_seconds_sum{endpoint=\"VolumeDriver.Get\"} 0.0001\n"));
  CHECK_THAT(text, Catch::Contains("holdfast_plugin_request_duration_seconds_count{endpoint=\"VolumeDriver.Get\"} 2\n"));
}

TEST_CASE("latency buckets: a bound is inclusive, beyond the last is +Inf", "[unit][metrics]") {
  PluginMetrics metrics;
  metrics.record(Endpoint::list, false, microseconds(100));      // le 0.0001
  metrics.record(Endpoint::list, false, microseconds(101));      // le 0.0005
  metrics.record(Endpoint::list, false, microseconds(0));        // le 0.0001
  metrics.record(Endpoint::list, false, std::chrono::seconds(500));  // +Inf
  auto c = metrics.counters(Endpoint::list);
  CHECK(c.buckets.front() == 2);
  CHECK(c.buckets.at(1) == 1);
  CHECK(c.buckets.back() == 1);
  CHECK(holdfast::format_seconds(120'000'000) == "120");
  CHECK(holdfast::format_seconds(2'500) == "0.0025");
  CHECK(holdfast::format_seconds(1) == "0.000001");
}

TEST_CASE("metrics are exact under concurrent recording", "[unit][metrics]") {
  PluginMetrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10'000; ++i) {
        metrics.record(Endpoint::list, i % 10 == 0, microseconds(t * 10'000 + i));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  auto list = metrics.counters(Endpoint::list);
  CHECK(list.requests == 40'000);
  CHECK(list.errors == 4'000);
  CHECK(list.max_micros == 39'999);
}
