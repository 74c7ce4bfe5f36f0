// holdfast::ConnectionPool: the worker threads that serve the plugin socket's
// connections (an httplib::TaskQueue).
//
// cpp-httplib serves one connection per task, for the connection's whole
// life: a keep-alive connection that the engine leaves idle holds a worker
// until the keep-alive timeout. A fixed pool small enough to be cheap would
// therefore let a few idle connections and a few stuck Mounts (a dead NFS
// server, up to the Mount deadline) starve Get/List. This pool grows on
// demand instead: a connection always gets a thread unless `max_threads`
// are busy, and threads idle longer than `idle_timeout` exit, so an idle
// daemon holds only `min_threads`. Only beyond `max_threads` busy
// connections do new ones queue.
//
// Ownership: httplib's listen loop owns the queue object (it deletes it after
// shutdown()). The workers share the pool state with it, so a worker still
// running after a bounded shutdown gave up on it does not touch freed memory.
//
// Thread-safety: enqueue() is called by the accept thread, shutdown() once
// by the same thread when the listen loop ends; workers synchronise through
// one mutex.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include <httplib.h>

namespace holdfast {

struct ConnectionPoolLimits {
  std::size_t min_threads = 2;
  std::size_t max_threads = 128;
  std::chrono::milliseconds idle_timeout{60'000};
  // How long shutdown() waits for running connections (in-flight requests)
  // to end before it gives up on them.
  std::chrono::milliseconds drain_timeout{20'000};
};

class ConnectionPool : public httplib::TaskQueue {
 public:
  explicit ConnectionPool(ConnectionPoolLimits limits);
  ~ConnectionPool() override;
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  void enqueue(std::function<void()> fn) override;

  // Lets running and queued tasks finish, waiting at most drain_timeout.
  // Workers that are still busy after that are left running (detached); the
  // caller is expected to exit the process soon (see drained()).
  void shutdown() override;

  // After shutdown(): whether every task finished within the drain timeout.
  bool drained() const;

  // Threads currently alive / busy (for tests and metrics).
  std::size_t threads() const;
  std::size_t busy() const;

  struct State;

 private:
  std::shared_ptr<State> m_state;
};

}  // namespace holdfast
