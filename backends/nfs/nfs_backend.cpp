#include "nfs_backend.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>

#include "nfs_options.hpp"

namespace holdfast::nfs {

namespace {

using std::chrono::milliseconds;

constexpr const char* k_mount_helper = "mount.nfs";
// Entries of one directory read at once while purging a tree.
constexpr std::size_t k_purge_list_limit = 1'000'000;
// Records are written 0644: readable by every host's holdfast, even when a
// squashed root reads them as the anonymous user.
constexpr unsigned k_record_mode = 0644;
constexpr unsigned k_admin_dir_mode = 0755;

std::optional<std::uint32_t> parse_id(const std::string& value) {
  if (value.empty() || value.size() > 10 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  unsigned long long n = std::stoull(value);
  if (n > 4'294'967'294ULL) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(n);
}

std::optional<unsigned> parse_mode(const std::string& value) {
  if (value.empty() || value.size() > 5 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '7'; })) {
    return std::nullopt;
  }
  unsigned n = static_cast<unsigned>(std::stoul(value, nullptr, 8));
  if (n > 07777) {
    return std::nullopt;
  }
  return n;
}

std::string join_path(const std::string& dir, const std::string& absolute) {
  if (dir == "/") {
    return absolute;
  }
  if (absolute == "/") {
    return dir;
  }
  return dir + absolute;
}

bool has_code(const NfsError& e, int code) { return e.code() == code; }

std::string options_text(const Options& options) {
  if (options.empty()) {
    return "{}";
  }
  std::string out;
  for (const auto& [k, v] : options) {
    out += (out.empty() ? "" : ", ") + k + "=" + v;
  }
  return "{" + out + "}";
}

// Turns a refusal by a root-squashing server into an error that says so and
// names the fixes; other errors pass unchanged.
[[noreturn]] void rethrow_with_squash_hint(const NfsError& e, const std::string& export_path,
                                           const std::string& base_path) {
  if (e.code() == EACCES || e.code() == EPERM) {
    throw permission_denied(fmt::format(
        "{}. The server probably squashes root (root_squash maps root to an anonymous user): "
        "export {} to this host with no_root_squash, or set anonuid/anongid on the export, make "
        "{} owned by that user on the server, and create volumes with -o uid=<anonuid> "
        "-o gid=<anongid>",
        e.what(), export_path, base_path));
  }
  throw e;
}

// The entries of `dir`, none when it does not exist.
std::vector<NfsDirEntry> entries_or_none(NfsContext& nfs, const std::string& dir, Deadline deadline) {
  try {
    return nfs.list(dir, k_purge_list_limit, deadline);
  } catch (const NfsError& e) {
    if (has_code(e, ENOENT)) {
      return {};
    }
    throw;
  }
}

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

}  // namespace

NfsBackend::NfsBackend(NfsConfig config, const BackendEnv& env)
    : m_config(std::move(config)),
      m_layout{m_config.base_path},
      m_instance(env.instance_name),
      m_host_id(env.host_id),
      m_runner(env.runner),
      m_mounter(env.mounter),
      m_journal(env.state_dir + "/backends/" + env.instance_name + "/removing") {
  m_probe = [this](const std::string& name, Deadline deadline) { return default_probe(name, deadline); };
}

std::vector<OptionSpec> NfsBackend::accepted_options() const {
  std::vector<OptionSpec> out = {
      {"uid", "owner of the volume's directory (numeric user id)"},
      {"gid", "group of the volume's directory (numeric group id)"},
      {"mode", "permissions of the volume's directory, octal (e.g. 0750)"},
  };
  for (auto& spec : mount_option_specs()) {
    out.push_back(std::move(spec));
  }
  return out;
}

void NfsBackend::validate(const Options& options) const {
  for (const auto& [name, value] : options) {
    if (name == "uid" || name == "gid") {
      if (!parse_id(value)) {
        throw invalid_argument(fmt::format("option {} must be a numeric id from 0 to 4294967294, not \"{}\"", name,
                                           redact(value.substr(0, 32))));
      }
    } else if (name == "mode") {
      if (!parse_mode(value)) {
        throw invalid_argument(fmt::format("option mode must be an octal file mode such as 0750, not \"{}\"",
                                           redact(value.substr(0, 32))));
      }
    } else if (is_mount_option(name)) {
      (void)validate_mount_option(name, value);
      if (k_privileged_options.count(name) != 0 && m_config.allow_options.count(name) == 0) {
        throw invalid_argument(fmt::format(
            "option {} weakens the host (volumes are mounted no{}); an operator can allow it with "
            "allow_options: [{}] in the config of backend \"{}\"",
            name, name, name, m_instance));
      }
    } else {
      throw invalid_argument(fmt::format("unknown option \"{}\" for an nfs volume", redact(name.substr(0, 64))));
    }
  }
  if (options.count("hard") != 0 && options.count("soft") != 0) {
    throw invalid_argument("options hard and soft exclude each other");
  }
  if (options.count("noatime") != 0 && options.count("relatime") != 0) {
    throw invalid_argument("options noatime and relatime exclude each other");
  }
  if (m_config.provision_version == 4 && (options.count("uid") != 0 || options.count("gid") != 0)) {
    throw invalid_argument(fmt::format(
        "options uid and gid need provision_version: 3 in backend \"{}\" (libnfs cannot change "
        "ownership over NFSv4)",
        m_instance));
  }
}

NfsTarget NfsBackend::target() const {
  NfsTarget t;
  t.server = m_config.server;
  t.export_path = m_config.export_path;
  t.version = m_config.provision_version;
  t.nfs_port = m_config.port;
  t.mount_port = m_config.mount_port;
  return t;
}

NfsBackend::Ownership NfsBackend::ownership(const Options& options) const {
  Ownership out;
  out.uid = m_config.default_uid;
  out.gid = m_config.default_gid;
  out.mode = m_config.default_mode;
  if (auto it = options.find("uid"); it != options.end()) {
    out.uid = parse_id(it->second);
  }
  if (auto it = options.find("gid"); it != options.end()) {
    out.gid = parse_id(it->second);
  }
  if (auto it = options.find("mode"); it != options.end()) {
    out.mode = parse_mode(it->second).value_or(m_config.default_mode);
  }
  return out;
}

std::string NfsBackend::mount_source(const std::string& dir) const {
  return m_config.server + ":" + join_path(m_config.export_path, m_layout.volume_dir(dir));
}

std::string NfsBackend::known_dir(const VolumeRecord& record) const {
  {
    std::lock_guard lock(m_mutex);
    if (auto it = m_cache.find(record.name); it != m_cache.end() && it->second.parsed) {
      return it->second.parsed->dir;
    }
  }
  auto dir = record.backend_data.find("dir");
  if (dir != record.backend_data.end() && dir->is_string() && valid_volume_dir(record.name, dir->get<std::string>())) {
    return dir->get<std::string>();
  }
  return {};
}

std::string NfsBackend::mount_options(const Options& options) const {
  MountOptionInputs inputs;
  inputs.version = m_config.nfs_version;
  inputs.defaults = m_config.mount_options;
  inputs.volume = options;
  inputs.port = m_config.port;
  inputs.mount_port = m_config.mount_port;
  inputs.allowed = m_config.allow_options;
  return build_mount_options(inputs);
}

namespace {

std::uint64_t random64() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return generator();
}

}  // namespace

