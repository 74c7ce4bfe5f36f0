// Fuzz target: the per-volume option validators of the real backends, which
// every Docker user's `docker volume create -o key=value` reaches, and the
// config-value parsers beside them: NFS mount options (nfs_options.cpp and
// NfsBackend::validate + mount_options, the `-o` string given to mount.nfs),
// LVM sizes, filesystems, mount and mkfs options (lvm_size.cpp, lvm_fs.cpp,
// LvmBackend::validate), iSCSI sizes, mount options, LUN pools, portals and
// takeover policies (iscsi_config.cpp, block_filesystem.cpp).
//
// Input: the first byte picks the function (see k_modes), the rest is its
// text. In the "volume" modes the text is a volume's options, one
// `key=value` per line (split at the first '='; no '=' gives the empty value,
// as `-o noatime`), filtered by accepted_options() and validated as the
// volume manager does; values with a newline reach the same checks through
// the single-value modes.
//
// Contract checked (nfs_options.hpp, lvm_fs.hpp, lvm_size.hpp,
// iscsi_config.hpp, block_filesystem.hpp, backend.hpp): only holdfast::Error
// escapes, and validate() runs no command and mounts nothing. What is
// accepted keeps its promise:
// - NFS: the mount.nfs option string of an accepted volume holds only table
//   options with values the table accepts, no control or space character,
//   each option once, the volume's options over the defaults, and nosuid and
//   nodev unless the config allows suid/dev;
// - LVM mount options: flags are the generic MS_* ones; the data string holds
//   only the documented allowlist with valid values, nothing empty, nothing
//   unprintable;
// - LVM mkfs options: the argv mkfs gets, read as getopt reads it, is the
//   defaults, then only allowlisted flags each with an argument the allowlist
//   accepts, then the device, last;
// - sizes: the documented grammar and the exact byte count (LVM: rounded up,
//   at most 2^64-1; iSCSI: positive), and within the backend's bounds at the
//   door; LUN pools sorted, unique, 0..16383; portals and takeover policies
//   well formed and reparsed unchanged from their text().
#include <sys/mount.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <holdfast/backend.hpp>
#include <holdfast/error.hpp>
#include <holdfast/host.hpp>
#include <holdfast/volume.hpp>

#include "block_filesystem.hpp"
#include "fuzz_check.hpp"
#include "iscsi_config.hpp"
#include "lvm_backend.hpp"
#include "lvm_fs.hpp"
#include "lvm_size.hpp"
#include "nfs_backend.hpp"
#include "nfs_options.hpp"

using holdfast::fuzz::fuzz_require;
namespace iscsi = holdfast::iscsi;
namespace lvm = holdfast::lvm;
namespace nfs = holdfast::nfs;

namespace {

// Byte counts of up to 2^120, so that no oracle below can overflow.
__extension__ typedef unsigned __int128 U128;

// ------------------------------------------------------------ text helpers

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find(sep, start);
    out.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) {
      return out;
    }
    start = end + 1;
  }
}

// Visible ASCII, no space: what may appear in a mount option string or an
// mkfs argument without splitting or ending it.
bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

