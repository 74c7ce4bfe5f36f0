#include "admin/admin_api.hpp"

#include <unistd.h>

#include <exception>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>

#include "admin/doctor.hpp"
#include "admin/metrics_text.hpp"

namespace holdfast {

namespace {

using Json = nlohmann::json;

constexpr std::string_view k_volumes_prefix = "/v1/volumes/";

std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

AdminReply json_reply(const Json& value, int status = 200) { return AdminReply{status, dump(value)}; }

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_argument: return 400;
    case ErrorKind::permission: return 403;
    case ErrorKind::not_found: return 404;
    case ErrorKind::conflict:
    case ErrorKind::busy: return 409;
    case ErrorKind::unavailable: return 503;
    case ErrorKind::timeout: return 504;
    case ErrorKind::internal: return 500;
  }
  return 500;
}

AdminReply error_reply(int status, std::string_view kind, std::string_view message) {
  return json_reply(Json{{"error", std::string(message)}, {"kind", std::string(kind)}}, status);
}

// Adds what is known of the volume's size: "size" as the backend writes it
// (LVM: "20 GiB") or as it was created (-o size=20G), and "size_bytes"
// when the backend reports bytes (iSCSI: the LUN's capacity).
void add_size(Json& out, const VolumeRecord& record, const Json& status) {
  out["size"] = "";
  if (auto it = status.find("size"); it != status.end() && it->is_string()) {
    out["size"] = *it;
  } else if (auto option = record.options.find("size"); option != record.options.end()) {
    out["size"] = option->second;
  }
  if (auto it = status.find("capacity"); it != status.end() && it->is_number_unsigned()) {
    out["size_bytes"] = *it;
  }
}

Json status_of(const BackendSet& backends, const VolumeRecord& record) {
  const Backend* backend = backends.find(record.backend);
  if (backend == nullptr) {
    return Json{{"warning", "backend instance \"" + record.backend + "\" is not configured"}};
  }
  try {
    Json status = backend->status(record);
    return status.is_object() ? status : Json{{"status", status}};
  } catch (const Error& e) {
    return Json{{"warning", e.what()}};
  }
}

std::string created_at(const VolumeRecord& record) {
  return record.created_at == SystemTime{} ? std::string() : format_rfc3339(record.created_at);
}

Json finding_json(const ReconcileFinding& f) {
  return Json{{"kind", f.kind},       {"volume", f.volume},   {"mountpoint", f.mountpoint},
              {"problem", f.problem}, {"fix", f.fix},         {"outcome", f.outcome}};
}

std::optional<bool> apply_flag(std::string_view body) {
  if (body.empty()) {
    return false;
  }
  Json request = Json::parse(body, nullptr, false);
  if (!request.is_object()) {
    return std::nullopt;
  }
  auto it = request.find("apply");
  if (it == request.end()) {
    return false;
  }
  if (!it->is_boolean()) {
    return std::nullopt;
  }
  return it->get<bool>();
}

}  // namespace

AdminApi::AdminApi(AdminContext& context) : m_context(context) {}

AdminReply AdminApi::handle(std::string_view method, std::string_view path, std::string_view body) {
  const auto start = std::chrono::steady_clock::now();
  AdminReply reply;
  // The one place where failures become the admin API's error replies.
  try {
    reply = route(method, path, body);
  } catch (const Error& e) {
    reply = error_reply(http_status(e.kind()), error_kind_label(e.kind()), e.what());
  } catch (const std::exception& e) {
    reply = error_reply(500, "internal", std::string("internal error: ") + e.what());
  } catch (...) {
    reply = error_reply(500, "internal", "internal error");
  }
  const double ms =
      static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                                start)
                              .count()) /
      1000.0;
  auto level = method == "POST" ? spdlog::level::info : spdlog::level::debug;
  if (reply.status >= 500) {
    level = spdlog::level::warn;
  }
  spdlog::log(level, "admin {} {} {:.1f}ms {}", method, path, ms, reply.status);
  return reply;
}