std::string NfsBackend::unique_suffix() const {
  return fmt::format("{}.{}.{:016x}", file_name_safe(m_host_id), ::getpid(), random64());
}

// --- on-export layout -------------------------------------------------------

void NfsBackend::ensure_layout(NfsContext& nfs, Deadline deadline) {
  {
    std::lock_guard lock(m_mutex);
    if (m_layout_ready) {
      return;
    }
  }
  std::vector<std::string> dirs;
  // Every component of base_path, then holdfast's own directories.
  for (std::size_t pos = 1; pos <= m_layout.base.size() && m_layout.base != "/"; ++pos) {
    pos = m_layout.base.find('/', pos);
    dirs.push_back(m_layout.base.substr(0, pos));
    if (pos == std::string::npos) {
      break;
    }
  }
  for (const auto& dir : {m_layout.admin_dir(), m_layout.records_dir(), m_layout.staging_dir(), m_layout.trash_dir()}) {
    dirs.push_back(dir);
  }
  for (const auto& dir : dirs) {
    try {
      nfs.mkdir(dir, k_admin_dir_mode, deadline);
    } catch (const NfsError& e) {
      if (!has_code(e, EEXIST)) {
        rethrow_with_squash_hint(e, m_config.export_path, join_path(m_config.export_path, m_layout.base));
      }
    }
  }
  std::lock_guard lock(m_mutex);
  m_layout_ready = true;
}

std::optional<VolumeMetadata> NfsBackend::read_record(NfsContext& nfs, const std::string& name,
                                                      Deadline deadline) const {
  std::string text;
  try {
    text = nfs.read_file(m_layout.record_path(name), k_max_metadata_bytes, deadline);
  } catch (const NfsError& e) {
    if (has_code(e, ENOENT)) {
      return std::nullopt;
    }
    throw;
  }
  try {
    return parse_metadata(text, name);
  } catch (const Error& e) {
    throw internal_error(fmt::format("the record {} on {} is unreadable ({}); move it away on the server to reuse the name",
                                     m_layout.record_path(name), m_config.server, e.what()));
  }
}

void NfsBackend::adopt(VolumeRecord& record, const VolumeMetadata& existing) const {
  record.backend_data["dir"] = existing.dir;
  // Create with no options on an existing volume is a success (implicit
  // creation, swarm nodes after the first); any other difference conflicts.
  if (!record.options.empty() && record.options != existing.options) {
    throw conflict(fmt::format("it already exists on nfs server {} (created by {} at {}) with options {}, not {}",
                               m_config.server, existing.created_by, format_rfc3339(existing.created_at),
                               options_text(existing.options), options_text(record.options)));
  }
  record.options = existing.options;
  record.created_at = existing.created_at;
  record.created_by = existing.created_by;
}

void NfsBackend::ensure_volume_dir(NfsContext& nfs, const std::string& dir, const Options& options,
                                   Deadline deadline, std::chrono::milliseconds wait_for_creator) {
  const std::string path = m_layout.volume_dir(dir);
  // A volume another host is creating right now has its record before its
  // directory: give that host a moment to place it rather than racing it
  // (a rename onto its still-empty directory would replace it).
  Deadline patience = deadline.capped(wait_for_creator);
  for (;;) {
    try {
      NfsStat st = nfs.lstat(path, deadline);
      if (!st.is_dir()) {
        throw conflict(fmt::format("{} on nfs server {} exists and is not a directory",
                                   join_path(m_config.export_path, path), m_config.server));
      }
      return;  // placed by us earlier, by another host, or adopted
    } catch (const NfsError& e) {
      if (!has_code(e, ENOENT)) {
        throw;
      }
    }
    if (patience.expired()) {
      break;
    }
    std::this_thread::sleep_for(std::min(patience.remaining(), std::chrono::milliseconds(50)));
  }

  // Prepared under a temporary name with its final owner and mode, then
  // renamed into place: no host ever mounts a half-prepared directory.
  Ownership own = ownership(options);
  const std::string staging = m_layout.staging_dir() + "/" + dir + "." + unique_suffix() + ".dir";
  try {
    // NFSv4 provisioning cannot chmod a directory (libnfs 4.0), so it is
    // created with its final mode (no umask is applied); NFSv3 creates it
    // private and opens it up after the chown.
    nfs.mkdir(staging, m_config.provision_version == 4 ? own.mode : 0700, deadline);
  } catch (const NfsError& e) {
    rethrow_with_squash_hint(e, m_config.export_path, join_path(m_config.export_path, m_layout.base));
  }
  try {
    if (m_config.provision_version == 3) {
      if (own.uid || own.gid) {
        NfsStat st = nfs.lstat(staging, deadline);
        std::uint32_t uid = own.uid.value_or(static_cast<std::uint32_t>(st.uid));
        std::uint32_t gid = own.gid.value_or(static_cast<std::uint32_t>(st.gid));
        // Skipping a chown that changes nothing is what makes anonuid
        // exports (root_squash) work with matching uid/gid options.
        if (st.uid != uid || st.gid != gid) {
          try {
            nfs.lchown(staging, uid, gid, deadline);
          } catch (const NfsError& e) {
            rethrow_with_squash_hint(e, m_config.export_path, join_path(m_config.export_path, m_layout.base));
          }
        }
      }
      nfs.lchmod(staging, own.mode, deadline);
    }
    nfs.rename(staging, path, deadline);
  } catch (const Error& e) {
    // Best effort: the staging directory is empty; it stays behind only
    // when the connection is gone (it is tiny and harmless).
    if (nfs.usable()) {
      try {
        nfs.rmdir(staging, deadline);
      } catch (const NfsError& cleanup) {
        spdlog::warn("nfs {}: cannot remove staging directory {}: {}", m_instance, staging, cleanup.what());
      }
    }
    // Another host placed the directory between our lstat and rename.
    const auto* failure = dynamic_cast<const NfsError*>(&e);
    if (failure != nullptr && (has_code(*failure, EEXIST) || has_code(*failure, ENOTEMPTY)) && nfs.usable()) {
      if (nfs.lstat(path, deadline).is_dir()) {
        return;
      }
    }
    throw;
  }
}

