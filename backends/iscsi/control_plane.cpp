#include "control_plane.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>

namespace holdfast::iscsi {

namespace {

constexpr int k_claim_rounds = 4;

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

bool claims(const LunInfo& info, const std::string& volume) {
  return info.label.kind == BlockKind::label && info.label.label->state == LabelState::claimed &&
         info.label.label->volume == volume;
}

bool retained_for(const LunInfo& info, const std::string& volume) {
  return info.label.kind == BlockKind::label && info.label.label->state == LabelState::retained &&
         info.label.label->volume == volume;
}

// When two LUNs claim one name (a create that crashed between writing its
// claim and checking for duplicates), every host picks the same one.
const LunInfo* winner(const std::vector<const LunInfo*>& found) {
  const LunInfo* best = nullptr;
  for (const auto* f : found) {
    if (best == nullptr ||
        std::tie(f->label.label->created_at, f->label.label->claim_id, f->lun) <
            std::tie(best->label.label->created_at, best->label.label->claim_id, best->lun)) {
      best = f;
    }
  }
  return best;
}

std::string describe_contents(const LunInfo& info) {
  if (!info.present) {
    return info.problem.empty() ? "not present" : info.problem;
  }
  if (!info.layout) {
    return info.problem;
  }
  switch (info.label.kind) {
    case BlockKind::blank:
      if (info.head_blank && !*info.head_blank) {
        return "unlabelled but not blank (foreign data in its first MiB)";
      }
      return "blank";
    case BlockKind::label:
      return to_string(info.label.label->state) + " by volume \"" + info.label.label->volume + "\"";
    case BlockKind::foreign:
      return "foreign data where the holdfast label belongs";
    case BlockKind::unsupported:
      return "a label of a newer holdfast (" + info.label.problem + ")";
    case BlockKind::corrupt:
      return "a corrupt holdfast label (" + info.label.problem + ")";
  }
  return "unknown";
}

}  // namespace

// The instance's control session: the control mutex (taken within the
// deadline) plus a logged-in context.
class ControlPlane::ControlSession {
 public:
  ControlSession(ControlPlane& plane, Deadline deadline) : m_lock(plane.m_control_mutex, std::defer_lock) {
    if (!m_lock.try_lock_until(deadline.when())) {
      throw timeout("another iSCSI control operation of backend \"" + plane.m_config.instance +
                    "\" did not finish within this call's deadline");
    }
    m_ctx.emplace(plane.open_any(plane.params(plane.target(deadline)), deadline));
    m_deadline = deadline;
  }
  ~ControlSession() {
    if (m_ctx) {
      m_ctx->close(m_deadline);
    }
  }
  ControlSession(const ControlSession&) = delete;
  ControlSession& operator=(const ControlSession&) = delete;

  IscsiContext& ctx() { return *m_ctx; }

