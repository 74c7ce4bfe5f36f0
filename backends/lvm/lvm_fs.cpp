#include "lvm_fs.hpp"

#include <sys/mount.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <map>
#include <utility>

#include <holdfast/error.hpp>

namespace holdfast::lvm {

namespace {

// A value check for an option: returns an empty string when valid, else
// what is expected.
using Check = std::function<std::string(std::string_view)>;

std::optional<long long> to_integer(std::string_view text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

Check in_range(long long min, long long max) {
  return [min, max](std::string_view v) -> std::string {
    auto n = to_integer(v);
    if (n && *n >= min && *n <= max) {
      return {};
    }
    return "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  };
}

Check one_of(std::vector<std::string> choices) {
  return [choices = std::move(choices)](std::string_view v) -> std::string {
    if (std::find(choices.begin(), choices.end(), v) != choices.end()) {
      return {};
    }
    std::string list;
    for (const auto& c : choices) {
      list += (list.empty() ? "" : "|") + c;
    }
    return "one of " + list;
  };
}

Check label(std::size_t max) {
  return [max](std::string_view v) -> std::string {
    bool ok = !v.empty() && v.size() <= max && std::all_of(v.begin(), v.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
    });
    return ok ? std::string() : "a label of 1 to " + std::to_string(max) + " letters, digits, '_', '.', '-'";
  };
}

Check power_of_two_bytes(long long min, long long max) {
  return [min, max](std::string_view v) -> std::string {
    // Accepts a byte count with an optional k/m/g suffix.
    long long unit = 1;
    std::string_view digits = v;
    if (!v.empty()) {
      char last = static_cast<char>(std::tolower(static_cast<unsigned char>(v.back())));
      if (last == 'k' || last == 'm' || last == 'g') {
        unit = last == 'k' ? 1024LL : last == 'm' ? 1024LL * 1024 : 1024LL * 1024 * 1024;
        digits = v.substr(0, v.size() - 1);
      }
    }
    auto n = to_integer(digits);
    if (n && *n > 0 && *n <= max / unit) {
      long long bytes = *n * unit;
      if (bytes >= min && (bytes & (bytes - 1)) == 0) {
        return {};
      }
    }
    return "a power of two from " + std::to_string(min) + " to " + std::to_string(max) +
           " bytes (k, m, g suffixes allowed)";
  };
}

// Sub-options of a flag such as -E or -m: name -> check; a null check means
// the sub-option takes no value.
using SubOptions = std::map<std::string, Check, std::less<>>;

struct FlagSpec {
  bool takes_value = true;
  Check check;            // for plain values
  SubOptions sub;         // when non-empty, the value is a comma list of sub-options
};

using FlagTable = std::map<std::string, FlagSpec, std::less<>>;

const FlagTable& ext4_flags() {
  static const FlagTable table = {
      {"-m", {true, in_range(0, 50), {}}},
      {"-i", {true, in_range(1024, 67108864), {}}},
      {"-I", {true, one_of({"128", "256", "512", "1024"}), {}}},
      {"-N", {true, in_range(16, 4294967295LL), {}}},
      {"-b", {true, one_of({"1024", "2048", "4096"}), {}}},
      {"-L", {true, label(16), {}}},
      {"-T", {true, one_of({"default", "small", "news", "largefile", "largefile4"}), {}}},
      {"-E",
       {true,
        {},
        {{"lazy_itable_init", one_of({"0", "1"})},
         {"lazy_journal_init", one_of({"0", "1"})},
         {"discard", nullptr},
         {"nodiscard", nullptr},
         {"stride", in_range(1, 1 << 20)},
         {"stripe_width", in_range(1, 1 << 20)}}}},
  };
  return table;
}

const FlagTable& xfs_flags() {
  static const FlagTable table = {
      {"-L", {true, label(12), {}}},
      {"-K", {false, {}, {}}},
      {"-m",
       {true,
        {},
        {{"crc", one_of({"0", "1"})},
         {"finobt", one_of({"0", "1"})},
         {"reflink", one_of({"0", "1"})},
         {"bigtime", one_of({"0", "1"})},
         {"rmapbt", one_of({"0", "1"})}}}},
      {"-i", {true, {}, {{"size", one_of({"256", "512", "1024", "2048"})}, {"maxpct", in_range(0, 100)}}}},
      {"-d", {true, {}, {{"agcount", in_range(1, 1024)}}}},
  };
  return table;
}

const FlagTable& flags_for(FsType fs) {
  return fs == FsType::ext4 ? ext4_flags() : xfs_flags();
}

std::string flag_list(const FlagTable& table) {
  std::string out;
  for (const auto& [name, spec] : table) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(sep, start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    if (end > start) {
      out.emplace_back(text.substr(start, end - start));
    }
    start = end + 1;
  }
  return out;
}

std::vector<std::string> split_whitespace(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      if (!current.empty()) {
        out.push_back(std::move(current));
        current.clear();
      }
    } else {
      current += c;
    }
  }
  if (!current.empty()) {
    out.push_back(std::move(current));
  }
  return out;
}

std::pair<std::string, std::string> key_value(const std::string& item) {
  auto eq = item.find('=');
  if (eq == std::string::npos) {
    return {item, {}};
  }
  return {item.substr(0, eq), item.substr(eq + 1)};
}

bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

std::string shown(std::string_view text) {
  std::string out(text.substr(0, 64));
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"') {
      c = '?';
    }
  }
  return out;
}

