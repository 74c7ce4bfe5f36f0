// render_metrics: every family, validated line by line (unit).
#include "admin/metrics_text.hpp"

#include <catch2/catch.hpp>

#include "admin/prometheus_check.hpp"

using namespace holdfast;
using holdfast::test::parse_prometheus;
using holdfast::test::sample_value;

TEST_CASE("metrics text: plugin, backend and volume families parse and add up", "[unit][metrics]") {
  PluginMetrics plugin;
  plugin.record(Endpoint::mount, false, std::chrono::milliseconds(3));
  plugin.record(Endpoint::mount, true, std::chrono::seconds(200));
  plugin.record(Endpoint::get, false, std::chrono::microseconds(40));
  BackendMetrics backends({"local", "nfs"});
  backends.record("nfs", ErrorKind::timeout, true);
  backends.record("nfs", std::nullopt);
  backends.record("local", ErrorKind::unavailable);
  std::vector<VolumeRecord> volumes(3);
  volumes[0].name = "a";
  volumes[0].backend = "local";
  volumes[0].mounts = {{"x", 2}, {"y", 1}};
  volumes[1].name = "b";
  volumes[1].backend = "nfs";
  volumes[2].name = "c";
  volumes[2].backend = "gone\"old";  // not configured any more: still counted, label escaped
  volumes[2].mounts = {{"z", 1}};

  std::string text = render_metrics(MetricsSources{plugin, backends, volumes, std::chrono::system_clock::now()});
  auto families = parse_prometheus(text);
  CHECK(families.at("holdfast_plugin_request_duration_seconds").type == "histogram");
  const std::string h = "holdfast_plugin_request_duration_seconds";
  CHECK(sample_value(families, h, h + "_count", {{"endpoint", "VolumeDriver.Mount"}}) == 2);
  CHECK(sample_value(families, h, h + "_bucket", {{"endpoint", "VolumeDriver.Mount"}, {"le", "120"}}) == 1);
  CHECK(sample_value(families, h, h + "_bucket", {{"endpoint", "VolumeDriver.Mount"}, {"le", "+Inf"}}) == 2);
  CHECK(sample_value(families, "holdfast_plugin_errors_total", "holdfast_plugin_errors_total",
                     {{"endpoint", "VolumeDriver.Mount"}}) == 1);
  CHECK(sample_value(families, "holdfast_backend_errors_total", "holdfast_backend_errors_total",
                     {{"backend", "nfs"}, {"kind", "timeout"}}) == 1);
  CHECK(sample_value(families, "holdfast_backend_errors_total", "holdfast_backend_errors_total",
                     {{"backend", "local"}, {"kind", "unavailable"}}) == 1);
  CHECK(sample_value(families, "holdfast_backend_deadline_overruns_total", "holdfast_backend_deadline_overruns_total",
                     {{"backend", "nfs"}}) == 1);
  CHECK(sample_value(families, "holdfast_backend_calls_total", "holdfast_backend_calls_total", {{"backend", "nfs"}}) == 2);
  CHECK(sample_value(families, "holdfast_volumes", "holdfast_volumes", {{"backend", "local"}}) == 1);
  CHECK(sample_value(families, "holdfast_volumes", "holdfast_volumes", {{"backend", "gone\"old"}}) == 1);
  CHECK(sample_value(families, "holdfast_volumes_mounted", "holdfast_volumes_mounted", {{"backend", "nfs"}}) == 0);
  CHECK(sample_value(families, "holdfast_mounts", "holdfast_mounts", {{"backend", "local"}}) == 3);
  CHECK(families.count("holdfast_build_info") == 1);
}

TEST_CASE("the Prometheus checker rejects what a scraper would", "[unit][metrics]") {
  CHECK_NOTHROW(parse_prometheus("# HELP a_total x\n# TYPE a_total counter\na_total 1\n"));
  CHECK_THROWS(parse_prometheus("a_total 1\n"));                                        // no TYPE
  CHECK_THROWS(parse_prometheus("# HELP a x\n# TYPE a counter\na -1\n"));               // negative counter
  CHECK_THROWS(parse_prometheus("# HELP a x\n# TYPE a gauge\na{l=\"x} 1\n"));          // unterminated
  CHECK_THROWS(parse_prometheus("# HELP a x\n# TYPE a gauge\na 1\na 2\n"));             // duplicate series
  CHECK_THROWS(parse_prometheus("# HELP a x\n# TYPE a gauge\na 1"));                    // no final newline
  const std::string hist = "# HELP h x\n# TYPE h histogram\n";
  CHECK_NOTHROW(parse_prometheus(hist + "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"));
  CHECK_THROWS(parse_prometheus(hist + "h_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"));
  CHECK_THROWS(parse_prometheus(hist + "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 3\n"));
  CHECK_THROWS(parse_prometheus(hist + "h_bucket{le=\"1\"} 1\nh_sum 3\nh_count 1\n"));
}
