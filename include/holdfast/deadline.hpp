// holdfast::Deadline: a point on the monotonic clock by which an operation
// must finish. Every backend call and every external command receives one;
// the volume manager derives them from the configured budgets, which are
// below Docker's own timeouts (Create/Mount 120 s, the rest 60 s).
#pragma once

#include <chrono>

namespace holdfast {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  static Deadline after(std::chrono::milliseconds budget) { return Deadline(Clock::now() + budget); }
  static Deadline at(Clock::time_point when) { return Deadline(when); }

  Clock::time_point when() const { return m_when; }
  bool expired() const { return Clock::now() >= m_when; }

  // Time left, never negative.
  std::chrono::milliseconds remaining() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(m_when - Clock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds(0);
  }

  // The earlier of this deadline and `budget` from now: for a sub-step that
  // must not use the whole remaining time (a probe, a login attempt).
  Deadline capped(std::chrono::milliseconds budget) const {
    auto other = Clock::now() + budget;
    return Deadline(other < m_when ? other : m_when);
  }

 private:
  explicit Deadline(Clock::time_point when) : m_when(when) {}
  Clock::time_point m_when;
};

}  // namespace holdfast
