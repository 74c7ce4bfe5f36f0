#include "volume/volume_manager.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <unordered_set>
#include <utility>

#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>
#include <holdfast/safe_path.hpp>

#include "volume/backend_call.hpp"
#include "volume/backend_set.hpp"
#include "volume/op_lock.hpp"
#include "volume/state_store.hpp"

// How the pieces fit (see also volume_manager.hpp and docs/architecture.md):
//
// * m_catalog guards m_slots: name -> Slot. A Slot carries the published
//   record (what Get/List/Path answer from), whether a state file exists for
//   it, and the volume's OpLock. A Slot exists while the volume exists or
//   while some thread holds/waits for its lock (`users`), so that a Create
//   of a new name has a lock to take before the volume exists.
// * Every mutating operation: validate at the door, take the volume's
//   OpLock (bounded wait -> busy), work on a *copy* of the record, call the
//   backend through BackendCall (deadline enforced on a worker thread),
//   save the copy, and only then publish it. A failure before the save
//   leaves the published record untouched.
// * When a backend call overruns, the caller answers `timeout` and hands the
//   call a late handler that owns the volume's lock (a GuardPtr) until the
//   call has returned and been compensated. Rule followed everywhere: the
//   caller first publishes the pessimistic state ("maybe still attached at
//   X"), then hands over, and does nothing afterwards; so a late handler
//   never races with its caller.
// * Mountpoints: record.mountpoint is where the backend attached the volume
//   and stays set while an attachment may exist, including after a failed
//   detach at the last Unmount (the mount ID is dropped anyway). Get/Path
//   only show it while the mount count is non-zero. Such a leftover is
//   re-used by the next Mount (attach is idempotent), detached by Remove
//   before deprovisioning, and detached by reconcile at the next start.
// * Shared (global) backends: discovered volumes live in the catalogue
//   without a state file (the storage is the source of truth); the first
//   Mount on this host writes one (its counts must survive a restart).

namespace holdfast {

namespace {

using std::chrono::milliseconds;

// Text from a request as it may appear in a message: printable ASCII kept,
// anything else \xNN, cut after 128 characters.
std::string shown(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < k_max_volume_name; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (text.size() > k_max_volume_name) {
    out += "...";
  }
  return out;
}

std::string in_quotes(std::string_view text) { return "\"" + shown(text) + "\""; }

std::string format_budget(milliseconds budget) {
  auto ms = budget.count();
  if (ms % 1000 == 0) {
    return std::to_string(ms / 1000) + "s";
  }
  if (ms > 1000) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  return std::to_string(ms) + "ms";
}

std::string format_held(std::chrono::steady_clock::duration held) {
  return format_budget(std::chrono::duration_cast<milliseconds>(held));
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += out.empty() ? "" : ", ";
    out += item;
  }
  return out.empty() ? "(none)" : out;
}

std::string describe_options(const Options& options) {
  if (options.empty()) {
    return "none";
  }
  std::string out;
  for (const auto& [key, value] : options) {
    out += out.empty() ? "" : ", ";
    out += shown(key) + "=" + shown(value);
  }
  return redact(out);
}

// What a late failure was, for the log.
std::string describe(const Error* error) { return error != nullptr ? error->what() : "no error"; }

bool valid_name(const std::string& name) {
  try {
    validate_volume_name(name);
    return true;
  } catch (const Error&) {
    return false;
  }
}

struct Nothing {};

struct Attached {
  VolumeRecord record;
  std::string path;
};

using Discovered = std::optional<std::vector<VolumeRecord>>;

// A volume's place in the catalogue. Everything but `lock` is guarded by
// the manager's catalog mutex.
struct Slot {
  OpLock lock;
  std::optional<VolumeRecord> record;  // published; nullopt while being created / after removal
  bool persisted = false;              // a state file exists for it
  bool unsaved = false;                // the last save of it failed: its state file may be older
  std::uint64_t changed = 0;           // catalogue sequence number of the last change
  std::size_t users = 0;               // threads holding or waiting for `lock`
};

}  // namespace

class VolumeManager::Impl {
 public:
  Impl(BackendSet& backends, StateStore& store, Mounter& mounter, const Config& config)
      : m_backends(backends),
        m_store(store),
        m_mounter(mounter),
        m_deadlines(config.deadlines),
        m_mount_root(strip_trailing_slashes(config.mount_root)),
        m_host_id(effective_host_id(config)),
        m_refresh_budget(std::max(config.refresh_interval, milliseconds(1000))),
        m_backend_metrics(backends.names()) {}

  // Abandoned backend calls still running hold references into this object
  // (their late handlers publish and save): wait for them. A backend that
  // never returns makes this wait forever; the daemon exits without
  // destroying the manager in that case.
  ~Impl() { m_workers.wait_idle(); }

  ReconcileReport start();
  void create(const std::string& name, const std::optional<Options>& options);
  void remove(const std::string& name);
  std::string mount(const std::string& name, const std::string& mount_id);
  void unmount(const std::string& name, const std::string& mount_id);
  std::string path(const std::string& name) const;
  VolumeInfo get(const std::string& name) const;
  std::vector<VolumeInfo> list() const;
  std::optional<VolumeRecord> published(const std::string& name) const;
  std::vector<VolumeRecord> all_records() const;
  std::vector<BackendRefresh> refresh();
  std::vector<ReconcileFinding> reconcile(bool apply);
  nlohmann::json operator_action(const std::string& name, const std::string& verb, const nlohmann::json& args,
                                 milliseconds budget);
  const BackendMetrics& backend_metrics() const { return m_backend_metrics; }
  Scope scope() const { return m_backends.scope(); }
  std::size_t background_calls() const { return m_workers.active(); }

 private:
  class Guard;
  using GuardPtr = std::shared_ptr<Guard>;

  struct Resolved {
    std::string instance;
    Backend* backend = nullptr;
    Options options;
  };

  static std::string strip_trailing_slashes(std::string path) {
    while (path.size() > 1 && path.back() == '/') {
      path.pop_back();
    }
    return path;
  }

  GuardPtr lock_volume(const std::string& name, const std::string& operation, milliseconds wait);
  GuardPtr lock_volume(const std::string& name, const std::string& operation) {
    return lock_volume(name, operation, m_deadlines.volume_lock);
  }
  void drop_user(const std::string& name, const std::shared_ptr<Slot>& slot);
  void publish(const std::string& name, const VolumeRecord& record, std::optional<bool> persisted);
  void unpublish(const std::string& name);

  Resolved resolve(const Options& given) const;
  void check_same(const VolumeRecord& existing, const Resolved* requested) const;
  Backend& backend_of(const VolumeRecord& record) const;
  VolumeInfo info_of(const VolumeRecord& record) const;
  std::string target_of(const std::string& name) const { return join_under(m_mount_root, name); }
  void remove_mount_dir(const std::string& name) const;

  // Runs `fn` on a worker and waits until `deadline`. Returns its result or
  // rethrows its error. On overrun: hands `late` the eventual outcome, sets
  // *abandoned (if given) and throws timeout naming `what`, the backend and
  // `budget`, followed by `late_note`.
  template <class T>
  T run_bounded(const std::string& what, const std::string& instance, milliseconds budget, Deadline deadline,
                std::function<T()> fn, typename BackendCall<T>::LateHandler late, const std::string& late_note,
                bool* abandoned = nullptr);