void check_sub_options(const std::string& flag, const std::string& value, const SubOptions& sub,
                       std::string_view what) {
  auto items = split(value, ',');
  if (items.empty()) {
    throw invalid_argument(std::string(what) + ": " + flag + " needs sub-options");
  }
  for (const auto& item : items) {
    auto [key, val] = key_value(item);
    auto it = sub.find(key);
    if (it == sub.end()) {
      std::string list;
      for (const auto& [name, check] : sub) {
        list += (list.empty() ? "" : ", ") + name;
      }
      throw invalid_argument(std::string(what) + ": " + flag + " sub-option \"" + shown(key) +
                             "\" is not allowed (allowed: " + list + ")");
    }
    bool has_value = item.find('=') != std::string::npos;
    if (!it->second) {
      if (has_value) {
        throw invalid_argument(std::string(what) + ": " + flag + " " + key + " takes no value");
      }
      continue;
    }
    std::string expected = has_value ? it->second(val) : std::string("a value");
    if (!expected.empty()) {
      throw invalid_argument(std::string(what) + ": " + flag + " " + key + " must be " + expected);
    }
  }
}

// Sub-option groups whose members replace each other ("discard" vs "nodiscard").
std::string sub_key(const std::string& item) {
  std::string key = key_value(item).first;
  if (key == "nodiscard") {
    return "discard";
  }
  return key;
}

// Flags whose value is a sub-option list merged across config and volume.
bool is_merged_flag(FsType fs, const std::string& flag) {
  if (fs == FsType::ext4) {
    return flag == "-E";
  }
  return flag == "-m" || flag == "-i" || flag == "-d";
}

struct MountFlag {
  const char* name;
  unsigned long flag;
};

constexpr MountFlag k_mount_flags[] = {
    {"ro", MS_RDONLY},         {"noatime", MS_NOATIME}, {"relatime", MS_RELATIME},
    {"strictatime", MS_STRICTATIME}, {"nodiratime", MS_NODIRATIME}, {"lazytime", MS_LAZYTIME},
    {"nosuid", MS_NOSUID},     {"nodev", MS_NODEV},     {"noexec", MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS},  {"dirsync", MS_DIRSYNC},
};

