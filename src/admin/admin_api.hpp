// holdfast::AdminApi: the operator's API, served on the admin socket
// (config `admin_socket`, root only: mode 0600) by its own UnixHttpServer
// and thread pool, so operator calls never hold a plugin API thread.
//
//   GET  /v1/info                       version, sockets, paths, uptime
//   GET  /v1/volumes                    every volume: backend, size, mounts, status
//   GET  /v1/volumes/<name>             one volume's full record and status
//   POST /v1/volumes/<name>/resize      {"size": "20G"}        (backend verb)
//   POST /v1/volumes/<name>/release     {}                     (backend verb; alias .../takeover)
//   GET  /v1/doctor                     checks (doctor.hpp)
//   GET  /v1/reconcile                  dry run; POST with {"apply": true} fixes
//   GET  /metrics                       Prometheus text (metrics_text.hpp)
//
// Replies are JSON objects (errors: {"error": message, "kind": ErrorKind},
// with HTTP 400 invalid_argument, 403 permission, 404 not_found, 409
// conflict/busy, 503 unavailable, 504 timeout, 500 internal) except
// /metrics. Backend verbs run under the volume's operation lock
// (VolumeManager::operator_action) within k_operator_action_budget. Resize,
// release and reconcile with apply are written to the audit log.
//
// Ownership: borrows everything in AdminContext. Thread-safety: handle()
// may run concurrently.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <httplib.h>

#include <holdfast/host.hpp>

#include "admin/audit_log.hpp"
#include "config/config.hpp"
#include "plugin_api/metrics.hpp"
#include "volume/backend_set.hpp"
#include "volume/volume_manager.hpp"

namespace holdfast {

// How long a backend verb (resize: lvextend + resize2fs) may take.
inline constexpr std::chrono::minutes k_operator_action_budget{5};

struct AdminContext {
  AdminContext(const Config& config_, VolumeManager& manager_, const BackendSet& backends_,
               const PluginMetrics& plugin_metrics_, AuditLog& audit_, CommandRunner& runner_)
      : config(config_),
        manager(manager_),
        backends(backends_),
        plugin_metrics(plugin_metrics_),
        audit(audit_),
        runner(runner_) {}

  const Config& config;
  VolumeManager& manager;
  const BackendSet& backends;
  const PluginMetrics& plugin_metrics;
  AuditLog& audit;
  CommandRunner& runner;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  // Set before the admin socket serves (start-up is over by then).
  const ReconcileReport* start_report = nullptr;
  std::string metrics_listener_error;
};

struct AdminReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

class AdminApi {
 public:
  explicit AdminApi(AdminContext& context);

  // Answers one request. Never throws.
  AdminReply handle(std::string_view method, std::string_view path, std::string_view body);

  // Routes every request `server` receives to handle().
  void install(httplib::Server& server);

  // The text of GET /metrics (also for the TCP listener).
  std::string metrics() const;

 private:
  AdminReply route(std::string_view method, std::string_view path, std::string_view body);
  AdminReply volumes() const;
  AdminReply volume(const std::string& name) const;
  AdminReply verb(const std::string& name, const std::string& verb, std::string_view body);
  AdminReply doctor() const;
  AdminReply reconcile(bool apply);
  AdminReply info() const;

  AdminContext& m_context;
};

}  // namespace holdfast