  // Detach `record` at `mountpoint` within the unmount budget; the guard
  // stays held by the late handler if it overruns.
  VolumeRecord detach_bounded(Backend& backend, VolumeRecord record, const std::string& mountpoint,
                              milliseconds budget, Deadline deadline, const GuardPtr& guard);
  BackendCall<VolumeRecord>::LateHandler late_detach(const GuardPtr& guard, const std::string& name,
                                                     const std::string& mountpoint);
  BackendCall<Attached>::LateHandler late_attach(const GuardPtr& guard, const std::string& name,
                                                 const std::string& instance);
  // Publishes (and saves) "maybe still attached at `mountpoint`" for a
  // volume with no mounts, before a detach whose outcome may arrive late.
  void note_leftover(const std::string& name, const std::string& mountpoint, const nlohmann::json& backend_data);
  // The leftover attachment at `mountpoint` is gone: clear it (and save).
  void clear_leftover(const std::string& name, const std::string& mountpoint, const nlohmann::json& backend_data);
  // Every state write goes through save_record: a failure marks the volume
  // unsaved (saved again by save_unsaved() at each refresh), a success
  // clears the mark. save_quietly logs instead of throwing; false if it failed.
  void save_record(const VolumeRecord& record);
  bool save_quietly(const VolumeRecord& record, const char* context);
  void set_unsaved(const std::string& name, bool unsaved);
  void save_unsaved();

  // The operator's reconcile of one volume / of the unknown mounts of one
  // entry under the mount root (see reconcile()).
  std::optional<ReconcileFinding> reconcile_volume(const std::string& name, bool mounted_under_root, bool apply);
  std::optional<ReconcileFinding> reconcile_unknown(const std::string& entry, std::vector<std::string> points,
                                                    bool apply);

  Error rollback_create(const VolumeRecord& record, Backend& backend, const Error& cause, const GuardPtr& guard);
  bool on_shared_storage(const VolumeRecord& record) const;
  // Create of a name the catalogue knows on a shared backend: provision
  // (idempotent) again, so the storage really holds what Create reports.
  void confirm_on_storage(const VolumeRecord& existing, const GuardPtr& guard);
  VolumeRecord discover_one(const std::string& name, Deadline deadline);
  void merge(const std::string& instance, std::vector<VolumeRecord>& found, std::uint64_t since);
  void forget_vanished(const std::string& name, const std::string& instance, std::uint64_t since);

  BackendSet& m_backends;
  StateStore& m_store;
  Mounter& m_mounter;
  const Deadlines m_deadlines;
  const std::string m_mount_root;
  const std::string m_host_id;
  const milliseconds m_refresh_budget;

  mutable std::mutex m_catalog;
  std::map<std::string, std::shared_ptr<Slot>> m_slots;  // guarded by m_catalog
  std::uint64_t m_seq = 0;                               // guarded by m_catalog
  // A refresh lists the storage, then merges the list (merge()): a volume
  // removed here meanwhile is still in the list and must not come back.
  // Names whose slot went away, with the sequence number of their last
  // change, kept while a discovery that began before that change runs;
  // and the `since` of every discovery running. Guarded by m_catalog.
  std::map<std::string, std::uint64_t> m_forgotten;
  std::multiset<std::uint64_t> m_discovering;
  void forget_slot(std::map<std::string, std::shared_ptr<Slot>>::iterator it);  // m_catalog held
  void end_discovery(std::uint64_t since);

  std::mutex m_refresh_mutex;
  std::set<std::string> m_refreshing;  // backends with a refresh still running; guarded by m_refresh_mutex

  BackendMetrics m_backend_metrics;

  // ~Impl waits for its threads before any member goes away.
  Workers m_workers;
};

// Holds a volume's slot (as a user) and, once taken, its operation lock.
// Both are released in the destructor: on the caller's thread normally, or
// on a worker thread when a late handler owns the guard.
class VolumeManager::Impl::Guard {
 public:
  Guard(Impl& impl, std::string name, std::shared_ptr<Slot> slot)
      : m_impl(impl), m_name(std::move(name)), m_slot(std::move(slot)) {}
  ~Guard() {
    if (m_locked) {
      m_slot->lock.release();
    }
    m_impl.drop_user(m_name, m_slot);
  }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  void set_locked() { m_locked = true; }

 private:
  Impl& m_impl;
  std::string m_name;
  std::shared_ptr<Slot> m_slot;
  bool m_locked = false;
};

// ------------------------------------------------------------- catalogue

VolumeManager::Impl::GuardPtr VolumeManager::Impl::lock_volume(const std::string& name,
                                                               const std::string& operation, milliseconds wait) {
  std::shared_ptr<Slot> slot;
  {
    std::lock_guard lock(m_catalog);
    auto& entry = m_slots[name];
    if (!entry) {
      entry = std::make_shared<Slot>();
    }
    ++entry->users;
    slot = entry;
  }
  auto guard = std::make_shared<Guard>(*this, name, slot);
  OpLock::Holder holder;
  if (!slot->lock.acquire(wait, operation, holder)) {
    throw busy("another operation (" + holder.operation + ") on volume " + in_quotes(name) + " has been running for " +
               format_held(holder.held_for));
  }
  guard->set_locked();
  return guard;
}

void VolumeManager::Impl::drop_user(const std::string& name, const std::shared_ptr<Slot>& slot) {
  std::lock_guard lock(m_catalog);
  --slot->users;
  if (slot->users == 0 && !slot->record) {
    auto it = m_slots.find(name);
    if (it != m_slots.end() && it->second == slot) {
      forget_slot(it);
    }
  }
}

void VolumeManager::Impl::publish(const std::string& name, const VolumeRecord& record,
                                  std::optional<bool> persisted) {
  std::lock_guard lock(m_catalog);
  auto& slot = m_slots[name];
  if (!slot) {
    slot = std::make_shared<Slot>();
  }
  slot->record = record;
  if (persisted) {
    slot->persisted = *persisted;
  }
  slot->changed = ++m_seq;
}

void VolumeManager::Impl::unpublish(const std::string& name) {
  std::lock_guard lock(m_catalog);
  auto it = m_slots.find(name);
  if (it == m_slots.end()) {
    return;
  }
  it->second->record.reset();
  it->second->persisted = false;
  it->second->changed = ++m_seq;
  if (it->second->users == 0) {
    forget_slot(it);
  }
}

void VolumeManager::Impl::forget_slot(std::map<std::string, std::shared_ptr<Slot>>::iterator it) {
  if (!m_discovering.empty() && it->second->changed > *m_discovering.begin()) {
    m_forgotten[it->first] = it->second->changed;
  }
  m_slots.erase(it);
}

void VolumeManager::Impl::end_discovery(std::uint64_t since) {
  std::lock_guard lock(m_catalog);
  m_discovering.erase(m_discovering.find(since));
  // Keep only what a discovery still running could bring back.
  const std::uint64_t oldest = m_discovering.empty() ? m_seq : *m_discovering.begin();
  std::erase_if(m_forgotten, [oldest](const auto& entry) { return entry.second <= oldest; });
}

std::optional<VolumeRecord> VolumeManager::Impl::published(const std::string& name) const {
  std::lock_guard lock(m_catalog);
  auto it = m_slots.find(name);
  if (it == m_slots.end() || !it->second->record) {
    return std::nullopt;
  }
  return it->second->record;
}

std::vector<VolumeRecord> VolumeManager::Impl::all_records() const {
  std::lock_guard lock(m_catalog);
  std::vector<VolumeRecord> out;
  out.reserve(m_slots.size());
  for (const auto& [name, slot] : m_slots) {
    if (slot->record) {
      out.push_back(*slot->record);
    }
  }
  return out;
}

// ------------------------------------------------------------- helpers

VolumeManager::Impl::Resolved VolumeManager::Impl::resolve(const Options& given) const {
  Resolved r;
  auto picked = given.find(std::string(k_backend_option));
  r.instance = picked != given.end() ? picked->second : m_backends.default_name();
  r.backend = m_backends.find(r.instance);
  if (r.backend == nullptr) {
    throw invalid_argument("unknown backend " + in_quotes(r.instance) + " (configured backends: " +
                           joined(m_backends.names()) + ")");
  }
  const auto accepted = r.backend->accepted_options();
  for (const auto& [key, value] : given) {
    if (key == k_backend_option) {
      continue;
    }
    // (An init-capture: clang 14, used for the fuzz build, cannot capture a structured binding.)
    bool known = std::any_of(accepted.begin(), accepted.end(),
                             [&name = key](const OptionSpec& spec) { return spec.name == name; });
    if (!known) {
      std::vector<std::string> names{std::string(k_backend_option)};
      for (const auto& spec : accepted) {
        names.push_back(spec.name);
      }
      throw invalid_argument("unknown option " + in_quotes(key) + " for backend " + in_quotes(r.instance) + " (type " +
                             std::string(r.backend->type()) + "); accepted options: " + joined(names));
    }
    r.options.emplace(key, value);
  }
  r.backend->validate(r.options);
  return r;
}

