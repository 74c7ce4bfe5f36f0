#include "iscsi_backend.hpp"

#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>
#include <holdfast/safe_path.hpp>

#include "block_filesystem.hpp"

namespace holdfast::iscsi {

namespace {

// An operator's takeover file counts for this long after it was touched, so
// a forgotten file cannot authorise a takeover weeks later.
constexpr auto k_takeover_file_validity = std::chrono::hours(1);
// Cleanup after a failed attach gets its own small budget: the call's own
// deadline may be what ran out.
constexpr auto k_cleanup_budget = std::chrono::seconds(10);

std::optional<int> json_lun(const nlohmann::json& data) {
  auto it = data.find("lun");
  if (it == data.end() || !it->is_number_integer()) {
    return std::nullopt;
  }
  return it->get<int>();
}

std::string options_text(const Options& options) {
  std::string out = "{";
  for (const auto& [k, v] : options) {
    out += (out.size() > 1 ? ", " : "") + k + "=" + v;
  }
  return out + "}";
}

long long ms_since(Deadline::Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Deadline::Clock::now() - start).count();
}

bool mountable_fs(const std::string& fs) {
  return fs == "ext4" || fs == "ext3" || fs == "ext2" || fs == "xfs";
}

}  // namespace

std::unique_ptr<Backend> make_backend(ConfigReader& config, BackendEnv& env) {
  IscsiConfig c = parse_config(config, env);
  if (c.takeover.mode != TakeoverMode::never) {
    // Where operators drop takeover files: it must exist for the `touch`
    // that a refused Mount tells them to run.
    ensure_directory(c.takeover_dir, 0700);
  }
  return std::make_unique<IscsiBackend>(std::move(c), env.runner, env.mounter,
                                        std::make_unique<SystemDeviceOps>());
}

IscsiBackend::IscsiBackend(IscsiConfig config, CommandRunner& runner, Mounter& mounter,
                           std::unique_ptr<DeviceOps> devices)
    : m_config(std::move(config)),
      m_runner(runner),
      m_mounter(mounter),
      m_devices(std::move(devices)),
      m_control(m_config),
      m_kernel(m_config, m_runner, *m_devices) {}

std::vector<OptionSpec> IscsiBackend::accepted_options() const {
  return {
      {"size", "minimum LUN capacity, such as 10G (default: any free LUN of the pool)"},
      {"lun", "claim this LUN of the pool instead of the smallest free one that fits"},
      {"fs", "filesystem made at the first mount: ext4 or xfs (default: the backend's fs)"},
  };
}

void IscsiBackend::validate(const Options& options) const {
  if (auto it = options.find("size"); it != options.end()) {
    parse_size(it->second);
  }
  if (auto it = options.find("lun"); it != options.end()) {
    int lun = -1;
    auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), lun);
    if (ec != std::errc() || end != it->second.data() + it->second.size() ||
        !std::binary_search(m_config.luns.begin(), m_config.luns.end(), lun)) {
      std::string pool;
      for (int l : m_config.luns) {
        pool += (pool.empty() ? "" : ",") + std::to_string(l);
      }
      throw invalid_argument("option lun=\"" + it->second + "\" is not a LUN of this backend's pool (" +
                             pool + ")");
    }
  }
  if (auto it = options.find("fs"); it != options.end() && it->second != "ext4" && it->second != "xfs") {
    throw invalid_argument("option fs=\"" + it->second + "\" is not supported (ext4 or xfs)");
  }
}

void IscsiBackend::remember(const std::string& volume, const Facts& facts) {
  std::lock_guard lock(m_mutex);
  m_facts[volume] = facts;
}

void IscsiBackend::provision(VolumeRecord& record, Deadline deadline) {
  validate(record.options);
  ClaimRequest req;
  req.volume = record.name;
  req.options = record.options;
  auto fs = record.options.find("fs");
  req.fs = fs != record.options.end() ? fs->second : m_config.fs;
  if (auto size = record.options.find("size"); size != record.options.end()) {
    req.min_capacity = parse_size(size->second);
  }
  if (auto lun = record.options.find("lun"); lun != record.options.end()) {
    req.lun = std::stoi(lun->second);
  }
  ClaimResult r = m_control.claim(req, deadline);
  if (r.existed && !record.options.empty() && record.options != r.label.options) {
    throw conflict("it already exists on LUN " + std::to_string(r.lun) + " with options " +
                   options_text(r.label.options) + ", not " + options_text(record.options));
  }
  record.options = r.label.options;
  record.created_at = r.label.created_at;
  record.created_by = r.label.created_by;
  record.backend_data["target"] = m_control.target(deadline);
  record.backend_data["lun"] = r.lun;
  record.backend_data["capacity"] = r.layout.capacity;
  record.backend_data["fs"] = r.label.fs;
  Facts f;
  f.lun = r.lun;
  f.capacity = r.layout.capacity;
  f.fs = r.label.fs;
  if (r.label.holder) {
    f.holder = r.label.holder->host;
    f.holder_since = format_rfc3339(r.label.holder->since);
  }
  remember(record.name, f);
  if (!r.existed) {
    spdlog::info("iscsi {}: volume \"{}\" claimed LUN {} ({} bytes)", m_config.instance, record.name, r.lun,
                 r.layout.capacity);
  }
}