 private:
  std::unique_lock<std::timed_mutex> m_lock;
  std::optional<IscsiContext> m_ctx;
  Deadline m_deadline = Deadline::after(std::chrono::milliseconds(0));
};

ControlPlane::ControlPlane(const IscsiConfig& config)
    : m_config(config),
      m_key(reservation_key(config.host_id, config.instance, config.initiator_name)),
      m_target(config.target) {}

SessionParams ControlPlane::params(const std::string& target) const {
  SessionParams p;
  p.initiator_name = m_config.initiator_name;
  p.target = target;
  p.chap = m_config.chap;
  p.io_timeout = m_config.io_timeout;
  return p;
}

IscsiContext ControlPlane::open_any(const SessionParams& params, Deadline deadline) {
  std::string errors;
  std::optional<ErrorKind> kind;
  for (const auto& portal : m_config.portals) {
    if (deadline.expired()) {
      break;
    }
    try {
      return IscsiContext::open(portal, params, deadline);
    } catch (const Error& e) {
      errors += (errors.empty() ? "" : "; ") + std::string(e.what());
      // A CHAP refusal or an unknown target is a configuration problem:
      // report that rather than a later portal's connection error.
      if (!kind || e.kind() == ErrorKind::permission || e.kind() == ErrorKind::not_found) {
        if (!kind || (*kind != ErrorKind::permission && *kind != ErrorKind::not_found)) {
          kind = e.kind();
        }
      }
    }
  }
  if (!kind) {
    throw timeout("no iSCSI portal could be tried before the deadline");
  }
  throw Error(*kind, errors);
}

std::string ControlPlane::target(Deadline deadline) {
  {
    std::lock_guard lock(m_target_mutex);
    if (!m_target.empty()) {
      return m_target;
    }
  }
  std::optional<IscsiContext> opened;
  try {
    opened.emplace(open_any(params(""), deadline));
  } catch (const Error& e) {
    if (!m_config.chap.enabled() || e.kind() == ErrorKind::timeout) {
      throw;
    }
    // Many targets run discovery sessions without CHAP even when their
    // targets demand it, and libiscsi refuses a login that skips the CHAP
    // it was given: try discovery again without credentials (it only lists
    // target names); the normal sessions keep CHAP.
    SessionParams plain = params("");
    plain.chap = Chap{};
    try {
      opened.emplace(open_any(plain, deadline));
    } catch (const Error&) {
      throw e;
    }
  }
  IscsiContext& ctx = *opened;
  auto targets = ctx.send_targets(deadline);
  ctx.close(deadline);
  if (targets.size() != 1) {
    std::string names;
    for (const auto& t : targets) {
      names += (names.empty() ? "" : ", ") + t.name;
    }
    throw invalid_argument(
        "SendTargets discovery on " + ctx.portal() + " found " + std::to_string(targets.size()) + " targets" +
        (names.empty() ? "" : " (" + names + ")") + "; set `target:` in the backend's config");
  }
  validate_iscsi_name(targets[0].name, "discovered target");
  std::lock_guard lock(m_target_mutex);
  m_target = targets[0].name;
  return m_target;
}

DecodedLabel ControlPlane::read_label(IscsiContext& ctx, int lun, const LunLayout& layout,
                                      Deadline deadline) {
  auto block = ctx.read(lun, layout.label_offset, static_cast<std::uint32_t>(k_label_size), layout.block_size,
                        deadline);
  DecodedLabel decoded = decode_label(block.data(), block.size());
  if (decoded.kind == BlockKind::corrupt && !deadline.expired()) {
    // A label being rewritten by another host can be read torn: look again.
    std::this_thread::sleep_for(
        std::min<std::chrono::milliseconds>(std::chrono::milliseconds(50), deadline.remaining()));
    block = ctx.read(lun, layout.label_offset, static_cast<std::uint32_t>(k_label_size), layout.block_size,
                     deadline);
    decoded = decode_label(block.data(), block.size());
  }
  return decoded;
}

void ControlPlane::write_label(IscsiContext& ctx, int lun, const LunLayout& layout, ClaimLabel label,
                               Deadline deadline) {
  auto block = encode_label(label);
  ctx.write(lun, layout.label_offset, block, layout.block_size, deadline);
  auto back = ctx.read(lun, layout.label_offset, static_cast<std::uint32_t>(k_label_size), layout.block_size,
                       deadline);
  if (back != block) {
    throw unavailable("the claim label written to LUN " + std::to_string(lun) +
                      " did not read back identically");
  }
}

LunInfo ControlPlane::read_lun(IscsiContext& ctx, int lun, bool check_head, Deadline deadline) {
  LunInfo info;
  info.lun = lun;
  Capacity cap;
  try {
    cap = ctx.read_capacity(lun, deadline);
  } catch (const Error& e) {
    if (!ctx.alive()) {
      throw;  // the session is gone (timeout, connection lost): the scan cannot go on
    }
    // A live session answering with a SCSI error: this LUN is unusable, the
    // others may be fine.
    info.problem = e.kind() == ErrorKind::not_found ? "not present on the target" : e.what();
    return info;
  }
  info.present = true;
  try {
    info.layout = LunLayout::for_capacity(cap.bytes(), cap.block_size);
  } catch (const Error& e) {
    info.problem = e.what();
    return info;
  }
  info.label = read_label(ctx, lun, *info.layout, deadline);
  info.reservation = ctx.read_reservation(lun, deadline);
  if (check_head && info.label.kind == BlockKind::blank) {
    auto head = ctx.read(lun, 0, static_cast<std::uint32_t>(k_head_check), info.layout->block_size, deadline);
    info.head_blank = all_zero(head.data(), head.size());
  }
  return info;
}

std::vector<LunInfo> ControlPlane::scan(Deadline deadline, bool check_heads) {
  IscsiContext ctx = open_any(params(target(deadline)), deadline);
  std::vector<LunInfo> out;
  out.reserve(m_config.luns.size());
  for (int lun : m_config.luns) {
    out.push_back(read_lun(ctx, lun, check_heads, deadline));
  }
  ctx.close(deadline);
  return out;
}

LunInfo ControlPlane::inspect(int lun, Deadline deadline) {
  IscsiContext ctx = open_any(params(target(deadline)), deadline);
  LunInfo info = read_lun(ctx, lun, false, deadline);
  ctx.close(deadline);
  return info;
}

std::string ControlPlane::new_claim_id() {
  std::random_device rd;
  std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return key_hex(v);
}

std::optional<ClaimResult> ControlPlane::try_claim(IscsiContext& ctx, const LunInfo& candidate,
                                                   const ClaimRequest& request, Deadline deadline,
                                                   std::string& why_not) {
  const int lun = candidate.lun;
  ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, m_key, deadline);
  bool locked =
      ctx.reserve_out(lun, PrAction::reserve, k_pr_write_exclusive_registrants_only, m_key, 0, deadline);
  auto unlock = [&](bool release) noexcept {
    try {
      Deadline d = deadline.expired() ? Deadline::after(std::chrono::seconds(2)) : deadline;
      if (release) {
        ctx.reserve_out(lun, PrAction::release, k_pr_write_exclusive_registrants_only, m_key, 0, d);
      }
      ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, 0, d);
    } catch (...) {
      // Cleanup: a lock left behind is reported by status and taken back by
      // this host's next claim (same key); see the runbook.
    }
  };
  if (!locked && ctx.read_reservation(lun, deadline).key == m_key) {
    // Our own key, while this host runs no other claim (control mutex): a
    // lock left by a claim that died half-way. Take it back.
    locked = ctx.reserve_out(lun, PrAction::preempt, k_pr_write_exclusive_registrants_only, m_key, m_key,
                             deadline);
  }
  if (!locked) {
    unlock(false);
    why_not = "reserved by another host";
    return std::nullopt;
  }
  struct Unlock {
    decltype(unlock)& fn;
    ~Unlock() { fn(true); }
  } guard{unlock};

  LunInfo now = read_lun(ctx, lun, true, deadline);
  bool adopt = retained_for(now, request.volume);
  bool blank = now.layout && now.label.kind == BlockKind::blank && now.head_blank.value_or(false);
  if (!(adopt || blank) || !now.layout || now.layout->capacity < request.min_capacity) {
    why_not = describe_contents(now);
    return std::nullopt;
  }
  std::optional<ClaimLabel> previous = adopt ? now.label.label : std::nullopt;
  ClaimLabel label;
  label.sequence = previous ? previous->sequence + 1 : 1;
  label.state = LabelState::claimed;
  label.volume = request.volume;
  label.options = request.options;
  label.fs = adopt ? previous->fs : request.fs;
  label.created_at = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  label.created_by = m_config.host_id;
  label.claim_id = new_claim_id();
  label.capacity = now.layout->capacity;
  write_label(ctx, lun, *now.layout, label, deadline);

  // Duplicate check: another host may have claimed the same name on
  // another LUN at the same time. Whoever sees a rival after writing backs
  // off; at most one claim survives (docs/backends/iscsi.md).
  for (int other : m_config.luns) {
    if (other == lun) {
      continue;
    }
    LunInfo o = read_lun(ctx, other, false, deadline);
    if (claims(o, request.volume)) {
      if (previous) {
        write_label(ctx, lun, *now.layout, *previous, deadline);
      } else {
        ctx.write(lun, now.layout->label_offset, std::vector<unsigned char>(k_label_size, 0),
                  now.layout->block_size, deadline);
      }
      why_not = "raced";
      return std::nullopt;
    }
  }
  ClaimResult r;
  r.lun = lun;
  r.layout = *now.layout;
  r.label = label;
  return r;
}