// --- Create / Remove --------------------------------------------------------

std::chrono::milliseconds NfsBackend::creator_grace(const VolumeMetadata& existing) const {
  // Only a record made moments ago by another host may still be missing
  // its directory because that host is placing it; an old record without a
  // directory is repaired at once.
  auto age = std::chrono::system_clock::now() - existing.created_at;
  bool fresh = age < std::chrono::seconds(60) && age > -std::chrono::seconds(60);
  return existing.created_by != m_host_id && fresh ? std::chrono::milliseconds(2000) : std::chrono::milliseconds(0);
}

void NfsBackend::provision(VolumeRecord& record, Deadline deadline) {
  Deadline d = deadline.capped(m_config.provision_timeout);
  NfsContext nfs(target(), d);
  ensure_layout(nfs, d);
  settle_pending_remove(nfs, record.name, d);

  auto existing = read_record(nfs, record.name, d);
  if (!existing && !restore_displaced_records(nfs, {}, d, record.name).empty()) {
    existing = read_record(nfs, record.name, d);  // a late Remove had moved it away
  }
  if (existing) {
    adopt(record, *existing);
    ensure_volume_dir(nfs, existing->dir, record.options, d, creator_grace(*existing));
    return;
  }

  // No record. A directory without one is not a volume holdfast knows: left
  // by on_remove=retain, or made by hand.
  std::optional<NfsStat> present;
  try {
    present = nfs.lstat(m_layout.volume_dir(record.name), d);
  } catch (const NfsError& e) {
    if (!has_code(e, ENOENT)) {
      throw;
    }
  }
  if (present) {
    // Another host may have created the volume since we looked: it links
    // the record before it places the directory, so a directory we see
    // now comes with a record we can read now.
    if ((existing = read_record(nfs, record.name, d))) {
      adopt(record, *existing);
      ensure_volume_dir(nfs, existing->dir, record.options, d, creator_grace(*existing));
      return;
    }
  }
  const std::string server_path = join_path(m_config.export_path, m_layout.volume_dir(record.name));
  if (present && !present->is_dir()) {
    throw conflict(fmt::format("{} on nfs server {} exists and is not a directory", server_path, m_config.server));
  }
  if (present && !m_config.adopt_existing) {
    throw conflict(fmt::format(
        "{} already exists on nfs server {} but no holdfast volume owns it (left by on_remove: retain, "
        "or made by hand): move it away on the server, or set adopt_existing: true in backend \"{}\" "
        "to use it as is",
        server_path, m_config.server, m_instance));
  }

  // The claim: a complete record, written under a unique name and
  // hard-linked into place. LINK is atomic on the server: of two hosts
  // racing, exactly one succeeds; the other gets EEXIST and compares.
  const SystemTime now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  // An adopted directory keeps its name; a new volume gets a directory of
  // its own generation (see nfs_metadata.hpp for why).
  VolumeMetadata mine{record.name,
                      present ? record.name : generation_dir(record.name, now, static_cast<std::uint32_t>(random64())),
                      record.options, now, m_host_id};
  const std::string temp = m_layout.staging_dir() + "/" + record.name + "." + unique_suffix() + ".json";
  try {
    nfs.write_new_file(temp, k_record_mode, serialize_metadata(mine), d);
  } catch (const NfsError& e) {
    if (has_code(e, ENOENT)) {
      // Someone removed .holdfast since we checked: rebuild it next time.
      std::lock_guard lock(m_mutex);
      m_layout_ready = false;
    }
    rethrow_with_squash_hint(e, m_config.export_path, join_path(m_config.export_path, m_layout.base));
  }
  bool won = true;
  try {
    nfs.link(temp, m_layout.record_path(record.name), d);
  } catch (const NfsError& e) {
    if (!has_code(e, EEXIST)) {
      throw;
    }
    won = false;
  }
  try {
    nfs.unlink(temp, d);
  } catch (const NfsError& e) {
    spdlog::warn("nfs {}: cannot remove temporary record {}: {}", m_instance, temp, e.what());
  }
  if (!won) {
    existing = read_record(nfs, record.name, d);
    if (!existing) {
      throw conflict("another host created and removed it while this Create ran; try again");
    }
    adopt(record, *existing);
    ensure_volume_dir(nfs, existing->dir, record.options, d, creator_grace(*existing));
    return;
  }
  try {
    ensure_volume_dir(nfs, mine.dir, record.options, d, std::chrono::milliseconds(0));
  } catch (const Error& e) {
    // This Create failed: withdraw the claim, so that no host lists a
    // volume whose creation was reported as failed.
    if (nfs.usable()) {
      try {
        const std::string retired = retire_record(nfs, record.name, d);
        if (!retired.empty()) {
          nfs.unlink(retired, d);
        }
      } catch (const NfsError& cleanup) {
        spdlog::warn("nfs {}: cannot withdraw the record of a failed create {}: {}", m_instance,
                     m_layout.record_path(record.name), cleanup.what());
      }
    }
    throw;
  }
  record.created_at = mine.created_at;
  record.created_by = mine.created_by;
  record.backend_data["dir"] = mine.dir;
}