std::optional<int> IscsiBackend::find_lun(const VolumeRecord& record, Deadline deadline) {
  if (auto lun = json_lun(record.backend_data);
      lun && std::binary_search(m_config.luns.begin(), m_config.luns.end(), *lun)) {
    LunInfo info = m_control.inspect(*lun, deadline);
    if (info.label.kind == BlockKind::label && info.label.label->state == LabelState::claimed &&
        info.label.label->volume == record.name) {
      return lun;
    }
  }
  std::optional<int> found;
  std::tuple<SystemTime, std::string, int> best{};
  for (const auto& info : m_control.scan(deadline, false)) {
    if (info.label.kind == BlockKind::label && info.label.label->state == LabelState::claimed &&
        info.label.label->volume == record.name) {
      auto key = std::make_tuple(info.label.label->created_at, info.label.label->claim_id, info.lun);
      if (!found || key < best) {
        found = info.lun;
        best = key;
      }
    }
  }
  return found;
}

void IscsiBackend::deprovision(const VolumeRecord& record, Deadline deadline) {
  auto lun = find_lun(record, deadline);
  if (lun) {
    m_control.unclaim(*lun, record.name, m_config.remove, deadline);
    spdlog::info("iscsi {}: volume \"{}\" released LUN {} ({})", m_config.instance, record.name, *lun,
                 m_config.remove == RemovePolicy::wipe ? "wiped" : "data retained");
  }
  std::lock_guard lock(m_mutex);
  m_facts.erase(record.name);
}

TakeoverDecision IscsiBackend::decide(const std::string& volume, int lun, const HolderView& holder) {
  auto now = std::chrono::steady_clock::now();
  std::optional<std::uint64_t> beat;
  if (holder.labelled) {
    beat = holder.labelled->beat;
  }
  HeartbeatObservation obs = m_tracker.observe(lun, holder.key, beat, now);
  std::string file = m_config.takeover_dir + "/" + volume;
  bool operator_file = false;
  if (m_config.takeover.mode != TakeoverMode::never) {
    if (auto mtime = m_devices->modified_at(file)) {
      auto age = std::chrono::system_clock::now() - *mtime;
      operator_file = age < k_takeover_file_validity;
      if (!operator_file) {
        spdlog::warn("iscsi {}: ignoring takeover file {}: it is older than one hour", m_config.instance,
                     file);
      }
    }
  }
  return decide_takeover(m_config.takeover, holder, obs, operator_file, now, file);
}

void IscsiBackend::cleanup_after_failed_attach(const std::string& target_iqn, int lun,
                                               const std::string& volume) noexcept {
  Deadline d = Deadline::after(k_cleanup_budget);
  try {
    m_kernel.detach(target_iqn, lun, d);
  } catch (const std::exception& e) {
    spdlog::warn("iscsi {}: cleanup after a failed attach of \"{}\": {}", m_config.instance, volume,
                 e.what());
  }
  try {
    m_control.release(lun, volume, d);
  } catch (const std::exception& e) {
    spdlog::warn("iscsi {}: releasing LUN {} after a failed attach of \"{}\": {}", m_config.instance, lun,
                 volume, e.what());
    std::lock_guard lock(m_mutex);
    m_pending_release[volume] = lun;
  }
}