ClaimResult ControlPlane::claim(const ClaimRequest& request, Deadline deadline) {
  ControlSession session(*this, deadline);
  IscsiContext& ctx = session.ctx();
  std::mt19937 jitter(std::random_device{}());
  for (int round = 0; round < k_claim_rounds; ++round) {
    std::vector<LunInfo> infos;
    for (int lun : m_config.luns) {
      infos.push_back(read_lun(ctx, lun, true, deadline));
    }
    std::vector<const LunInfo*> existing;
    for (const auto& info : infos) {
      if (claims(info, request.volume)) {
        existing.push_back(&info);
      }
    }
    if (!existing.empty()) {
      const LunInfo* w = winner(existing);
      if (existing.size() > 1) {
        spdlog::warn("iscsi {}: volume \"{}\" is claimed by {} LUNs; using LUN {} (the earliest claim)",
                     m_config.instance, request.volume, existing.size(), w->lun);
      }
      ClaimResult r;
      r.lun = w->lun;
      r.layout = *w->layout;
      r.label = *w->label.label;
      r.existed = true;
      return r;
    }

    std::vector<const LunInfo*> candidates;
    int claimed = 0;
    int retained = 0;
    int small = 0;
    int unusable = 0;
    int reserved = 0;
    for (const auto& info : infos) {
      if (request.lun && info.lun != *request.lun) {
        continue;
      }
      bool adopt = request.adopt_retained && retained_for(info, request.volume);
      bool blank = info.layout && info.label.kind == BlockKind::blank && info.head_blank.value_or(false);
      if (request.lun && !(adopt || blank)) {
        throw conflict("LUN " + std::to_string(info.lun) + " cannot hold a new volume: it has " +
                       describe_contents(info));
      }
      if (!info.layout) {
        ++unusable;
      } else if (info.label.kind == BlockKind::label) {
        (info.label.label->state == LabelState::claimed ? claimed : retained) += adopt ? 0 : 1;
      } else if (!blank) {
        ++unusable;
      }
      if (!(adopt || blank)) {
        continue;
      }
      if (info.layout->capacity < request.min_capacity) {
        if (request.lun) {
          throw invalid_argument("LUN " + std::to_string(info.lun) + " has " +
                                 human_bytes(info.layout->capacity) + ", less than the requested size " +
                                 human_bytes(request.min_capacity));
        }
        ++small;
        continue;
      }
      candidates.push_back(&info);
    }
    // Retained data of this very name first, then the smallest LUN that fits.
    std::stable_sort(candidates.begin(), candidates.end(), [&](const LunInfo* a, const LunInfo* b) {
      bool ra = retained_for(*a, request.volume);
      bool rb = retained_for(*b, request.volume);
      if (ra != rb) {
        return ra;
      }
      return std::tie(a->layout->capacity, a->lun) < std::tie(b->layout->capacity, b->lun);
    });
    bool raced = false;
    for (const auto* c : candidates) {
      std::string why;
      auto r = try_claim(ctx, *c, request, deadline, why);
      if (r) {
        return *r;
      }
      if (why == "raced") {
        raced = true;
        break;
      }
      ++reserved;
    }
    if (!raced) {
      std::string pool = request.lun ? "LUN " + std::to_string(*request.lun) : "the pool";
      throw unavailable(
          "no free LUN in " + pool + " of " + target(deadline) +
          (request.min_capacity > 0 ? " with at least " + human_bytes(request.min_capacity) : "") + " (" +
          std::to_string(infos.size()) + " LUNs: " + std::to_string(claimed) + " claimed, " +
          std::to_string(retained) + " retained, " + std::to_string(small) + " too small, " +
          std::to_string(unusable) + " unusable, " + std::to_string(reserved) + " reserved by another host)");
    }
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 200)(jitter)),
        deadline.remaining()));
  }
  throw conflict("volume \"" + request.volume +
                 "\" is being created by another host at the same time; retry");
}

