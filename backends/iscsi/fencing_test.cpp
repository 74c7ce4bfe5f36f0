// Unit tests of the fencing decisions: keys, ISIDs, heartbeat observations
// and the takeover policy.
#include "fencing.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace holdfast;
using namespace holdfast::iscsi;
using namespace std::chrono_literals;

namespace {

HolderView holder_a() {
  Holder h;
  h.host = "node-a";
  h.key = 0xA;
  h.since = parse_rfc3339("2026-11-28T01:00:00Z");
  h.beat = 5;
  h.beat_at = h.since;
  return HolderView{0xA, h};
}

}  // namespace

TEST_CASE("reservation keys are stable, non-zero and distinct per host and instance", "[fencing]") {
  auto a = reservation_key("node-a", "san", "iqn.x:a");
  CHECK(a == reservation_key("node-a", "san", "iqn.x:a"));
  CHECK(a != 0);
  CHECK(a != reservation_key("node-a", "san2", "iqn.x:a"));
  std::set<std::uint64_t> keys;
  for (int i = 0; i < 2000; ++i) {
    keys.insert(reservation_key("node-" + std::to_string(i), "san",
                                "iqn.2024-01.io.holdfast:node-" + std::to_string(i)));
  }
  CHECK(keys.size() == 2000);
  CHECK(reservation_key("ab", "c", "d") != reservation_key("a", "bc", "d"));
}

TEST_CASE("the heartbeat tracker restarts its clock whenever the beat or the holder changes", "[fencing]") {
  HeartbeatTracker t;
  auto t0 = std::chrono::steady_clock::time_point(100s);
  CHECK(t.observe(3, 0xA, 5, t0).unchanged_since == t0);
  CHECK(t.observe(3, 0xA, 5, t0 + 10s).unchanged_since == t0);
  CHECK(t.observe(3, 0xA, 6, t0 + 20s).unchanged_since == t0 + 20s);
  CHECK(t.observe(3, 0xB, 6, t0 + 30s).unchanged_since == t0 + 30s);
  CHECK(t.observe(3, 0xB, std::nullopt, t0 + 40s).unchanged_since == t0 + 40s);
  CHECK(t.observe(4, 0xB, std::nullopt, t0 + 50s).unchanged_since == t0 + 50s);
  t.forget(3);
  CHECK(t.observe(3, 0xB, std::nullopt, t0 + 60s).unchanged_since == t0 + 60s);
}

TEST_CASE("holders are named from the label only when its key matches the reservation", "[fencing]") {
  auto h = holder_a();
  CHECK_THAT(describe_holder(h), Catch::Contains("host \"node-a\""));
  CHECK_THAT(describe_holder(h), Catch::Contains("000000000000000a"));
  h.key = 0xB;
  CHECK_THAT(describe_holder(h), Catch::Contains("unknown host"));
  CHECK_THAT(describe_holder(h), Catch::Contains("000000000000000b"));
}

TEST_CASE("takeover decisions per policy", "[fencing]") {
  auto now = std::chrono::steady_clock::time_point(1000s);
  auto holder = holder_a();
  HeartbeatObservation fresh{0xA, 5, now};
  HeartbeatObservation stale{0xA, 5, now - 120s};
  HeartbeatObservation other_key{0xB, 5, now - 120s};
  const std::string file = "/var/lib/holdfast/backends/san/takeover/vol";

  SECTION("never refuses, even with an operator file") {
    TakeoverPolicy p{TakeoverMode::never, {}};
    auto d = decide_takeover(p, holder, stale, true, now, file);
    CHECK_FALSE(d.allowed);
    CHECK_THAT(d.reason, Catch::Contains("\"never\""));
  }
  SECTION("operator needs the file, and says how to create it") {
    TakeoverPolicy p{TakeoverMode::operator_, {}};
    auto no = decide_takeover(p, holder, stale, false, now, file);
    CHECK_FALSE(no.allowed);
    CHECK_THAT(no.reason, Catch::Contains("touch " + file));
    CHECK(decide_takeover(p, holder, fresh, true, now, file).allowed);
  }
  SECTION("grace waits for a heartbeat standing still for the whole period") {
    TakeoverPolicy p{TakeoverMode::grace, 60s};
    auto alive = decide_takeover(p, holder, fresh, false, now, file);
    CHECK_FALSE(alive.allowed);
    CHECK_THAT(alive.reason, Catch::Contains("looks alive"));
    CHECK(decide_takeover(p, holder, stale, false, now, file).allowed);
    HeartbeatObservation almost{0xA, 5, now - 59s};
    CHECK_FALSE(decide_takeover(p, holder, almost, false, now, file).allowed);
    // An observation of another holder does not count for this one.
    CHECK_FALSE(decide_takeover(p, holder, other_key, false, now, file).allowed);
    // The operator file short-cuts the wait.
    CHECK(decide_takeover(p, holder, fresh, true, now, file).allowed);
  }
}
