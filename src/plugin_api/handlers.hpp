// holdfast::PluginApi: the nine endpoints of the Docker volume plugin
// protocol, answered from the VolumeManager.
//
// This is the only place where errors become Docker's `Err`
// (docs/architecture.md, "Errors"): one try/catch around each call maps
//   malformed request (undecodable body)   -> HTTP 400 + {"Err": ...}
//   holdfast::Error from the manager       -> HTTP 500 + {"Err": message}
//   any other std::exception               -> HTTP 500 + {"Err": "internal error: ..."}
//   unknown path / method other than POST  -> HTTP 404 / 405 + {"Err": ...}
// (the engine prints non-200 errors as "VolumeDriver.Mount: <Err>"). Every
// reply, successes included, is a JSON object with "Err" and the
// content type k_reply_content_type. Host and Content-Type are not checked:
// the engine sends odd or no values.
//
// Each call is logged on one line (info for Create/Remove/Mount/Unmount and
// Activate, debug for the frequent read-only calls) and counted in
// PluginMetrics.
//
// Mutating calls are also recorded in the audit log (admin/audit_log.hpp).
//
// Ownership: borrows the manager, the metrics and the audit log, which must
// outlive it.
// Thread-safety: handle() may run concurrently (the manager is thread-safe).
#pragma once

#include <string>
#include <string_view>

#include <httplib.h>

#include "admin/audit_log.hpp"
#include "plugin_api/metrics.hpp"

namespace holdfast {

class VolumeManager;

struct Reply {
  int status = 200;
  std::string body;  // a JSON object
};

class PluginApi {
 public:
  // `audit` (may be null) receives one entry per Create/Remove/Mount/Unmount.
  PluginApi(VolumeManager& manager, PluginMetrics& metrics, AuditLog* audit = nullptr);

  // Answers one request. Never throws.
  Reply handle(std::string_view method, std::string_view path, std::string_view body);

  // Routes every request `server` receives to handle(), and makes httplib's
  // own errors (bad request line, 413 body too large, exceptions) JSON
  // replies with an Err as well.
  void install(httplib::Server& server);

 private:
  VolumeManager& m_manager;
  PluginMetrics& m_metrics;
  AuditLog* m_audit;
};

// {"Err": message}; invalid UTF-8 in `message` (command output) is replaced.
std::string error_body(std::string_view message);

}  // namespace holdfast
