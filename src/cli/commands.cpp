#include "cli/commands.hpp"

#include <sys/stat.h>

#include <iostream>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "cli/render.hpp"

namespace holdfast::cli {

namespace {

using Json = nlohmann::json;

constexpr const char* k_builtin_admin_socket = "/run/holdfast/admin.sock";

// Volume names go into the URL path: refuse anything outside the volume
// name alphabet here, so a name can never change the request's path.
void check_volume_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 128;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '.' || c == '-');
  }
  if (!ok) {
    throw CliError(k_exit_usage, "\"" + name + "\" is not a volume name (letters, digits, '_', '.', '-')");
  }
}

// The reply as JSON; a non-200 status prints the daemon's error and throws.
Json reply_json(const AdminResponse& response, const Settings& settings) {
  Json body = Json::parse(response.body, nullptr, false);
  if (response.status == 200 && body.is_object()) {
    return body;
  }
  if (settings.json && body.is_object()) {
    std::cout << body.dump(2) << "\n";
  }
  std::string message = body.is_object() && body.contains("error") && body["error"].is_string()
                            ? body["error"].get<std::string>()
                            : "HTTP " + std::to_string(response.status) + ": " + response.body;
  throw CliError(k_exit_failed, message);
}

int print(const Json& reply, const Settings& settings, std::string (*render)(const Json&), int code = k_exit_ok) {
  if (settings.json) {
    std::cout << reply.dump(2) << "\n";
  } else {
    std::cout << render(reply);
  }
  return code;
}

}  // namespace

int run_ls(AdminClient& client, const Settings& settings) {
  return print(reply_json(client.get("/v1/volumes"), settings), settings, &render_volumes);
}

int run_inspect(AdminClient& client, const Settings& settings, const std::string& volume) {
  check_volume_name(volume);
  return print(reply_json(client.get("/v1/volumes/" + volume), settings), settings, &render_volume);
}

int run_doctor(AdminClient& client, const Settings& settings) {
  Json reply = reply_json(client.get("/v1/doctor"), settings);
  const std::string status = reply.value("status", "fail");
  int code = status == "ok" ? k_exit_ok : status == "warn" ? k_exit_failed : k_exit_doctor_fail;
  return print(reply, settings, &render_doctor, code);
}

int run_reconcile(AdminClient& client, const Settings& settings, bool apply) {
  Json reply = reply_json(apply ? client.post("/v1/reconcile", R"({"apply":true})") : client.get("/v1/reconcile"),
                          settings);
  int code = k_exit_ok;
  if (apply) {
    code = reply.value("failed", 0) > 0 ? k_exit_failed : k_exit_ok;
  } else {
    code = reply.at("findings").empty() ? k_exit_ok : k_exit_failed;
  }
  return print(reply, settings, &render_reconcile, code);
}

int run_resize(AdminClient& client, const Settings& settings, const std::string& volume, const std::string& size) {
  check_volume_name(volume);
  Json body = {{"size", size}};
  return print(reply_json(client.post("/v1/volumes/" + volume + "/resize", body.dump()), settings), settings,
               &render_resize);
}

int run_release(AdminClient& client, const Settings& settings, const std::string& volume) {
  check_volume_name(volume);
  return print(reply_json(client.post("/v1/volumes/" + volume + "/release", "{}"), settings), settings,
               &render_release);
}

int run_metrics(AdminClient& client) {
  AdminResponse response = client.get("/metrics");
  if (response.status != 200) {
    throw CliError(k_exit_failed, "HTTP " + std::to_string(response.status) + ": " + response.body);
  }
  std::cout << response.body;
  return k_exit_ok;
}

int run_info(AdminClient& client, const Settings& settings) {
  return print(reply_json(client.get("/v1/info"), settings), settings, &render_info);
}

std::string default_admin_socket(const std::string& config_path) {
  struct stat st {};
  if (::stat(config_path.c_str(), &st) != 0) {
    return k_builtin_admin_socket;
  }
  try {
    YAML::Node root = YAML::LoadFile(config_path);
    if (root.IsMap() && root["admin_socket"] && root["admin_socket"].IsScalar()) {
      return root["admin_socket"].as<std::string>();
    }
  } catch (const YAML::Exception& e) {
    std::cerr << "holdfast: ignoring " << config_path << " (" << e.msg << "); using " << k_builtin_admin_socket
              << "\n";
  }
  return k_builtin_admin_socket;
}

}  // namespace holdfast::cli
