// holdfast::test::FakeBackend: a scriptable Backend for unit, protocol and
// bench tests of the layers above backends (volume manager, handlers).
//
// Every call is counted and logged. Per operation a test can script:
//   - a delay (sleeps, deliberately IGNORING the deadline, like a hung server);
//   - a gate: calls wait at a FakeGate until the test opens it (also ignoring
//     the deadline), so a test can hold a backend call "in flight" and check
//     what the rest of the system does meanwhile;
//   - failures: the next N calls (or all) throw a given holdfast::Error.
// Order inside a call: count/log, gate, delay, scripted failure, effect.
//
// Effects model a tiny storage and kernel:
//   - provision/deprovision add/remove the volume in a FakeStorage (shared
//     between several FakeBackends to model one shared storage seen from two
//     hosts). provision is idempotent for equal options, conflict otherwise,
//     and adopts created_at/created_by of an existing entry.
//   - attach returns `target` (or what set_attach_path() says), records the
//     attachment and sets record.backend_data["device"]; with set_mounter(),
//     it also mounts "fake:<name>" at the target through that Mounter (so
//     the mount table a manager reconciles with reflects it); detach undoes
//     it; is_attached() asks the Mounter (by record.mountpoint) when set,
//     otherwise the in-memory attachment set.
//   - discover() returns the FakeStorage contents for global scope, nullopt
//     for local scope, unless overridden by set_discover_result().
//
// Thread-safe: every method may be called concurrently; scripting changes
// apply to calls that start afterwards. Gates/delays never hold the lock.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <holdfast/backend.hpp>
#include <holdfast/error.hpp>

namespace holdfast::test {

enum class FakeOp { validate, provision, deprovision, attach, detach, is_attached, status, discover, refresh };
inline constexpr std::size_t k_fake_op_count = 9;
std::string_view to_string(FakeOp op);

// A gate scripted calls wait at until the test opens it. Once open it stays
// open. A waiting call gives up after a safety limit (60 s) so that a broken
// test cannot hang forever; the test's own assertions fail first.
class FakeGate {
 public:
  // Lets every current and future caller through.
  void open();
  bool is_open() const;
  // Calls that reached the gate so far (waiting or passed).
  std::size_t arrivals() const;
  // Waits until at least `n` calls reached the gate; false on timeout.
  bool wait_arrivals(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Calls that reached the gate and passed it (after open()).
  std::size_t departures() const;

  // Used by FakeBackend: arrive and wait until open (or the safety limit).
  void pass();

 private:
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_cv;
  bool m_open = false;
  std::size_t m_arrivals = 0;
  std::size_t m_departures = 0;
};

// "The storage": volumes that exist on it, by name. Shared by FakeBackends
// that stand for one shared storage reached from several hosts.
class FakeStorage {
 public:
  std::optional<VolumeRecord> find(const std::string& name) const;
  std::vector<VolumeRecord> all() const;
  void put(const VolumeRecord& record);
  bool erase(const std::string& name);
  std::size_t size() const;

 private:
  mutable std::mutex m_mutex;
  std::map<std::string, VolumeRecord> m_volumes;
};

class FakeBackend final : public Backend {
 public:
  explicit FakeBackend(Scope scope = Scope::local, std::string type = "fake",
                       std::shared_ptr<FakeStorage> storage = nullptr);

  // --- Backend ---
  std::string_view type() const override { return m_type; }
  Scope scope() const override;
  std::vector<OptionSpec> accepted_options() const override;
  void validate(const Options& options) const override;
  void provision(VolumeRecord& record, Deadline deadline) override;
  void deprovision(const VolumeRecord& record, Deadline deadline) override;
  std::string attach(VolumeRecord& record, const std::string& target, Deadline deadline) override;
  void detach(VolumeRecord& record, const std::string& mountpoint, Deadline deadline) override;
  bool is_attached(const VolumeRecord& record) override;
  nlohmann::json status(const VolumeRecord& record) const override;
  std::optional<std::vector<VolumeRecord>> discover(Deadline deadline) override;
  void refresh(Deadline deadline) override;