std::string NfsBackend::retire_record(NfsContext& nfs, const std::string& name, Deadline deadline) const {
  // A rename, never an unlink, of the shared name: if this call reaches
  // the server late, after the name was removed and created again, the new
  // generation's record lands in the trash intact and discover() puts it
  // back (its directory is live); an unlink would lose it.
  const std::string retired =
      m_layout.trash_dir() + "/" + std::string(k_record_prefix) + name + "." + unique_suffix() + ".json";
  try {
    nfs.rename(m_layout.record_path(name), retired, deadline);
  } catch (const NfsError& e) {
    if (has_code(e, ENOENT)) {
      return {};
    }
    throw;
  }
  return retired;
}

void NfsBackend::deprovision(const VolumeRecord& record, Deadline deadline) {
  if (!record.mountpoint.empty() && m_mounter.is_mounted(record.mountpoint)) {
    throw busy(fmt::format("it is still mounted on this host at {}", record.mountpoint));
  }
  Deadline d = deadline.capped(m_config.provision_timeout);
  NfsContext nfs(target(), d);
  settle_pending_remove(nfs, record.name, d);

  // The record on the export names this generation's directory; without a
  // record (removed by another host) only a directory this host knows for
  // the volume is touched, never one found by its name alone.
  std::string volume_dir;
  auto current = read_record(nfs, record.name, d);
  if (current) {
    volume_dir = current->dir;
  } else {
    volume_dir = known_dir(record);
  }
  if (volume_dir.empty()) {
    return;  // nothing of it on the export
  }
  // Journaled before the first destructive request, finished after the
  // last: see remove_journal.hpp.
  {
    std::lock_guard lock(m_mutex);
    m_removing.insert(record.name);  // before the entry exists: the refresh must never settle it
  }
  try {
    m_journal.begin(record.name, volume_dir);
    remove_generation(nfs, record.name, volume_dir, current ? RemoveMode::remove : RemoveMode::without_record, d);
  } catch (...) {
    std::lock_guard lock(m_mutex);
    m_removing.erase(record.name);
    throw;
  }
  m_journal.finish(record.name);
  std::lock_guard lock(m_mutex);
  m_removing.erase(record.name);
  m_cache.erase(record.name);
}

void NfsBackend::settle_pending_remove(NfsContext& nfs, const std::string& name, Deadline deadline) {
  if (!m_journal.pending(name)) {
    return;  // the common case, without the lock
  }
  // One settling at a time: the refresh and a Create of the same name must
  // not both retire records (one could retire the record the other has
  // just created). The journal is read again under the lock.
  std::unique_lock settling(m_settle_mutex, std::defer_lock);
  if (!settling.try_lock_until(deadline.when())) {
    throw timeout(fmt::format("finishing an earlier remove of \"{}\" took longer than the deadline", name));
  }
  auto pending = m_journal.pending(name);
  if (!pending) {
    return;
  }
  {
    std::lock_guard lock(m_mutex);
    if (m_removing.count(name) != 0) {
      return;  // running in this process right now
    }
  }
  spdlog::info("nfs {}: finishing the remove of volume \"{}\" ({}) begun by holdfastd pid {}, before the name is "
               "used again",
               m_instance, name, pending->dir, pending->pid);
  remove_generation(nfs, name, pending->dir, RemoveMode::settle, deadline);
  m_journal.finish(name);
  std::lock_guard lock(m_mutex);
  m_cache.erase(name);
}

void NfsBackend::remove_generation(NfsContext& nfs, const std::string& name, const std::string& volume_dir,
                                   RemoveMode mode, Deadline d) {
  const std::string stamp = compact_timestamp(std::chrono::system_clock::now());

  auto ignore_missing = [](const std::function<void()>& step) {
    try {
      step();
    } catch (const NfsError& e) {
      if (!has_code(e, ENOENT)) {
        throw;
      }
    }
  };
  auto ensure_trash = [&] {
    try {
      nfs.mkdir(m_layout.trash_dir(), k_admin_dir_mode, d);
    } catch (const NfsError& e) {
      if (!has_code(e, EEXIST)) {
        rethrow_with_squash_hint(e, m_config.export_path, join_path(m_config.export_path, m_layout.base));
      }
    }
  };

  const std::string dir = m_layout.volume_dir(volume_dir);
  // Retire the record only while it is this generation's: a Remove that
  // did not just read it must not take a volume another host created since.
  auto retire = [&]() -> std::string {
    if (mode != RemoveMode::remove) {
      auto current = read_record(nfs, name, d);
      if (!current || current->dir != volume_dir) {
        return {};
      }
    }
    return retire_record(nfs, name, d);
  };

  // The data goes first and the record last: if this is interrupted, the
  // volume still exists (without data) and Remove can be repeated.
  ensure_trash();
  switch (m_config.on_remove) {
    case RemovePolicy::remove_data: {
      // Renamed out of the way at once, deleted within part of the
      // deadline; what is left is purged by refresh().
      const std::string doomed = m_layout.trash_dir() + "/" + std::string(k_delete_prefix) + name + "@" +
                                 stamp + "." + unique_suffix();
      bool moved = true;
      try {
        nfs.rename(dir, doomed, d);
      } catch (const NfsError& e) {
        if (!has_code(e, ENOENT)) {
          throw;
        }
        moved = false;
      }
      const std::string retired = retire();
      if (!retired.empty()) {
        ignore_missing([&] { nfs.unlink(retired, d); });
      }
      // A settled Remove leaves the deleting to refresh: it runs inside
      // someone else's Create or Mount.
      if (moved && mode != RemoveMode::settle) {
        Deadline purge_deadline = d.capped(d.remaining() / 2);
        bool done = false;
        try {
          done = purge_tree(nfs, doomed, purge_deadline, d);
        } catch (const Error& e) {
          spdlog::warn("nfs {}: deleting {} continues in the background: {}", m_instance, doomed, e.what());
        }
        if (!done) {
          spdlog::info("nfs {}: {} not fully deleted yet; refresh will finish it", m_instance, doomed);
        }
      }
      break;
    }
    case RemovePolicy::archive: {
      std::string archived = m_layout.trash_dir() + "/" + name + "@" + stamp;
      try {
        nfs.rename(dir, archived, d);
      } catch (const NfsError& e) {
        if (has_code(e, ENOENT)) {
          archived.clear();
        } else if (has_code(e, EEXIST) || has_code(e, ENOTEMPTY)) {
          archived += "." + unique_suffix();
          nfs.rename(dir, archived, d);
        } else {
          throw;
        }
      }
      const std::string retired = retire();
      if (!retired.empty() && !archived.empty()) {
        ignore_missing([&] { nfs.rename(retired, archived + ".json", d); });
      } else if (!retired.empty()) {
        ignore_missing([&] { nfs.unlink(retired, d); });
      }
      break;
    }
    case RemovePolicy::retain: {
      // The directory stays live: a marker tells discover() that this
      // generation's record left the records on purpose.
      if (volume_dir != name) {
        try {
          nfs.write_new_file(m_layout.trash_dir() + "/" + std::string(k_retained_prefix) + volume_dir, k_record_mode,
                             "", d);
        } catch (const NfsError& e) {
          if (!has_code(e, EEXIST)) {
            throw;
          }
        }
      }
      const std::string retired = retire();
      if (!retired.empty()) {
        ignore_missing([&] { nfs.unlink(retired, d); });
      }
      break;
    }
  }
}