void ControlPlane::unclaim(int lun, const std::string& volume, RemovePolicy policy, Deadline deadline) {
  ControlSession session(*this, deadline);
  IscsiContext& ctx = session.ctx();
  LunInfo info = read_lun(ctx, lun, false, deadline);
  if (!claims(info, volume)) {
    return;  // already removed (or retained): idempotent
  }
  ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, m_key, deadline);
  bool locked =
      ctx.reserve_out(lun, PrAction::reserve, k_pr_write_exclusive_registrants_only, m_key, 0, deadline);
  ReservationInfo res;
  if (!locked) {
    res = ctx.read_reservation(lun, deadline);
    if (res.reserved && res.key == m_key) {
      // Held by this host's own key but not mounted here (the manager
      // refuses Remove while mounted): left by a crash. Take it back.
      locked = ctx.reserve_out(lun, PrAction::preempt, k_pr_write_exclusive_registrants_only, m_key, m_key,
                               deadline);
    }
  }
  if (!locked) {
    ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, 0, deadline);
    HolderView holder{res.key, info.label.label->holder};
    if (holder.labelled && holder.labelled->key != res.key) {
      holder.labelled.reset();
    }
    throw busy("LUN " + std::to_string(lun) + " is reserved by " + describe_holder(holder) +
               ": the volume is attached there");
  }
  auto unlock = [&]() noexcept {
    try {
      Deadline d = deadline.expired() ? Deadline::after(std::chrono::seconds(2)) : deadline;
      ctx.reserve_out(lun, PrAction::release, k_pr_write_exclusive_registrants_only, m_key, 0, d);
      ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, 0, d);
    } catch (...) {
      // Cleanup; see try_claim.
    }
  };
  struct Unlock {
    decltype(unlock)& fn;
    ~Unlock() { fn(); }
  } guard{unlock};

  LunInfo now = read_lun(ctx, lun, false, deadline);
  if (!claims(now, volume)) {
    return;
  }
  if (policy == RemovePolicy::wipe) {
    // Head first: a crash in between leaves a claimed volume with no
    // filesystem (removed again by a retry), never an unlabelled LUN with
    // data on it.
    ctx.write(lun, 0, std::vector<unsigned char>(k_head_check, 0), now.layout->block_size, deadline);
    ctx.write(lun, now.layout->label_offset, std::vector<unsigned char>(k_label_size, 0),
              now.layout->block_size, deadline);
    ctx.synchronize_cache(lun, deadline);
  } else {
    ClaimLabel label = *now.label.label;
    label.sequence += 1;
    label.state = LabelState::retained;
    label.holder.reset();
    label.retained_at = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    write_label(ctx, lun, *now.layout, label, deadline);
  }
}

