#include "admin/doctor_checks.hpp"

#include <algorithm>
#include <sstream>

namespace holdfast {

std::string_view to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::ok: return "ok";
    case CheckStatus::warn: return "warn";
    case CheckStatus::fail: return "fail";
  }
  return "fail";
}

CheckStatus overall(const std::vector<Check>& checks) {
  CheckStatus worst = CheckStatus::ok;
  for (const auto& check : checks) {
    worst = std::max(worst, check.status);
  }
  return worst;
}

int doctor_exit_code(CheckStatus overall) {
  switch (overall) {
    case CheckStatus::ok: return 0;
    case CheckStatus::warn: return 1;
    case CheckStatus::fail: return 2;
  }
  return 2;
}

nlohmann::json doctor_json(const std::vector<Check>& checks) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& check : checks) {
    list.push_back({{"name", check.name}, {"status", to_string(check.status)}, {"message", check.message}});
  }
  return {{"status", to_string(overall(checks))}, {"checks", std::move(list)}};
}

std::vector<IscsiSession> parse_iscsi_sessions(std::string_view text) {
  std::vector<IscsiSession> out;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string transport;
    std::string id;
    IscsiSession session;
    if (!(words >> transport >> id >> session.portal >> session.target)) {
      continue;
    }
    if (transport.empty() || transport.back() != ':' || id.size() < 3 || id.front() != '[' || id.back() != ']') {
      continue;
    }
    session.id = id.substr(1, id.size() - 2);
    out.push_back(std::move(session));
  }
  return out;
}

std::string summarize_status(const nlohmann::json& status) {
  std::string out;
  if (!status.is_object()) {
    return out;
  }
  for (const auto& [key, value] : status.items()) {
    if (key == "warning" || value.is_object() || value.is_array()) {
      continue;
    }
    out += (out.empty() ? "" : ", ") + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return out;
}

}  // namespace holdfast