const SubOptions& mount_data_allowlist(FsType fs) {
  static const SubOptions ext4 = {
      {"discard", nullptr},
      {"nodiscard", nullptr},
      {"data", one_of({"ordered", "writeback", "journal"})},
      {"commit", in_range(1, 600)},
      {"errors", one_of({"remount-ro", "continue"})},
      {"noauto_da_alloc", nullptr},
      {"dioread_nolock", nullptr},
      {"journal_checksum", nullptr},
      {"barrier", nullptr},
  };
  static const SubOptions xfs = {
      {"discard", nullptr}, {"nodiscard", nullptr}, {"inode64", nullptr}, {"noquota", nullptr},
      {"usrquota", nullptr}, {"grpquota", nullptr}, {"prjquota", nullptr}, {"uquota", nullptr},
      {"gquota", nullptr},  {"pquota", nullptr},    {"largeio", nullptr}, {"swalloc", nullptr},
      {"allocsize", power_of_two_bytes(4096, 1LL << 30)},
  };
  return fs == FsType::ext4 ? ext4 : xfs;
}

}  // namespace

std::string_view to_string(FsType fs) {
  return fs == FsType::ext4 ? "ext4" : "xfs";
}

std::optional<FsType> parse_fs(std::string_view text) {
  if (text == "ext4") {
    return FsType::ext4;
  }
  if (text == "xfs") {
    return FsType::xfs;
  }
  return std::nullopt;
}

std::vector<std::string> parse_mkfs_options(std::string_view text, FsType fs, bool allowlisted,
                                            std::string_view what) {
  std::vector<std::string> tokens = split_whitespace(text);
  for (const auto& token : tokens) {
    if (!printable(token)) {
      throw invalid_argument(std::string(what) + ": \"" + shown(token) + "\" contains control or non-ASCII characters");
    }
  }
  if (!allowlisted) {
    return tokens;
  }
  const FlagTable& table = flags_for(fs);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    auto it = table.find(tokens[i]);
    if (it == table.end()) {
      throw invalid_argument(std::string(what) + ": \"" + shown(tokens[i]) + "\" is not allowed for " +
                             std::string(to_string(fs)) + " (allowed: " + flag_list(table) + ")");
    }
    const FlagSpec& spec = it->second;
    if (!spec.takes_value) {
      continue;
    }
    if (i + 1 >= tokens.size()) {
      throw invalid_argument(std::string(what) + ": " + tokens[i] + " needs a value");
    }
    const std::string& value = tokens[++i];
    // mkfs_argv() tells flags from values by their text: a value such as
    // "-L -E" (a label) would make it merge the next flag into -E and shift
    // every argument after it, so mkfs would run with arguments no one
    // validated.
    if (value.front() == '-') {
      throw invalid_argument(std::string(what) + ": " + tokens[i - 1] + " needs a value, not \"" + shown(value) +
                             "\" (values never start with '-')");
    }
    if (!spec.sub.empty()) {
      check_sub_options(tokens[i - 1], value, spec.sub, what);
    } else if (auto expected = spec.check(value); !expected.empty()) {
      throw invalid_argument(std::string(what) + ": " + tokens[i - 1] + " must be " + expected +
                             ", got \"" + shown(value) + "\"");
    }
  }
  return tokens;
}

