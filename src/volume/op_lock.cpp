#include "volume/op_lock.hpp"

namespace holdfast {

bool OpLock::acquire(std::chrono::milliseconds wait, const std::string& operation, Holder& holder) {
  std::unique_lock lock(m_mutex);
  if (!m_cv.wait_for(lock, wait, [&] { return !m_held; })) {
    holder.operation = m_operation;
    holder.held_for = Clock::now() - m_since;
    return false;
  }
  m_held = true;
  m_operation = operation;
  m_since = Clock::now();
  return true;
}

void OpLock::release() {
  {
    std::lock_guard lock(m_mutex);
    m_held = false;
    m_operation.clear();
  }
  // All waiters re-check; one takes it. (notify_one could pick a waiter
  // whose wait is just timing out, leaving the others asleep on a free lock.)
  m_cv.notify_all();
}

}  // namespace holdfast
