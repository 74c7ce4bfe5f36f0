#include "nfs_metadata.hpp"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <holdfast/error.hpp>

namespace holdfast::nfs {

namespace {

constexpr std::size_t k_max_host_id = 255;

std::string join(const std::string& dir, std::string_view leaf) {
  return dir == "/" ? "/" + std::string(leaf) : dir + "/" + std::string(leaf);
}

}  // namespace

std::string serialize_metadata(const VolumeMetadata& metadata) {
  nlohmann::json options = nlohmann::json::object();
  for (const auto& [key, value] : metadata.options) {
    options[key] = value;
  }
  nlohmann::json doc = {
      {"holdfast_volume", k_metadata_format},
      {"name", metadata.name},
      {"dir", metadata.dir.empty() ? metadata.name : metadata.dir},
      {"options", options},
      {"created_at", format_rfc3339(metadata.created_at)},
      {"created_by", metadata.created_by},
  };
  return doc.dump(2) + "\n";
}

namespace {

VolumeMetadata parse_record(std::string_view text, const std::string_view* expected_name) {
  if (text.size() > k_max_metadata_bytes) {
    throw invalid_argument(fmt::format("volume record is larger than {} bytes", k_max_metadata_bytes));
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
    throw invalid_argument(fmt::format("volume record is not valid JSON: {}", e.what()));
  }
  if (!doc.is_object()) {
    throw invalid_argument("volume record is not a JSON object");
  }
  if (!doc.contains("holdfast_volume")) {
    throw invalid_argument("volume record lacks \"holdfast_volume\"");
  }
  const auto& format = doc["holdfast_volume"];
  if (!format.is_number_integer() || format.get<long long>() < 1 || format.get<long long>() > k_metadata_format) {
    throw invalid_argument(fmt::format("volume record has format {}, this holdfast reads formats 1 to {}",
                                       format.dump(), k_metadata_format));
  }
  // Format 1 had no "dir": its volumes live in <base>/<name>.
  const bool has_dir = format.get<long long>() >= 2;
  static const char* const k_keys[] = {"holdfast_volume", "name", "options", "created_at", "created_by", "dir"};
  const auto known_keys = std::end(k_keys) - (has_dir ? 0 : 1);
  for (const auto& [key, value] : doc.items()) {
    (void)value;
    if (std::find(std::begin(k_keys), known_keys, key) == known_keys) {
      throw invalid_argument(fmt::format("volume record has an unknown key \"{}\"", key));
    }
  }
  for (auto key = std::begin(k_keys); key != known_keys; ++key) {
    if (!doc.contains(*key)) {
      throw invalid_argument(fmt::format("volume record lacks \"{}\"", *key));
    }
  }
  VolumeMetadata out;
  if (!doc["name"].is_string()) {
    throw invalid_argument("volume record: \"name\" is not a string");
  }
  out.name = doc["name"].get<std::string>();
  validate_volume_name(out.name);
  if (expected_name != nullptr && out.name != *expected_name) {
    throw invalid_argument(
        fmt::format("volume record names \"{}\" but is stored as \"{}\"", out.name, *expected_name));
  }
  out.dir = out.name;
  if (has_dir) {
    if (!doc["dir"].is_string() || !valid_volume_dir(out.name, doc["dir"].get<std::string>())) {
      throw invalid_argument(fmt::format("volume record: \"dir\" is not a directory name of volume \"{}\"", out.name));
    }
    out.dir = doc["dir"].get<std::string>();
  }
  if (!doc["options"].is_object()) {
    throw invalid_argument("volume record: \"options\" is not an object");
  }
  for (const auto& [key, value] : doc["options"].items()) {
    if (!value.is_string()) {
      throw invalid_argument(fmt::format("volume record: option \"{}\" is not a string", key));
    }
    out.options[key] = value.get<std::string>();
  }
  if (!doc["created_at"].is_string()) {
    throw invalid_argument("volume record: \"created_at\" is not a string");
  }
  out.created_at = parse_rfc3339(doc["created_at"].get<std::string>());
  if (!doc["created_by"].is_string() || doc["created_by"].get<std::string>().empty() ||
      doc["created_by"].get<std::string>().size() > k_max_host_id) {
    throw invalid_argument("volume record: \"created_by\" is not a host name");
  }
  out.created_by = doc["created_by"].get<std::string>();
  return out;
}

}  // namespace

VolumeMetadata parse_metadata(std::string_view text, std::string_view expected_name) {
  return parse_record(text, &expected_name);
}

VolumeMetadata parse_metadata_any_name(std::string_view text) { return parse_record(text, nullptr); }

std::string generation_dir(std::string_view name, SystemTime now, std::uint32_t random) {
  return fmt::format("{}@{}.{:08x}", name, compact_timestamp(now), random);
}

bool valid_volume_dir(std::string_view name, std::string_view dir) {
  if (dir == name) {
    return true;
  }
  if (dir.size() <= name.size() + 1 || dir.substr(0, name.size()) != name || dir[name.size()] != '@') {
    return false;
  }
  std::string_view generation = dir.substr(name.size() + 1);
  return generation.size() <= 48 && std::all_of(generation.begin(), generation.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
         });
}

std::string ExportLayout::volume_dir(std::string_view dir) const { return join(base, dir); }
std::string ExportLayout::admin_dir() const { return join(base, ".holdfast"); }
std::string ExportLayout::records_dir() const { return admin_dir() + "/volumes"; }
std::string ExportLayout::record_path(std::string_view name) const {
  return records_dir() + "/" + std::string(name) + ".json";
}
std::string ExportLayout::staging_dir() const { return admin_dir() + "/tmp"; }
std::string ExportLayout::trash_dir() const { return admin_dir() + "/trash"; }

std::string ExportLayout::name_of_record(std::string_view file_name) {
  constexpr std::string_view suffix = ".json";
  if (file_name.size() <= suffix.size() || file_name.substr(file_name.size() - suffix.size()) != suffix) {
    return {};
  }
  std::string name(file_name.substr(0, file_name.size() - suffix.size()));
  try {
    validate_volume_name(name);
  } catch (const Error&) {
    return {};
  }
  return name;
}

std::string file_name_safe(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-';
    out += ok ? c : '_';
  }
  return out.empty() ? "_" : out;
}

std::string compact_timestamp(SystemTime t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y%m%dT%H%M%SZ", &utc);
  return buffer;
}

}  // namespace holdfast::nfs