bool digits_only(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Decimal digits as a number, saturated at 2^70 (leading zeros allowed).
U128 decimal(std::string_view s) {
  U128 v = 0;
  for (char c : s) {
    v = std::min<U128>(v * 10 + static_cast<unsigned>(c - '0'), static_cast<U128>(1) << 70);
  }
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

bool accepted(const std::function<void()>& call) {
  try {
    call();
    return true;
  } catch (const holdfast::Error&) {
    return false;  // refused: the documented outcome
  }
}

// One option per line, split at the first '='.
holdfast::Options options_of(std::string_view text) {
  holdfast::Options out;
  for (const auto& line : split(text, '\n')) {
    auto eq = line.find('=');
    out.emplace(line.substr(0, eq), eq == std::string::npos ? "" : line.substr(eq + 1));
  }
  return out;
}

// ------------------------------------------------ backends without a host

// validate() must not touch the host (backend.hpp): any call is a crash.
class NoCommands final : public holdfast::CommandRunner {
 public:
  holdfast::CommandResult run(const std::vector<std::string>&, holdfast::Deadline, const std::string&) override {
    fuzz_require(false, "validate() ran a command");
    return {};
  }
};

class NoMounts final : public holdfast::Mounter {
 public:
  std::vector<holdfast::MountEntry> mounts() override { return refuse<std::vector<holdfast::MountEntry>>(); }
  void mount(const std::string&, const std::string&, const std::string&, unsigned long, const std::string&,
             holdfast::Deadline) override {
    refuse<int>();
  }
  void unmount(const std::string&, holdfast::UnmountMode, holdfast::Deadline) override { refuse<int>(); }
  bool is_mounted(const std::string&) override { return refuse<bool>(); }

 private:
  template <typename T>
  static T refuse() {
    fuzz_require(false, "validate() used the mount table");
    return T{};
  }
};

NoCommands g_runner;
NoMounts g_mounter;

holdfast::BackendEnv& env() {
  static holdfast::BackendEnv e{"fuzz", "host-a", "/nonexistent/state", g_runner, g_mounter};
  return e;
}

// The volume manager's door (VolumeManager::Impl::resolve): the keys the
// backend lists, then its validate(). Returns the options that passed.
std::optional<holdfast::Options> through_the_door(const holdfast::Backend& backend, std::string_view text) {
  holdfast::Options options = options_of(text);
  options.erase(std::string(holdfast::k_backend_option));
  const auto specs = backend.accepted_options();
  for (const auto& option : options) {
    const std::string& key = option.first;
    if (std::none_of(specs.begin(), specs.end(), [&key](const holdfast::OptionSpec& s) { return s.name == key; })) {
      return std::nullopt;  // "unknown option"
    }
  }
  if (!accepted([&] { backend.validate(options); })) {
    return std::nullopt;
  }
  return options;
}

// -------------------------------------------------------------------- NFS

bool nfs_is_flag(const std::string& name) {
  return accepted([&] { (void)nfs::validate_mount_option(name, ""); });
}

// An accepted single option: a table option whose value cannot split or
// extend "-o name=value,...", and is its own normal form.
void check_nfs_value(const std::string& name, const std::string& value) {
  fuzz_require(nfs::is_mount_option(name), "an option outside the table accepted");
  fuzz_require(printable(value) && value.find(',') == std::string::npos && value.find('=') == std::string::npos,
               "an option value that can split the option string accepted");
  fuzz_require(nfs::validate_mount_option(name, value) == value, "a normalised option value is not stable");
  fuzz_require(!nfs_is_flag(name) || value.empty(), "a flag with a value accepted");
}

void nfs_option(std::string_view text) {
  auto eq = text.find('=');
  const std::string name(text.substr(0, eq));
  const std::string value(eq == std::string_view::npos ? "" : text.substr(eq + 1));
  std::string normal;
  if (accepted([&] { normal = nfs::validate_mount_option(name, value); })) {
    check_nfs_value(name, normal);
  }
}

void nfs_config_entry(std::string_view text) {
  std::pair<std::string, std::string> option;
  if (accepted([&] { option = nfs::parse_mount_option(std::string(text)); })) {
    check_nfs_value(option.first, option.second);
    fuzz_require(!nfs_is_flag(option.first) || text.find('=') == std::string_view::npos,
                 "a config entry giving a flag a value accepted");
  }
}

void check_nfs_option_string(const std::string& built, const nfs::NfsConfig& config,
                             const holdfast::Options& volume) {
  fuzz_require(printable(built), "a control or space character in the mount.nfs option string");
  const auto items = split(built, ',');
  const auto vers = volume.find("vers");
  fuzz_require(items.front() == "vers=" + (vers != volume.end() ? vers->second : config.nfs_version),
               "the option string does not start with the volume's (else the config's) version");
  std::set<std::string> names;
  for (const auto& item : items) {
    auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    fuzz_require(names.insert(name).second, "an option twice in the option string");
    if (name == "nosuid" || name == "nodev") {
      fuzz_require(eq == std::string::npos, "nosuid/nodev with a value");
      continue;
    }
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    fuzz_require(nfs::is_mount_option(name), "an option outside the table in the option string");
    fuzz_require((eq == std::string::npos) == nfs_is_flag(name), "a flag with a value, or a value without one");
    fuzz_require(nfs::validate_mount_option(name, value) == value, "an invalid value in the option string");
  }
  for (const std::string privileged : {"suid", "dev"}) {
    const bool weakened = names.count(privileged) != 0;
    fuzz_require(weakened != (names.count("no" + privileged) != 0), "neither or both of suid/nosuid (dev/nodev)");
    fuzz_require(!weakened || config.allow_options.count(privileged) != 0, "suid or dev without allow_options");
  }
  fuzz_require(!(names.count("hard") != 0 && names.count("soft") != 0), "hard and soft together");
  fuzz_require(!(names.count("noatime") != 0 && names.count("relatime") != 0), "noatime and relatime together");
  for (const auto& [name, value] : volume) {
    if (!nfs::is_mount_option(name) || name == "vers") {
      continue;
    }
    const std::string expected = nfs_is_flag(name) ? name : name + "=" + nfs::validate_mount_option(name, value);
    fuzz_require(std::find(items.begin(), items.end(), expected) != items.end(),
                 "a volume's mount option is not in its option string");
  }
}

void nfs_volume(std::string_view text, bool permissive) {
  nfs::NfsConfig config;
  config.server = "10.0.0.5";
  config.export_path = "/srv/docker";
  if (permissive) {
    config.nfs_version = "3";
    config.allow_options = {"suid", "dev"};
    config.port = 2049;
    config.mount_port = 20048;
  }
  const nfs::NfsBackend backend(config, env());
  const auto options = through_the_door(backend, text);
  if (!options) {
    return;
  }
  std::string built;
  fuzz_require(accepted([&] { built = backend.mount_options(*options); }),
               "no mount.nfs option string for options validate() accepted");
  check_nfs_option_string(built, config, *options);
}

// -------------------------------------------------------------------- LVM

constexpr unsigned long k_generic_flags = MS_RDONLY | MS_NOATIME | MS_RELATIME | MS_STRICTATIME | MS_NODIRATIME |
                                          MS_LAZYTIME | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS |
                                          MS_DIRSYNC;

bool power_of_two_bytes(std::string_view v, U128 min, U128 max) {
  U128 unit = 1;
  if (!v.empty()) {
    const char last = lower(v.substr(v.size() - 1)).front();
    if (last == 'k' || last == 'm' || last == 'g') {
      unit = last == 'k' ? 1024 : last == 'm' ? 1024 * 1024 : 1024 * 1024 * 1024;
      v.remove_suffix(1);
    }
  }
  if (!digits_only(v)) {
    return false;
  }
  const U128 bytes = decimal(v) * unit;
  return bytes >= min && bytes <= max && (bytes & (bytes - 1)) == 0;
}

// The data options lvm_fs.hpp documents for volumes, with their values.
bool documented_data_option(lvm::FsType fs, const std::string& item) {
  auto eq = item.find('=');
  const std::string key = item.substr(0, eq);
  const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
  const bool bare = eq == std::string::npos;
  if (key == "discard" || key == "nodiscard") {
    return bare;
  }
  if (fs == lvm::FsType::ext4) {
    if (key == "noauto_da_alloc" || key == "dioread_nolock" || key == "journal_checksum" || key == "barrier") {
      return bare;
    }
    if (key == "data") {
      return !bare && (value == "ordered" || value == "writeback" || value == "journal");
    }
    if (key == "commit") {
      return !bare && digits_only(value) && decimal(value) >= 1 && decimal(value) <= 600;
    }
    if (key == "errors") {
      return !bare && (value == "remount-ro" || value == "continue");
    }
    return false;
  }
  static const std::set<std::string> xfs_bare = {"inode64", "noquota", "usrquota", "grpquota", "prjquota",
                                                 "uquota",  "gquota",  "pquota",   "largeio",  "swalloc"};
  if (xfs_bare.count(key) != 0) {
    return bare;
  }
  return key == "allocsize" && !bare && power_of_two_bytes(value, 4096, 1U << 30);
}

void check_lvm_mount(const lvm::MountSpec& spec, lvm::FsType fs, bool allowlisted) {
  fuzz_require((spec.flags & ~k_generic_flags) == 0, "a mount flag outside the generic ones");
  if (spec.data.empty()) {
    return;
  }
  for (const auto& item : split(spec.data, ',')) {
    fuzz_require(!item.empty() && printable(item), "an empty or unprintable item in the mount data");
    fuzz_require(!allowlisted || documented_data_option(fs, item),
                 "a volume's mount data option outside the documented allowlist");
  }
}

void lvm_mount(std::string_view text, lvm::FsType fs) {
  lvm::MountSpec spec;
  if (accepted([&] { spec = lvm::parse_mount_options(text, fs, true); })) {
    check_lvm_mount(spec, fs, true);
  }
}

const std::string k_device = "/dev/vg0/hf-fuzz";

// The argv mkfs runs, read as getopt reads it: after the fixed defaults only
// flags the volume allowlist accepts, each with the argument it accepts,
// then the device. A flag that takes no value is accepted alone.
void check_mkfs_argv(const std::vector<std::string>& argv, lvm::FsType fs) {
  const std::vector<std::string> defaults = fs == lvm::FsType::ext4
                                                ? std::vector<std::string>{"mkfs.ext4", "-q", "-F"}
                                                : std::vector<std::string>{"mkfs.xfs", "-q", "-f", "-K"};
  fuzz_require(argv.size() > defaults.size() && std::equal(defaults.begin(), defaults.end(), argv.begin()),
               "mkfs argv does not start with its defaults");
  fuzz_require(argv.back() == k_device, "the device is not the last mkfs argument");
  for (std::size_t i = defaults.size(); i + 1 < argv.size(); ++i) {
    const std::string& flag = argv[i];
    if (accepted([&] { (void)lvm::parse_mkfs_options(flag, fs, true); })) {
      continue;  // a flag without a value (xfs -K)
    }
    fuzz_require(i + 2 < argv.size(), "an mkfs flag takes the device as its argument");
    const std::string pair = flag + " " + argv[++i];
    fuzz_require(accepted([&] { (void)lvm::parse_mkfs_options(pair, fs, true); }),
                 "mkfs gets a flag or argument the volume allowlist refuses");
  }
}

void check_lvm_mkfs(const std::vector<std::string>& tokens, lvm::FsType fs) {
  std::string joined;
  for (const auto& token : tokens) {
    fuzz_require(!token.empty() && printable(token), "an empty or unprintable mkfs token");
    joined += (joined.empty() ? "" : " ") + token;
  }
  fuzz_require(lvm::parse_mkfs_options(joined, fs, true) == tokens, "accepted mkfs tokens do not reparse the same");
  check_mkfs_argv(lvm::mkfs_argv(fs, {}, tokens, k_device), fs);
}

void lvm_mkfs(std::string_view text, lvm::FsType fs) {
  std::vector<std::string> tokens;
  if (accepted([&] { tokens = lvm::parse_mkfs_options(text, fs, true); })) {
    check_lvm_mkfs(tokens, fs);
  }
}

// The operator's own options: trusted, but still split into printable pieces.
void lvm_trusted(std::string_view text) {
  for (auto fs : {lvm::FsType::ext4, lvm::FsType::xfs}) {
    lvm::MountSpec spec;
    if (accepted([&] { spec = lvm::parse_mount_options(text, fs, false); })) {
      check_lvm_mount(spec, fs, false);
    }
    std::vector<std::string> tokens;
    if (accepted([&] { tokens = lvm::parse_mkfs_options(text, fs, false); })) {
      for (const auto& token : tokens) {
        fuzz_require(!token.empty() && printable(token), "an empty or unprintable mkfs token");
      }
    }
  }
}

// lvm_size.hpp: digits, at most 3 decimals, an optional K/M/G/T/P with an
// optional B or iB (any case), or B; binary units; rounded up to a byte.
// nullopt where the grammar refuses; else the exact byte count (which may
// exceed 2^64-1, or be a fraction of a byte: refused too).
struct SizeOracle {
  bool grammar = false;
  bool fraction_of_byte = false;
  U128 bytes = 0;
};

SizeOracle lvm_size_oracle(std::string_view text) {
  SizeOracle o;
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    ++i;
  }
  const std::string_view whole = text.substr(0, i);
  std::string_view decimals;
  if (i < text.size() && text[i] == '.') {
    std::size_t start = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    decimals = text.substr(start, i - start);
    if (decimals.empty() || decimals.size() > 3) {
      return o;
    }
  }
  const std::string suffix = lower(text.substr(i));
  U128 unit = 0;
  if (suffix.empty() || suffix == "b") {
    unit = 1;
  } else {
    const std::string letters = "kmgtp";
    const auto pos = letters.find(suffix.front());
    const std::string tail = suffix.substr(1);
    if (pos != std::string::npos && (tail.empty() || tail == "b" || tail == "ib")) {
      unit = static_cast<U128>(1) << (10 * (pos + 1));
    }
  }
  if (whole.empty() || unit == 0) {
    return o;
  }
  o.grammar = true;
  U128 scale = 1;
  for (std::size_t d = 0; d < decimals.size(); ++d) {
    scale *= 10;
  }
  const U128 fraction = decimals.empty() ? 0 : decimal(decimals);
  o.fraction_of_byte = unit == 1 && fraction != 0;
  o.bytes = decimal(whole) * unit + (fraction * unit + scale - 1) / scale;
  return o;
}

void lvm_size(std::string_view text) {
  std::uint64_t bytes = 0;
  const bool ok = accepted([&] { bytes = lvm::parse_size(text); });
  const SizeOracle o = lvm_size_oracle(text);
  const bool fits = o.bytes <= UINT64_MAX;
  fuzz_require(ok == (o.grammar && fits && !o.fraction_of_byte), "LVM size accepted or refused against lvm_size.hpp");
  fuzz_require(!ok || bytes == o.bytes, "LVM size parsed to the wrong byte count");
}

void lvm_fs(std::string_view text) {
  const auto fs = lvm::parse_fs(text);
  fuzz_require(fs.has_value() == (text == "ext4" || text == "xfs"), "a filesystem other than ext4/xfs accepted");
  fuzz_require(!fs || lvm::to_string(*fs) == text, "a filesystem name does not round trip");
}

// The door: an accepted size lies within [16 MiB, max_size] (xfs: 300 MiB);
// the option strings satisfy the checks above; from excludes mkfs_options.
void lvm_volume(std::string_view text, bool xfs_small) {
  lvm::LvmConfig config;
  config.volume_group = "vg0";
  if (xfs_small) {
    config.fs = lvm::FsType::xfs;
    config.thin_pool = "pool";
    config.max_size = lvm::k_gib;
  }
  const lvm::LvmBackend backend(config, env());
  const auto options = through_the_door(backend, text);
  if (!options) {
    return;
  }
  lvm::FsType fs = config.fs;
  if (auto it = options->find("fs"); it != options->end()) {
    fuzz_require(lvm::parse_fs(it->second).has_value(), "an unknown fs accepted at the door");
    fs = *lvm::parse_fs(it->second);
  }
  if (auto it = options->find("size"); it != options->end()) {
    const std::uint64_t bytes = lvm::parse_size(it->second);
    fuzz_require(bytes >= lvm::k_min_size && bytes <= config.max_size, "a size outside [16 MiB, max_size] accepted");
    fuzz_require(fs != lvm::FsType::xfs || bytes >= lvm::k_xfs_min_size, "an xfs volume below 300 MiB accepted");
  }
  if (auto it = options->find("from"); it != options->end()) {
    holdfast::validate_volume_name(it->second);  // throws (and so crashes) if a bad name passed
    fuzz_require(options->count("mkfs_options") == 0, "from and mkfs_options together accepted");
  }
  if (auto it = options->find("mkfs_options"); it != options->end()) {
    check_lvm_mkfs(lvm::parse_mkfs_options(it->second, fs, true), fs);
  }
  if (auto it = options->find("mount_options"); it != options->end()) {
    check_lvm_mount(lvm::parse_mount_options(it->second, fs, true), fs, true);
  }
}

// ------------------------------------------------------------------ iSCSI

// iscsi_config.hpp: up to 18 digits, a positive number, K/M/G/T (and P)
// with an optional I, IB or B, or B; any case.
void iscsi_size(std::string_view text) {
  std::uint64_t bytes = 0;
  const bool ok = accepted([&] { bytes = iscsi::parse_size(text); });
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    ++i;
  }
  const std::string suffix = lower(text.substr(i));
  int shift = -1;
  if (suffix.empty() || suffix == "b") {
    shift = 0;
  } else if (const auto pos = std::string("kmgtp").find(suffix.front()); pos != std::string::npos) {
    const std::string tail = suffix.substr(1);
    if (tail.empty() || tail == "b" || tail == "i" || tail == "ib") {
      shift = 10 * static_cast<int>(pos + 1);
    }
  }
  const U128 value = decimal(text.substr(0, i));
  const bool grammar = i >= 1 && i <= 18 && value > 0 && shift >= 0;
  const U128 expected = grammar ? value << shift : 0;
  fuzz_require(ok == (grammar && expected <= UINT64_MAX), "iSCSI size accepted or refused against iscsi_config.hpp");
  fuzz_require(!ok || (bytes > 0 && bytes == expected), "iSCSI size parsed to the wrong byte count");
}