void VolumeManager::Impl::check_same(const VolumeRecord& existing, const Resolved* requested) const {
  if (requested == nullptr) {
    return;  // implicit creation (Opts null, absent or {}): the volume exists, fine
  }
  if (existing.backend == requested->instance && existing.options == requested->options) {
    return;
  }
  throw conflict("already exists with other options (backend " + in_quotes(existing.backend) +
                 ", options: " + describe_options(existing.options) + "; requested backend " +
                 in_quotes(requested->instance) + ", options: " + describe_options(requested->options) + ")");
}

Backend& VolumeManager::Impl::backend_of(const VolumeRecord& record) const {
  if (Backend* backend = m_backends.find(record.backend)) {
    return *backend;
  }
  throw unavailable("its backend instance " + in_quotes(record.backend) + " is not configured (configured: " +
                    joined(m_backends.names()) + "); restore it in the config, or delete " + m_store.directory() +
                    "/" + record.name + ".json to forget the volume");
}

VolumeInfo VolumeManager::Impl::info_of(const VolumeRecord& record) const {
  VolumeInfo info;
  info.name = record.name;
  if (record.mount_count() > 0) {
    info.mountpoint = record.mountpoint;
  }
  if (record.created_at != SystemTime{}) {
    info.created_at = format_rfc3339(record.created_at);
  }
  return info;
}

void VolumeManager::Impl::remove_mount_dir(const std::string& name) const {
  // Tidiness only: an empty directory left behind is harmless, and rmdir
  // refuses a directory that is still a mountpoint or not empty.
  ::rmdir(target_of(name).c_str());
}

void VolumeManager::Impl::set_unsaved(const std::string& name, bool unsaved) {
  std::lock_guard lock(m_catalog);
  auto it = m_slots.find(name);
  if (it != m_slots.end()) {
    it->second->unsaved = unsaved;
  }
}

void VolumeManager::Impl::save_record(const VolumeRecord& record) {
  try {
    m_store.save(record);
  } catch (const Error&) {
    set_unsaved(record.name, true);
    throw;
  }
  set_unsaved(record.name, false);
}

bool VolumeManager::Impl::save_quietly(const VolumeRecord& record, const char* context) {
  try {
    save_record(record);
    return true;
  } catch (const Error& e) {
    spdlog::error("{} volume {}: saving the state failed: {}; retried at each refresh", context,
                  in_quotes(record.name), e.what());
    return false;
  }
}

void VolumeManager::Impl::save_unsaved() {
  // A change that is published but not on disk (an Unmount's released mount
  // ID when the state filesystem was full) would be undone by a restart:
  // write it as soon as the disk lets us.
  std::vector<std::string> names;
  {
    std::lock_guard lock(m_catalog);
    for (auto& [name, slot] : m_slots) {
      if (slot->unsaved && slot->record && slot->persisted) {
        names.push_back(name);
      } else {
        slot->unsaved = false;  // nothing of it is on disk to fall behind
      }
    }
  }
  for (const auto& name : names) {
    GuardPtr guard;
    try {
      guard = lock_volume(name, "save", milliseconds(0));
    } catch (const Error&) {
      continue;  // an operation runs on it and saves it anyway
    }
    if (auto record = published(name)) {
      if (save_quietly(*record, "refresh")) {
        spdlog::info("volume {}: its state is saved again after an earlier failure", in_quotes(name));
      }
    }
  }
}

template <class T>
T VolumeManager::Impl::run_bounded(const std::string& what, const std::string& instance, milliseconds budget,
                                   Deadline deadline, std::function<T()> fn,
                                   typename BackendCall<T>::LateHandler late, const std::string& late_note,
                                   bool* abandoned) {
  auto call = BackendCall<T>::start(m_workers, std::move(fn));
  if (!call->wait(deadline) && call->give_up()) {
    m_backend_metrics.record(instance, ErrorKind::timeout, true);
    if (abandoned != nullptr) {
      *abandoned = true;
    }
    if (!late) {
      late = [](std::optional<T>&, const Error*) {};
    }
    call->hand_over(std::move(late));
    throw timeout(what + " did not finish within " + format_budget(budget) + " (backend " + in_quotes(instance) +
                  "); " + late_note);
  }
  try {
    T result = call->result();
    m_backend_metrics.record(instance, std::nullopt);
    return result;
  } catch (const Error& e) {
    m_backend_metrics.record(instance, e.kind());
    throw;
  }
}

void VolumeManager::Impl::note_leftover(const std::string& name, const std::string& mountpoint,
                                        const nlohmann::json& backend_data) {
  auto current = published(name);
  if (!current || current->mount_count() > 0 || current->mountpoint == mountpoint) {
    return;
  }
  current->mountpoint = mountpoint;
  current->backend_data = backend_data;
  save_quietly(*current, "mount");
  publish(name, *current, std::nullopt);
}

void VolumeManager::Impl::clear_leftover(const std::string& name, const std::string& mountpoint,
                                         const nlohmann::json& backend_data) {
  auto current = published(name);
  if (current && current->mount_count() == 0 && current->mountpoint == mountpoint) {
    current->mountpoint.clear();
    current->backend_data = backend_data;
    save_quietly(*current, "detach");
    publish(name, *current, std::nullopt);
  }
  remove_mount_dir(name);
}

BackendCall<VolumeRecord>::LateHandler VolumeManager::Impl::late_detach(const GuardPtr& guard,
                                                                        const std::string& name,
                                                                        const std::string& mountpoint) {
  return [this, guard, name, mountpoint](std::optional<VolumeRecord>& value, const Error* error) {
    if (!value) {
      spdlog::warn("volume {}: detach at {} failed after its deadline: {}; the leftover attachment is detached "
                   "by the next remove or start",
                   in_quotes(name), mountpoint, describe(error));
      return;
    }
    clear_leftover(name, mountpoint, value->backend_data);
    spdlog::warn("volume {}: detach at {} finished after its deadline; the attachment is gone", in_quotes(name),
                 mountpoint);
  };
}

VolumeRecord VolumeManager::Impl::detach_bounded(Backend& backend, VolumeRecord record,
                                                 const std::string& mountpoint, milliseconds budget,
                                                 Deadline deadline, const GuardPtr& guard) {
  Backend* b = &backend;
  return run_bounded<VolumeRecord>(
      "detach", record.backend, budget, deadline,
      [b, record, mountpoint, deadline]() mutable {
        b->detach(record, mountpoint, deadline);
        return record;
      },
      late_detach(guard, record.name, mountpoint), "it goes on in the background");
}

BackendCall<Attached>::LateHandler VolumeManager::Impl::late_attach(const GuardPtr& guard, const std::string& name,
                                                                    const std::string& instance) {
  // Compensation: the caller was told "timeout", so the volume must not stay
  // attached. The guard keeps the volume locked until the detach is over.
  return [this, guard, name, instance](std::optional<Attached>& value, const Error* error) {
    if (!value) {
      spdlog::info("mount volume {}: attach failed after its deadline: {}", in_quotes(name), describe(error));
      remove_mount_dir(name);
      return;
    }
    spdlog::warn("mount volume {}: attach finished after its deadline; detaching it again", in_quotes(name));
    Backend* backend = m_backends.find(instance);
    if (backend == nullptr) {
      return;  // cannot happen: instances never go away while running
    }
    note_leftover(name, value->path, value->record.backend_data);
    try {
      Deadline deadline = Deadline::after(m_deadlines.unmount);
      auto detached = detach_bounded(*backend, value->record, value->path, m_deadlines.unmount, deadline, guard);
      clear_leftover(name, value->path, detached.backend_data);
      spdlog::warn("mount volume {}: the late attachment at {} was detached again", in_quotes(name), value->path);
    } catch (const Error& e) {
      spdlog::error("mount volume {}: detaching the late attachment at {} failed: {}; it is detached by the next "
                    "remove or start",
                    in_quotes(name), value->path, e.what());
    }
  };
}

