// Reading LVM's state: the argv of the one `lvs` report holdfast runs and the
// parser of its JSON output (`--reportformat json`, no screen scraping).
//
// The report lists every LV of the volume group with the fields below,
// sizes in bytes (`--units b --nosuffix`). Output that is not the expected
// JSON shape throws holdfast::Error (internal: LVM said something holdfast
// does not understand), never crashes and never yields a half-read list.
//
// Pure functions and plain data, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::lvm {

struct LvInfo {
  std::string name;
  std::uint64_t size = 0;       // bytes
  std::string attr;             // lv_attr, e.g. "Vwi-aotz--"
  std::vector<std::string> tags;
  std::string pool;             // pool_lv: the thin pool of a thin volume
  std::string origin;           // origin of a snapshot
  std::optional<double> data_percent;      // thin volumes and pools
  std::optional<double> metadata_percent;  // thin pools
  std::uint64_t extent_size = 0;  // vg_extent_size, bytes

  bool has_tag(std::string_view tag) const;
  // Value of the first tag "<prefix>..." (prefix included in the argument),
  // or nullopt.
  std::optional<std::string> tag_value(std::string_view prefix) const;
  bool is_thin_volume() const { return !attr.empty() && attr[0] == 'V'; }
  bool is_thin_pool() const { return !attr.empty() && attr[0] == 't'; }
  bool is_active() const { return attr.size() > 4 && attr[4] == 'a'; }
  bool is_open() const { return attr.size() > 5 && attr[5] == 'o'; }
};

// argv of the report over every LV of `volume_group`.
std::vector<std::string> lvs_argv(const std::string& volume_group);

// Parses the report. Throws internal_error for malformed output.
std::vector<LvInfo> parse_lvs_report(std::string_view json);

}  // namespace holdfast::lvm