// block_filesystem.hpp: the generic names become flags (rw clears ro), the
// rest is data, in order, without empty items.
void iscsi_mount(std::string_view text) {
  iscsi::MountFlags got;
  if (!accepted([&] { got = iscsi::parse_mount_options(std::string(text)); })) {
    return;
  }
  static const std::vector<std::pair<std::string, unsigned long>> k_flags = {
      {"ro", MS_RDONLY},       {"noatime", MS_NOATIME},         {"nodiratime", MS_NODIRATIME},
      {"relatime", MS_RELATIME}, {"strictatime", MS_STRICTATIME}, {"lazytime", MS_LAZYTIME},
      {"nodev", MS_NODEV},     {"nosuid", MS_NOSUID},           {"noexec", MS_NOEXEC},
      {"sync", MS_SYNCHRONOUS}, {"dirsync", MS_DIRSYNC},        {"defaults", 0}};
  unsigned long flags = 0;
  std::string data;
  for (const auto& item : split(text, ',')) {
    auto flag = std::find_if(k_flags.begin(), k_flags.end(), [&item](const auto& f) { return f.first == item; });
    if (item == "rw") {
      flags &= ~static_cast<unsigned long>(MS_RDONLY);
    } else if (flag != k_flags.end()) {
      flags |= flag->second;
    } else if (!item.empty()) {
      data += (data.empty() ? "" : ",") + item;
    }
  }
  fuzz_require(got.flags == flags, "iSCSI mount flags differ from block_filesystem.hpp");
  fuzz_require(got.data == data, "iSCSI mount data differs from block_filesystem.hpp");
}

