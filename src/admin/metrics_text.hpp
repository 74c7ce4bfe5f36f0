// holdfast::render_metrics: the whole Prometheus text exposition served at
// GET /metrics (admin socket, and the optional loopback TCP listener).
//
//   plugin API      holdfast_plugin_requests_total, _errors_total, the
//                   histogram holdfast_plugin_request_duration_seconds, ...
//                   (PluginMetrics::render)
//   backends        holdfast_backend_calls_total{backend}
//                   holdfast_backend_errors_total{backend,kind}
//                   holdfast_backend_deadline_overruns_total{backend}
//   volumes         holdfast_volumes{backend}          volumes known
//                   holdfast_volumes_mounted{backend}  volumes with a mount on this host
//                   holdfast_mounts{backend}           mount references (Mounts not yet unmounted)
//   daemon          holdfast_build_info{version} 1, holdfast_start_time_seconds
//
// Pure given its inputs; thread-safe as they are.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <holdfast/volume.hpp>

#include "plugin_api/metrics.hpp"
#include "volume/backend_metrics.hpp"

namespace holdfast {

struct MetricsSources {
  const PluginMetrics& plugin;
  const BackendMetrics& backends;
  std::vector<VolumeRecord> volumes;  // a snapshot of the catalogue
  std::chrono::system_clock::time_point started;
};

std::string render_metrics(const MetricsSources& sources);

// The content type of the text format.
inline constexpr const char* k_prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace holdfast
