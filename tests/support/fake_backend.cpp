#include "support/fake_backend.hpp"

#include <thread>
#include <utility>

namespace holdfast::test {

namespace {

constexpr auto k_gate_safety = std::chrono::seconds(60);

std::size_t index(FakeOp op) { return static_cast<std::size_t>(op); }

}  // namespace

std::string_view to_string(FakeOp op) {
  switch (op) {
    case FakeOp::validate: return "validate";
    case FakeOp::provision: return "provision";
    case FakeOp::deprovision: return "deprovision";
    case FakeOp::attach: return "attach";
    case FakeOp::detach: return "detach";
    case FakeOp::is_attached: return "is_attached";
    case FakeOp::status: return "status";
    case FakeOp::discover: return "discover";
    case FakeOp::refresh: return "refresh";
  }
  return "?";
}

// ---------------------------------------------------------------- FakeGate

void FakeGate::open() {
  std::lock_guard lock(m_mutex);
  m_open = true;
  m_cv.notify_all();
}

bool FakeGate::is_open() const {
  std::lock_guard lock(m_mutex);
  return m_open;
}

std::size_t FakeGate::arrivals() const {
  std::lock_guard lock(m_mutex);
  return m_arrivals;
}

std::size_t FakeGate::departures() const {
  std::lock_guard lock(m_mutex);
  return m_departures;
}

bool FakeGate::wait_arrivals(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_mutex);
  return m_cv.wait_for(lock, timeout, [&] { return m_arrivals >= n; });
}

void FakeGate::pass() {
  std::unique_lock lock(m_mutex);
  ++m_arrivals;
  m_cv.notify_all();
  m_cv.wait_for(lock, k_gate_safety, [&] { return m_open; });
  ++m_departures;
  m_cv.notify_all();
}

// ------------------------------------------------------------- FakeStorage