bool NfsBackend::purge_tree(NfsContext& nfs, const std::string& root, Deadline budget, Deadline deadline) const {
  // Depth first without recursion; entries are never followed through
  // symbolic links: links, files, devices are unlinked as names. `budget`
  // ends the work between two calls (the rest is left for later), while
  // each call may use up to `deadline`, so running out of budget is never
  // mistaken for a server that does not answer.
  std::vector<std::string> stack{root};
  while (!stack.empty()) {
    if (budget.expired()) {
      return false;
    }
    const std::string dir = stack.back();
    std::vector<NfsDirEntry> entries;
    try {
      entries = nfs.list(dir, k_purge_list_limit, deadline);
    } catch (const NfsError& e) {
      if (has_code(e, ENOENT)) {
        stack.pop_back();
        continue;
      }
      throw;
    }
    bool descended = false;
    for (const auto& entry : entries) {
      const std::string child = dir + "/" + entry.name;
      NfsStat st = entry.stat;
      if (st.mode == 0) {  // no attributes from READDIRPLUS
        try {
          st = nfs.lstat(child, deadline);
        } catch (const NfsError& e) {
          if (has_code(e, ENOENT)) {
            continue;
          }
          throw;
        }
      }
      if (st.is_dir()) {
        stack.push_back(child);
        descended = true;
        continue;
      }
      if (budget.expired()) {
        return false;
      }
      try {
        nfs.unlink(child, deadline);
      } catch (const NfsError& e) {
        if (!has_code(e, ENOENT)) {
          throw;
        }
      }
    }
    if (!descended) {
      try {
        nfs.rmdir(dir, deadline);
      } catch (const NfsError& e) {
        if (has_code(e, ENOTEMPTY) || has_code(e, EEXIST)) {
          continue;  // something appeared meanwhile: list again
        }
        if (!has_code(e, ENOENT)) {
          throw;
        }
      }
      stack.pop_back();
    }
  }
  return true;
}

void NfsBackend::purge_trash(NfsContext& nfs, Deadline deadline) const {
  const auto entries = entries_or_none(nfs, m_layout.trash_dir(), deadline);
  // Records moved here by a Remove that was cut off before deleting them:
  // deleted once seen by two refreshes in a row (a Remove in progress
  // deletes or archives its own within milliseconds), unless discover()
  // would still put one back.
  std::set<std::string> retired;
  for (const auto& entry : entries) {
    if (entry.name.rfind(k_record_prefix, 0) == 0) {
      retired.insert(entry.name);
    }
  }
  std::set<std::string> seen_before;
  {
    std::lock_guard lock(m_mutex);
    seen_before.swap(m_retired_seen);
    m_retired_seen = retired;
  }
  const std::map<std::string, NfsStat> none;
  for (const auto& name : retired) {
    if (seen_before.count(name) == 0) {
      continue;
    }
    const std::string path = m_layout.trash_dir() + "/" + name;
    try {
      if (!is_displaced_record(nfs, path, none, deadline)) {
        nfs.unlink(path, deadline);
      }
    } catch (const NfsError& e) {
      if (!has_code(e, ENOENT)) {
        throw;
      }
    }
  }
  for (const auto& entry : entries) {
    if (entry.name.rfind(k_delete_prefix, 0) != 0) {
      continue;  // archived volumes stay
    }
    if (!purge_tree(nfs, m_layout.trash_dir() + "/" + entry.name, deadline, deadline)) {
      return;
    }
  }
}

namespace {

// The pid in a staging entry "<volume>.<host>.<pid>.<16 hex>.json|.dir"
// (unique_suffix()) made by host `host` (file_name_safe form); nullopt for
// any other name.
std::optional<long> staging_pid(std::string_view entry, const std::string& host) {
  for (std::string_view suffix : {".json", ".dir"}) {
    if (entry.size() > suffix.size() && entry.substr(entry.size() - suffix.size()) == suffix) {
      entry.remove_suffix(suffix.size());
      auto random = entry.rfind('.');
      if (random == std::string_view::npos || entry.size() - random - 1 != 16) {
        return std::nullopt;
      }
      entry = entry.substr(0, random);
      auto dot = entry.rfind('.');
      const std::string_view digits = dot == std::string_view::npos ? std::string_view() : entry.substr(dot + 1);
      if (digits.empty() || digits.size() > 9 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
      }
      const long pid = std::stol(std::string(digits));
      entry = entry.substr(0, dot);
      const std::string marker = "." + host;
      if (entry.size() <= marker.size() || entry.substr(entry.size() - marker.size()) != marker) {
        return std::nullopt;
      }
      return pid;
    }
  }
  return std::nullopt;
}

}  // namespace

