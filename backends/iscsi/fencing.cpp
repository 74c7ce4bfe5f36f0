#include "fencing.hpp"

namespace holdfast::iscsi {

namespace {

std::uint64_t fnv1a(std::string_view domain, std::initializer_list<std::string_view> parts) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;  // separator, so ("ab","c") != ("a","bc")
    h *= 0x100000001b3ULL;
  };
  mix(domain);
  for (auto p : parts) {
    mix(p);
  }
  // Final avalanche (splitmix64) so that similar host names give unrelated keys.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::string seconds_text(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
}

}  // namespace

std::uint64_t reservation_key(std::string_view host_id, std::string_view instance,
                              std::string_view initiator_name) {
  std::uint64_t key = fnv1a("holdfast-pr-key", {host_id, instance, initiator_name});
  return key == 0 ? 1 : key;
}

HeartbeatObservation HeartbeatTracker::observe(int lun, std::uint64_t key, std::optional<std::uint64_t> beat,
                                               std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(m_mutex);
  auto it = m_seen.find(lun);
  if (it == m_seen.end() || it->second.key != key || it->second.beat != beat) {
    HeartbeatObservation fresh;
    fresh.key = key;
    fresh.beat = beat;
    fresh.unchanged_since = now;
    m_seen[lun] = fresh;
    return fresh;
  }
  return it->second;
}

void HeartbeatTracker::forget(int lun) {
  std::lock_guard lock(m_mutex);
  m_seen.erase(lun);
}

std::string describe_holder(const HolderView& holder) {
  if (holder.labelled && holder.labelled->key == holder.key) {
    return "host \"" + holder.labelled->host + "\" (reservation key 0x" + key_hex(holder.key) +
           ", attached since " + format_rfc3339(holder.labelled->since) + ")";
  }
  return "an unknown host (reservation key 0x" + key_hex(holder.key) + ", not recorded in the label)";
}

TakeoverDecision decide_takeover(const TakeoverPolicy& policy, const HolderView& holder,
                                 const HeartbeatObservation& observation, bool operator_file,
                                 std::chrono::steady_clock::time_point now,
                                 const std::string& takeover_file) {
  TakeoverDecision d;
  switch (policy.mode) {
    case TakeoverMode::never:
      d.reason =
          "the takeover policy is \"never\": detach it on that host, or clear the reservation by hand "
          "(docs/backends/iscsi.md, runbook \"holder is dead\")";
      return d;
    case TakeoverMode::operator_:
      if (operator_file) {
        d.allowed = true;
        d.reason = "an operator asked for the takeover (" + takeover_file + ")";
      } else {
        d.reason =
            "the takeover policy is \"operator\": once that host is known to be down, run "
            "`touch " +
            takeover_file + "` and mount again";
      }
      return d;
    case TakeoverMode::grace: {
      if (operator_file) {
        d.allowed = true;
        d.reason = "an operator asked for the takeover (" + takeover_file + ")";
        return d;
      }
      auto still = now - observation.unchanged_since;
      bool same_holder = observation.key == holder.key;
      if (same_holder && still >= policy.grace) {
        d.allowed = true;
        d.reason = "its heartbeat has not moved for " + seconds_text(still) + " (grace " +
                   policy.text().substr(6) + ")";
        return d;
      }
      std::string seen = observation.beat
                             ? "heartbeat " + std::to_string(*observation.beat) + " unchanged for " +
                                   seconds_text(same_holder ? still : std::chrono::seconds(0))
                             : "no heartbeat recorded, watched for " +
                                   seconds_text(same_holder ? still : std::chrono::seconds(0));
      d.reason = "the takeover policy is \"" + policy.text() + "\" and the holder looks alive (" + seen +
                 "); a takeover is allowed once its heartbeat stands still for the grace period";
      return d;
    }
  }
  return d;
}

}  // namespace holdfast::iscsi
