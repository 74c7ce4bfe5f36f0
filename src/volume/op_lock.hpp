// holdfast::OpLock: the per-volume operation lock of the volume manager.
//
// Not a std::timed_mutex on purpose: when a backend call overruns its
// deadline, the caller returns `timeout` but the call goes on in a worker
// thread, and the lock must stay held until that worker has finished (and
// compensated, e.g. detached a late attach). So the lock is released by
// whichever thread ends the operation, which a mutex forbids. It also
// remembers which operation holds it since when, for the `busy` message.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace holdfast {

class OpLock {
 public:
  using Clock = std::chrono::steady_clock;

  struct Holder {
    std::string operation;
    Clock::duration held_for{};
  };

  // Takes the lock for `operation`, waiting at most `wait`. Returns false on
  // timeout and then describes the current holder in `holder`.
  bool acquire(std::chrono::milliseconds wait, const std::string& operation, Holder& holder);
  // Releases it; may be called from any thread.
  void release();

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_held = false;
  std::string m_operation;
  Clock::time_point m_since{};
};

}  // namespace holdfast
