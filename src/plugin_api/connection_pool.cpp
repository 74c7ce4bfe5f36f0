#include "plugin_api/connection_pool.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

namespace holdfast {

struct ConnectionPool::State {
  explicit State(ConnectionPoolLimits l) : limits(l) {}

  ConnectionPoolLimits limits;
  mutable std::mutex mutex;
  std::condition_variable work;     // a task was queued, or shutdown
  std::condition_variable stopped;  // a worker exited
  std::deque<std::function<void()>> tasks;
  std::size_t threads = 0;
  std::size_t idle = 0;
  bool shutting_down = false;
  bool drained = true;
};

namespace {

// A worker's loop: run tasks; exit when idle for too long (above the
// minimum) or when the pool shuts down with nothing left to run.
void worker_loop(const std::shared_ptr<ConnectionPool::State>& state) {
  std::unique_lock lock(state->mutex);
  for (;;) {
    if (state->tasks.empty()) {
      if (state->shutting_down) {
        break;
      }
      ++state->idle;
      bool woke = state->work.wait_for(lock, state->limits.idle_timeout, [&] {
        return !state->tasks.empty() || state->shutting_down;
      });
      --state->idle;
      if (!woke && state->threads > state->limits.min_threads) {
        break;
      }
      continue;
    }
    std::function<void()> task = std::move(state->tasks.front());
    state->tasks.pop_front();
    lock.unlock();
    task();
    // Destroy the task's captures outside the lock.
    task = nullptr;
    lock.lock();
  }
  --state->threads;
  state->stopped.notify_all();
}

}  // namespace

ConnectionPool::ConnectionPool(ConnectionPoolLimits limits) : m_state(std::make_shared<State>(limits)) {
  if (m_state->limits.max_threads == 0) {
    m_state->limits.max_threads = 1;
  }
  if (m_state->limits.min_threads > m_state->limits.max_threads) {
    m_state->limits.min_threads = m_state->limits.max_threads;
  }
}

ConnectionPool::~ConnectionPool() {
  // httplib calls shutdown() before deleting the queue; this covers a queue
  // destroyed without it (tests).
  bool need_shutdown = false;
  {
    std::lock_guard lock(m_state->mutex);
    need_shutdown = !m_state->shutting_down;
  }
  if (need_shutdown) {
    shutdown();
  }
}

void ConnectionPool::enqueue(std::function<void()> fn) {
  bool spawn = false;
  {
    std::lock_guard lock(m_state->mutex);
    m_state->tasks.push_back(std::move(fn));
    // Every queued task needs an idle worker; start one unless at the cap.
    if (m_state->idle < m_state->tasks.size() && m_state->threads < m_state->limits.max_threads) {
      ++m_state->threads;
      spawn = true;
    }
  }
  if (spawn) {
    try {
      std::thread([state = m_state] { worker_loop(state); }).detach();
    } catch (const std::system_error& e) {
      // Out of threads: the task stays queued for an existing worker.
      std::lock_guard lock(m_state->mutex);
      --m_state->threads;
      spdlog::warn("cannot start a connection thread ({}); the connection waits for a free one", e.what());
    }
  }
  m_state->work.notify_one();
}

void ConnectionPool::shutdown() {
  std::unique_lock lock(m_state->mutex);
  if (m_state->shutting_down) {
    return;
  }
  m_state->shutting_down = true;
  m_state->work.notify_all();
  // Queued tasks still run: a queued connection sees the closed listening
  // socket and closes at once without reading.
  bool done = m_state->stopped.wait_for(lock, m_state->limits.drain_timeout,
                                        [&] { return m_state->threads == 0; });
  m_state->drained = done;
  if (!done) {
    spdlog::warn("{} connection(s) still busy after {} ms; not waiting for them", m_state->threads - m_state->idle,
                 m_state->limits.drain_timeout.count());
  }
}

bool ConnectionPool::drained() const {
  std::lock_guard lock(m_state->mutex);
  return m_state->drained;
}

std::size_t ConnectionPool::threads() const {
  std::lock_guard lock(m_state->mutex);
  return m_state->threads;
}

std::size_t ConnectionPool::busy() const {
  std::lock_guard lock(m_state->mutex);
  return m_state->threads - m_state->idle;
}

}  // namespace holdfast