AdminReply AdminApi::route(std::string_view method, std::string_view path, std::string_view body) {
  auto only = [&](std::string_view allowed) -> std::optional<AdminReply> {
    if (method == allowed) {
      return std::nullopt;
    }
    AdminReply r = error_reply(405, "invalid_argument",
                               fmt::format("method {} not allowed for {}; use {}", method, path, allowed));
    return r;
  };
  if (path == "/metrics" || path == "/v1/metrics") {
    if (auto wrong = only("GET")) {
      return *wrong;
    }
    return AdminReply{200, metrics(), k_prometheus_content_type};
  }
  if (path == "/v1/info") {
    if (auto wrong = only("GET")) {
      return *wrong;
    }
    return info();
  }
  if (path == "/v1/volumes") {
    if (auto wrong = only("GET")) {
      return *wrong;
    }
    return volumes();
  }
  if (path == "/v1/doctor") {
    if (auto wrong = only("GET")) {
      return *wrong;
    }
    return doctor();
  }
  if (path == "/v1/reconcile") {
    if (method == "GET") {
      return reconcile(false);
    }
    if (auto wrong = only("POST")) {
      return *wrong;
    }
    std::optional<bool> apply = apply_flag(body);
    if (!apply) {
      return error_reply(400, "invalid_argument", R"(the body must be a JSON object such as {"apply": true})");
    }
    return reconcile(*apply);
  }
  if (path.starts_with(k_volumes_prefix)) {
    std::string_view rest = path.substr(k_volumes_prefix.size());
    auto slash = rest.find('/');
    std::string name(rest.substr(0, slash));
    if (slash == std::string_view::npos) {
      if (auto wrong = only("GET")) {
        return *wrong;
      }
      return volume(name);
    }
    if (auto wrong = only("POST")) {
      return *wrong;
    }
    return verb(name, std::string(rest.substr(slash + 1)), body);
  }
  return error_reply(404, "not_found",
                     fmt::format("unknown admin endpoint {:?}: see GET /v1/info for the API", std::string(path)));
}

std::string AdminApi::metrics() const {
  return render_metrics(MetricsSources{m_context.plugin_metrics, m_context.manager.backend_metrics(),
                                       m_context.manager.records(), m_context.started});
}

AdminReply AdminApi::info() const {
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                                       m_context.started);
  const Config& c = m_context.config;
  return json_reply(Json{
      {"version", HOLDFAST_VERSION},
      {"pid", ::getpid()},
      {"uptime_seconds", uptime.count()},
      {"config_file", c.file},
      {"socket", c.socket_path},
      {"admin_socket", c.admin_socket_path},
      {"state_dir", c.state_dir},
      {"mount_root", c.mount_root},
      {"audit_log", m_context.audit.enabled() ? m_context.audit.path() : std::string()},
      {"metrics_listen", c.metrics_listen ? c.metrics_listen->text() : std::string()},
      {"backends", m_context.backends.names()},
      {"default_backend", m_context.backends.default_name()},
      {"endpoints",
       {"GET /v1/info", "GET /v1/volumes", "GET /v1/volumes/<name>", "POST /v1/volumes/<name>/resize",
        "POST /v1/volumes/<name>/release", "GET /v1/doctor", "GET|POST /v1/reconcile", "GET /metrics"}}});
}

AdminReply AdminApi::volumes() const {
  Json list = Json::array();
  for (const VolumeRecord& record : m_context.manager.records()) {
    Json status = status_of(m_context.backends, record);
    Json entry = {{"name", record.name},
                  {"backend", record.backend},
                  {"mounts", record.mount_count()},
                  {"mount_ids", record.mounts.size()},
                  {"mountpoint", record.mount_count() > 0 ? record.mountpoint : std::string()},
                  {"created_at", created_at(record)}};
    add_size(entry, record, status);
    entry["status"] = std::move(status);
    list.push_back(std::move(entry));
  }
  return json_reply(Json{{"volumes", std::move(list)}});
}

