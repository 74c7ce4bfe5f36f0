#include "lvm_report.hpp"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include <holdfast/error.hpp>

namespace holdfast::lvm {

namespace {

constexpr const char* k_fields =
    "lv_name,lv_size,lv_attr,lv_tags,pool_lv,origin,data_percent,metadata_percent,vg_extent_size";

[[noreturn]] void malformed(const std::string& why) {
  throw internal_error("unexpected lvs report: " + why);
}

const std::string& field(const nlohmann::json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || !it->is_string()) {
    malformed(std::string("field \"") + key + "\" missing or not a string");
  }
  return it->get_ref<const std::string&>();
}

std::uint64_t parse_bytes(const std::string& text, const char* key) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    malformed(std::string("field \"") + key + "\" is not a byte count: \"" + text.substr(0, 32) + "\"");
  }
  return value;
}

std::optional<double> parse_percent(std::string text, const char* key) {
  if (text.empty()) {
    return std::nullopt;
  }
  // A locale may print a decimal comma.
  std::replace(text.begin(), text.end(), ',', '.');
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > 100.0001) {
    malformed(std::string("field \"") + key + "\" is not a percentage: \"" + text.substr(0, 32) + "\"");
  }
  return value;
}

std::vector<std::string> split_tags(const std::string& text) {
  std::vector<std::string> tags;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    std::size_t comma = text.find(',', start);
    std::string tag = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!tag.empty()) {
      tags.push_back(tag);
    }
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return tags;
}

}  // namespace

bool LvInfo::has_tag(std::string_view tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

std::optional<std::string> LvInfo::tag_value(std::string_view prefix) const {
  for (const auto& tag : tags) {
    if (tag.size() >= prefix.size() && std::string_view(tag).substr(0, prefix.size()) == prefix) {
      return tag.substr(prefix.size());
    }
  }
  return std::nullopt;
}

std::vector<std::string> lvs_argv(const std::string& volume_group) {
  return {"lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", k_fields, volume_group};
}

std::vector<LvInfo> parse_lvs_report(std::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded()) {
    malformed("not JSON");
  }
  if (!doc.is_object() || !doc.contains("report") || !doc["report"].is_array()) {
    malformed("no \"report\" array");
  }
  std::vector<LvInfo> out;
  for (const auto& section : doc["report"]) {
    if (!section.is_object()) {
      malformed("report entry is not an object");
    }
    auto lv = section.find("lv");
    if (lv == section.end()) {
      continue;  // other report types (none are requested)
    }
    if (!lv->is_array()) {
      malformed("\"lv\" is not an array");
    }
    for (const auto& row : *lv) {
      if (!row.is_object()) {
        malformed("LV row is not an object");
      }
      LvInfo info;
      info.name = field(row, "lv_name");
      if (info.name.empty()) {
        malformed("empty lv_name");
      }
      info.size = parse_bytes(field(row, "lv_size"), "lv_size");
      info.attr = field(row, "lv_attr");
      info.tags = split_tags(field(row, "lv_tags"));
      info.pool = field(row, "pool_lv");
      info.origin = field(row, "origin");
      info.data_percent = parse_percent(field(row, "data_percent"), "data_percent");
      info.metadata_percent = parse_percent(field(row, "metadata_percent"), "metadata_percent");
      info.extent_size = parse_bytes(field(row, "vg_extent_size"), "vg_extent_size");
      out.push_back(std::move(info));
    }
  }
  return out;
}

}  // namespace holdfast::lvm
