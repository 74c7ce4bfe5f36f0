// The pure pieces of `holdfast doctor`: check results and their exit code,
// the parser of `iscsiadm -m session`, and the one-line summary of a
// backend's status. See doctor.hpp for the checks themselves.
//
// Plain functions on plain data; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace holdfast {

enum class CheckStatus { ok, warn, fail };

std::string_view to_string(CheckStatus status);

struct Check {
  std::string name;  // "config", "backend nfs1", "mounts", ...
  CheckStatus status = CheckStatus::ok;
  std::string message;
};

// The worst status of `checks` (ok for none).
CheckStatus overall(const std::vector<Check>& checks);

// `holdfast doctor`'s exit code: 0 all ok, 1 warnings (no failure), 2 any failure.
int doctor_exit_code(CheckStatus overall);

// {"status": "...", "checks": [{"name","status","message"}...]}
nlohmann::json doctor_json(const std::vector<Check>& checks);

struct IscsiSession {
  std::string id;      // the session id iscsiadm shows in brackets
  std::string portal;  // "192.0.2.10:3260,1"
  std::string target;  // the target IQN
};

// Parses `iscsiadm -m session` output: lines like
//   tcp: [3] 192.0.2.10:3260,1 iqn.2003-01.org.example:target (non-flash)
// Lines of another shape are skipped.
std::vector<IscsiSession> parse_iscsi_sessions(std::string_view text);

// "key=value, key=value" of a backend_status() object's scalar members,
// without "warning" (reported on its own).
std::string summarize_status(const nlohmann::json& status);

}  // namespace holdfast