void NfsBackend::purge_stale_staging(NfsContext& nfs, Deadline deadline) const {
  const auto entries = entries_or_none(nfs, m_layout.staging_dir(), deadline);
  // One holdfastd per host: an entry of this host made by another pid was
  // left by a process that died between its steps (the same pid reused is
  // merely left for later). Records are files, staging directories empty.
  const std::string host = file_name_safe(m_host_id);
  const long self = static_cast<long>(::getpid());
  for (const auto& entry : entries) {
    auto pid = staging_pid(entry.name, host);
    if (!pid || *pid == self) {
      continue;
    }
    const std::string path = m_layout.staging_dir() + "/" + entry.name;
    try {
      if (entry.name.size() > 4 && entry.name.compare(entry.name.size() - 4, 4, ".dir") == 0) {
        nfs.rmdir(path, deadline);
      } else {
        nfs.unlink(path, deadline);
      }
      spdlog::info("nfs {}: removed {}, left by an earlier holdfastd on this host", m_instance, path);
    } catch (const NfsError& e) {
      if (!has_code(e, ENOENT)) {
        spdlog::warn("nfs {}: cannot remove stale staging entry {}: {}", m_instance, path, e.what());
      }
    }
  }
}

// --- Mount / Unmount --------------------------------------------------------

std::string NfsBackend::default_probe(const std::string& name, Deadline deadline) {
  NfsContext nfs(target(), deadline);
  settle_pending_remove(nfs, name, deadline);
  auto current = read_record(nfs, name, deadline);
  if (!current && !restore_displaced_records(nfs, {}, deadline, name).empty()) {
    current = read_record(nfs, name, deadline);  // a late Remove had moved it away
  }
  if (!current) {
    throw not_found(fmt::format("its record {} does not exist on nfs server {} (removed by another host?)",
                                join_path(m_config.export_path, m_layout.record_path(name)), m_config.server));
  }
  const std::string volume_path = m_layout.volume_dir(current->dir);
  NfsStat st;
  try {
    st = nfs.lstat(volume_path, deadline);
  } catch (const NfsError& e) {
    if (has_code(e, ENOENT)) {
      throw not_found(fmt::format("its directory {} does not exist on nfs server {} (removed by another host?)",
                                  join_path(m_config.export_path, volume_path), m_config.server));
    }
    throw;
  }
  if (!st.is_dir()) {
    throw conflict(fmt::format("{} on nfs server {} is not a directory", join_path(m_config.export_path, volume_path),
                               m_config.server));
  }
  return current->dir;
}

std::string NfsBackend::attach(VolumeRecord& record, const std::string& target, Deadline deadline) {
  // Any generation's directory of this volume counts as attached (the
  // record on the export is not read before a mount that already exists).
  const std::string own_source = mount_source(record.name);
  auto is_own_source = [&](const std::string& source) {
    return source == own_source ||
           (source.size() > own_source.size() + 1 && source.compare(0, own_source.size(), own_source) == 0 &&
            source[own_source.size()] == '@' && valid_volume_dir(record.name, source.substr(source.rfind('/') + 1)));
  };
  for (const auto& entry : m_mounter.mounts()) {
    if (entry.mount_point == target) {
      if (is_own_source(entry.source)) {
        return target;  // already attached (restart, retry)
      }
      throw conflict(fmt::format("{} is already a mount point (of {}, type {})", target, entry.source,
                                 entry.fs_type));
    }
  }
  const std::string options = mount_options(record.options);

  // Fail fast, with a clear message, when the server does not answer: the
  // kernel's own mount would wait for minutes.
  const auto started = std::chrono::steady_clock::now();
  const std::string dir = m_probe(record.name, deadline.capped(m_config.probe_timeout));
  const auto probed = std::chrono::steady_clock::now();
  if (!valid_volume_dir(record.name, dir)) {
    throw internal_error(fmt::format("the probe returned \"{}\", not a directory of this volume", redact(dir)));
  }
  const std::string source = mount_source(dir);
  record.backend_data["dir"] = dir;

  Deadline d = deadline.capped(m_config.mount_timeout);
  const std::vector<std::string> argv = {k_mount_helper, source, target, "-o", options};
  CommandResult result = m_runner.run(argv, d);
  if (result.timed_out) {
    // Killed mid-way: the kernel may still have completed the mount.
    if (m_mounter.is_mounted(target)) {
      m_mounter.unmount(target, UnmountMode::lazy, Deadline::after(m_config.unmount_timeout));
    }
    throw timeout(fmt::format("mount.nfs {} did not finish within {} ms (nfs server {} slow or unreachable)", source,
                              m_config.mount_timeout.count(), m_config.server));
  }
  if (result.exit_code != 0) {
    std::string text = redact(result.err.empty() ? result.out : result.err);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
      text.pop_back();
    }
    std::replace(text.begin(), text.end(), '\n', ' ');
    ErrorKind kind = ErrorKind::unavailable;
    if (text.find("access denied") != std::string::npos || text.find("Permission denied") != std::string::npos ||
        text.find("Operation not permitted") != std::string::npos) {
      kind = ErrorKind::permission;
    } else if (text.find("No such file or directory") != std::string::npos) {
      kind = ErrorKind::not_found;
    } else if (text.find("timed out") != std::string::npos) {
      kind = ErrorKind::timeout;
    } else if (text.find("nvalid argument") != std::string::npos || text.find("bad option") != std::string::npos) {
      kind = ErrorKind::invalid_argument;
    }
    throw Error(kind, fmt::format("mount.nfs {} on {} (-o {}) failed with exit status {}: {}", source, target,
                                  options, result.exit_code, text.empty() ? "no message" : text));
  }
  if (!m_mounter.is_mounted(target)) {
    throw internal_error(fmt::format("mount.nfs reported success but {} is not in the mount table", target));
  }
  using ms = std::chrono::duration<double, std::milli>;
  spdlog::debug("nfs {}: volume \"{}\" attached: probe {:.1f} ms, mount {:.1f} ms", m_instance, record.name,
                ms(probed - started).count(), ms(std::chrono::steady_clock::now() - probed).count());
  record.backend_data["source"] = source;
  record.backend_data["mount_options"] = options;
  return target;
}