AdminReply AdminApi::volume(const std::string& name) const {
  validate_volume_name(name);
  std::optional<VolumeRecord> record = m_context.manager.record(name);
  if (!record) {
    throw not_found("no such volume \"" + name + "\"");
  }
  Json mounts = Json::object();
  for (const auto& [id, count] : record->mounts) {
    mounts[id] = count;
  }
  Json status = status_of(m_context.backends, *record);
  Json volume = {{"name", record->name},
                 {"backend", record->backend},
                 {"options", record->options},
                 {"created_at", created_at(*record)},
                 {"created_by", record->created_by},
                 {"mountpoint", record->mountpoint},
                 {"mount_count", record->mount_count()},
                 {"mounts", std::move(mounts)},
                 {"backend_data", record->backend_data}};
  add_size(volume, *record, status);
  volume["status"] = std::move(status);
  return json_reply(Json{{"volume", std::move(volume)}});
}

AdminReply AdminApi::verb(const std::string& name, const std::string& verb, std::string_view body) {
  // The allowlist of verbs the API passes to backends; each backend checks
  // that it has the verb.
  std::string canonical = verb == "takeover" ? "release" : verb;
  if (canonical != "resize" && canonical != "release") {
    return error_reply(404, "not_found",
                       fmt::format("unknown volume verb {:?}: resize, release (alias takeover)", verb));
  }
  Json args = body.empty() ? Json::object() : Json::parse(body, nullptr, false);
  if (!args.is_object()) {
    return error_reply(400, "invalid_argument", "the body must be a JSON object");
  }
  AuditEntry audit;
  audit.source = "admin";
  audit.call = canonical;
  audit.volume = name;
  if (auto size = args.find("size"); size != args.end() && size->is_string()) {
    audit.details["size"] = *size;
  }
  const auto start = std::chrono::steady_clock::now();
  try {
    Json result = m_context.manager.operator_action(name, canonical, args, k_operator_action_budget);
    audit.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    m_context.audit.write(audit);
    spdlog::info("admin: {} volume \"{}\": {}", canonical, name, result.dump());
    return json_reply(Json{{"volume", name}, {"verb", canonical}, {"result", std::move(result)}});
  } catch (const Error& e) {
    audit.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    audit.error = e.what();
    m_context.audit.write(audit);
    spdlog::warn("admin: {}", e.what());
    throw;
  }
}

AdminReply AdminApi::doctor() const {
  DoctorContext context{m_context.config,  m_context.manager, m_context.backends,
                        m_context.runner,  m_context.audit,   m_context.started,
                        m_context.start_report, m_context.metrics_listener_error};
  return json_reply(doctor_json(run_doctor(context)));
}

AdminReply AdminApi::reconcile(bool apply) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<ReconcileFinding> findings = m_context.manager.reconcile(apply);
  Json list = Json::array();
  std::size_t done = 0;
  std::size_t failed = 0;
  for (const auto& f : findings) {
    done += f.outcome == "done" ? 1 : 0;
    failed += f.outcome.starts_with("failed") ? 1 : 0;
    list.push_back(finding_json(f));
  }
  if (apply) {
    AuditEntry audit;
    audit.source = "admin";
    audit.call = "reconcile";
    audit.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    audit.details = {{"findings", findings.size()}, {"fixed", done}, {"failed", failed}};
    if (failed > 0) {
      audit.error = std::to_string(failed) + " fix(es) failed";
    }
    m_context.audit.write(audit);
  }
  return json_reply(Json{{"apply", apply}, {"findings", std::move(list)}, {"fixed", done}, {"failed", failed}});
}

void AdminApi::install(httplib::Server& server) {
  auto route = [this](const httplib::Request& request, httplib::Response& response) {
    AdminReply reply = handle(request.method, request.path, request.body);
    response.status = reply.status;
    response.body = std::move(reply.body);
    response.set_header("Content-Type", reply.content_type);
  };
  const std::string any = ".*";
  server.Get(any, route);
  server.Post(any, route);
  server.Put(any, route);
  server.Patch(any, route);
  server.Delete(any, route);
  server.Options(any, route);
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& response) {
        if (!response.body.empty()) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        response.body = dump(Json{{"error", fmt::format("HTTP {}", response.status)}, {"kind", "invalid_argument"}});
        response.set_header("Content-Type", "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
    response.status = 500;
    response.body = dump(Json{{"error", "internal error"}, {"kind", "internal"}});
    response.set_header("Content-Type", "application/json");
  });
}

}  // namespace holdfast