// ------------------------------------------------------------- create

void VolumeManager::Impl::create(const std::string& name, const std::optional<Options>& options) {
  validate_volume_name(name);
  const bool implicit = !options || options->empty();
  std::optional<Resolved> requested;
  if (!implicit) {
    requested = resolve(*options);
  }
  if (auto existing = published(name)) {
    check_same(*existing, implicit ? nullptr : &*requested);
    if (!on_shared_storage(*existing)) {
      return;
    }
  }
  if (!requested) {
    requested = resolve({});
  }
  auto guard = lock_volume(name, "create");
  if (auto existing = published(name)) {  // known, or created while we waited
    check_same(*existing, implicit ? nullptr : &*requested);
    if (on_shared_storage(*existing)) {
      confirm_on_storage(*existing, guard);
    }
    return;
  }

  VolumeRecord record;
  record.name = name;
  record.backend = requested->instance;
  record.options = requested->options;
  // Whole seconds: what the state file and RFC 3339 keep.
  record.created_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  record.created_by = m_host_id;

  Backend* backend = requested->backend;
  const Deadline deadline = Deadline::after(m_deadlines.create);
  VolumeRecord provisioned = run_bounded<VolumeRecord>(
      "provision", record.backend, m_deadlines.create, deadline,
      [backend, record, deadline]() mutable {
        backend->provision(record, deadline);
        return record;
      },
      // A late provision is left on the storage (provision is idempotent, so
      // a retried Create adopts it); undoing it could delete a shared volume
      // another host created. The guard keeps the name locked until then.
      [guard, name](std::optional<VolumeRecord>& value, const Error* error) {
        if (value) {
          spdlog::warn("create volume {}: provision finished after its deadline; not recorded here, a retried "
                       "create adopts it",
                       in_quotes(name));
        } else {
          spdlog::info("create volume {}: provision failed after its deadline: {}", in_quotes(name), describe(error));
        }
      },
      "it goes on in the background; a retried create adopts the volume if it succeeds");

  // The manager owns these fields, whatever the backend did.
  provisioned.name = name;
  provisioned.backend = record.backend;
  provisioned.mounts.clear();
  provisioned.mountpoint.clear();
  if (!provisioned.backend_data.is_object()) {
    provisioned.backend_data = nlohmann::json::object();
  }
  try {
    save_record(provisioned);
  } catch (const Error& e) {
    throw rollback_create(provisioned, *backend, e, guard);
  }
  publish(name, provisioned, true);
}

bool VolumeManager::Impl::on_shared_storage(const VolumeRecord& record) const {
  const Backend* backend = m_backends.find(record.backend);
  return backend != nullptr && backend->scope() == Scope::global;
}

void VolumeManager::Impl::confirm_on_storage(const VolumeRecord& existing, const GuardPtr& guard) {
  // The catalogue only mirrors shared storage: the name may be known from a
  // discovery of a volume whose creator died before placing its data, or
  // from a state file whose Remove was cut off after the storage let the
  // volume go (the next refresh forgets it). Either way a Create answered
  // from the catalogue alone would acknowledge a volume that does not (fully)
  // exist; provision is idempotent, so it confirms, completes or re-creates.
  Backend* backend = &backend_of(existing);
  const Deadline deadline = Deadline::after(m_deadlines.create);
  run_bounded<VolumeRecord>(
      "provision", existing.backend, m_deadlines.create, deadline,
      [backend, record = existing, deadline]() mutable {
        backend->provision(record, deadline);
        return record;
      },
      [guard, name = existing.name](std::optional<VolumeRecord>& value, const Error* error) {
        spdlog::info("create volume {}: confirming it on the storage finished after its deadline: {}",
                     in_quotes(name), value ? "done" : describe(error));
      },
      "it goes on in the background; a retried create confirms the volume");
}

Error VolumeManager::Impl::rollback_create(const VolumeRecord& record, Backend& backend, const Error& cause,
                                           const GuardPtr& guard) {
  std::string message = std::string("saving the state failed: ") + cause.what();
  if (!record.created_by.empty() && record.created_by != m_host_id) {
    message += "; the volume was adopted from the shared storage (created by " + shown(record.created_by) +
               ") and is left there";
    spdlog::warn("create volume {}: {}", in_quotes(record.name), message);
    return Error(cause.kind(), message);
  }
  Backend* b = &backend;
  const Deadline deadline = Deadline::after(m_deadlines.remove);
  try {
    run_bounded<Nothing>(
        "deprovision", record.backend, m_deadlines.remove, deadline,
        [b, record, deadline] {
          b->deprovision(record, deadline);
          return Nothing{};
        },
        [guard, name = record.name](std::optional<Nothing>& value, const Error* error) {
          spdlog::warn("create volume {}: rollback deprovision finished late: {}", in_quotes(name),
                       value ? "done" : describe(error));
        },
        "it goes on in the background");
    message += "; the volume was deprovisioned again";
  } catch (const Error& e) {
    message += std::string("; deprovisioning it again failed too: ") + e.what();
  }
  spdlog::warn("create volume {}: {}", in_quotes(record.name), message);
  return Error(cause.kind(), message);
}

// ------------------------------------------------------------- remove

void VolumeManager::Impl::remove(const std::string& name) {
  validate_volume_name(name);
  if (!published(name)) {
    throw not_found("no such volume");
  }
  auto guard = lock_volume(name, "remove");
  auto current = published(name);
  if (!current) {
    throw not_found("no such volume");
  }
  if (auto total = current->mount_count(); total > 0) {
    throw busy("volume is in use: " + std::to_string(total) + " mount(s) under " +
               std::to_string(current->mounts.size()) + " mount ID(s); unmount it first");
  }
  Backend& backend = backend_of(*current);
  const Deadline deadline = Deadline::after(m_deadlines.remove);
  VolumeRecord record = *current;

  if (!record.mountpoint.empty()) {
    // A leftover attachment (an earlier detach failed): undo it before the
    // storage goes away under it.
    const std::string leftover = record.mountpoint;
    record = detach_bounded(backend, record, leftover, m_deadlines.remove, deadline, guard);
    record.mountpoint.clear();
    save_record(record);
    publish(name, record, true);
    remove_mount_dir(name);
    spdlog::warn("remove volume {}: detached the leftover attachment at {}", in_quotes(name), leftover);
  }

  Backend* b = &backend;
  run_bounded<Nothing>(
      "deprovision", record.backend, m_deadlines.remove, deadline,
      [b, record, deadline] {
        b->deprovision(record, deadline);
        return Nothing{};
      },
      [this, guard, name](std::optional<Nothing>& value, const Error* error) {
        if (!value) {
          spdlog::info("remove volume {}: deprovision failed after its deadline: {}", in_quotes(name), describe(error));
          return;
        }
        try {
          m_store.erase(name);
          unpublish(name);
          spdlog::warn("remove volume {}: deprovision finished after its deadline; the volume is gone",
                       in_quotes(name));
        } catch (const Error& e) {
          spdlog::error("remove volume {}: deprovision finished after its deadline, but removing the state failed: {}",
                        in_quotes(name), e.what());
        }
      },
      "it goes on in the background; the volume is forgotten if it succeeds");

  try {
    m_store.erase(name);
  } catch (const Error& e) {
    throw Error(e.kind(),
                std::string("the volume was deprovisioned, but removing its state failed (a retried remove "
                            "finishes it): ") +
                    e.what());
  }
  unpublish(name);
}

// ------------------------------------------------------------- mount