AcquireResult ControlPlane::acquire(int lun, const std::string& volume, const TakeoverDecider& decider,
                                    Deadline deadline) {
  ControlSession session(*this, deadline);
  IscsiContext& ctx = session.ctx();
  LunInfo info = read_lun(ctx, lun, false, deadline);
  if (!claims(info, volume)) {
    throw not_found("LUN " + std::to_string(lun) + " of " + target(deadline) + " does not carry volume \"" +
                    volume + "\" (it has " + describe_contents(info) + ")");
  }
  AcquireResult result;
  ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, m_key, deadline);
  bool held = false;
  for (int attempt = 0; attempt < 4 && !held; ++attempt) {
    ReservationInfo res = ctx.read_reservation(lun, deadline);
    if (res.reserved && res.key == m_key) {
      held = true;  // ours already: a re-attach after a crash or a restart
    } else if (res.reserved) {
      HolderView holder{res.key, info.label.label->holder};
      if (holder.labelled && holder.labelled->key != res.key) {
        holder.labelled.reset();
      }
      TakeoverDecision decision = decider(lun, holder);
      if (!decision.allowed) {
        try {
          ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, 0, deadline);
        } catch (const Error&) {
          // The refusal below is the error that matters.
        }
        throw conflict("LUN " + std::to_string(lun) + " is attached on " + describe_holder(holder) + "; " +
                       decision.reason);
      }
      if (ctx.reserve_out(lun, PrAction::preempt, k_pr_write_exclusive_registrants_only, m_key, res.key,
                          deadline)) {
        held = true;
        result.took_over_from = holder;
        result.takeover_reason = decision.reason;
        spdlog::warn("iscsi {}: took over LUN {} (volume \"{}\") from {}: {}", m_config.instance, lun, volume,
                     describe_holder(holder), decision.reason);
      }
    } else if (ctx.reserve_out(lun, PrAction::reserve, k_pr_write_exclusive_registrants_only, m_key, 0,
                               deadline)) {
      held = true;
    }
  }
  if (!held) {
    throw conflict("LUN " + std::to_string(lun) + ": the reservation kept changing hands; retry");
  }
  // From here on a failure must not leave the LUN fenced for this host.
  auto give_back = [&]() noexcept {
    try {
      Deadline d = deadline.expired() ? Deadline::after(std::chrono::seconds(2)) : deadline;
      ctx.reserve_out(lun, PrAction::preempt, k_pr_write_exclusive_registrants_only, m_key, m_key, d);
      ctx.reserve_out(lun, PrAction::release, k_pr_write_exclusive_registrants_only, m_key, 0, d);
      ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, 0, d);
    } catch (...) {
      // Cleanup after a failure that is already being reported.
    }
  };
  struct GiveBack {
    decltype(give_back)& fn;
    bool armed = true;
    ~GiveBack() {
      if (armed) {
        fn();
      }
    }
  } guard{give_back};
  // Under WRITE EXCLUSIVE - REGISTRANTS ONLY every registrant may write:
  // drop everyone else's registrations (stale paths of a dead holder, a
  // claim that lost its race) so that only this host can.
  RegisteredKeys keys = ctx.read_keys(lun, deadline);
  std::set<std::uint64_t> others(keys.keys.begin(), keys.keys.end());
  others.erase(m_key);
  for (std::uint64_t other : others) {
    ctx.reserve_out(lun, PrAction::preempt, k_pr_write_exclusive_registrants_only, m_key, other, deadline);
  }
  LunInfo now = read_lun(ctx, lun, false, deadline);
  if (!claims(now, volume)) {
    throw not_found("LUN " + std::to_string(lun) + " no longer carries volume \"" + volume + "\" (it has " +
                    describe_contents(now) + ")");
  }
  ClaimLabel label = *now.label.label;
  auto stamp = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  Holder h;
  h.host = m_config.host_id;
  h.key = m_key;
  h.since = label.holder && label.holder->key == m_key ? label.holder->since : stamp;
  h.beat = label.holder ? label.holder->beat + 1 : 1;
  h.beat_at = stamp;
  label.holder = h;
  label.sequence += 1;
  write_label(ctx, lun, *now.layout, label, deadline);
  guard.armed = false;
  result.layout = *now.layout;
  result.label = label;
  return result;
}

