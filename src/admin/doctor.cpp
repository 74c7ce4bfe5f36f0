#include "admin/doctor.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <set>

#include <holdfast/error.hpp>

#include "plugin_api/unix_http_server.hpp"
#include "sys/system_mounter.hpp"

namespace holdfast {

namespace {

using std::chrono::milliseconds;

constexpr auto k_iscsiadm_budget = std::chrono::seconds(10);
// Entries looked at per socket folder: /run/docker/plugins holds a few.
constexpr std::size_t k_max_socket_entries = 256;
// Findings listed in one check's message; the rest are counted.
constexpr std::size_t k_max_listed = 8;

Check make(std::string name, CheckStatus status, std::string message) {
  return Check{std::move(name), status, std::move(message)};
}

std::chrono::system_clock::time_point modified_at(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return {};
  }
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

Check check_config(const DoctorContext& c) {
  if (c.config.file.empty()) {
    return make("config", CheckStatus::ok, "no config file: built-in defaults (one local backend)");
  }
  try {
    Config reloaded = load_config(c.config.file);
    SystemMounter mounter;
    BackendSet backends(reloaded, c.runner, mounter);
    if (modified_at(c.config.file) > c.started) {
      return make("config", CheckStatus::warn,
                  c.config.file + " changed after holdfastd started and is valid: restart holdfastd to apply it");
    }
    return make("config", CheckStatus::ok,
                c.config.file + " is valid: " + std::to_string(backends.names().size()) + " backend(s)");
  } catch (const std::exception& e) {
    return make("config", CheckStatus::fail,
                std::string(e.what()) + " (holdfastd keeps running with the config it started with, but would "
                                        "not start with this file)");
  }
}

std::vector<Check> check_start_report(const DoctorContext& c) {
  if (c.start_report == nullptr) {
    return {};
  }
  const ReconcileReport& r = *c.start_report;
  if (r.unreadable_state.empty()) {
    return {make("start-up", CheckStatus::ok,
                 std::to_string(r.volumes_loaded) + " volume(s) loaded; " + std::to_string(r.leaks_detached) +
                     " leaked attachment(s) detached, mounts dropped on " + std::to_string(r.mounts_dropped))};
  }
  std::string names;
  for (const auto& file : r.unreadable_state) {
    names += (names.empty() ? "" : ", ") + file;
  }
  return {make("start-up", CheckStatus::warn,
               std::to_string(r.unreadable_state.size()) + " state file(s) could not be read at start and were "
                                                            "kept aside: " + names)};
}

std::vector<Check> check_backends(const DoctorContext& c) {
  std::vector<Check> out;
  for (const BackendRefresh& refresh : c.manager.refresh()) {
    const Backend* backend = c.backends.find(refresh.instance);
    const std::string name = "backend " + refresh.instance;
    const std::string type = backend != nullptr ? std::string(backend->type()) : "?";
    if (!refresh.ok) {
      out.push_back(make(name, refresh.skipped ? CheckStatus::warn : CheckStatus::fail,
                         "(" + type + ") " + refresh.error));
      continue;
    }
    nlohmann::json status = backend != nullptr ? backend->backend_status() : nlohmann::json::object();
    std::string message = "(" + type + ") reachable, refresh took " + std::to_string(refresh.took.count()) + " ms";
    if (std::string summary = summarize_status(status); !summary.empty()) {
      message += "; " + summary;
    }
    if (auto warning = status.find("warning"); warning != status.end() && warning->is_string()) {
      out.push_back(make(name, CheckStatus::warn, message + "; " + warning->get<std::string>()));
    } else {
      out.push_back(make(name, CheckStatus::ok, message));
    }
  }
  return out;
}

Check check_mounts(const DoctorContext& c) {
  std::vector<ReconcileFinding> findings;
  try {
    findings = c.manager.reconcile(false);
  } catch (const Error& e) {
    return make("mounts", CheckStatus::fail, std::string("cannot compare state and mount table: ") + e.what());
  }
  std::size_t busy = 0;
  std::size_t problems = 0;
  std::string listed;
  for (const auto& f : findings) {
    if (f.kind == "busy") {
      ++busy;
      continue;
    }
    if (problems++ < k_max_listed) {
      listed += (listed.empty() ? "" : "; ") + f.volume + ": " + f.problem;
    }
  }
  std::string tail = busy > 0 ? " (" + std::to_string(busy) + " volume(s) busy, not checked)" : "";
  if (problems == 0) {
    return make("mounts", CheckStatus::ok, "saved state and the mount table agree" + tail);
  }
  if (problems > k_max_listed) {
    listed += "; and " + std::to_string(problems - k_max_listed) + " more";
  }
  return make("mounts", CheckStatus::warn,
              std::to_string(problems) + " difference(s): " + listed + tail +
                  "; see `holdfast reconcile`, fix with `holdfast reconcile --apply`");
}

std::vector<Check> check_iscsi_sessions(const DoctorContext& c) {
  std::set<std::string> iscsi_instances;
  for (const auto& name : c.backends.names()) {
    if (c.backends.find(name)->type() == "iscsi") {
      iscsi_instances.insert(name);
    }
  }
  if (iscsi_instances.empty()) {
    return {};
  }
  std::set<std::string> configured;
  for (const auto& bc : c.config.backends) {
    if (iscsi_instances.count(bc.name) != 0 && bc.section["target"] && bc.section["target"].IsScalar()) {
      configured.insert(bc.section["target"].as<std::string>());
    }
  }
  std::set<std::string> attached;
  for (const auto& record : c.manager.records()) {
    auto target = record.backend_data.find("target");
    if (iscsi_instances.count(record.backend) == 0 || target == record.backend_data.end() || !target->is_string()) {
      continue;
    }
    configured.insert(target->get<std::string>());
    if (record.mount_count() > 0 || !record.mountpoint.empty()) {
      attached.insert(target->get<std::string>());
    }
  }
  CommandResult result;
  try {
    result = c.runner.run({"iscsiadm", "-m", "session"}, Deadline::after(k_iscsiadm_budget));
  } catch (const Error& e) {
    return {make("iscsi sessions", CheckStatus::warn,
                 std::string(e.what()) + ": cannot list iSCSI sessions (install open-iscsi)")};
  }
  constexpr int k_no_sessions = 21;  // iscsiadm's ISCSI_ERR_NO_OBJS_FOUND
  if (result.timed_out) {
    return {make("iscsi sessions", CheckStatus::warn, "`iscsiadm -m session` did not answer within 10 s (is iscsid hung?)")};
  }
  if (result.exit_code == k_no_sessions) {
    return {make("iscsi sessions", CheckStatus::ok, "no iSCSI sessions")};
  }
  if (result.exit_code != 0) {
    return {make("iscsi sessions", CheckStatus::warn,
                 "`iscsiadm -m session` exited " + std::to_string(result.exit_code) + ": " + redact(result.err))};
  }
  std::vector<Check> out;
  std::size_t ours = 0;
  for (const auto& session : parse_iscsi_sessions(result.out)) {
    if (configured.count(session.target) == 0) {
      continue;
    }
    ++ours;
    if (attached.count(session.target) == 0) {
      out.push_back(make("iscsi sessions", CheckStatus::warn,
                         "session [" + session.id + "] to " + session.target + " (" + session.portal +
                             ") carries no holdfast volume attached here; log it out with `iscsiadm -m session -r " +
                             session.id + " -u`"));
    }
  }
  if (out.empty()) {
    out.push_back(make("iscsi sessions", CheckStatus::ok,
                       std::to_string(ours) + " session(s) to configured targets, each with a volume attached"));
  }
  return out;
}

std::vector<std::string> stale_sockets(const std::string& dir, const std::set<std::string>& skip) {
  std::vector<std::string> out;
  std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), &::closedir);
  if (!handle) {
    return out;
  }
  std::size_t seen = 0;
  while (dirent* entry = ::readdir(handle.get())) {
    if (++seen > k_max_socket_entries) {
      break;
    }
    std::string path = dir + "/" + entry->d_name;
    struct stat st {};
    if (skip.count(path) != 0 || ::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
      continue;
    }
    try {
      if (!socket_is_live(path)) {
        out.push_back(path);
      }
    } catch (const Error&) {
      // Not ours to judge (permissions): leave it out.
    }
  }
  return out;
}

