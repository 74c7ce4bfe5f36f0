#include "lvm_backend.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <random>

#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>

#include "lvm_command.hpp"
#include "lvm_size.hpp"

namespace holdfast::lvm {

namespace {

// Keys of record.backend_data.
constexpr const char* k_data_vg = "vg";
constexpr const char* k_data_lv = "lv";
constexpr const char* k_data_fs = "fs";
constexpr const char* k_data_thin = "thin";
constexpr const char* k_data_source = "source";
constexpr const char* k_data_nouuid = "nouuid";        // xfs clone: mount with nouuid
constexpr const char* k_data_fresh = "fresh";          // new ext4: drop lost+found at first mount
constexpr const char* k_data_grow = "grow_fs";         // grow the filesystem at the next mount

// This process's token in incomplete tags: pid plus randomness, so a
// restarted daemon (same pid in a container, say) still differs.
const std::string& process_token() {
  static const std::string token = [] {
    std::random_device random;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%ld.%08x%08x", static_cast<long>(::getpid()), random(), random());
    return std::string(buf);
  }();
  return token;
}

std::string mib_argument(std::uint64_t bytes) {
  return std::to_string(round_up(bytes, k_mib) / k_mib) + "m";
}

const std::string* find_option(const Options& options, const std::string& key) {
  auto it = options.find(key);
  return it == options.end() ? nullptr : &it->second;
}

FsType fs_option(const Options& options, FsType fallback) {
  const std::string* text = find_option(options, "fs");
  if (text == nullptr) {
    return fallback;
  }
  auto fs = parse_fs(*text);
  if (!fs) {
    throw invalid_argument("fs: \"" + text->substr(0, 32) + "\" is not one of: ext4, xfs");
  }
  return *fs;
}

const LvInfo* find_lv(const std::vector<LvInfo>& lvs, const std::string& name) {
  auto it = std::find_if(lvs.begin(), lvs.end(), [&](const LvInfo& lv) { return lv.name == name; });
  return it == lvs.end() ? nullptr : &*it;
}

bool is_half_made(const LvInfo& lv) {
  return lv.tag_value(k_incomplete_tag_prefix).has_value();
}

// Sets out["warning"] to the warnings joined with "; ", if any.
void put_warnings(nlohmann::json& out, const std::vector<std::string>& warnings) {
  if (warnings.empty()) {
    return;
  }
  std::string joined;
  for (const auto& w : warnings) {
    joined += (joined.empty() ? "" : "; ") + w;
  }
  out["warning"] = joined;
}

double round2(double value) {
  return std::round(value * 100.0) / 100.0;
}

bool data_flag(const VolumeRecord& record, const char* key) {
  auto it = record.backend_data.find(key);
  return it != record.backend_data.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

// ---------------------------------------------------------------------------
// LocalFs

std::optional<FsUsage> LocalFs::usage(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  FsUsage out;
  out.total = static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize;
  out.used = static_cast<std::uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
  out.available = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  return out;
}

bool LocalFs::is_block_device(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
}

bool LocalFs::remove_empty_dir(const std::string& path) {
  return ::rmdir(path.c_str()) == 0;
}

// ---------------------------------------------------------------------------
// Scoped helpers

// Marks an LV name as being provisioned by this process for the scope's
// lifetime; a second provision of the same LV (a retried Create while an
// abandoned one still runs) is refused instead of racing it.
class LvmBackend::InFlight {
 public:
  InFlight(LvmBackend& backend, std::string lv) : m_backend(backend), m_lv(std::move(lv)) {
    std::lock_guard lock(m_backend.m_mutex);
    if (!m_backend.m_in_flight.insert(m_lv).second) {
      throw busy("an earlier create of this volume is still running");
    }
  }
  ~InFlight() {
    std::lock_guard lock(m_backend.m_mutex);
    m_backend.m_in_flight.erase(m_lv);
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  LvmBackend& m_backend;
  std::string m_lv;
};

// An LV this call created and has not finished: removed again (lvremove -f)
// when the scope is left without commit(), whatever the reason.
class LvmBackend::PendingLv {
 public:
  PendingLv(LvmBackend& backend, std::string lv) : m_backend(backend), m_lv(std::move(lv)) {}
  ~PendingLv() {
    if (!m_committed) {
      m_backend.discard_lv(m_lv);
    }
  }
  PendingLv(const PendingLv&) = delete;
  PendingLv& operator=(const PendingLv&) = delete;
  void commit() { m_committed = true; }

 private:
  LvmBackend& m_backend;
  std::string m_lv;
  bool m_committed = false;
};

// ---------------------------------------------------------------------------
// Construction, options

LvmBackend::LvmBackend(LvmConfig config, BackendEnv& env, std::unique_ptr<LocalFs> local_fs)
    : m_config(std::move(config)),
      m_namer(m_config.volume_group, m_config.lv_prefix),
      m_instance(env.instance_name),
      m_runner(env.runner),
      m_mounter(env.mounter),
      m_local_fs(local_fs ? std::move(local_fs) : std::make_unique<LocalFs>()),
      m_incomplete_tag(incomplete_tag(process_token())) {}

LvmBackend::~LvmBackend() = default;

std::string LvmBackend::log_prefix() const {
  return "lvm backend \"" + m_instance + "\": ";
}

std::vector<OptionSpec> LvmBackend::accepted_options() const {
  return {
      {"size", "volume size: 500M, 10G, 1.5T (binary units; default " + format_size(m_config.default_size) +
                   ", at most " + format_size(m_config.max_size) + ")"},
      {"fs", std::string("filesystem: ext4 or xfs (default ") + std::string(to_string(m_config.fs)) + ")"},
      {"from", m_config.thin() ? "another volume of this backend: a thin snapshot of it"
                               : "another volume of this backend: a full copy of it (unmounted, at most " +
                                     format_size(m_config.max_copy_size) + ")"},
      {"mkfs_options", "allowlisted mkfs flags, e.g. \"-m 1 -i 65536\" (ext4) or \"-m reflink=0\" (xfs)"},
      {"mount_options", "allowlisted mount options, e.g. \"noatime,nodev\""},
  };
}

void LvmBackend::validate(const Options& options) const {
  FsType fs = fs_option(options, m_config.fs);
  if (const std::string* size = find_option(options, "size")) {
    std::uint64_t bytes = parse_size(*size, "size");
    if (bytes < k_min_size) {
      throw invalid_argument("size " + *size + " is too small: the minimum is " + format_size(k_min_size));
    }
    if (bytes > m_config.max_size) {
      throw invalid_argument("size " + *size + " is larger than this backend's maximum of " +
                             format_size(m_config.max_size));
    }
    if (fs == FsType::xfs && bytes < k_xfs_min_size) {
      throw invalid_argument("size " + *size + " is too small for xfs: the minimum is " +
                             format_size(k_xfs_min_size));
    }
  }
  if (const std::string* from = find_option(options, "from")) {
    try {
      validate_volume_name(*from);
    } catch (const Error& e) {
      throw e.with_context("from");
    }
    if (find_option(options, "mkfs_options") != nullptr) {
      throw invalid_argument("mkfs_options cannot be combined with from: a clone keeps its source's filesystem");
    }
  }
  if (const std::string* mkfs = find_option(options, "mkfs_options")) {
    (void)parse_mkfs_options(*mkfs, fs, true);
  }
  if (const std::string* mount = find_option(options, "mount_options")) {
    (void)parse_mount_options(*mount, fs, true);
  }
}

// ---------------------------------------------------------------------------
// Reading LVM's state

LvmBackend::Placement LvmBackend::placement(const VolumeRecord& record) const {
  Placement p;
  const auto& data = record.backend_data;
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = data.find(key);
    if (it == data.end()) {
      return std::nullopt;
    }
    if (!it->is_string()) {
      throw internal_error("saved backend data: \"" + std::string(key) + "\" is not a string");
    }
    return it->get<std::string>();
  };
  p.vg = text(k_data_vg).value_or(m_config.volume_group);
  p.lv = text(k_data_lv).value_or(m_namer.lv_name(record.name));
  if (auto fs = text(k_data_fs)) {
    auto parsed = parse_fs(*fs);
    if (!parsed) {
      throw internal_error("saved backend data: unknown filesystem \"" + fs->substr(0, 16) + "\"");
    }
    p.fs = *parsed;
  } else {
    p.fs = fs_option(record.options, m_config.fs);
  }
  // The names become paths and command arguments: check them like any input.
  if (!is_valid_vg_name(p.vg) || !is_valid_lv_name(p.lv)) {
    throw internal_error("saved backend data: invalid LVM names");
  }
  if (p.vg != m_config.volume_group) {
    throw conflict("the volume is in volume group \"" + p.vg + "\" but this backend now uses \"" +
                   m_config.volume_group + "\"");
  }
  return p;
}

std::vector<LvInfo> LvmBackend::list_lvs(Deadline deadline) {
  std::string out = run_tool(m_runner, lvs_argv(m_config.volume_group), command_deadline(deadline),
                             "list logical volumes");
  std::vector<LvInfo> lvs = parse_lvs_report(out);
  update_cache(lvs);
  return lvs;
}

void LvmBackend::update_cache(const std::vector<LvInfo>& lvs) {
  std::optional<LvInfo> pool;
  if (m_config.thin()) {
    if (const LvInfo* p = find_lv(lvs, m_config.thin_pool)) {
      pool = *p;
    }
  }
  bool above = false;
  if (pool) {
    double threshold = m_config.pool_warning_percent;
    above = pool->data_percent.value_or(0) >= threshold || pool->metadata_percent.value_or(0) >= threshold;
  }
  bool was_above = false;
  {
    std::lock_guard lock(m_mutex);
    m_lvs.clear();
    for (const auto& lv : lvs) {
      m_lvs[lv.name] = lv;
    }
    m_pool = pool;
    m_have_report = true;
    m_report_error.clear();
    was_above = m_pool_warned;
    m_pool_warned = above;
  }
  // Logged on crossing the threshold, not on every refresh.
  if (above && !was_above) {
    spdlog::warn("{}thin pool {}/{} is {:.1f}% full (data) and {:.1f}% (metadata), at or above the {}% "
                 "warning threshold: extend it (lvextend) before it fills up",
                 log_prefix(), m_config.volume_group, m_config.thin_pool, pool->data_percent.value_or(0),
                 pool->metadata_percent.value_or(0), m_config.pool_warning_percent);
  } else if (!above && was_above && pool) {
    spdlog::info("{}thin pool {}/{} is back below the {}% warning threshold", log_prefix(),
                 m_config.volume_group, m_config.thin_pool, m_config.pool_warning_percent);
  }
}

// ---------------------------------------------------------------------------
// Provision

void LvmBackend::provision(VolumeRecord& record, Deadline deadline) {
  std::string lv = m_namer.lv_name(record.name);
  InFlight in_flight(*this, lv);
  if (const std::string* from = find_option(record.options, "from")) {
    if (*from == record.name) {
      throw invalid_argument("from: a volume cannot be created from itself");
    }
    provision_clone(record, lv, *from, deadline);
  } else {
    provision_new(record, lv, deadline);
  }
}

bool LvmBackend::create_lv(const VolumeRecord& record, const std::string& lv, std::uint64_t size, FsType fs,
                           Deadline deadline) {
  std::vector<std::string> argv = {"lvcreate", "--yes", "--wipesignatures", "y", "--name", lv};
  if (m_config.thin()) {
    argv.insert(argv.end(), {"--virtualsize", mib_argument(size), "--thinpool", m_config.thin_pool});
  } else {
    argv.insert(argv.end(), {"--size", mib_argument(size)});
  }
  argv.insert(argv.end(), {"--addtag", std::string(k_tag_owner), "--addtag", volume_tag(record.name), "--addtag",
                           fs_tag(to_string(fs)), "--addtag", m_incomplete_tag, m_config.volume_group});
  CommandResult result = m_runner.run(argv, command_deadline(deadline));
  if (result.exit_code == 0 && !result.timed_out) {
    return true;
  }
  if (result.timed_out) {
    // Killed half-way: LVM may or may not have committed the LV.
    discard_if_half_made(lv, record.name);
  } else if (mentions(result, "already exists")) {
    return false;
  }
  throw tool_error(result, argv, "create logical volume " + full_name(lv));
}

bool LvmBackend::adopt_existing(VolumeRecord& record, const LvInfo& existing, std::uint64_t size, FsType fs,
                                Deadline deadline) {
  std::string name = full_name(existing.name);
  if (!existing.has_tag(volume_tag(record.name))) {
    throw conflict("logical volume " + name + " already exists and does not belong to this volume (no tag " +
                   volume_tag(record.name) + "): remove or rename it");
  }
  if (is_half_made(existing)) {
    auto token = existing.tag_value(k_incomplete_tag_prefix);
    spdlog::warn("{}removing half-made logical volume {} left by an interrupted create ({})", log_prefix(), name,
                 *token == process_token() ? "this process" : "an earlier process");
    CommandResult result = m_runner.run({"lvremove", "-f", name}, command_deadline(deadline));
    if (result.exit_code != 0 && !mentions(result, "failed to find")) {
      throw tool_error(result, {"lvremove"}, "remove half-made logical volume " + name);
    }
    return false;
  }
  auto existing_fs = existing.tag_value(k_fs_tag_prefix);
  if (existing_fs && *existing_fs != to_string(fs)) {
    throw conflict("logical volume " + name + " already exists with filesystem " + *existing_fs);
  }
  if (existing.size < size) {
    throw conflict("logical volume " + name + " already exists with size " + format_size(existing.size) +
                   ", smaller than the requested " + format_size(size));
  }
  // A complete LV of this volume whose record was lost (state directory
  // wiped, say): keep its data.
  spdlog::info("{}adopting existing logical volume {} ({})", log_prefix(), name, format_size(existing.size));
  record.backend_data = {{k_data_vg, m_config.volume_group},
                         {k_data_lv, existing.name},
                         {k_data_fs, existing_fs.value_or(std::string(to_string(fs)))},
                         {k_data_thin, existing.is_thin_volume()}};
  if (fs == FsType::xfs) {
    // It may be a clone carrying another volume's filesystem UUID.
    record.backend_data[k_data_nouuid] = true;
  }
  return true;
}

void LvmBackend::provision_new(VolumeRecord& record, const std::string& lv, Deadline deadline) {
  FsType fs = fs_option(record.options, m_config.fs);
  const std::string* size_text = find_option(record.options, "size");
  std::uint64_t size = size_text != nullptr ? parse_size(*size_text) : m_config.default_size;
  std::vector<std::string> volume_mkfs;
  if (const std::string* mkfs = find_option(record.options, "mkfs_options")) {
    volume_mkfs = parse_mkfs_options(*mkfs, fs, true);
  }

  bool created = create_lv(record, lv, size, fs, deadline);
  if (!created) {
    std::vector<LvInfo> lvs = list_lvs(deadline);
    const LvInfo* existing = find_lv(lvs, lv);
    if (existing == nullptr) {
      throw unavailable("create logical volume " + full_name(lv) +
                        ": lvcreate said it exists but lvs does not list it; try again");
    }
    if (adopt_existing(record, *existing, size, fs, deadline)) {
      return;
    }
    if (!create_lv(record, lv, size, fs, deadline)) {
      throw conflict("create logical volume " + full_name(lv) + ": it was created again concurrently");
    }
  }
  PendingLv pending(*this, lv);
  Placement p{m_config.volume_group, lv, fs};
  run_tool(m_runner, mkfs_argv(fs, m_config.mkfs_options(fs), volume_mkfs, device(p)),
           deadline.capped(m_config.timeouts.mkfs), "make the " + std::string(to_string(fs)) + " filesystem");
  mark_complete(lv, deadline);
  pending.commit();

  record.backend_data = {{k_data_vg, m_config.volume_group},
                         {k_data_lv, lv},
                         {k_data_fs, to_string(fs)},
                         {k_data_thin, m_config.thin()}};
  if (fs == FsType::ext4) {
    record.backend_data[k_data_fresh] = true;
  }
  LvInfo info;
  info.name = lv;
  info.size = round_up(size, k_mib);  // the next report has the extent-rounded size
  info.attr = m_config.thin() ? "Vwi-a-tz--" : "-wi-a-----";
  info.pool = m_config.thin_pool;
  info.tags = {std::string(k_tag_owner), volume_tag(record.name), fs_tag(to_string(fs))};
  std::lock_guard lock(m_mutex);
  m_lvs[lv] = info;
}

void LvmBackend::provision_clone(VolumeRecord& record, const std::string& lv, const std::string& from,
                                 Deadline deadline) {
  std::vector<LvInfo> lvs = list_lvs(deadline);
  // The source is found by its tag, whatever name mapping created it.
  auto source_it = std::find_if(lvs.begin(), lvs.end(), [&](const LvInfo& info) {
    return info.has_tag(volume_tag(from)) && !is_half_made(info);
  });
  if (source_it == lvs.end()) {
    throw not_found("from: source volume \"" + from + "\" does not exist in volume group " +
                    m_config.volume_group);
  }
  const LvInfo source = *source_it;
  auto source_fs_text = source.tag_value(k_fs_tag_prefix);
  auto source_fs = source_fs_text ? parse_fs(*source_fs_text) : std::nullopt;
  if (!source_fs) {
    throw unavailable("from: source logical volume " + full_name(source.name) + " has no holdfast.fs tag");
  }
  FsType fs = *source_fs;
  if (const std::string* wanted = find_option(record.options, "fs"); wanted != nullptr && *wanted != to_string(fs)) {
    throw invalid_argument("fs=" + *wanted + " differs from the source's filesystem " +
                           std::string(to_string(fs)) + ": a clone keeps its source's filesystem");
  }
  if (const std::string* mount = find_option(record.options, "mount_options")) {
    (void)parse_mount_options(*mount, fs, true);
  }
  const std::string* size_text = find_option(record.options, "size");
  std::uint64_t size = size_text != nullptr ? parse_size(*size_text) : source.size;
  if (size < source.size) {
    throw invalid_argument("size " + format_size(size) + " is smaller than the source's " +
                           format_size(source.size) + ": a clone is at least as big as its source");
  }
  if (fs == FsType::xfs && size < k_xfs_min_size) {
    throw invalid_argument("size is too small for xfs");
  }

  if (const LvInfo* existing = find_lv(lvs, lv)) {
    if (adopt_existing(record, *existing, size, fs, deadline)) {
      return;
    }
  }

  bool snapshot = m_config.thin() && source.is_thin_volume() && source.pool == m_config.thin_pool;
  bool grow = false;
  std::optional<PendingLv> pending;
  if (snapshot) {
    // A thin snapshot: instant, shares blocks with its origin. Activation
    // skip off, so that it activates like any other volume.
    std::vector<std::string> argv = {"lvcreate", "--yes", "--snapshot", "--setactivationskip", "n", "--name", lv,
                                     "--addtag", std::string(k_tag_owner), "--addtag", volume_tag(record.name),
                                     "--addtag", fs_tag(to_string(fs)), "--addtag", m_incomplete_tag,
                                     full_name(source.name)};
    CommandResult result = m_runner.run(argv, command_deadline(deadline));
    if (result.timed_out) {
      discard_if_half_made(lv, record.name);
    }
    if (result.timed_out || result.exit_code != 0) {
      throw tool_error(result, argv, "snapshot " + full_name(source.name));
    }
    pending.emplace(*this, lv);
    std::uint64_t source_extent = source.extent_size == 0 ? k_mib : source.extent_size;
    if (round_up(size, source_extent) > source.size) {
      run_tool(m_runner, {"lvextend", "--size", mib_argument(size), full_name(lv)}, command_deadline(deadline),
               "extend the snapshot to the requested size");
      grow = true;
    }
  } else {
    // A full copy: every byte through dd, so bounded in size and refused
    // while the source is in use (a copy of a filesystem being written would
    // be torn).
    if (m_config.max_copy_size == 0) {
      throw invalid_argument("from: this backend has no thin pool and full copies are disabled (max_copy_size: 0)");
    }
    if (source.size > m_config.max_copy_size) {
      throw invalid_argument("from: the source is " + format_size(source.size) + "; a full copy is limited to " +
                             format_size(m_config.max_copy_size) +
                             " (max_copy_size); use a backend with a thin pool for instant snapshots");
    }
    Placement source_place{m_config.volume_group, source.name, fs};
    if (source.is_open() || mounted_anywhere(source_place)) {
      throw busy("from: source volume \"" + from +
                 "\" is in use; stop the containers using it before copying it, or use a thin pool");
    }
    if (!create_lv(record, lv, size, fs, deadline)) {
      throw conflict("create logical volume " + full_name(lv) + ": it was created concurrently");
    }
    pending.emplace(*this, lv);
    if (!source.is_active()) {
      activate(source_place, deadline);
    }
    Placement target{m_config.volume_group, lv, fs};
    run_tool(m_runner,
             {"dd", "if=" + device(source_place), "of=" + device(target), "bs=4M", "iflag=direct", "oflag=direct",
              "conv=fsync", "status=none"},
             deadline.capped(m_config.timeouts.copy), "copy volume \"" + from + "\"");
    grow = size > source.size;
  }
  mark_complete(lv, deadline);
  pending->commit();

  record.backend_data = {{k_data_vg, m_config.volume_group},
                         {k_data_lv, lv},
                         {k_data_fs, to_string(fs)},
                         {k_data_thin, snapshot || m_config.thin()},
                         {k_data_source, from}};
  if (fs == FsType::xfs) {
    // The clone carries its source's filesystem UUID; XFS refuses to mount
    // a duplicate UUID without nouuid.
    record.backend_data[k_data_nouuid] = true;
  }
  if (grow) {
    record.backend_data[k_data_grow] = true;
  }
}

void LvmBackend::mark_complete(const std::string& lv, Deadline deadline) {
  run_tool(m_runner, {"lvchange", "--deltag", m_incomplete_tag, full_name(lv)}, command_deadline(deadline),
           "mark logical volume " + full_name(lv) + " complete");
}

void LvmBackend::discard_lv(const std::string& lv) noexcept {
  std::string name = full_name(lv);
  try {
    CommandResult result =
        m_runner.run({"lvremove", "-f", name}, Deadline::after(m_config.timeouts.cleanup));
    if (result.exit_code == 0 || mentions(result, "failed to find")) {
      spdlog::info("{}removed half-made logical volume {}", log_prefix(), name);
    } else {
      spdlog::error("{}could not remove half-made logical volume {}: {}; remove it with lvremove", log_prefix(),
                    name, tool_message(result));
    }
  } catch (...) {  // cleanup path: report, never throw over the original error
    spdlog::error("{}could not remove half-made logical volume {}; remove it with lvremove", log_prefix(), name);
  }
}

void LvmBackend::discard_if_half_made(const std::string& lv, const std::string& volume) noexcept {
  try {
    Deadline deadline = Deadline::after(m_config.timeouts.cleanup);
    CommandResult result = m_runner.run(lvs_argv(m_config.volume_group), deadline);
    if (result.exit_code != 0) {
      spdlog::error("{}could not check for a half-made logical volume {}: {}", log_prefix(), full_name(lv),
                    tool_message(result));
      return;
    }
    std::vector<LvInfo> lvs = parse_lvs_report(result.out);
    const LvInfo* info = find_lv(lvs, lv);
    if (info != nullptr && info->has_tag(volume_tag(volume)) && info->has_tag(m_incomplete_tag)) {
      discard_lv(lv);
    }
  } catch (...) {  // cleanup path
    spdlog::error("{}could not check for a half-made logical volume {}", log_prefix(), full_name(lv));
  }
}

// ---------------------------------------------------------------------------
// Deprovision

void LvmBackend::deprovision(const VolumeRecord& record, Deadline deadline) {
  Placement p = placement(record);
  std::vector<LvInfo> lvs = list_lvs(deadline);
  const LvInfo* info = find_lv(lvs, p.lv);
  if (info != nullptr) {
    if (!info->has_tag(volume_tag(record.name))) {
      throw conflict("logical volume " + full_name(p.lv) + " does not belong to this volume (no tag " +
                     volume_tag(record.name) + "); not removing it");
    }
    std::vector<std::string> argv = {"lvremove", "-f", full_name(p.lv)};
    CommandResult result = m_runner.run(argv, command_deadline(deadline));
    if (result.timed_out || (result.exit_code != 0 && !mentions(result, "failed to find"))) {
      bool in_use = mentions(result, "in use") || mentions(result, "is open");
      throw tool_error(result, argv, "remove logical volume " + full_name(p.lv),
                       in_use ? ErrorKind::busy : ErrorKind::unavailable);
    }
  }
  std::lock_guard lock(m_mutex);
  m_lvs.erase(p.lv);
  m_usage.erase(record.name);
  m_mounted.erase(record.name);
}

// ---------------------------------------------------------------------------
// Attach / detach

void LvmBackend::activate(const Placement& p, Deadline deadline) {
  std::vector<std::string> argv = {"lvchange", "--activate", "y", full_name(p.lv)};
  CommandResult result = m_runner.run(argv, command_deadline(deadline));
  if (result.timed_out || result.exit_code != 0) {
    bool gone = mentions(result, "failed to find");
    throw tool_error(result, argv, "activate logical volume " + full_name(p.lv),
                     gone ? ErrorKind::not_found : ErrorKind::unavailable);
  }
}

void LvmBackend::grow_filesystem(const Placement& p, const std::string& mountpoint, Deadline deadline) {
  run_tool(m_runner, grow_argv(p.fs, device(p), mountpoint), deadline.capped(m_config.timeouts.grow),
           "grow the " + std::string(to_string(p.fs)) + " filesystem");
}

bool LvmBackend::mounted_anywhere(const Placement& p) {
  std::string path = device(p);
  std::string mapper = "/dev/mapper/" + dm_escape(p.vg) + "-" + dm_escape(p.lv);
  auto mounts = m_mounter.mounts();
  return std::any_of(mounts.begin(), mounts.end(),
                     [&](const MountEntry& m) { return m.source == path || m.source == mapper; });
}

std::string LvmBackend::attach(VolumeRecord& record, const std::string& target, Deadline deadline) {
  Placement p = placement(record);
  if (m_mounter.is_mounted(target)) {
    remember_mount(record.name, target);
    return target;
  }
  std::string dev = device(p);
  // An active LV has its device node; only an inactive one (after a reboot
  // without autoactivation, or deactivate_on_unmount) needs lvchange.
  if (!m_local_fs->is_block_device(dev)) {
    activate(p, deadline);
  }
  MountSpec spec = parse_mount_options(m_config.mount_options(p.fs), p.fs, false);
  if (const std::string* mount = find_option(record.options, "mount_options")) {
    spec = merge(spec, parse_mount_options(*mount, p.fs, true));
  }
  if (data_flag(record, k_data_nouuid)) {
    spec = merge(spec, MountSpec{0, "nouuid", false});
  }
  m_mounter.mount(dev, target, std::string(to_string(p.fs)), spec.flags, spec.data, deadline);

  if (data_flag(record, k_data_fresh)) {
    // A new ext4 has lost+found; Docker copies the image's files into a
    // volume only when it is empty. e2fsck recreates it when it needs it.
    m_local_fs->remove_empty_dir(target + "/lost+found");
    record.backend_data.erase(k_data_fresh);
  }
  if (data_flag(record, k_data_grow)) {
    try {
      grow_filesystem(p, target, deadline);
      record.backend_data.erase(k_data_grow);
    } catch (const Error& e) {
      // The volume is usable at its old filesystem size; the grow is retried
      // at the next mount and shown in Status meanwhile.
      spdlog::warn("{}volume \"{}\": {}; retried at the next mount", log_prefix(), record.name, e.what());
    }
  }
  remember_mount(record.name, target);
  return target;
}

void LvmBackend::detach(VolumeRecord& record, const std::string& mountpoint, Deadline deadline) {
  bool lazy = false;
  if (!mountpoint.empty()) {
    try {
      m_mounter.unmount(mountpoint, UnmountMode::normal, deadline);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::busy) {
        throw;
      }
      // Something still has files open there; Docker considers the volume
      // released, so detach it from the tree and let the kernel finish when
      // the last user goes (the LV stays open until then; lvremove says so).
      spdlog::warn("{}volume \"{}\": {}; unmounting lazily", log_prefix(), record.name, e.what());
      m_mounter.unmount(mountpoint, UnmountMode::lazy, deadline);
      lazy = true;
    }
  }
  forget_mount(record.name);
  if (m_config.deactivate_on_unmount && !lazy) {
    Placement p = placement(record);
    std::vector<std::string> argv = {"lvchange", "--activate", "n", full_name(p.lv)};
    CommandResult result = m_runner.run(argv, command_deadline(deadline));
    if (result.timed_out || result.exit_code != 0) {
      // Unmounted is what Docker asked for; an active LV is harmless.
      spdlog::warn("{}volume \"{}\": {}", log_prefix(), record.name,
                   tool_error(result, argv, "deactivate logical volume " + full_name(p.lv)).what());
    }
  }
}

bool LvmBackend::is_attached(const VolumeRecord& record) {
  if (record.mountpoint.empty()) {
    return false;
  }
  bool mounted = m_mounter.is_mounted(record.mountpoint);
  if (mounted) {
    remember_mount(record.name, record.mountpoint);
  }
  return mounted;
}

void LvmBackend::remember_mount(const std::string& volume, const std::string& mountpoint) {
  std::lock_guard lock(m_mutex);
  m_mounted[volume] = mountpoint;
}

void LvmBackend::forget_mount(const std::string& volume) {
  std::lock_guard lock(m_mutex);
  m_mounted.erase(volume);
  m_usage.erase(volume);
}

// ---------------------------------------------------------------------------
// Status, refresh

void LvmBackend::add_health_warnings_locked(bool thin, std::vector<std::string>& warnings) const {
  if (thin && m_pool && m_pool_warned) {
    char text[200];
    std::snprintf(text, sizeof text,
                  "thin pool %.1f%% full (data), %.1f%% (metadata): at or above the %d%% warning threshold",
                  m_pool->data_percent.value_or(0), m_pool->metadata_percent.value_or(0),
                  m_config.pool_warning_percent);
    warnings.emplace_back(text);
  } else if (thin && !m_pool && m_have_report) {
    warnings.push_back("thin pool " + m_config.volume_group + "/" + m_config.thin_pool + " not found");
  }
  if (!m_report_error.empty()) {
    warnings.push_back(m_report_error);
  }
}

nlohmann::json LvmBackend::status(const VolumeRecord& record) const {
  nlohmann::json out = nlohmann::json::object();
  std::optional<Placement> p;
  try {
    p = placement(record);
  } catch (const Error& e) {
    out["warning"] = e.what();
    return out;
  }
  out["volume_group"] = p->vg;
  out["logical_volume"] = p->lv;
  out["fs"] = to_string(p->fs);
  bool thin = m_config.thin();
  if (auto it = record.backend_data.find(k_data_thin); it != record.backend_data.end() && it->is_boolean()) {
    thin = it->get<bool>();
  }
  out["type"] = thin ? "thin" : "thick";
  if (auto it = record.backend_data.find(k_data_source); it != record.backend_data.end() && it->is_string()) {
    out["source"] = *it;
  }
  std::vector<std::string> warnings;
  if (data_flag(record, k_data_grow)) {
    warnings.push_back("the filesystem grows to the volume size at the next mount");
  }

  std::lock_guard lock(m_mutex);
  if (auto lv = m_lvs.find(p->lv); lv != m_lvs.end()) {
    out["size"] = format_size(lv->second.size);
  } else if (const std::string* size = find_option(record.options, "size")) {
    out["size"] = *size;
  }
  if (auto usage = m_usage.find(record.name); usage != m_usage.end()) {
    out["used"] = format_size(usage->second.used);
    out["available"] = format_size(usage->second.available);
  }
  if (thin && m_pool) {
    out["thin_pool"] = m_config.volume_group + "/" + m_config.thin_pool;
    if (m_pool->data_percent) {
      out["pool_data_percent"] = round2(*m_pool->data_percent);
    }
    if (m_pool->metadata_percent) {
      out["pool_metadata_percent"] = round2(*m_pool->metadata_percent);
    }
  }
  add_health_warnings_locked(thin, warnings);
  put_warnings(out, warnings);
  return out;
}

void LvmBackend::refresh(Deadline deadline) {
  // Filesystem usage of mounted volumes (local statvfs, no commands).
  std::map<std::string, std::string> mounted;
  {
    std::lock_guard lock(m_mutex);
    mounted = m_mounted;
  }
  std::map<std::string, FsUsage> usage;
  for (const auto& [volume, mountpoint] : mounted) {
    if (auto u = m_local_fs->usage(mountpoint)) {
      usage[volume] = *u;
    }
  }
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [volume, u] : usage) {
      if (m_mounted.count(volume) != 0) {
        m_usage[volume] = u;
      }
    }
  }

