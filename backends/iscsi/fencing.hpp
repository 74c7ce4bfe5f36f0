// Fencing policy for iSCSI LUNs: this host's SCSI-3 reservation identity
// and the decision whether a LUN held by another host may be taken over.
//
// The protocol (docs/backends/iscsi.md, "Fencing"): every host registers its
// own reservation key on a LUN and holds a WRITE EXCLUSIVE - REGISTRANTS ONLY
// reservation while the LUN is attached; only registered I_T nexuses can
// write, and a takeover is a PREEMPT that removes every registration of the
// old holder's key (its kernel paths included), so the old holder's writes
// fail from that moment on. The label names the holder and carries its
// heartbeat, so a refused Mount can name the host that holds the LUN.
//
// HeartbeatTracker is thread-safe (internal mutex); the free functions are
// pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "claim_label.hpp"
#include "iscsi_config.hpp"

namespace holdfast::iscsi {

// This host's reservation key for one backend instance: a 64-bit hash of
// the host id, the instance name and the initiator name, never zero (zero
// means "no key" in PERSISTENT RESERVE OUT).
//
// The key, not the I_T nexus, is the identity holdfast relies on: every
// session is a new nexus on some targets (tgt ties registrations to the
// session, not to the initiator port), so any session of this host can act
// for it by registering the key, and PREEMPT with its own key moves the
// reservation to that session and drops every other registration of the key.
std::uint64_t reservation_key(std::string_view host_id, std::string_view instance,
                              std::string_view initiator_name);

// What this host last saw of a holder's heartbeat on one LUN, on its own
// monotonic clock (so clock skew between hosts does not matter).
struct HeartbeatObservation {
  std::uint64_t key = 0;
  std::optional<std::uint64_t> beat;  // nullopt: the label names no holder for this key
  std::chrono::steady_clock::time_point unchanged_since{};
};

class HeartbeatTracker {
 public:
  // Records what a label read showed for `lun` whose reservation is held by
  // `key`; returns the observation (its unchanged_since is reset whenever
  // the key or the beat changed).
  HeartbeatObservation observe(int lun, std::uint64_t key, std::optional<std::uint64_t> beat,
                               std::chrono::steady_clock::time_point now);
  void forget(int lun);

 private:
  std::mutex m_mutex;
  std::map<int, HeartbeatObservation> m_seen;
};

// Who holds a LUN, as far as the reservation and the label say.
struct HolderView {
  std::uint64_t key = 0;           // the reservation key of the holder
  std::optional<Holder> labelled;  // the label's holder, when its key matches
};

// "host \"node-a\" (reservation key 0x..., attached since 2026-...Z)" or
// "an unknown host (reservation key 0x...)".
std::string describe_holder(const HolderView& holder);

struct TakeoverDecision {
  bool allowed = false;
  std::string reason;  // why (appended to the refusal, or logged with the takeover)
};

// Decides whether this host may preempt `holder`. `operator_file` says
// whether an operator asked for a takeover of this volume (a fresh takeover
// file); `observation` is this host's heartbeat observation of the holder.
TakeoverDecision decide_takeover(const TakeoverPolicy& policy, const HolderView& holder,
                                 const HeartbeatObservation& observation, bool operator_file,
                                 std::chrono::steady_clock::time_point now, const std::string& takeover_file);

}  // namespace holdfast::iscsi
