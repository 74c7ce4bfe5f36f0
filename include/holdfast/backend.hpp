// The backend contract: what a storage backend (local directory, NFS export,
// iSCSI LUN, LVM) implements so the volume manager can serve Docker.
//
// Split as csi-driver-nfs splits controller and node work:
//   provision/deprovision  server-side, at Create/Remove
//   attach/detach          host-side, at the first Mount / last Unmount
// Backends are stateless about mount counts and locking: the volume manager
// calls attach only when a volume's count goes 0 -> 1 and detach only when it
// goes back to 0, and never runs two operations on one volume at once. Calls
// on different volumes run concurrently, so a backend's own shared state
// needs its own locking.
//
// Every operation receives a Deadline and must return or throw by then
// (bounded commands, library timeouts). Errors are holdfast::Error, classified
// at the source; messages say what failed and why, without the volume name
// (the manager adds it) and never with secrets.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <holdfast/config_reader.hpp>
#include <holdfast/deadline.hpp>
#include <holdfast/error.hpp>
#include <holdfast/host.hpp>
#include <holdfast/volume.hpp>

namespace holdfast {

// Docker's notion: "global" means a name is the same volume on every host
// (shared storage), "local" means per host.
enum class Scope { local, global };

class Backend {
 public:
  virtual ~Backend() = default;

  // Type name as written in the config ("local", "nfs", "iscsi", "lvm").
  virtual std::string_view type() const = 0;
  virtual Scope scope() const = 0;

  // The per-volume options this backend accepts (the allowlist).
  virtual std::vector<OptionSpec> accepted_options() const = 0;

  // Checks values and combinations of already allowlisted options; throws
  // invalid_argument. Must not touch the network or the disk.
  virtual void validate(const Options& options) const = 0;

  // Makes the volume exist on the storage. Idempotent: when it already exists
  // with the same options it succeeds; with different options it throws
  // conflict. May fill record.backend_data and, for shared backends, adjust
  // record.created_at/created_by/options to what the storage says (adopting a
  // volume another host created; see `Options` handling in docs/architecture.md).
  virtual void provision(VolumeRecord& record, Deadline deadline) = 0;

  // Removes the volume from the storage according to the backend's removal
  // policy. Idempotent: succeeds if already gone.
  virtual void deprovision(const VolumeRecord& record, Deadline deadline) = 0;

  // Makes the volume usable on this host and returns the host path to hand
  // to Docker. `target` is a directory reserved for this volume under the
  // daemon's mount root (created by the manager); backends that mount use it,
  // others may return another path. Idempotent with respect to the kernel
  // state: if already attached at `target`, returns it. May update
  // record.backend_data.
  virtual std::string attach(VolumeRecord& record, const std::string& target, Deadline deadline) = 0;

  // Undoes attach. Idempotent: succeeds if not attached. Must not hang on a
  // dead server (lazy detach as a last resort).
  virtual void detach(VolumeRecord& record, const std::string& mountpoint, Deadline deadline) = 0;

  // Whether `record` is still attached at its mountpoint, judged without
  // touching the network (the mount table, a device node). Used at start-up
  // to reconcile saved mount counts with reality.
  virtual bool is_attached(const VolumeRecord& record) = 0;

  // Facts shown as Status in `docker volume inspect`. Must answer from memory
  // or a cache (never block on I/O): it is called inside VolumeDriver.Get.
  virtual nlohmann::json status(const VolumeRecord& record) const = 0;

  // Shared backends: the volumes that exist on the storage (created by any
  // host), with their options and creation facts. Called in the background
  // by the manager to keep Get/List current, and at Mount for a name this
  // host has not seen. Local backends return nullopt (not applicable).
  virtual std::optional<std::vector<VolumeRecord>> discover(Deadline deadline) {
    (void)deadline;
    return std::nullopt;
  }

  // Whether an earlier holdfastd began a Remove of this volume that it did
  // not finish (cut off by a crash), and that this backend will finish on
  // its storage because the storage may still carry out the cut-off
  // requests. The manager then drops the volume at start-up, before anyone
  // can see it again. Called once per volume at start-up; local checks only
  // (no network).
  virtual bool remove_pending(const VolumeRecord& record) const {
    (void)record;
    return false;
  }

  // Background upkeep (refresh capacity caches, check reachability).
  // Called periodically from a maintenance thread; must honour the deadline.
  virtual void refresh(Deadline deadline) { (void)deadline; }

  // Facts about the instance as a whole for the operator's `holdfast doctor`
  // (pool fill, takeover policy...), as a JSON object; a "warning" string
  // member makes doctor report a warning. Memory only, like status().
  virtual nlohmann::json backend_status() const { return nlohmann::json::object(); }

  // Operator verbs beyond Docker's calls, reached through the admin socket
  // (`holdfast resize`, `holdfast release`). The volume manager holds the
  // volume's operation lock and saves `record` afterwards (a backend may
  // change backend_data only). `args` is the request's JSON object; the
  // result is shown to the operator. Backends without the verb keep this
  // default, which refuses it.
  virtual nlohmann::json operator_action(std::string_view verb, VolumeRecord& record, const nlohmann::json& args,
                                         Deadline deadline) {
    (void)record;
    (void)args;
    (void)deadline;
    throw unsupported_verb(type(), verb);
  }

 protected:
  // invalid_argument("backend type <type> has no operator verb \"<verb>\"").
  static Error unsupported_verb(std::string_view type, std::string_view verb);
};

// What a backend factory gets besides its own config section.
struct BackendEnv {
  std::string instance_name;  // the key under `backends:` ("filer")
  std::string host_id;        // this host's identity (hostname unless configured)
  std::string state_dir;      // daemon state dir; backends may keep files under <state_dir>/backends/<instance>
  CommandRunner& runner;
  Mounter& mounter;
};

// Builds a backend from its config section. Reads every key it accepts
// through `config` and calls config.finish(); throws invalid_argument for bad
// config (with the file and line, via ConfigReader). Must not do slow I/O:
// the daemon listens on its socket before backends reach their servers.
using BackendFactory = std::unique_ptr<Backend> (*)(ConfigReader& config, BackendEnv& env);

struct BackendDescriptor {
  std::string_view type;
  BackendFactory create;
  std::string_view summary;  // one line for --help and docs
};

// The registry (backends/registry.cpp): every compiled-in backend type.
const std::vector<BackendDescriptor>& backend_registry();
const BackendDescriptor* find_backend_type(std::string_view type);

}  // namespace holdfast