  std::vector<LvInfo> lvs;
  try {
    lvs = list_lvs(deadline);
  } catch (const Error& e) {
    {
      std::lock_guard lock(m_mutex);
      m_report_error = std::string("LVM state not refreshed: ") + e.what();
    }
    throw;
  }

  // Half-made LVs of a process that is gone (a crash during create): never
  // reported as created, so nothing refers to them.
  for (const auto& lv : lvs) {
    auto token = lv.tag_value(k_incomplete_tag_prefix);
    if (lv.has_tag(k_tag_owner) && token && *token != process_token() && !deadline.expired()) {
      spdlog::warn("{}removing half-made logical volume {} left by an interrupted create of an earlier process",
                   log_prefix(), full_name(lv.name));
      discard_lv(lv.name);
    }
  }
}

// ---------------------------------------------------------------------------
// Resize

ResizeResult LvmBackend::resize(VolumeRecord& record, std::string_view size_text, Deadline deadline) {
  std::uint64_t requested = parse_size(size_text, "size");
  if (requested > m_config.max_size) {
    throw invalid_argument("size " + std::string(size_text) + " is larger than this backend's maximum of " +
                           format_size(m_config.max_size));
  }
  Placement p = placement(record);
  std::vector<LvInfo> lvs = list_lvs(deadline);
  const LvInfo* info = find_lv(lvs, p.lv);
  if (info == nullptr) {
    throw not_found("logical volume " + full_name(p.lv) + " does not exist");
  }
  if (!info->has_tag(volume_tag(record.name))) {
    throw conflict("logical volume " + full_name(p.lv) + " does not belong to this volume");
  }
  std::uint64_t extent = info->extent_size == 0 ? k_mib : info->extent_size;
  std::uint64_t wanted = round_up(round_up(requested, k_mib), extent);
  if (wanted < info->size) {
    throw invalid_argument("shrinking is refused: the volume is " + format_size(info->size) + " and " +
                           std::string(size_text) + " is smaller (filesystems cannot shrink safely online)");
  }
  ResizeResult result;
  result.old_size = info->size;
  result.new_size = std::max(wanted, info->size);
  if (wanted > info->size) {
    run_tool(m_runner, {"lvextend", "--size", mib_argument(requested), full_name(p.lv)}, command_deadline(deadline),
             "extend logical volume " + full_name(p.lv));
    result.lv_extended = true;
    record.backend_data[k_data_grow] = true;
    std::lock_guard lock(m_mutex);
    if (auto it = m_lvs.find(p.lv); it != m_lvs.end()) {
      it->second.size = wanted;
    }
  }
  bool mounted = !record.mountpoint.empty() && m_mounter.is_mounted(record.mountpoint);
  if (mounted) {
    // Also when the LV already had the size: a grow interrupted by a crash
    // (its record not saved) is finished by asking again. Growing a
    // filesystem to its current size does nothing.
    grow_filesystem(p, record.mountpoint, deadline);
    record.backend_data.erase(k_data_grow);
    result.fs_grown = true;
  } else if (data_flag(record, k_data_grow)) {
    result.fs_grow_pending = true;
  }
  return result;
}