std::string IscsiBackend::attach(VolumeRecord& record, const std::string& target, Deadline deadline) {
  if (m_mounter.is_mounted(target)) {
    if (auto lun = json_lun(record.backend_data)) {
      std::lock_guard lock(m_mutex);
      m_held[record.name] = *lun;
    }
    return target;
  }
  auto started = Deadline::Clock::now();
  auto lun = find_lun(record, deadline);
  if (!lun) {
    throw not_found("no LUN of " + m_control.target(deadline) + " carries this volume");
  }
  std::string iqn = m_control.target(deadline);
  AcquireResult acquired = m_control.acquire(
      *lun, record.name, [&](int l, const HolderView& h) { return decide(record.name, l, h); }, deadline);
  if (acquired.took_over_from) {
    m_devices->remove(m_config.takeover_dir + "/" + record.name);
  }
  {
    std::lock_guard lock(m_mutex);
    m_pending_release.erase(record.name);
  }
  auto fenced = Deadline::Clock::now();
  AttachedLun dev;
  bool formatted = false;
  long long login_ms = 0;
  long long mkfs_ms = 0;
  std::string fs;
  try {
    dev = m_kernel.attach(iqn, *lun, m_control.key(), deadline);
    login_ms = ms_since(fenced);
    ProbeResult probe = probe_device(m_runner, dev.device, deadline);
    if (probe.content.empty()) {
      // Nothing on the device, and the label read under our reservation a
      // moment ago says this LUN is this volume: the one case that formats.
      auto mkfs_start = Deadline::Clock::now();
      run_checked(m_runner,
                  mkfs_argv(acquired.label.fs, dev.device, acquired.layout.fs_bytes, m_config.mkfs_options),
                  deadline, "formatting " + dev.device + " as " + acquired.label.fs);
      mkfs_ms = ms_since(mkfs_start);
      formatted = true;
      fs = acquired.label.fs;
    } else if (mountable_fs(probe.fs_type)) {
      fs = probe.fs_type;
    } else {
      throw conflict("LUN " + std::to_string(*lun) + " (" + dev.device + ") carries " + probe.content +
                     ", which holdfast neither mounts nor formats over");
    }
    MountFlags mf = parse_mount_options(m_config.mount_options);
    m_mounter.mount(dev.device, target, fs, mf.flags, mf.data, deadline);
  } catch (...) {
    cleanup_after_failed_attach(iqn, *lun, record.name);
    throw;
  }
  long long total_ms = ms_since(started);
  spdlog::info("iscsi {}: attached \"{}\" (LUN {}, {}) at {} in {} ms (fence {} ms, login+device {} ms{}{})",
               m_config.instance, record.name, *lun, dev.device, target, total_ms,
               std::chrono::duration_cast<std::chrono::milliseconds>(fenced - started).count(), login_ms,
               formatted ? ", mkfs " : "", formatted ? std::to_string(mkfs_ms) + " ms" : "");
  record.backend_data["target"] = iqn;
  record.backend_data["lun"] = *lun;
  record.backend_data["capacity"] = acquired.layout.capacity;
  record.backend_data["fs"] = fs;
  record.backend_data["device"] = dev.device;
  record.backend_data["paths"] = dev.paths;
  record.backend_data["last_attach"] = {
      {"total_ms", total_ms}, {"login_ms", login_ms}, {"formatted", formatted}, {"mkfs_ms", mkfs_ms}};
  if (acquired.took_over_from) {
    record.backend_data["taken_over_from"] = describe_holder(*acquired.took_over_from);
  }
  Facts f;
  f.lun = *lun;
  f.capacity = acquired.layout.capacity;
  f.fs = fs;
  f.holder = m_config.host_id;
  f.holder_since = format_rfc3339(acquired.label.holder->since);
  f.device = dev.device;
  remember(record.name, f);
  std::lock_guard lock(m_mutex);
  m_held[record.name] = *lun;
  return target;
}

void IscsiBackend::detach(VolumeRecord& record, const std::string& mountpoint, Deadline deadline) {
  if (!mountpoint.empty() && m_mounter.is_mounted(mountpoint)) {
    m_mounter.unmount(mountpoint, UnmountMode::normal, deadline);
  }
  std::optional<int> lun = json_lun(record.backend_data);
  if (!lun) {
    std::lock_guard lock(m_mutex);
    if (auto it = m_held.find(record.name); it != m_held.end()) {
      lun = it->second;
    }
  }
  if (!lun) {
    return;  // never attached by this backend: nothing to undo
  }
  std::string iqn = m_control.target(deadline);
  m_kernel.detach(iqn, *lun, deadline);
  {
    std::lock_guard lock(m_mutex);
    m_held.erase(record.name);
    m_pending_release[record.name] = *lun;
  }
  m_control.release(*lun, record.name, deadline);
  {
    std::lock_guard lock(m_mutex);
    m_pending_release.erase(record.name);
    if (auto it = m_facts.find(record.name); it != m_facts.end()) {
      it->second.holder.clear();
      it->second.holder_since.clear();
      it->second.device.clear();
    }
  }
  m_tracker.forget(*lun);
  record.backend_data.erase("device");
  record.backend_data.erase("paths");
}

