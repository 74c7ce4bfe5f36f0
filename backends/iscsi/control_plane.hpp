// holdfast::iscsi::ControlPlane: everything the iSCSI backend does on the
// target without the kernel, through libiscsi: find the target, read the
// pool (capacities, claim labels, reservations), claim a LUN for a volume
// atomically, release a claim, and fence a LUN for an attach with SCSI-3
// persistent reservations (take, refuse naming the holder, take over by
// policy, heartbeat, release).
//
// Atomic claims. tgt and many arrays lack COMPARE AND WRITE, so a claim is a
// short critical section guarded by the LUN's own reservation: register,
// RESERVE (exactly one nexus wins; the others get RESERVATION CONFLICT and
// move on), re-read the label under the reservation, write the claim, then
// re-read every other pool label: if another LUN claims the same volume
// name, this claim is undone (two hosts creating one name at once leave at
// most one claim; the proof is in docs/backends/iscsi.md). Then RELEASE and
// unregister.
//
// Sessions and identity. Every session is a new I_T nexus (random ISID);
// what identifies this host is its reservation key (fencing.hpp). A session
// that must write or change reservations first registers the key; one that
// must act as the holder (release, heartbeat after a takeover) PREEMPTs its
// own key, which moves the reservation to it and drops the other
// registrations of the key (earlier sessions, the kernel's paths). Every
// session unregisters itself at the end unless it is the reservation holder
// of an attached LUN. All reservation changes of one backend instance run
// one at a time under the control mutex (taken within the deadline), so a
// reservation held by this host's key during a claim is always a stale one.
//
// Thread-safe: calls may come from several threads; the control mutex and
// the target cache have their own locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <holdfast/deadline.hpp>
#include <holdfast/volume.hpp>

#include "claim_label.hpp"
#include "fencing.hpp"
#include "iscsi_config.hpp"
#include "iscsi_context.hpp"

namespace holdfast::iscsi {

// One pool LUN as read from the target.
struct LunInfo {
  int lun = 0;
  bool present = false;  // the LUN answered READ CAPACITY
  std::string problem;   // why it is unusable (absent, too small, read error)
  std::optional<LunLayout> layout;
  DecodedLabel label;              // meaningful when layout is set
  std::optional<bool> head_blank;  // checked only for blank labels when asked
  ReservationInfo reservation;
};

struct ClaimRequest {
  std::string volume;
  Options options;
  std::string fs;
  std::uint64_t min_capacity = 0;  // bytes; 0: any
  std::optional<int> lun;          // -o lun=N
  bool adopt_retained = true;      // a LUN retained for this name is taken back first
};

struct ClaimResult {
  int lun = 0;
  LunLayout layout;
  ClaimLabel label;
  bool existed = false;  // the volume was already claimed (idempotent create)
};

struct AcquireResult {
  LunLayout layout;
  ClaimLabel label;  // as written, with this host as holder
  std::optional<HolderView> took_over_from;
  std::string takeover_reason;
};

// Decides takeovers for acquire(); the backend binds policy, operator files
// and the heartbeat tracker into it.
using TakeoverDecider = std::function<TakeoverDecision(int lun, const HolderView& holder)>;

enum class HeartbeatResult { beaten, lost, not_held };

class ControlPlane {
 public:
  explicit ControlPlane(const IscsiConfig& config);

  std::uint64_t key() const { return m_key; }

  // The target IQN: the configured one, or the single target SendTargets
  // reports on the first portal that answers (cached after success).
  std::string target(Deadline deadline);

  // Reads every pool LUN: capacity, label, reservation; with `check_heads`,
  // also whether the first MiB of each unlabelled LUN is zero.
  std::vector<LunInfo> scan(Deadline deadline, bool check_heads);

  // Claims a LUN for `request.volume` (or finds its existing claim).
  // Throws conflict / unavailable / invalid_argument with a summary of why
  // no LUN fits.
  ClaimResult claim(const ClaimRequest& request, Deadline deadline);

  // Removes the claim of `volume` on `lun` according to `policy`. Succeeds
  // when the LUN no longer carries the volume. Throws busy when another
  // host holds the LUN's reservation (attached there).
  void unclaim(int lun, const std::string& volume, RemovePolicy policy, Deadline deadline);

  // Fences `lun` for an attach of `volume` by this host: registers, reserves
  // (or keeps its own reservation, or preempts per `decider`), removes other
  // hosts' stray registrations, and records this host as holder in the
  // label. Throws conflict naming the holder when refused.
  AcquireResult acquire(int lun, const std::string& volume, const TakeoverDecider& decider,
                        Deadline deadline);

  // Undoes acquire: clears the holder in the label (while still holding),
  // RELEASE, removes every registration of this host's key on the LUN
  // (kernel paths included) and unregisters. Idempotent.
  void release(int lun, const std::string& volume, Deadline deadline);

  // Bumps this host's heartbeat on a LUN it holds for `volume`.
  HeartbeatResult heartbeat(int lun, const std::string& volume, Deadline deadline);

  // Reads one LUN (layout + label + reservation) on a read-only session.
  LunInfo inspect(int lun, Deadline deadline);

 private:
  class ControlSession;

  SessionParams params(const std::string& target) const;
  IscsiContext open_any(const SessionParams& params, Deadline deadline);
  LunInfo read_lun(IscsiContext& ctx, int lun, bool check_head, Deadline deadline);
  DecodedLabel read_label(IscsiContext& ctx, int lun, const LunLayout& layout, Deadline deadline);
  void write_label(IscsiContext& ctx, int lun, const LunLayout& layout, ClaimLabel label, Deadline deadline);
  std::optional<ClaimResult> try_claim(IscsiContext& ctx, const LunInfo& candidate,
                                       const ClaimRequest& request, Deadline deadline, std::string& why_not);
  std::string new_claim_id();

  const IscsiConfig& m_config;
  std::uint64_t m_key;
  std::timed_mutex m_control_mutex;
  std::mutex m_target_mutex;
  std::string m_target;
};

}  // namespace holdfast::iscsi