nlohmann::json LvmBackend::operator_action(std::string_view verb, VolumeRecord& record, const nlohmann::json& args,
                                           Deadline deadline) {
  if (verb != "resize") {
    throw unsupported_verb(type(), verb);
  }
  auto size = args.find("size");
  if (size == args.end() || !size->is_string() || size->get<std::string>().empty()) {
    throw invalid_argument("resize needs a size such as \"20G\"");
  }
  ResizeResult r = resize(record, size->get<std::string>(), deadline);
  return {{"old_size", r.old_size},   {"new_size", r.new_size},   {"lv_extended", r.lv_extended},
          {"fs_grown", r.fs_grown},   {"fs_grow_pending", r.fs_grow_pending}};
}

nlohmann::json LvmBackend::backend_status() const {
  nlohmann::json out = {{"volume_group", m_config.volume_group}, {"type", m_config.thin() ? "thin" : "thick"}};
  std::lock_guard lock(m_mutex);
  if (m_config.thin()) {
    out["thin_pool"] = m_config.volume_group + "/" + m_config.thin_pool;
    if (m_pool && m_pool->data_percent) {
      out["pool_data_percent"] = round2(*m_pool->data_percent);
    }
    if (m_pool && m_pool->metadata_percent) {
      out["pool_metadata_percent"] = round2(*m_pool->metadata_percent);
    }
    out["pool_warning_percent"] = m_config.pool_warning_percent;
  }
  if (!m_have_report) {
    out["note"] = "no LVM report yet (the first refresh has not run)";
  }
  std::vector<std::string> warnings;
  add_health_warnings_locked(m_config.thin(), warnings);
  put_warnings(out, warnings);
  return out;
}

// ---------------------------------------------------------------------------

std::unique_ptr<Backend> make_backend(ConfigReader& config, BackendEnv& env) {
  return std::make_unique<LvmBackend>(read_lvm_config(config), env);
}

}  // namespace holdfast::lvm
