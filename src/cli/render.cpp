#include "cli/render.hpp"

#include <algorithm>
#include <cstdio>

namespace holdfast::cli {

namespace {

using Json = nlohmann::json;

constexpr std::size_t k_max_note = 60;

std::string text(const Json& object, const char* key, const std::string& fallback = "") {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return fallback;
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string shorten(std::string value, std::size_t max) {
  if (value.size() > max) {
    value.resize(max - 3);
    value += "...";
  }
  return value;
}

std::string pad(const std::string& value, std::size_t width) {
  return value.size() >= width ? value : value + std::string(width - value.size(), ' ');
}

// "size", else "size_bytes" made readable, else "-".
std::string size_text(const Json& volume) {
  std::string size = text(volume, "size");
  if (size.empty()) {
    if (auto it = volume.find("size_bytes"); it != volume.end() && it->is_number_unsigned()) {
      size = human_bytes(it->get<std::uint64_t>());
    }
  }
  return size.empty() ? "-" : size;
}

std::string upper(std::string value) {
  for (char& c : value) {
    c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  return value;
}

}  // namespace

std::string human_bytes(std::uint64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
  }
  return buf;
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += i + 1 < row.size() ? pad(row[i], widths[i]) + "  " : row[i];
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

std::string render_volumes(const Json& reply) {
  const Json& volumes = reply.at("volumes");
  if (volumes.empty()) {
    return "no volumes\n";
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "BACKEND", "SIZE", "MOUNTS", "MOUNTPOINT", "NOTES"}};
  for (const Json& v : volumes) {
    const Json status = v.value("status", Json::object());
    std::string notes;
    if (std::string holder = text(status, "holder"); !holder.empty()) {
      notes = "holder=" + holder;
    }
    if (std::string warning = text(status, "warning"); !warning.empty()) {
      notes += (notes.empty() ? "" : "; ") + std::string("warning: ") + warning;
    }
    rows.push_back({text(v, "name"), text(v, "backend"), size_text(v),
                    text(v, "mounts", "0"), text(v, "mountpoint").empty() ? "-" : text(v, "mountpoint"),
                    shorten(notes, k_max_note)});
  }
  return table(rows);
}

std::string render_volume(const Json& reply) {
  const Json& v = reply.at("volume");
  // Named copies: items() of a temporary would dangle in the loop.
  const Json options_json = v.value("options", Json::object());
  const Json mounts_json = v.value("mounts", Json::object());
  const Json status_json = v.value("status", Json::object());
  std::string options;
  for (const auto& [key, value] : options_json.items()) {
    options += (options.empty() ? "" : ", ") + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  std::string created = text(v, "created_at", "-");
  if (std::string by = text(v, "created_by"); !by.empty()) {
    created += " by " + by;
  }
  std::string mounts;
  for (const auto& [id, count] : mounts_json.items()) {
    mounts += (mounts.empty() ? "" : ", ") + id.substr(0, 12) + " x" + count.dump();
  }
  std::vector<std::vector<std::string>> rows = {
      {"Name:", text(v, "name")},
      {"Backend:", text(v, "backend")},
      {"Options:", options.empty() ? "-" : options},
      {"Created:", created.empty() ? "-" : created},
      {"Size:", size_text(v)},
      {"Mountpoint:", text(v, "mountpoint").empty() ? "not mounted" : text(v, "mountpoint")},
      {"Mounts:", mounts.empty() ? "none" : text(v, "mount_count") + " (" + mounts + ")"},
  };
  std::string out = table(rows) + "Status:\n";
  std::vector<std::vector<std::string>> status;
  for (const auto& [key, value] : status_json.items()) {
    status.push_back({"  " + key + ":", value.is_string() ? value.get<std::string>() : value.dump()});
  }
  return out + (status.empty() ? "  (none)\n" : table(status));
}

std::string render_doctor(const Json& reply) {
  std::vector<std::vector<std::string>> rows;
  std::size_t counts[3] = {0, 0, 0};
  for (const Json& check : reply.at("checks")) {
    std::string status = text(check, "status");
    counts[status == "ok" ? 0 : status == "warn" ? 1 : 2]++;
    rows.push_back({pad(upper(status), 4), text(check, "name"), text(check, "message")});
  }
  return table(rows) + "\ndoctor: " + std::to_string(counts[0]) + " ok, " + std::to_string(counts[1]) +
         " warning(s), " + std::to_string(counts[2]) + " failure(s)\n";
}

std::string render_reconcile(const Json& reply) {
  const bool apply = reply.value("apply", false);
  const Json& findings = reply.at("findings");
  if (findings.empty()) {
    return "nothing to reconcile: the saved state and the mount table agree\n";
  }
  std::string out;
  for (const Json& f : findings) {
    out += text(f, "volume") + ": " + text(f, "kind") + ": " + text(f, "problem");
    if (std::string fix = text(f, "fix"); !fix.empty()) {
      out += " -> " + fix;
    }
    out += " [" + text(f, "outcome") + "]\n";
  }
  if (apply) {
    out += "\nreconcile: " + text(reply, "fixed", "0") + " fixed, " + text(reply, "failed", "0") + " failed\n";
  } else {
    out += "\nreconcile: " + std::to_string(findings.size()) +
           " difference(s) (dry run); `holdfast reconcile --apply` fixes what has a fix\n";
  }
  return out;
}

std::string render_resize(const Json& reply) {
  const Json& r = reply.at("result");
  std::string out = text(reply, "volume") + ": " + human_bytes(r.value("old_size", std::uint64_t{0})) + " -> " +
                    human_bytes(r.value("new_size", std::uint64_t{0}));
  out += r.value("lv_extended", false) ? ", LV extended" : ", LV unchanged";
  if (r.value("fs_grown", false)) {
    out += ", filesystem grown";
  }
  if (r.value("fs_grow_pending", false)) {
    out += ", the filesystem grows at the next mount";
  }
  return out + "\n";
}

std::string render_release(const Json& reply) {
  const Json& r = reply.at("result");
  std::string holder = text(r, "holder");
  return "volume " + text(reply, "volume") + " released for takeover by this host" +
         (holder.empty() ? std::string() : " (current holder: " + holder + ")") + ": " + text(r, "next") +
         ".\ntakeover file " + text(r, "takeover_file") + ", valid for " +
         std::to_string(r.value("valid_for_seconds", 0) / 60) + " min (policy " + text(r, "policy") + ")\n";
}

std::string render_info(const Json& reply) {
  std::vector<std::vector<std::string>> rows;
  for (const char* key : {"version", "pid", "uptime_seconds", "config_file", "socket", "admin_socket", "state_dir",
                          "mount_root", "audit_log", "metrics_listen", "default_backend"}) {
    rows.push_back({std::string(key) + ":", text(reply, key).empty() ? "-" : text(reply, key)});
  }
  std::string backends;
  for (const Json& b : reply.value("backends", Json::array())) {
    backends += (backends.empty() ? "" : ", ") + b.get<std::string>();
  }
  rows.push_back({"backends:", backends});
  return table(rows);
}

}  // namespace holdfast::cli