void NfsBackend::detach(VolumeRecord& record, const std::string& mountpoint, Deadline deadline) {
  (void)record;
  if (mountpoint.empty() || !m_mounter.is_mounted(mountpoint)) {
    return;
  }
  try {
    m_mounter.unmount(mountpoint, UnmountMode::normal, deadline.capped(m_config.unmount_timeout));
    return;
  } catch (const Error& e) {
    // A dead server (timeout, EIO) or a straggling user (EBUSY): detach the
    // mount from the tree now, so Docker is never blocked; the kernel
    // finishes (or abandons) the unmount in the background.
    spdlog::warn("nfs {}: unmount of {} failed ({}); detaching it lazily", m_instance, mountpoint, e.what());
  }
  m_mounter.unmount(mountpoint, UnmountMode::lazy, deadline);
}

bool NfsBackend::is_attached(const VolumeRecord& record) {
  if (record.mountpoint.empty()) {
    return false;
  }
  // The mount table only: a stat() could hang on a dead server.
  for (const auto& entry : m_mounter.mounts()) {
    if (entry.mount_point == record.mountpoint && entry.fs_type.rfind("nfs", 0) == 0) {
      return true;
    }
  }
  return false;
}

// --- Status, discovery, refresh ---------------------------------------------

nlohmann::json NfsBackend::status(const VolumeRecord& record) const {
  auto version = record.options.find("vers");
  const std::string dir = known_dir(record);
  nlohmann::json out = {
      {"backend", "nfs"},
      {"server", m_config.server},
      {"export", m_config.export_path},
      {"path", join_path(m_config.export_path, m_layout.volume_dir(dir.empty() ? record.name : dir))},
      {"nfs_version", version != record.options.end() ? version->second : m_config.nfs_version},
      {"on_remove", to_string(m_config.on_remove)},
  };
  if (!record.created_by.empty()) {
    out["created_by"] = record.created_by;
  }
  std::lock_guard lock(m_mutex);
  if (m_capacity.stat) {
    out["capacity"] = format_bytes(m_capacity.stat->total_bytes);
    out["available"] = format_bytes(m_capacity.stat->free_bytes);
    out["capacity_bytes"] = m_capacity.stat->total_bytes;
    out["available_bytes"] = m_capacity.stat->free_bytes;
    out["capacity_checked_at"] = format_rfc3339(m_capacity.checked_at);
  } else {
    out["capacity"] = "unknown (not measured yet)";
  }
  if (!m_capacity.error.empty()) {
    out["server_error"] = m_capacity.error;
    out["server_error_at"] = format_rfc3339(m_capacity.error_at);
  }
  return out;
}

std::optional<std::vector<VolumeRecord>> NfsBackend::discover(Deadline deadline) {
  Deadline d = deadline.capped(m_config.provision_timeout);
  NfsContext nfs(target(), d);
  std::vector<NfsDirEntry> entries;
  try {
    entries = nfs.list(m_layout.records_dir(), m_config.max_volumes + 64, d);
  } catch (const NfsError& e) {
    if (!has_code(e, ENOENT)) {
      throw;
    }
    // Nothing provisioned on this export yet.
  }

  std::map<std::string, NfsStat> listed;
  for (const auto& entry : entries) {
    std::string name = ExportLayout::name_of_record(entry.name);
    if (!name.empty()) {
      listed[name] = entry.stat;
    }
  }
  // After the listing: a record moved into the trash just before it is
  // found there, one moved just after it was listed.
  for (const auto& name : restore_displaced_records(nfs, listed, d)) {
    try {
      listed[name] = nfs.lstat(m_layout.record_path(name), d);
    } catch (const NfsError& e) {
      if (!has_code(e, ENOENT)) {
        throw;
      }
    }
  }
  if (listed.size() > m_config.max_volumes) {
    throw internal_error(fmt::format("{} holds {} volume records, more than max_volumes ({})",
                                     m_layout.records_dir(), listed.size(), m_config.max_volumes));
  }

  // Records are immutable once linked into place: re-read one only when its
  // size or modification time changed (a removed and re-created name).
  std::map<std::string, CachedRecord> cache;
  {
    std::lock_guard lock(m_mutex);
    cache = m_cache;
  }
  auto same_file = [](const NfsStat& a, const NfsStat& b) {
    return a.size == b.size && a.mtime_sec == b.mtime_sec && a.mtime_nsec == b.mtime_nsec && a.inode == b.inode;
  };
  std::map<std::string, CachedRecord> fresh;
  for (const auto& [name, stat] : listed) {
    auto it = cache.find(name);
    if (it != cache.end() && same_file(it->second.stat, stat)) {
      fresh[name] = it->second;
      continue;
    }
    CachedRecord entry{stat, std::nullopt};
    try {
      std::string text = nfs.read_file(m_layout.record_path(name), k_max_metadata_bytes, d);
      VolumeMetadata parsed = parse_metadata(text, name);
      Options for_check = parsed.options;
      validate(for_check);
      entry.parsed = std::move(parsed);
    } catch (const NfsError& e) {
      if (has_code(e, ENOENT)) {
        continue;  // removed since the listing
      }
      throw;
    } catch (const Error& e) {
      // One bad record must not hide the others; say it once per version
      // of the file.
      spdlog::warn("nfs {}: skipping volume record {}: {}", m_instance, m_layout.record_path(name), e.what());
    }
    fresh[name] = std::move(entry);
  }

  // A generation this host is removing, or began to remove before a
  // crash, is not listed: it may vanish any moment (remove_journal.hpp).
  const auto removing = m_journal.all();
  std::vector<VolumeRecord> out;
  for (const auto& [name, entry] : fresh) {
    if (!entry.parsed) {
      continue;
    }
    if (auto it = removing.find(name); it != removing.end() && it->second.dir == entry.parsed->dir) {
      continue;
    }
    VolumeRecord record;
    record.name = name;
    record.backend = m_instance;
    record.options = entry.parsed->options;
    record.created_at = entry.parsed->created_at;
    record.created_by = entry.parsed->created_by;
    record.backend_data["dir"] = entry.parsed->dir;
    out.push_back(std::move(record));
  }
  std::lock_guard lock(m_mutex);
  m_cache = std::move(fresh);
  return out;
}