std::optional<VolumeRecord> FakeStorage::find(const std::string& name) const {
  std::lock_guard lock(m_mutex);
  auto it = m_volumes.find(name);
  if (it == m_volumes.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<VolumeRecord> FakeStorage::all() const {
  std::lock_guard lock(m_mutex);
  std::vector<VolumeRecord> out;
  out.reserve(m_volumes.size());
  for (const auto& [name, record] : m_volumes) {
    out.push_back(record);
  }
  return out;
}

void FakeStorage::put(const VolumeRecord& record) {
  std::lock_guard lock(m_mutex);
  m_volumes[record.name] = record;
}

bool FakeStorage::erase(const std::string& name) {
  std::lock_guard lock(m_mutex);
  return m_volumes.erase(name) > 0;
}

std::size_t FakeStorage::size() const {
  std::lock_guard lock(m_mutex);
  return m_volumes.size();
}

// ------------------------------------------------------------- FakeBackend

// Brackets one backend call: enter() on construction (which may throw a
// scripted failure), in_flight bookkeeping, and success counting.
class FakeBackend::CallScope {
 public:
  CallScope(const FakeBackend& backend, FakeOp op, const std::string& log_line,
            std::optional<Deadline> deadline)
      : m_backend(backend), m_op(op) {
    m_backend.enter(op, log_line, deadline);
  }
  ~CallScope() {
    std::lock_guard lock(m_backend.m_mutex);
    auto& per = m_backend.m_ops[index(m_op)];
    --per.in_flight;
    if (m_ok) {
      ++per.successes;
    }
  }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;
  void ok() { m_ok = true; }

 private:
  const FakeBackend& m_backend;
  FakeOp m_op;
  bool m_ok = false;
};

FakeBackend::FakeBackend(Scope scope, std::string type, std::shared_ptr<FakeStorage> storage)
    : m_type(std::move(type)),
      m_storage(storage ? std::move(storage) : std::make_shared<FakeStorage>()),
      m_scope(scope),
      m_accepted{{"size", "maximum size, e.g. 10G"}, {"mode", "permissions of the volume root, octal"}},
      m_status(nlohmann::json{{"backend", "fake"}}) {}

void FakeBackend::enter(FakeOp op, const std::string& log_line, std::optional<Deadline> deadline) const {
  std::shared_ptr<FakeGate> gate;
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard lock(m_mutex);
    auto& per = m_ops[index(op)];
    ++per.calls;
    ++per.in_flight;
    per.last_budget = deadline ? std::optional(deadline->remaining()) : std::nullopt;
    m_log.push_back(log_line);
    gate = per.gate;
    delay = per.delay;
  }
  // From here on a throw must undo in_flight (the CallScope is not built yet).
  auto undo = [&] {
    std::lock_guard lock(m_mutex);
    --m_ops[index(op)].in_flight;
  };
  if (gate) {
    gate->pass();
  }
  if (delay.count() > 0) {
    std::this_thread::sleep_for(delay);
  }
  std::optional<Error> failure;
  {
    std::lock_guard lock(m_mutex);
    auto& failures = m_ops[index(op)].failures;
    if (!failures.empty()) {
      auto& f = failures.front();
      failure = f.error;
      if (f.times) {
        if (--*f.times <= 0) {
          failures.erase(failures.begin());
        }
      }
    }
  }
  if (failure) {
    undo();
    throw *failure;
  }
}

Scope FakeBackend::scope() const {
  std::lock_guard lock(m_mutex);
  return m_scope;
}

std::vector<OptionSpec> FakeBackend::accepted_options() const {
  std::lock_guard lock(m_mutex);
  return m_accepted;
}

void FakeBackend::validate(const Options& options) const {
  CallScope call(*this, FakeOp::validate, "validate", std::nullopt);
  std::function<void(const Options&)> validator;
  {
    std::lock_guard lock(m_mutex);
    validator = m_validator;
  }
  if (validator) {
    validator(options);
  }
  call.ok();
}

void FakeBackend::provision(VolumeRecord& record, Deadline deadline) {
  CallScope call(*this, FakeOp::provision, "provision " + record.name, deadline);
  if (auto existing = m_storage->find(record.name)) {
    if (existing->options != record.options) {
      throw conflict("exists on the storage with other options");
    }
    record.created_at = existing->created_at;
    record.created_by = existing->created_by;
  } else {
    VolumeRecord stored = record;
    stored.mounts.clear();
    stored.mountpoint.clear();
    m_storage->put(stored);
  }
  call.ok();
}

void FakeBackend::deprovision(const VolumeRecord& record, Deadline deadline) {
  CallScope call(*this, FakeOp::deprovision, "deprovision " + record.name, deadline);
  m_storage->erase(record.name);
  call.ok();
}

std::string FakeBackend::attach(VolumeRecord& record, const std::string& target, Deadline deadline) {
  CallScope call(*this, FakeOp::attach, "attach " + record.name + " " + target, deadline);
  Mounter* mounter = nullptr;
  std::function<std::string(const VolumeRecord&, const std::string&)> path_fn;
  {
    std::lock_guard lock(m_mutex);
    mounter = m_mounter;
    path_fn = m_attach_path;
  }
  std::string path = path_fn ? path_fn(record, target) : target;
  if (mounter && !mounter->is_mounted(target)) {
    mounter->mount("fake:" + record.name, target, "fake", 0, "", deadline);
  }
  {
    std::lock_guard lock(m_mutex);
    m_attached.insert(record.name);
  }
  record.backend_data["device"] = "/dev/fake/" + record.name;
  call.ok();
  return path;
}

void FakeBackend::detach(VolumeRecord& record, const std::string& mountpoint, Deadline deadline) {
  CallScope call(*this, FakeOp::detach, "detach " + record.name + " " + mountpoint, deadline);
  Mounter* mounter = nullptr;
  {
    std::lock_guard lock(m_mutex);
    mounter = m_mounter;
  }
  if (mounter) {
    mounter->unmount(mountpoint, UnmountMode::normal, deadline);
  }
  {
    std::lock_guard lock(m_mutex);
    m_attached.erase(record.name);
  }
  record.backend_data.erase("device");
  call.ok();
}

bool FakeBackend::is_attached(const VolumeRecord& record) {
  CallScope call(*this, FakeOp::is_attached, "is_attached " + record.name, std::nullopt);
  Mounter* mounter = nullptr;
  bool attached = false;
  {
    std::lock_guard lock(m_mutex);
    mounter = m_mounter;
    attached = m_attached.count(record.name) > 0;
  }
  if (mounter) {
    attached = !record.mountpoint.empty() && mounter->is_mounted(record.mountpoint);
  }
  call.ok();
  return attached;
}

nlohmann::json FakeBackend::status(const VolumeRecord& record) const {
  CallScope call(*this, FakeOp::status, "status " + record.name, std::nullopt);
  nlohmann::json out;
  {
    std::lock_guard lock(m_mutex);
    out = m_status;
    out["attached"] = m_attached.count(record.name) > 0;
  }
  call.ok();
  return out;
}

std::optional<std::vector<VolumeRecord>> FakeBackend::discover(Deadline deadline) {
  CallScope call(*this, FakeOp::discover, "discover", deadline);
  std::optional<std::vector<VolumeRecord>> result;
  bool from_storage = false;
  {
    std::lock_guard lock(m_mutex);
    if (m_discover_overridden) {
      result = m_discover_result;
    } else {
      from_storage = m_scope == Scope::global;
    }
  }
  if (from_storage) {
    result = m_storage->all();
  }
  call.ok();
  return result;
}

void FakeBackend::refresh(Deadline deadline) {
  CallScope call(*this, FakeOp::refresh, "refresh", deadline);
  call.ok();
}

// ----------------------------------------------------------------- scripting

void FakeBackend::set_scope(Scope scope) {
  std::lock_guard lock(m_mutex);
  m_scope = scope;
}

void FakeBackend::set_accepted_options(std::vector<OptionSpec> options) {
  std::lock_guard lock(m_mutex);
  m_accepted = std::move(options);
}

void FakeBackend::set_validator(std::function<void(const Options&)> validator) {
  std::lock_guard lock(m_mutex);
  m_validator = std::move(validator);
}

void FakeBackend::set_status(nlohmann::json status) {
  std::lock_guard lock(m_mutex);
  m_status = std::move(status);
}

void FakeBackend::set_discover_result(std::optional<std::vector<VolumeRecord>> result) {
  std::lock_guard lock(m_mutex);
  m_discover_overridden = true;
  m_discover_result = std::move(result);
}

void FakeBackend::clear_discover_result() {
  std::lock_guard lock(m_mutex);
  m_discover_overridden = false;
  m_discover_result.reset();
}

void FakeBackend::set_attach_path(std::function<std::string(const VolumeRecord&, const std::string&)> path) {
  std::lock_guard lock(m_mutex);
  m_attach_path = std::move(path);
}

void FakeBackend::set_mounter(Mounter* mounter) {
  std::lock_guard lock(m_mutex);
  m_mounter = mounter;
}

void FakeBackend::fail(FakeOp op, Error error, std::optional<int> times) {
  std::lock_guard lock(m_mutex);
  m_ops[index(op)].failures.push_back(Failure{std::move(error), times});
}

void FakeBackend::clear_failures(FakeOp op) {
  std::lock_guard lock(m_mutex);
  m_ops[index(op)].failures.clear();
}

void FakeBackend::set_delay(FakeOp op, std::chrono::milliseconds delay) {
  std::lock_guard lock(m_mutex);
  m_ops[index(op)].delay = delay;
}

std::shared_ptr<FakeGate> FakeBackend::block(FakeOp op) {
  auto gate = std::make_shared<FakeGate>();
  std::shared_ptr<FakeGate> old;
  {
    std::lock_guard lock(m_mutex);
    old = std::exchange(m_ops[index(op)].gate, gate);
  }
  if (old) {
    old->open();
  }
  return gate;
}

void FakeBackend::unblock(FakeOp op) {
  std::shared_ptr<FakeGate> old;
  {
    std::lock_guard lock(m_mutex);
    old = std::exchange(m_ops[index(op)].gate, nullptr);
  }
  if (old) {
    old->open();
  }
}

void FakeBackend::set_remove_pending(std::set<std::string> names) {
  std::lock_guard lock(m_mutex);
  m_remove_pending = std::move(names);
}

bool FakeBackend::remove_pending(const VolumeRecord& record) const {
  std::lock_guard lock(m_mutex);
  return m_remove_pending.count(record.name) != 0;
}

void FakeBackend::set_attached(const std::string& name, bool attached) {
  std::lock_guard lock(m_mutex);
  if (attached) {
    m_attached.insert(name);
  } else {
    m_attached.erase(name);
  }
}

// --------------------------------------------------------------- observation

std::size_t FakeBackend::calls(FakeOp op) const {
  std::lock_guard lock(m_mutex);
  return m_ops[index(op)].calls;
}

std::size_t FakeBackend::successes(FakeOp op) const {
  std::lock_guard lock(m_mutex);
  return m_ops[index(op)].successes;
}

std::size_t FakeBackend::in_flight(FakeOp op) const {
  std::lock_guard lock(m_mutex);
  return m_ops[index(op)].in_flight;
}

std::optional<std::chrono::milliseconds> FakeBackend::last_budget(FakeOp op) const {
  std::lock_guard lock(m_mutex);
  return m_ops[index(op)].last_budget;
}

std::vector<std::string> FakeBackend::log() const {
  std::lock_guard lock(m_mutex);
  return m_log;
}

bool FakeBackend::attached(const std::string& name) const {
  std::lock_guard lock(m_mutex);
  return m_attached.count(name) > 0;
}

std::set<std::string> FakeBackend::attachments() const {
  std::lock_guard lock(m_mutex);
  return m_attached;
}

}  // namespace holdfast::test