VolumeRecord VolumeManager::Impl::discover_one(const std::string& name, Deadline deadline) {
  std::optional<Error> failure;
  for (const auto& instance : m_backends.names()) {
    Backend* backend = m_backends.find(instance);
    if (backend->scope() != Scope::global) {
      continue;
    }
    Discovered found;
    try {
      found = run_bounded<Discovered>(
          "discover", instance, m_deadlines.mount, deadline, [backend, deadline] { return backend->discover(deadline); },
          {}, "the volume is not known on this host yet");
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::timeout) {
        throw;  // the Mount's deadline is spent
      }
      failure = e.with_context("discover on backend " + in_quotes(instance));
      continue;
    }
    if (!found) {
      continue;
    }
    for (auto& record : *found) {
      if (record.name == name) {
        record.backend = instance;
        record.mounts.clear();
        record.mountpoint.clear();
        if (!record.backend_data.is_object()) {
          record.backend_data = nlohmann::json::object();
        }
        return record;
      }
    }
  }
  if (failure) {
    throw *failure;
  }
  throw not_found("no such volume (not on any shared backend either)");
}

std::string VolumeManager::Impl::mount(const std::string& name, const std::string& mount_id) {
  validate_volume_name(name);
  validate_mount_id(mount_id);
  if (!published(name) && !m_backends.any_global()) {
    throw not_found("no such volume");
  }
  auto guard = lock_volume(name, "mount");
  const Deadline deadline = Deadline::after(m_deadlines.mount);
  auto current = published(name);
  if (!current) {
    // Shared storage: another host may have created it since the last refresh.
    current = discover_one(name, deadline);
    publish(name, *current, false);
  }
  Backend& backend = backend_of(*current);

  VolumeRecord next = *current;
  bool attached_now = false;
  if (current->mount_count() == 0) {
    const std::string target = target_of(name);
    ensure_directory(target, 0755);
    Backend* b = &backend;
    Attached attached;
    bool abandoned = false;
    try {
      attached = run_bounded<Attached>(
          "attach", current->backend, m_deadlines.mount, deadline,
          [b, record = *current, target, deadline]() mutable {
            std::string path = b->attach(record, target, deadline);
            return Attached{std::move(record), std::move(path)};
          },
          late_attach(guard, name, current->backend), "it goes on in the background and is undone if it succeeds",
          &abandoned);
    } catch (const Error&) {
      // An attach still running in the background may yet mount there (its
      // late handler tidies up); one that returned an error, even a
      // timeout of its own (a server that does not answer), left nothing.
      if (!abandoned) {
        remove_mount_dir(name);
      }
      throw;
    }
    if (attached.path.empty() || attached.path.front() != '/') {
      note_leftover(name, target, attached.record.backend_data);
      std::string outcome = "the volume was detached again";
      try {
        auto detached = detach_bounded(backend, attached.record, target, m_deadlines.unmount,
                                       Deadline::after(m_deadlines.unmount), guard);
        clear_leftover(name, target, detached.backend_data);
      } catch (const Error& e) {
        outcome = std::string("detaching it again failed: ") + e.what();
      }
      throw internal_error("backend " + in_quotes(current->backend) + " returned an invalid mountpoint " +
                           in_quotes(attached.path) + "; " + outcome);
    }
    next.backend_data = attached.record.backend_data.is_object() ? attached.record.backend_data
                                                                  : nlohmann::json::object();
    next.mountpoint = attached.path;
    attached_now = true;
  }

  auto& count = next.mounts[mount_id];
  if (count == std::numeric_limits<std::uint32_t>::max()) {
    throw invalid_argument("mount ID " + in_quotes(mount_id) + " is mounted too many times");
  }
  ++count;

  try {
    save_record(next);
  } catch (const Error& e) {
    std::string message = std::string("saving the state failed: ") + e.what();
    if (attached_now) {
      // Never report failure for a volume left attached with no count.
      note_leftover(name, next.mountpoint, next.backend_data);
      VolumeRecord undo = next;
      undo.mounts.clear();
      try {
        auto detached = detach_bounded(backend, undo, next.mountpoint, m_deadlines.unmount,
                                       Deadline::after(m_deadlines.unmount), guard);
        clear_leftover(name, next.mountpoint, detached.backend_data);
        message += "; the volume was detached again";
      } catch (const Error& d) {
        message += std::string("; detaching it again failed too: ") + d.what();
      }
      spdlog::warn("mount volume {}: {}", in_quotes(name), message);
    }
    throw Error(e.kind(), message);
  }
  publish(name, next, true);
  return next.mountpoint;
}

// ------------------------------------------------------------- unmount

void VolumeManager::Impl::unmount(const std::string& name, const std::string& mount_id) {
  validate_volume_name(name);
  validate_mount_id(mount_id);
  if (!published(name)) {
    throw not_found("no such volume");
  }
  auto guard = lock_volume(name, "unmount");
  auto current = published(name);
  if (!current) {
    throw not_found("no such volume");
  }
  auto it = current->mounts.find(mount_id);
  if (it == current->mounts.end()) {
    // Unknown ID: nothing to release (the engine may repeat an Unmount that
    // already succeeded, or never had a Mount for it).
    return;
  }
  VolumeRecord next = *current;
  if (--next.mounts[mount_id] == 0) {
    next.mounts.erase(mount_id);
  }

  std::optional<Error> detach_error;
  std::shared_ptr<BackendCall<VolumeRecord>> abandoned;
  const std::string mountpoint = next.mountpoint;
  if (next.mount_count() == 0 && !mountpoint.empty()) {
    try {
      Backend& backend = backend_of(next);
      Backend* b = &backend;
      const Deadline deadline = Deadline::after(m_deadlines.unmount);
      auto call = BackendCall<VolumeRecord>::start(m_workers, [b, record = next, mountpoint, deadline]() mutable {
        b->detach(record, mountpoint, deadline);
        return record;
      });
      if (!call->wait(deadline) && call->give_up()) {
        abandoned = call;
        m_backend_metrics.record(next.backend, ErrorKind::timeout, true);
        detach_error = timeout("detach did not finish within " + format_budget(m_deadlines.unmount) + " (backend " +
                               in_quotes(next.backend) + "); it goes on in the background");
      } else {
        VolumeRecord detached;
        try {
          detached = call->result();
          m_backend_metrics.record(next.backend, std::nullopt);
        } catch (const Error& e) {
          m_backend_metrics.record(next.backend, e.kind());
          throw;
        }
        next.backend_data = detached.backend_data.is_object() ? detached.backend_data : nlohmann::json::object();
        next.mountpoint.clear();
      }
    } catch (const Error& e) {
      detach_error = e.with_context("detach");
    }
  }

  // The ID is released whatever the detach did (the engine will not send
  // this Unmount again); a failed detach leaves next.mountpoint set.
  std::optional<Error> save_error;
  try {
    save_record(next);
  } catch (const Error& e) {
    save_error = e;
  }
  publish(name, next, save_error ? std::nullopt : std::optional<bool>(true));
  if (next.mount_count() == 0 && next.mountpoint.empty()) {
    remove_mount_dir(name);
  }
  if (abandoned) {
    abandoned->hand_over(late_detach(guard, name, mountpoint));
  }

  if (detach_error) {
    std::string message = std::string(detach_error->what()) +
                          "; the mount ID was released and the attachment is left behind (a later mount re-uses "
                          "it; remove or the next start detaches it)";
    if (save_error) {
      message += std::string("; saving the state failed too: ") + save_error->what();
    }
    throw Error(detach_error->kind(), message);
  }
  if (save_error) {
    throw Error(save_error->kind(),
                std::string("the mount ID was released, but saving the state failed (retried at each refresh; a "
                            "restart before it succeeds counts the ID again): ") +
                    save_error->what());
  }
}

// ------------------------------------------------------------- queries

std::string VolumeManager::Impl::path(const std::string& name) const {
  validate_volume_name(name);
  auto record = published(name);
  if (!record) {
    throw not_found("no such volume");
  }
  return record->mount_count() > 0 ? record->mountpoint : std::string();
}