std::optional<VolumeMetadata> NfsBackend::is_displaced_record(NfsContext& nfs, const std::string& path,
                                                               const std::map<std::string, NfsStat>& listed,
                                                               Deadline deadline) const {
  std::optional<VolumeMetadata> record;
  try {
    record = parse_metadata_any_name(nfs.read_file(path, k_max_metadata_bytes, deadline));
  } catch (const NfsError& e) {
    if (has_code(e, ENOENT)) {
      return std::nullopt;  // its Remove finished meanwhile
    }
    throw;
  } catch (const Error& e) {
    spdlog::warn("nfs {}: ignoring unreadable record {} in the trash: {}", m_instance, path, e.what());
    return std::nullopt;
  }
  if (listed.count(record->name) != 0 || record->dir == record->name) {
    // The name has a record (this one is an interrupted Remove's), or a
    // directory without a generation (format 1, adopted) that a late
    // Remove cannot be told apart from.
    return std::nullopt;
  }
  if (auto pending = m_journal.pending(record->name); pending && pending->dir == record->dir) {
    return std::nullopt;  // this host's journaled Remove of that very generation
  }
  try {
    nfs.lstat(m_layout.trash_dir() + "/" + std::string(k_retained_prefix) + record->dir, deadline);
    return std::nullopt;  // removed with on_remove=retain: the directory stays on purpose
  } catch (const NfsError& e) {
    if (!has_code(e, ENOENT)) {
      throw;
    }
  }
  // The directory moves before the record in every other Remove: a record
  // in the trash whose directory is still live was moved by a Remove of
  // another generation of the name.
  try {
    if (nfs.lstat(m_layout.volume_dir(record->dir), deadline).is_dir()) {
      return record;
    }
  } catch (const NfsError& e) {
    if (!has_code(e, ENOENT)) {
      throw;
    }
  }
  return std::nullopt;
}

std::vector<std::string> NfsBackend::restore_displaced_records(NfsContext& nfs,
                                                              const std::map<std::string, NfsStat>& listed,
                                                              Deadline deadline, const std::string& only) const {
  std::vector<std::string> restored;
  const std::string wanted = std::string(k_record_prefix) + only + ".";
  for (const auto& entry : entries_or_none(nfs, m_layout.trash_dir(), deadline)) {
    if (entry.name.rfind(only.empty() ? k_record_prefix : wanted, 0) != 0) {
      continue;
    }
    const std::string path = m_layout.trash_dir() + "/" + entry.name;
    auto displaced = is_displaced_record(nfs, path, listed, deadline);
    if (!displaced) {
      continue;
    }
    try {
      nfs.link(path, m_layout.record_path(displaced->name), deadline);
      restored.push_back(displaced->name);
      spdlog::warn("nfs {}: restored the record of volume \"{}\" ({}), moved into the trash by a late Remove of an "
                   "earlier volume of that name",
                   m_instance, displaced->name, displaced->dir);
    } catch (const NfsError& e) {
      if (!has_code(e, EEXIST)) {
        throw;
      }
      spdlog::warn("nfs {}: the directory {} of an earlier volume \"{}\" stays on the export: the name was "
                   "created again meanwhile",
                   m_instance, join_path(m_config.export_path, m_layout.volume_dir(displaced->dir)), displaced->name);
    }
    try {
      nfs.unlink(path, deadline);
    } catch (const NfsError& e) {
      if (!has_code(e, ENOENT)) {
        throw;
      }
    }
  }
  return restored;
}

bool NfsBackend::remove_pending(const VolumeRecord& record) const {
  auto pending = m_journal.pending(record.name);
  return pending && pending->pid != static_cast<long>(::getpid());
}

void NfsBackend::settle_predecessors_removes(NfsContext& nfs, Deadline deadline) {
  // Removes cut off by a crash of an earlier holdfastd: finished now, as
  // they would have been. This process's own unfinished Removes (ones that
  // failed) wait until their name is used again.
  const long self = static_cast<long>(::getpid());
  for (const auto& [name, pending] : m_journal.all()) {
    if (pending.pid != self) {
      settle_pending_remove(nfs, name, deadline);
    }
  }
}

void NfsBackend::refresh(Deadline deadline) {
  Deadline d = deadline.capped(m_config.provision_timeout);
  try {
    NfsContext nfs(target(), d);
    NfsFsStat fs;
    try {
      fs = nfs.statvfs(m_layout.base, d);
    } catch (const NfsError& e) {
      if (!has_code(e, ENOENT)) {
        throw;
      }
      fs = nfs.statvfs("/", d);
    }
    {
      std::lock_guard lock(m_mutex);
      m_capacity.stat = fs;
      m_capacity.checked_at = std::chrono::system_clock::now();
      m_capacity.error.clear();
    }
    settle_predecessors_removes(nfs, d);
    purge_trash(nfs, d);
    purge_stale_staging(nfs, d);
  } catch (const Error& e) {
    std::lock_guard lock(m_mutex);
    m_capacity.error = e.what();
    m_capacity.error_at = std::chrono::system_clock::now();
    throw;
  }
}

std::unique_ptr<Backend> make_backend(ConfigReader& config, BackendEnv& env) {
  return std::make_unique<NfsBackend>(read_nfs_config(config), env);
}

}  // namespace holdfast::nfs
