// Volume names, options and the record the volume manager keeps per volume.
//
// A VolumeRecord is plain data: the volume manager owns records and their
// locking; backends receive const references (and never keep them).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace holdfast {

// Longest accepted volume name. Leaves room for backend prefixes in LV names
// (LVM allows 127 characters) and claim labels.
inline constexpr std::size_t k_max_volume_name = 128;

// Throws invalid_argument unless `name` matches [A-Za-z0-9][A-Za-z0-9_.-]*,
// is at most k_max_volume_name bytes, and is not "." or "..". Such a name is
// safe as a single path component, LV name or label. `operation` is used in
// the message ("create: invalid volume name ...").
void validate_volume_name(std::string_view name);

// Options as given with `-o key=value` (Docker sends map[string]string).
using Options = std::map<std::string, std::string>;

// Option reserved by the volume manager to pick a configured backend.
inline constexpr std::string_view k_backend_option = "backend";

// What an option means, for the allowlist and for the error message that
// lists accepted options.
struct OptionSpec {
  std::string name;
  std::string help;  // one line, shown in errors and docs
};

using SystemTime = std::chrono::system_clock::time_point;

// RFC 3339 in UTC with seconds precision, e.g. 2026-11-28T01:06:11Z.
std::string format_rfc3339(SystemTime t);
// Parses what format_rfc3339 writes (and offsets / fractional seconds);
// throws invalid_argument.
SystemTime parse_rfc3339(std::string_view text);

struct VolumeRecord {
  std::string name;
  std::string backend;      // configured backend instance name
  Options options;          // validated options, without "backend"
  SystemTime created_at{};  // when it was created (on this host or, for shared backends, anywhere)
  std::string created_by;   // host that created it (shared backends)
  // Mount ID -> number of Mount calls not yet matched by an Unmount. The
  // engine may send the same ID twice (docker cp on a running container).
  std::map<std::string, std::uint32_t> mounts;
  // Host path handed to Docker while attached; empty when not attached.
  std::string mountpoint;
  // Backend-private facts to remember across restarts (for example the LUN
  // a volume claimed, the device it was attached as). Small, JSON.
  nlohmann::json backend_data = nlohmann::json::object();

  std::uint64_t mount_count() const {
    std::uint64_t total = 0;
    for (const auto& [id, n] : mounts) {
      total += n;
    }
    return total;
  }
};

}  // namespace holdfast