VolumeInfo VolumeManager::Impl::get(const std::string& name) const {
  validate_volume_name(name);
  auto record = published(name);
  if (!record) {
    throw not_found("no such volume");
  }
  VolumeInfo info = info_of(*record);
  // Outside the catalog mutex, on our copy: status() is memory-only by
  // contract, but it is the backend's code.
  if (Backend* backend = m_backends.find(record->backend)) {
    try {
      info.status = backend->status(*record);
    } catch (const Error& e) {
      info.status = nlohmann::json{{"error", e.what()}};
    }
    if (!info.status.is_object()) {
      info.status = nlohmann::json{{"status", info.status}};
    }
  } else {
    info.status = nlohmann::json{{"error", "backend instance \"" + record->backend + "\" is not configured"}};
  }
  return info;
}

std::vector<VolumeInfo> VolumeManager::Impl::list() const {
  // No status(): the engine ignores Status in List.
  std::lock_guard lock(m_catalog);
  std::vector<VolumeInfo> out;
  out.reserve(m_slots.size());
  for (const auto& [name, slot] : m_slots) {
    if (slot->record) {
      out.push_back(info_of(*slot->record));
    }
  }
  return out;
}

// ------------------------------------------------------------- start

ReconcileReport VolumeManager::Impl::start() {
  ReconcileReport report;
  LoadResult loaded = m_store.load();  // logs each unreadable file with its reason
  report.unreadable_state = loaded.unreadable;
  report.volumes_loaded = loaded.records.size();

  // The mount table, read once for every volume.
  bool have_table = true;
  std::vector<MountEntry> table;
  try {
    table = m_mounter.mounts();
  } catch (const Error& e) {
    have_table = false;
    spdlog::error("reconcile: cannot read the mount table ({}); saved mount counts are kept unchecked", e.what());
  }
  // Mounts under the mount root, by the entry directly below it.
  const auto under_root = mounts_under_root(table, m_mount_root);

  m_backends.begin_mount_snapshot(table);
  struct EndSnapshot {
    BackendSet& set;
    ~EndSnapshot() { set.end_mount_snapshot(); }
  } end_snapshot{m_backends};

  struct Leak {
    std::string name;
    std::string mountpoint;
  };
  std::vector<Leak> leaks;
  std::vector<std::size_t> changed;
  std::unordered_set<std::string> names;
  names.reserve(loaded.records.size());
  std::unordered_set<std::string> dropped;

  for (std::size_t i = 0; i < loaded.records.size(); ++i) {
    VolumeRecord& record = loaded.records[i];
    names.insert(record.name);
    Backend* backend = m_backends.find(record.backend);
    if (backend != nullptr && record.mount_count() == 0 && backend->remove_pending(record)) {
      // Its Remove was cut off and may still be carried out by the storage:
      // the volume goes now, before anyone sees it again, and the backend
      // finishes the Remove (remove_pending()).
      try {
        m_store.erase(record.name);
        dropped.insert(record.name);
        report.removes_finished.push_back(record.name);
        spdlog::info("reconcile: volume {}: its remove was cut off by a crash; it is finished now",
                     in_quotes(record.name));
        continue;
      } catch (const Error& e) {
        spdlog::error("reconcile: volume {}: its remove was cut off by a crash, but removing its state failed: {}",
                      in_quotes(record.name), e.what());
      }
    }
    if (backend == nullptr) {
      report.missing_backend.push_back(record.name);
      spdlog::warn("reconcile: volume {}: backend instance {} is not configured; the volume is listed but every "
                   "operation on it fails until the instance is back",
                   in_quotes(record.name), in_quotes(record.backend));
      continue;
    }
    if (!have_table) {
      continue;
    }
    VolumePlan plan = plan_volume(record, true, under_root.count(record.name) > 0, target_of(record.name),
                                  [backend](const VolumeRecord& r) { return backend->is_attached(r); });
    switch (plan.action) {
      case ReconcileAction::keep_mounts:
        ++report.mounts_kept;
        spdlog::debug("reconcile: volume {}: attached at {}, keeping {} mount(s)", in_quotes(record.name),
                      record.mountpoint, record.mount_count());
        break;
      case ReconcileAction::drop_mounts: {
        ++report.mounts_dropped;
        std::vector<std::string> ids;
        for (const auto& [id, n] : record.mounts) {
          ids.push_back(id);
        }
        spdlog::warn("reconcile: volume {}: its attachment at {} vanished; dropping {} mount(s) (IDs: {})",
                     in_quotes(record.name), record.mountpoint, record.mount_count(), joined(ids));
        record.mounts.clear();
        record.mountpoint.clear();
        changed.push_back(i);
        break;
      }
      case ReconcileAction::detach_leak:
        leaks.push_back({record.name, plan.mountpoint});
        break;
      case ReconcileAction::clear_mountpoint:
        record.mountpoint.clear();
        changed.push_back(i);
        break;
      case ReconcileAction::undetermined:
        if (record.mount_count() > 0) {
          ++report.mounts_kept;
          spdlog::warn("reconcile: volume {}: cannot tell whether it is attached ({}); its mount counts are kept",
                       in_quotes(record.name), plan.detail);
        } else {
          spdlog::warn("reconcile: volume {}: cannot tell whether {} is attached ({}); left as it is",
                       in_quotes(record.name), plan.mountpoint, plan.detail);
        }
        break;
      case ReconcileAction::none:
      case ReconcileAction::missing_backend:
        break;
    }
  }

  // Nobody is served yet: save the reconciled records, then publish them all.
  std::vector<std::string> unsaved;
  for (std::size_t i : changed) {
    if (!save_quietly(loaded.records[i], "reconcile")) {
      unsaved.push_back(loaded.records[i].name);
    }
  }
  {
    std::lock_guard lock(m_catalog);
    for (auto& record : loaded.records) {
      if (dropped.count(record.name) != 0) {
        continue;
      }
      auto slot = std::make_shared<Slot>();
      slot->persisted = true;
      slot->changed = ++m_seq;
      std::string name = record.name;
      slot->record = std::move(record);
      m_slots[name] = std::move(slot);
    }
  }
  for (const auto& name : unsaved) {
    set_unsaved(name, true);
  }

  for (const auto& leak : leaks) {
    auto guard = lock_volume(leak.name, "reconcile");
    auto record = published(leak.name);
    if (!record) {
      continue;
    }
    Backend& backend = backend_of(*record);
    note_leftover(leak.name, leak.mountpoint, record->backend_data);
    try {
      auto detached = detach_bounded(backend, *record, leak.mountpoint, m_deadlines.unmount,
                                     Deadline::after(m_deadlines.unmount), guard);
      clear_leftover(leak.name, leak.mountpoint, detached.backend_data);
      ++report.leaks_detached;
      spdlog::warn("reconcile: volume {}: attached at {} with no mount counted; detached", in_quotes(leak.name),
                   leak.mountpoint);
    } catch (const Error& e) {
      spdlog::error("reconcile: volume {}: attached at {} with no mount counted; detach failed: {}; retried at the "
                    "next remove or start",
                    in_quotes(leak.name), leak.mountpoint, e.what());
    }
  }

  for (const auto& [entry, points] : under_root) {
    if (names.count(entry) > 0) {
      continue;
    }
    for (const auto& point : points) {
      report.unknown_mounts.push_back(point);
      spdlog::warn("reconcile: {} is mounted under the mount root but belongs to no volume; left alone", point);
    }
  }

  spdlog::info("reconcile: {} volume(s) loaded; mounts kept on {}, dropped on {}; {} leaked attachment(s) "
               "detached; {} unknown mount(s); {} unreadable state file(s); {} volume(s) without a configured backend",
               report.volumes_loaded, report.mounts_kept, report.mounts_dropped, report.leaks_detached,
               report.unknown_mounts.size(), report.unreadable_state.size(), report.missing_backend.size());
  return report;
}

// ------------------------------------------------------------- refresh