bool IscsiBackend::is_attached(const VolumeRecord& record) {
  if (record.mountpoint.empty() || !m_mounter.is_mounted(record.mountpoint)) {
    return false;
  }
  if (auto lun = json_lun(record.backend_data)) {
    // After a restart: keep heartbeating what is still attached.
    std::lock_guard lock(m_mutex);
    m_held[record.name] = *lun;
  }
  return true;
}

nlohmann::json IscsiBackend::status(const VolumeRecord& record) const {
  nlohmann::json s = nlohmann::json::object();
  s["target"] = record.backend_data.value("target", m_config.target);
  if (auto lun = json_lun(record.backend_data)) {
    s["lun"] = *lun;
  }
  if (record.backend_data.contains("capacity")) {
    s["capacity"] = record.backend_data["capacity"];
  }
  // From the claim label (a shared backend: every host sees who made it).
  if (!record.created_by.empty()) {
    s["created_by"] = record.created_by;
  }
  // How the last attach on this host went (timings, whether it formatted).
  for (const char* key : {"last_attach", "taken_over_from"}) {
    if (record.backend_data.contains(key)) {
      s[key] = record.backend_data[key];
    }
  }
  std::lock_guard lock(m_mutex);
  if (auto it = m_facts.find(record.name); it != m_facts.end()) {
    const Facts& f = it->second;
    s["lun"] = f.lun;
    s["capacity"] = f.capacity;
    s["fs"] = f.fs;
    s["holder"] = f.holder;
    if (!f.holder_since.empty()) {
      s["holder_since"] = f.holder_since;
    }
    if (!f.device.empty()) {
      s["device"] = f.device;
    }
  }
  if (auto held = m_held.find(record.name); held != m_held.end()) {
    s["attached_here"] = true;
    if (s.value("holder", std::string()).empty()) {
      s["holder"] = m_config.host_id;  // before the first discovery after a restart
    }
  }
  if (!s.contains("holder")) {
    s["holder"] = "";  // not known to be attached anywhere (discovery refreshes it)
  }
  return s;
}

std::optional<std::vector<VolumeRecord>> IscsiBackend::discover(Deadline deadline) {
  std::string iqn = m_control.target(deadline);
  auto infos = m_control.scan(deadline, false);
  auto now = std::chrono::steady_clock::now();
  std::map<std::string, const LunInfo*> chosen;
  for (const auto& info : infos) {
    if (info.reservation.reserved) {
      std::optional<std::uint64_t> beat;
      if (info.label.kind == BlockKind::label && info.label.label->holder &&
          info.label.label->holder->key == info.reservation.key) {
        beat = info.label.label->holder->beat;
      }
      m_tracker.observe(info.lun, info.reservation.key, beat, now);
    } else {
      m_tracker.forget(info.lun);
    }
    if (info.label.kind == BlockKind::corrupt || info.label.kind == BlockKind::unsupported) {
      spdlog::warn("iscsi {}: LUN {} has {}: {}", m_config.instance, info.lun, to_string(info.label.kind),
                   info.label.problem);
    }
    if (info.label.kind != BlockKind::label || info.label.label->state != LabelState::claimed) {
      continue;
    }
    const auto& l = *info.label.label;
    auto it = chosen.find(l.volume);
    if (it == chosen.end() || std::tie(l.created_at, l.claim_id, info.lun) <
                                  std::tie(it->second->label.label->created_at,
                                           it->second->label.label->claim_id, it->second->lun)) {
      if (it != chosen.end()) {
        spdlog::warn("iscsi {}: volume \"{}\" is claimed by LUNs {} and {}; using the earlier claim",
                     m_config.instance, l.volume, it->second->lun, info.lun);
      }
      chosen[l.volume] = &info;
    }
  }
  std::vector<VolumeRecord> out;
  std::map<std::string, Facts> facts;
  for (const auto& [name, info] : chosen) {
    const auto& l = *info->label.label;
    VolumeRecord r;
    r.name = name;
    r.backend = m_config.instance;
    r.options = l.options;
    r.created_at = l.created_at;
    r.created_by = l.created_by;
    r.backend_data = {
        {"target", iqn}, {"lun", info->lun}, {"capacity", info->layout->capacity}, {"fs", l.fs}};
    out.push_back(std::move(r));
    Facts f;
    f.lun = info->lun;
    f.capacity = info->layout->capacity;
    f.fs = l.fs;
    if (info->reservation.reserved && l.holder && l.holder->key == info->reservation.key) {
      f.holder = l.holder->host;
      f.holder_since = format_rfc3339(l.holder->since);
    } else if (info->reservation.reserved) {
      f.holder = "unknown (reservation key 0x" + key_hex(info->reservation.key) + ")";
    }
    facts[name] = f;
  }
  std::lock_guard lock(m_mutex);
  for (auto& [name, f] : facts) {
    auto it = m_facts.find(name);
    if (it != m_facts.end() && !it->second.device.empty()) {
      f.device = it->second.device;  // known only to this host
    }
  }
  m_facts = std::move(facts);
  return out;
}