std::vector<Check> check_sockets(const DoctorContext& c) {
  std::vector<Check> out;
  const std::string& plugin = c.config.socket_path;
  struct stat st {};
  if (::lstat(plugin.c_str(), &st) != 0) {
    out.push_back(make("sockets", CheckStatus::fail,
                       "the plugin socket " + plugin + " does not exist: the Docker engine cannot reach holdfast"));
  } else if (!S_ISSOCK(st.st_mode)) {
    out.push_back(make("sockets", CheckStatus::fail, plugin + " is not a socket"));
  } else {
    bool live = false;
    try {
      live = socket_is_live(plugin);
    } catch (const Error&) {
    }
    out.push_back(make("sockets", live ? CheckStatus::ok : CheckStatus::fail,
                       live ? "the plugin socket " + plugin + " answers"
                            : "nobody answers on the plugin socket " + plugin));
  }
  std::set<std::string> dirs = {std::filesystem::path(plugin).parent_path().string(),
                                std::filesystem::path(c.config.admin_socket_path).parent_path().string()};
  const std::set<std::string> skip = {plugin, c.config.admin_socket_path};
  for (const auto& dir : dirs) {
    for (const auto& path : stale_sockets(dir, skip)) {
      out.push_back(make("sockets", CheckStatus::warn,
                         "leftover socket " + path +
                             ": nobody listens on it (a plugin that crashed or was removed); the engine may "
                             "stall on it. Remove it if its plugin is gone: rm " + path));
    }
  }
  return out;
}