std::vector<BackendRefresh> VolumeManager::Impl::refresh() {
  save_unsaved();
  std::vector<BackendRefresh> outcomes;
  for (const auto& instance : m_backends.names()) {
    Backend* backend = m_backends.find(instance);
    const bool global = backend->scope() == Scope::global;
    BackendRefresh& outcome = outcomes.emplace_back();
    outcome.instance = instance;
    const auto started = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(m_refresh_mutex);
      if (!m_refreshing.insert(instance).second) {
        spdlog::debug("refresh: backend {} is still busy with an earlier refresh; skipped", in_quotes(instance));
        outcome.skipped = true;
        outcome.error = "an earlier refresh of this backend is still running";
        continue;
      }
    }
    std::uint64_t since = 0;
    {
      std::lock_guard lock(m_catalog);
      since = m_seq;
      m_discovering.insert(since);
    }
    // Ends this discovery's claim on m_forgotten however refresh leaves.
    struct DiscoveryEnd {
      Impl& impl;
      std::uint64_t since;
      ~DiscoveryEnd() { impl.end_discovery(since); }
    } discovery_end{*this, since};
    const Deadline deadline = Deadline::after(m_refresh_budget);
    bool abandoned = false;
    Discovered found;
    try {
      found = run_bounded<Discovered>(
          "refresh", instance, m_refresh_budget, deadline,
          [backend, global, deadline]() -> Discovered {
            backend->refresh(deadline);
            return global ? backend->discover(deadline) : Discovered{};
          },
          [this, instance](std::optional<Discovered>&, const Error*) {
            std::lock_guard lock(m_refresh_mutex);
            m_refreshing.erase(instance);
          },
          "it goes on in the background; this backend is skipped until it ends", &abandoned);
    } catch (const Error& e) {
      if (!abandoned) {
        std::lock_guard lock(m_refresh_mutex);
        m_refreshing.erase(instance);
      }
      spdlog::warn("refresh: backend {}: {}", in_quotes(instance), e.what());
      outcome.error = e.what();
      outcome.took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
      continue;
    }
    {
      std::lock_guard lock(m_refresh_mutex);
      m_refreshing.erase(instance);
    }
    if (found) {
      merge(instance, *found, since);
    }
    outcome.ok = true;
    outcome.took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
  }
  return outcomes;
}

void VolumeManager::Impl::merge(const std::string& instance, std::vector<VolumeRecord>& found, std::uint64_t since) {
  std::unordered_set<std::string> seen;
  std::vector<std::string> vanished;
  std::size_t added = 0;
  std::size_t dropped = 0;
  std::size_t invalid = 0;
  {
    std::lock_guard lock(m_catalog);
    for (auto& record : found) {
      if (!valid_name(record.name)) {
        ++invalid;
        continue;
      }
      seen.insert(record.name);
      if (auto gone = m_forgotten.find(record.name); gone != m_forgotten.end() && gone->second > since) {
        continue;  // removed here after the listing began (found by the crash torture)
      }
      auto& slot = m_slots[record.name];
      if (slot) {
        // Known here (ours, or an operation is running on it): the local
        // record wins; the storage only adds names.
        continue;
      }
      slot = std::make_shared<Slot>();
      record.backend = instance;
      record.mounts.clear();
      record.mountpoint.clear();
      if (!record.backend_data.is_object()) {
        record.backend_data = nlohmann::json::object();
      }
      slot->record = std::move(record);
      slot->changed = ++m_seq;
      ++added;
    }
    for (auto it = m_slots.begin(); it != m_slots.end();) {
      const auto& slot = it->second;
      // Gone from the storage, not mounted here, untouched since the
      // discovery began, and no operation running or waiting.
      if (slot->record && slot->record->backend == instance && seen.count(it->first) == 0 &&
          slot->record->mount_count() == 0 && slot->record->mountpoint.empty() && slot->changed <= since &&
          slot->users == 0) {
        if (!slot->persisted) {
          it = m_slots.erase(it);
          ++dropped;
          continue;
        }
        vanished.push_back(it->first);
      }
      ++it;
    }
  }
  for (const auto& name : vanished) {
    forget_vanished(name, instance, since);
  }
  if (invalid > 0) {
    spdlog::warn("refresh: backend {} reported {} volume(s) with invalid names; ignored", in_quotes(instance), invalid);
  }
  if (added > 0 || dropped > 0) {
    spdlog::info("refresh: backend {}: {} volume(s) appeared, {} vanished", in_quotes(instance), added, dropped);
  }
}

void VolumeManager::Impl::forget_vanished(const std::string& name, const std::string& instance, std::uint64_t since) {
  GuardPtr guard;
  try {
    guard = lock_volume(name, "refresh", milliseconds(0));
  } catch (const Error&) {
    return;  // an operation is running on it: leave it to the next refresh
  }
  {
    std::lock_guard lock(m_catalog);
    auto it = m_slots.find(name);
    if (it == m_slots.end() || !it->second->record || it->second->record->backend != instance ||
        it->second->record->mount_count() > 0 || !it->second->record->mountpoint.empty() ||
        it->second->changed > since) {
      return;
    }
  }
  try {
    m_store.erase(name);
  } catch (const Error& e) {
    spdlog::error("refresh: volume {} vanished from backend {}, but removing its state failed: {}", in_quotes(name),
                  in_quotes(instance), e.what());
    return;
  }
  unpublish(name);
  spdlog::info("refresh: volume {} no longer exists on backend {}; forgotten", in_quotes(name), in_quotes(instance));
}

// ------------------------------------------------------------- operator

namespace {

struct ActionOutcome {
  VolumeRecord record;
  nlohmann::json result;
};

// Operator verbs appear in messages and the audit log: a short allowlist.
void validate_verb(const std::string& verb) {
  bool ok = !verb.empty() && verb.size() <= 32;
  for (char c : verb) {
    ok = ok && ((c >= 'a' && c <= 'z') || c == '-' || c == '_');
  }
  if (!ok) {
    throw invalid_argument("operator verb " + in_quotes(verb) + " is not allowed (lowercase letters, '-', '_')");
  }
}

}  // namespace

nlohmann::json VolumeManager::Impl::operator_action(const std::string& name, const std::string& verb,
                                                    const nlohmann::json& args, milliseconds budget) {
  validate_volume_name(name);
  validate_verb(verb);
  if (!published(name)) {
    throw not_found("no such volume");
  }
  auto guard = lock_volume(name, verb);
  auto current = published(name);
  if (!current) {
    throw not_found("no such volume");
  }
  Backend* backend = &backend_of(*current);
  const Deadline deadline = Deadline::after(budget);
  ActionOutcome outcome = run_bounded<ActionOutcome>(
      verb, current->backend, budget, deadline,
      [backend, record = *current, verb, args, deadline]() mutable {
        nlohmann::json result = backend->operator_action(verb, record, args, deadline);
        return ActionOutcome{std::move(record), std::move(result)};
      },
      // The guard keeps the volume locked until the backend is done; what it
      // changed in backend_data (an LVM "grow at next mount" mark) is kept.
      [this, guard, name, verb](std::optional<ActionOutcome>& value, const Error* error) {
        if (!value) {
          spdlog::warn("{} volume {}: failed after its deadline: {}", verb, in_quotes(name), describe(error));
          return;
        }
        if (auto latest = published(name); latest && latest->backend_data != value->record.backend_data) {
          latest->backend_data = value->record.backend_data;
          save_quietly(*latest, verb.c_str());
          publish(name, *latest, true);
        }
        spdlog::warn("{} volume {}: finished after its deadline: {}", verb, in_quotes(name), value->result.dump());
      },
      "it goes on in the background and its outcome is logged");
  if (outcome.record.backend_data != current->backend_data) {
    VolumeRecord next = *current;
    next.backend_data = outcome.record.backend_data;
    try {
      save_record(next);
    } catch (const Error& e) {
      throw Error(e.kind(), std::string("the backend finished, but saving the state failed: ") + e.what());
    }
    publish(name, next, true);
  }
  return outcome.result;
}