std::vector<std::string> mkfs_argv(FsType fs, const std::vector<std::string>& config_options,
                                   const std::vector<std::string>& volume_options,
                                   const std::string& device) {
  std::vector<std::string> argv;
  // Merged sub-option flags, in first-seen order, each with its items by key.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> merged;
  auto merge_items = [&merged](const std::string& flag, const std::string& value) {
    auto group = std::find_if(merged.begin(), merged.end(), [&](const auto& g) { return g.first == flag; });
    if (group == merged.end()) {
      merged.emplace_back(flag, std::vector<std::pair<std::string, std::string>>{});
      group = std::prev(merged.end());
    }
    for (const auto& item : split(value, ',')) {
      std::string key = sub_key(item);
      auto existing = std::find_if(group->second.begin(), group->second.end(),
                                   [&](const auto& kv) { return kv.first == key; });
      if (existing != group->second.end()) {
        existing->second = item;
      } else {
        group->second.emplace_back(key, item);
      }
    }
  };
  if (fs == FsType::ext4) {
    argv = {"mkfs.ext4", "-q", "-F"};
    // Lazy init: mkfs returns in about a second whatever the size; the
    // kernel zeroes inode tables in the background. No discard: a new thin
    // LV is already unprovisioned, and discarding a large thick LV is slow.
    merge_items("-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard");
  } else {
    argv = {"mkfs.xfs", "-q", "-f", "-K"};
  }
  for (const auto* options : {&config_options, &volume_options}) {
    for (std::size_t i = 0; i < options->size(); ++i) {
      const std::string& token = (*options)[i];
      if (is_merged_flag(fs, token) && i + 1 < options->size()) {
        merge_items(token, (*options)[++i]);
      } else {
        argv.push_back(token);
      }
    }
  }
  for (const auto& [flag, items] : merged) {
    std::string value;
    for (const auto& [key, item] : items) {
      value += (value.empty() ? "" : ",") + item;
    }
    argv.push_back(flag);
    argv.push_back(value);
  }
  argv.push_back(device);
  return argv;
}

MountSpec parse_mount_options(std::string_view text, FsType fs, bool allowlisted, std::string_view what) {
  MountSpec spec;
  const SubOptions& allowed = mount_data_allowlist(fs);
  for (const auto& item : split(text, ',')) {
    if (!printable(item)) {
      throw invalid_argument(std::string(what) + ": \"" + shown(item) + "\" contains spaces, control or non-ASCII characters");
    }
    if (item == "defaults") {
      continue;
    }
    if (item == "rw") {
      spec.flags &= ~static_cast<unsigned long>(MS_RDONLY);
      spec.read_write = true;
      continue;
    }
    auto flag = std::find_if(std::begin(k_mount_flags), std::end(k_mount_flags),
                             [&](const MountFlag& f) { return item == f.name; });
    if (flag != std::end(k_mount_flags)) {
      spec.flags |= flag->flag;
      if (flag->flag == MS_RDONLY) {
        spec.read_write = false;
      }
      continue;
    }
    if (allowlisted) {
      auto [key, val] = key_value(item);
      auto it = allowed.find(key);
      bool has_value = item.find('=') != std::string::npos;
      if (it == allowed.end()) {
        std::string list = "ro, rw, noatime, relatime, strictatime, nodiratime, lazytime, nosuid, nodev, noexec, sync, dirsync";
        for (const auto& [name, check] : allowed) {
          list += ", " + name;
        }
        throw invalid_argument(std::string(what) + ": \"" + shown(item) + "\" is not allowed for " +
                               std::string(to_string(fs)) + " (allowed: " + list + ")");
      }
      if (!it->second && has_value) {
        throw invalid_argument(std::string(what) + ": " + key + " takes no value");
      }
      if (it->second) {
        std::string expected = has_value ? it->second(val) : std::string("a value");
        if (!expected.empty()) {
          throw invalid_argument(std::string(what) + ": " + key + " must be " + expected);
        }
      }
    }
    spec.data += (spec.data.empty() ? "" : ",") + item;
  }
  return spec;
}

MountSpec merge(const MountSpec& base, const MountSpec& extra) {
  MountSpec out;
  out.flags = base.flags;
  if (extra.read_write) {
    out.flags &= ~static_cast<unsigned long>(MS_RDONLY);
  }
  out.flags |= extra.flags;
  out.read_write = extra.read_write || (base.read_write && (extra.flags & MS_RDONLY) == 0);
  out.data = base.data;
  if (!extra.data.empty()) {
    out.data += (out.data.empty() ? "" : ",") + extra.data;
  }
  return out;
}

std::vector<std::string> grow_argv(FsType fs, const std::string& device, const std::string& mountpoint) {
  if (fs == FsType::ext4) {
    return {"resize2fs", device};
  }
  return {"xfs_growfs", mountpoint};
}

}  // namespace holdfast::lvm