Check check_audit(const DoctorContext& c) {
  std::string configured = audit_log_path(c.config);
  if (configured.empty()) {
    return make("audit log", CheckStatus::ok, "disabled (audit_log: \"\")");
  }
  if (!c.audit.enabled()) {
    return make("audit log", CheckStatus::warn,
                configured + " could not be opened at start (see the daemon's log); calls are not audited");
  }
  if (std::string trouble = c.audit.trouble(); !trouble.empty()) {
    return make("audit log", CheckStatus::warn, c.audit.path() + ": " + trouble);
  }
  const AuditRotation& rotation = c.audit.rotation();
  std::string detail = "appending to " + c.audit.path();
  if (rotation.max_bytes > 0) {
    detail += ", rotated at " + std::to_string(rotation.max_bytes) + " bytes, " + std::to_string(rotation.keep) +
              " rotated file(s) kept";
  }
  return make("audit log", CheckStatus::ok, detail);
}

std::vector<Check> check_metrics(const DoctorContext& c) {
  if (!c.config.metrics_listen) {
    return {};
  }
  if (!c.metrics_listener_error.empty()) {
    return {make("metrics", CheckStatus::fail, c.metrics_listener_error)};
  }
  return {make("metrics", CheckStatus::ok, "serving /metrics on " + c.config.metrics_listen->text())};
}

void append(std::vector<Check>& out, std::vector<Check> more) {
  for (auto& check : more) {
    out.push_back(std::move(check));
  }
}

}  // namespace

std::vector<Check> run_doctor(const DoctorContext& context) {
  std::vector<Check> checks;
  checks.push_back(check_config(context));
  append(checks, check_start_report(context));
  append(checks, check_backends(context));
  checks.push_back(check_mounts(context));
  append(checks, check_iscsi_sessions(context));
  append(checks, check_sockets(context));
  checks.push_back(check_audit(context));
  append(checks, check_metrics(context));
  return checks;
}

}  // namespace holdfast