std::vector<ReconcileFinding> VolumeManager::Impl::reconcile(bool apply) {
  const auto under_root = mounts_under_root(m_mounter.mounts(), m_mount_root);
  std::vector<std::string> names;
  {
    std::lock_guard lock(m_catalog);
    for (const auto& [name, slot] : m_slots) {
      if (slot->record) {
        names.push_back(name);
      }
    }
  }
  std::vector<ReconcileFinding> out;
  for (const auto& name : names) {
    if (auto finding = reconcile_volume(name, under_root.count(name) > 0, apply)) {
      out.push_back(std::move(*finding));
    }
  }
  for (const auto& [entry, points] : under_root) {
    bool known = false;
    {
      std::lock_guard lock(m_catalog);
      known = m_slots.count(entry) > 0;
    }
    if (!known) {
      if (auto finding = reconcile_unknown(entry, points, apply)) {
        out.push_back(std::move(*finding));
      }
    }
  }
  return out;
}

std::optional<ReconcileFinding> VolumeManager::Impl::reconcile_volume(const std::string& name,
                                                                      bool mounted_under_root, bool apply) {
  ReconcileFinding f;
  f.volume = name;
  GuardPtr guard;
  try {
    guard = lock_volume(name, "reconcile", milliseconds(1000));
  } catch (const Error& e) {
    f.kind = "busy";
    f.problem = e.what();
    f.outcome = "skipped";
    return f;
  }
  auto current = published(name);
  if (!current) {
    return std::nullopt;  // removed meanwhile
  }
  Backend* backend = m_backends.find(current->backend);
  VolumePlan plan = plan_volume(*current, backend != nullptr, mounted_under_root, target_of(name),
                                [backend](const VolumeRecord& r) { return backend->is_attached(r); });
  f.kind = std::string(to_string(plan.action));
  f.mountpoint = plan.mountpoint;
  switch (plan.action) {
    case ReconcileAction::none:
    case ReconcileAction::keep_mounts:
      return std::nullopt;
    case ReconcileAction::missing_backend:
      f.problem = "its backend instance " + in_quotes(current->backend) + " is not configured";
      f.outcome = "report only";
      return f;
    case ReconcileAction::undetermined:
      f.problem = "cannot tell whether it is attached at " + plan.mountpoint + ": " + plan.detail;
      f.outcome = "report only";
      return f;
    case ReconcileAction::drop_mounts:
      f.problem = std::to_string(current->mount_count()) + " mount(s) counted, but nothing is attached at " +
                  current->mountpoint;
      f.fix = "reset its mount counts";
      break;
    case ReconcileAction::clear_mountpoint:
      f.problem = "no mount counted, and the recorded mountpoint " + current->mountpoint + " is not attached";
      f.fix = "forget the recorded mountpoint";
      break;
    case ReconcileAction::detach_leak:
      f.problem = "attached at " + plan.mountpoint + " with no mount counted";
      f.fix = "detach it";
      break;
  }
  if (!apply) {
    f.outcome = "planned";
    return f;
  }
  try {
    if (plan.action == ReconcileAction::detach_leak) {
      note_leftover(name, plan.mountpoint, current->backend_data);
      auto detached = detach_bounded(*backend, *current, plan.mountpoint, m_deadlines.unmount,
                                     Deadline::after(m_deadlines.unmount), guard);
      clear_leftover(name, plan.mountpoint, detached.backend_data);
    } else {
      VolumeRecord next = *current;
      next.mountpoint.clear();
      if (plan.action == ReconcileAction::drop_mounts) {
        next.mounts.clear();
      }
      save_record(next);
      publish(name, next, true);
      remove_mount_dir(name);
    }
    f.outcome = "done";
    spdlog::warn("reconcile (operator): volume {}: {}: {}", in_quotes(name), f.problem, f.fix);
  } catch (const Error& e) {
    f.outcome = std::string("failed: ") + e.what();
    spdlog::error("reconcile (operator): volume {}: {}: {} failed: {}", in_quotes(name), f.problem, f.fix, e.what());
  }
  return f;
}

std::optional<ReconcileFinding> VolumeManager::Impl::reconcile_unknown(const std::string& entry,
                                                                       std::vector<std::string> points, bool apply) {
  ReconcileFinding f;
  f.kind = "unknown_mount";
  f.volume = entry;
  f.problem = "mounted under the mount root, but no volume " + in_quotes(entry) + " exists";
  f.fix = "unmount it";
  // Nested mounts first: the deepest mount point is unmounted before its parent.
  std::sort(points.begin(), points.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& point : points) {
    f.mountpoint += (f.mountpoint.empty() ? "" : " ") + point;
  }
  if (!apply) {
    f.outcome = "planned";
    return f;
  }
  // The name's lock keeps a Mount of a volume of that name out meanwhile.
  GuardPtr guard;
  try {
    guard = lock_volume(entry, "reconcile", milliseconds(0));
  } catch (const Error& e) {
    f.outcome = std::string("failed: ") + e.what();
    return f;
  }
  if (published(entry)) {
    f.outcome = "skipped: the volume was created meanwhile";
    return f;
  }
  try {
    for (const auto& point : points) {
      m_mounter.unmount(point, UnmountMode::normal, Deadline::after(m_deadlines.unmount));
      spdlog::warn("reconcile (operator): unmounted {}: under the mount root, belonging to no volume", point);
    }
    if (valid_name(entry)) {
      remove_mount_dir(entry);
    }
    f.outcome = "done";
  } catch (const Error& e) {
    f.outcome = std::string("failed: ") + e.what();
    spdlog::error("reconcile (operator): unmounting {} failed: {}", f.mountpoint, e.what());
  }
  return f;
}

// ------------------------------------------------------------- facade

namespace {

// Every error leaving the manager starts with `<op> volume "<name>": `.
template <class F>
auto in_context(const char* operation, const std::string& name, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error& e) {
    throw e.with_context(std::string(operation) + " volume " + in_quotes(name));
  }
}

}  // namespace

VolumeManager::VolumeManager(BackendSet& backends, StateStore& store, Mounter& mounter, const Config& config)
    : m_impl(std::make_unique<Impl>(backends, store, mounter, config)) {}

VolumeManager::~VolumeManager() = default;

ReconcileReport VolumeManager::start() { return m_impl->start(); }

void VolumeManager::create(const std::string& name, const std::optional<Options>& options) {
  in_context("create", name, [&] { m_impl->create(name, options); });
}

void VolumeManager::remove(const std::string& name) {
  in_context("remove", name, [&] { m_impl->remove(name); });
}

std::string VolumeManager::mount(const std::string& name, const std::string& mount_id) {
  return in_context("mount", name, [&] { return m_impl->mount(name, mount_id); });
}

void VolumeManager::unmount(const std::string& name, const std::string& mount_id) {
  in_context("unmount", name, [&] { m_impl->unmount(name, mount_id); });
}

std::string VolumeManager::path(const std::string& name) const {
  return in_context("path", name, [&] { return m_impl->path(name); });
}

VolumeInfo VolumeManager::get(const std::string& name) const {
  return in_context("get", name, [&] { return m_impl->get(name); });
}

std::vector<VolumeInfo> VolumeManager::list() const { return m_impl->list(); }

Scope VolumeManager::scope() const { return m_impl->scope(); }

std::optional<VolumeRecord> VolumeManager::record(const std::string& name) const { return m_impl->published(name); }

std::vector<VolumeRecord> VolumeManager::records() const { return m_impl->all_records(); }

std::vector<BackendRefresh> VolumeManager::refresh() { return m_impl->refresh(); }

std::vector<ReconcileFinding> VolumeManager::reconcile(bool apply) { return m_impl->reconcile(apply); }

nlohmann::json VolumeManager::operator_action(const std::string& name, const std::string& verb,
                                              const nlohmann::json& args, std::chrono::milliseconds budget) {
  return in_context(verb.c_str(), name, [&] { return m_impl->operator_action(name, verb, args, budget); });
}

const BackendMetrics& VolumeManager::backend_metrics() const { return m_impl->backend_metrics(); }

std::size_t VolumeManager::background_calls() const { return m_impl->background_calls(); }

}  // namespace holdfast