void lun_pool(std::string_view text) {
  std::vector<int> luns;
  if (!accepted([&] { luns = iscsi::parse_lun_pool(text); })) {
    return;
  }
  fuzz_require(!luns.empty(), "an empty LUN pool accepted");
  fuzz_require(std::adjacent_find(luns.begin(), luns.end(), std::greater_equal<>()) == luns.end(),
               "a LUN pool not sorted and unique");
  fuzz_require(luns.front() >= 0 && luns.back() <= 16383, "a LUN outside 0..16383 accepted");
  std::string again;
  for (int lun : luns) {
    again += (again.empty() ? "" : ",") + std::to_string(lun);
  }
  fuzz_require(iscsi::parse_lun_pool(again) == luns, "a LUN pool does not reparse the same");
}

void portal(std::string_view text) {
  iscsi::Portal p;
  if (!accepted([&] { p = iscsi::parse_portal(text); })) {
    return;
  }
  fuzz_require(!p.host.empty() && p.host.size() <= 253 && p.port >= 1, "an empty host or port 0 accepted");
  const bool v6 = p.host.find(':') != std::string::npos;
  fuzz_require(std::all_of(p.host.begin(), p.host.end(),
                           [v6](char c) {
                             const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
                             return v6 ? hex || c == ':' || c == '.'
                                       : hex || (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '.' || c == '-';
                           }),
               "a portal host with a character outside its allowlist accepted");
  const std::string shown = p.text();
  fuzz_require(printable(shown) && shown.find(',') == std::string::npos, "a portal text() that is not one word");
  fuzz_require(iscsi::parse_portal(shown) == p, "a portal does not reparse the same from its text()");
}

void takeover(std::string_view text) {
  iscsi::TakeoverPolicy p;
  if (!accepted([&] { p = iscsi::parse_takeover(text); })) {
    return;
  }
  if (p.mode == iscsi::TakeoverMode::grace) {
    fuzz_require(p.grace >= std::chrono::seconds(10) && p.grace <= std::chrono::hours(168),
                 "a takeover grace outside 10s..168h accepted");
  }
  const iscsi::TakeoverPolicy again = iscsi::parse_takeover(p.text());
  fuzz_require(again.mode == p.mode && again.grace == p.grace, "a takeover policy does not reparse the same");
}

// ------------------------------------------------------------------ modes

struct Mode {
  char selector;
  void (*run)(std::string_view text);
};

constexpr Mode k_modes[] = {
    {'o', nfs_option},
    {'e', nfs_config_entry},
    {'n', [](std::string_view t) { nfs_volume(t, false); }},
    {'N', [](std::string_view t) { nfs_volume(t, true); }},
    {'l', [](std::string_view t) { lvm_volume(t, false); }},
    {'L', [](std::string_view t) { lvm_volume(t, true); }},
    {'m', [](std::string_view t) { lvm_mount(t, lvm::FsType::ext4); }},
    {'M', [](std::string_view t) { lvm_mount(t, lvm::FsType::xfs); }},
    {'k', [](std::string_view t) { lvm_mkfs(t, lvm::FsType::ext4); }},
    {'K', [](std::string_view t) { lvm_mkfs(t, lvm::FsType::xfs); }},
    {'w', lvm_trusted},
    {'z', lvm_size},
    {'f', lvm_fs},
    {'Z', iscsi_size},
    {'b', iscsi_mount},
    {'p', lun_pool},
    {'P', portal},
    {'t', takeover},
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  holdfast::fuzz::silence_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view text = holdfast::fuzz::as_text(data, size).substr(1);
  for (const auto& mode : k_modes) {
    if (mode.selector == static_cast<char>(data[0])) {
      mode.run(text);
    }
  }
  return 0;
}
