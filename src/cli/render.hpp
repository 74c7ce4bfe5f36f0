// How the holdfast CLI shows the admin API's JSON replies to a person
// (tables and short lines); --json prints the replies as they are instead.
// Pure functions of the reply; thread-safe.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace holdfast::cli {

// Left-aligned columns separated by two spaces; the first row is the header.
std::string table(const std::vector<std::vector<std::string>>& rows);

std::string render_volumes(const nlohmann::json& reply);    // GET /v1/volumes
std::string render_volume(const nlohmann::json& reply);     // GET /v1/volumes/<name>
std::string render_doctor(const nlohmann::json& reply);     // GET /v1/doctor
std::string render_reconcile(const nlohmann::json& reply);  // /v1/reconcile
std::string render_resize(const nlohmann::json& reply);     // POST .../resize
std::string render_release(const nlohmann::json& reply);    // POST .../release
std::string render_info(const nlohmann::json& reply);       // GET /v1/info

// "512.0 MiB" for a byte count.
std::string human_bytes(std::uint64_t bytes);

}  // namespace holdfast::cli