void IscsiBackend::refresh(Deadline deadline) {
  std::map<std::string, int> held;
  std::map<std::string, int> pending;
  {
    std::lock_guard lock(m_mutex);
    held = m_held;
    pending = m_pending_release;
  }
  for (const auto& [volume, lun] : pending) {
    if (deadline.expired()) {
      return;
    }
    try {
      m_control.release(lun, volume, deadline);
      std::lock_guard lock(m_mutex);
      m_pending_release.erase(volume);
      spdlog::info("iscsi {}: released the reservation of LUN {} (volume \"{}\") left by an earlier detach",
                   m_config.instance, lun, volume);
    } catch (const Error& e) {
      spdlog::warn("iscsi {}: releasing LUN {} (volume \"{}\"): {}", m_config.instance, lun, volume,
                   e.what());
    }
  }
  for (const auto& [volume, lun] : held) {
    if (deadline.expired()) {
      return;
    }
    try {
      switch (m_control.heartbeat(lun, volume, deadline)) {
        case HeartbeatResult::beaten:
          break;
        case HeartbeatResult::lost:
          spdlog::error(
              "iscsi {}: LUN {} (volume \"{}\") was taken over by another host: this host is fenced "
              "and its writes fail; unmount the volume here",
              m_config.instance, lun, volume);
          break;
        case HeartbeatResult::not_held:
          spdlog::error(
              "iscsi {}: LUN {} (volume \"{}\") is mounted here but this host no longer holds its "
              "reservation",
              m_config.instance, lun, volume);
          break;
      }
    } catch (const Error& e) {
      spdlog::warn("iscsi {}: heartbeat for LUN {} (volume \"{}\"): {}", m_config.instance, lun, volume,
                   e.what());
    }
  }
}

nlohmann::json IscsiBackend::operator_action(std::string_view verb, VolumeRecord& record,
                                             const nlohmann::json& /*args*/, Deadline /*deadline*/) {
  if (verb != "release" && verb != "takeover") {
    throw unsupported_verb(type(), verb);
  }
  if (m_config.takeover.mode == TakeoverMode::never) {
    throw conflict("the takeover policy of backend \"" + m_config.instance +
                   "\" is \"never\": a LUN held by another host is never taken over; detach it on that host, "
                   "or set `takeover: operator` (docs/backends/iscsi.md, \"Fencing\")");
  }
  std::string holder;
  {
    std::lock_guard lock(m_mutex);
    if (m_held.count(record.name) != 0) {
      throw invalid_argument("the volume is attached on this host (" + m_config.host_id +
                             "): there is nothing to take over");
    }
    if (auto it = m_facts.find(record.name); it != m_facts.end()) {
      holder = it->second.holder;
    }
  }
  const std::string file = m_config.takeover_dir + "/" + record.name;
  m_devices->touch_file(file);
  spdlog::warn("iscsi {}: operator released volume \"{}\" for takeover by this host ({}; holder: {})",
               m_config.instance, record.name, file, holder.empty() ? "none known" : holder);
  return {{"takeover_file", file},
          {"valid_for_seconds", std::chrono::duration_cast<std::chrono::seconds>(k_takeover_file_validity).count()},
          {"policy", m_config.takeover.text()},
          {"holder", holder},
          {"next", "the next mount of this volume on this host takes its LUN over (the file is then deleted)"}};
}

nlohmann::json IscsiBackend::backend_status() const {
  nlohmann::json out = {{"target", m_config.target}, {"takeover", m_config.takeover.text()}};
  std::lock_guard lock(m_mutex);
  nlohmann::json held = nlohmann::json::array();
  for (const auto& [volume, lun] : m_held) {
    held.push_back({{"volume", volume}, {"lun", lun}});
  }
  out["held_here"] = std::move(held);
  if (!m_pending_release.empty()) {
    std::string names;
    for (const auto& [volume, lun] : m_pending_release) {
      names += (names.empty() ? "" : ", ") + volume + " (LUN " + std::to_string(lun) + ")";
    }
    out["warning"] = "reservations not released yet after a detach (retried by every refresh): " + names;
  }
  return out;
}

}  // namespace holdfast::iscsi