void ControlPlane::release(int lun, const std::string& volume, Deadline deadline) {
  ControlSession session(*this, deadline);
  IscsiContext& ctx = session.ctx();
  // Registering makes this session a registrant of our key: it may write
  // the label and PREEMPT.
  ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, m_key, deadline);
  ReservationInfo res = ctx.read_reservation(lun, deadline);
  bool ours = res.reserved && res.key == m_key;
  if (ours) {
    LunInfo info = read_lun(ctx, lun, false, deadline);
    if (claims(info, volume) && info.label.label->holder && info.label.label->holder->key == m_key) {
      // Cleared while still holding: after the release another host may
      // take the LUN and write its own holder.
      ClaimLabel label = *info.label.label;
      label.holder.reset();
      label.sequence += 1;
      write_label(ctx, lun, *info.layout, label, deadline);
    }
  }
  // PREEMPT of our own key: if the reservation is ours it moves to this
  // session (the nexus that took it may be long gone); either way every
  // other registration of our key (earlier sessions, the kernel's paths) is
  // removed, so this host keeps no write access.
  ctx.reserve_out(lun, PrAction::preempt, k_pr_write_exclusive_registrants_only, m_key, m_key, deadline);
  if (ours) {
    ctx.reserve_out(lun, PrAction::release, k_pr_write_exclusive_registrants_only, m_key, 0, deadline);
  }
  ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, 0, deadline);
}

HeartbeatResult ControlPlane::heartbeat(int lun, const std::string& volume, Deadline deadline) {
  ControlSession session(*this, deadline);
  IscsiContext& ctx = session.ctx();
  ReservationInfo res = ctx.read_reservation(lun, deadline);
  if (!res.reserved || res.key != m_key) {
    return res.reserved ? HeartbeatResult::lost : HeartbeatResult::not_held;
  }
  LunInfo info = read_lun(ctx, lun, false, deadline);
  if (!claims(info, volume) || !info.label.label->holder || info.label.label->holder->key != m_key) {
    return HeartbeatResult::not_held;
  }
  ClaimLabel label = *info.label.label;
  label.holder->beat += 1;
  label.holder->beat_at =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  label.sequence += 1;
  // A registrant of our key may write under WRITE EXCLUSIVE - REGISTRANTS
  // ONLY; this session registers for the write and leaves again (it is not
  // the holder, so leaving does not release anything).
  ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, m_key, deadline);
  HeartbeatResult result = HeartbeatResult::beaten;
  try {
    write_label(ctx, lun, *info.layout, label, deadline);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::conflict) {
      throw;
    }
    result = HeartbeatResult::lost;  // preempted between the read and the write
  }
  ctx.reserve_out(lun, PrAction::register_ignore, 0, 0, 0, deadline);
  return result;
}

}  // namespace holdfast::iscsi