  // --- scripting ---
  void set_scope(Scope scope);
  // Default: {"size", "mode"} with one-line help.
  void set_accepted_options(std::vector<OptionSpec> options);
  // Called by validate(); default accepts everything. May throw.
  void set_validator(std::function<void(const Options&)> validator);
  // What status() returns (default {"backend": "fake"}); "attached": bool is added.
  void set_status(nlohmann::json status);
  // Overrides discover(); nullopt result means "not applicable".
  void set_discover_result(std::optional<std::vector<VolumeRecord>> result);
  // Restores the default discover() (storage for global scope).
  void clear_discover_result();
  // What attach() returns; default: the target.
  void set_attach_path(std::function<std::string(const VolumeRecord&, const std::string&)> path);
  // With a mounter, attach/detach/is_attached go through its mount table.
  // Not owned; must outlive the backend's use.
  void set_mounter(Mounter* mounter);

  // The next `times` calls of `op` throw `error` (nullopt = every call until cleared).
  void fail(FakeOp op, Error error, std::optional<int> times = std::nullopt);
  void clear_failures(FakeOp op);
  // Every call of `op` sleeps this long first (ignoring its deadline).
  void set_delay(FakeOp op, std::chrono::milliseconds delay);
  // Calls of `op` starting from now wait at the returned gate (ignoring
  // their deadline) until it is opened. Replaces a previous gate of `op`
  // (which is opened, so nobody stays stuck on it).
  std::shared_ptr<FakeGate> block(FakeOp op);
  // Opens and removes the gate of `op`.
  void unblock(FakeOp op);

  // Names remove_pending() answers true for.
  void set_remove_pending(std::set<std::string> names);
  bool remove_pending(const VolumeRecord& record) const override;

  // Simulated kernel state for reconcile tests (without a mounter).
  void set_attached(const std::string& name, bool attached);

  // --- observation ---
  std::size_t calls(FakeOp op) const;
  // Calls of `op` that returned without throwing.
  std::size_t successes(FakeOp op) const;
  // Calls of `op` that are inside the backend right now.
  std::size_t in_flight(FakeOp op) const;
  // Budget left (deadline.remaining()) when the last call of `op` entered.
  std::optional<std::chrono::milliseconds> last_budget(FakeOp op) const;
  // "attach v1 /mnt/v1", "detach v1 /mnt/v1", "provision v1", ... in call order.
  std::vector<std::string> log() const;
  bool attached(const std::string& name) const;
  // Volume names currently attached (without a mounter).
  std::set<std::string> attachments() const;
  const std::shared_ptr<FakeStorage>& storage() const { return m_storage; }

 private:
  struct Failure {
    Error error;
    std::optional<int> times;
  };
  struct PerOp {
    std::size_t calls = 0;
    std::size_t successes = 0;
    std::size_t in_flight = 0;
    std::optional<std::chrono::milliseconds> last_budget;
    std::chrono::milliseconds delay{0};
    std::shared_ptr<FakeGate> gate;
    std::vector<Failure> failures;
  };
  class CallScope;

  // Counts, logs, waits at the gate, sleeps, then throws a scripted failure.
  void enter(FakeOp op, const std::string& log_line, std::optional<Deadline> deadline) const;
  void succeeded(FakeOp op) const;

  const std::string m_type;
  const std::shared_ptr<FakeStorage> m_storage;

  mutable std::mutex m_mutex;
  Scope m_scope;
  std::vector<OptionSpec> m_accepted;
  std::function<void(const Options&)> m_validator;
  nlohmann::json m_status;
  bool m_discover_overridden = false;
  std::optional<std::vector<VolumeRecord>> m_discover_result;
  std::function<std::string(const VolumeRecord&, const std::string&)> m_attach_path;
  Mounter* m_mounter = nullptr;
  std::set<std::string> m_attached;
  std::set<std::string> m_remove_pending;
  mutable std::array<PerOp, k_fake_op_count> m_ops;
  mutable std::vector<std::string> m_log;
};

}  // namespace holdfast::test
