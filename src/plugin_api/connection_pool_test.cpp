// ConnectionPool: grows on demand so that blocked tasks never starve new
// ones (unit: threads only).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "plugin_api/connection_pool.hpp"

using namespace std::chrono_literals;
using holdfast::ConnectionPool;
using holdfast::ConnectionPoolLimits;

namespace {

// A latch tasks wait at until released.
class Latch {
 public:
  void wait() {
    std::unique_lock lock(m_mutex);
    ++m_waiting;
    m_cv.notify_all();
    m_cv.wait(lock, [&] { return m_open; });
  }
  void open() {
    std::lock_guard lock(m_mutex);
    m_open = true;
    m_cv.notify_all();
  }
  bool wait_waiting(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    return m_cv.wait_for(lock, timeout, [&] { return m_waiting >= n; });
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  int m_waiting = 0;
  bool m_open = false;
};

bool eventually(const std::function<bool()>& check, std::chrono::milliseconds timeout = 5s) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (check()) {
      return true;
    }
    std::this_thread::sleep_for(1ms);
  }
  return check();
}

}  // namespace

TEST_CASE("a new task runs while earlier tasks are blocked", "[unit][pool]") {
  ConnectionPoolLimits limits;
  limits.max_threads = 64;
  ConnectionPool pool(limits);
  Latch stuck;
  for (int i = 0; i < 40; ++i) {
    pool.enqueue([&] { stuck.wait(); });
  }
  REQUIRE(stuck.wait_waiting(40, 5s));
  std::atomic<bool> ran{false};
  pool.enqueue([&] { ran = true; });
  CHECK(eventually([&] { return ran.load(); }));
  CHECK(pool.threads() == 41);
  stuck.open();
  pool.shutdown();
  CHECK(pool.drained());
  CHECK(pool.threads() == 0);
}

TEST_CASE("beyond max_threads tasks queue and still all run", "[unit][pool]") {
  ConnectionPoolLimits limits;
  limits.max_threads = 3;
  ConnectionPool pool(limits);
  Latch gate;
  std::atomic<int> done{0};
  for (int i = 0; i < 10; ++i) {
    pool.enqueue([&] {
      gate.wait();
      ++done;
    });
  }
  REQUIRE(gate.wait_waiting(3, 5s));
  CHECK(pool.threads() == 3);
  gate.open();
  CHECK(eventually([&] { return done.load() == 10; }));
  pool.shutdown();
  CHECK(pool.drained());
}

TEST_CASE("idle threads above the minimum exit", "[unit][pool]") {
  ConnectionPoolLimits limits;
  limits.min_threads = 1;
  limits.idle_timeout = 50ms;
  ConnectionPool pool(limits);
  Latch gate;
  for (int i = 0; i < 5; ++i) {
    pool.enqueue([&] { gate.wait(); });
  }
  REQUIRE(gate.wait_waiting(5, 5s));
  CHECK(pool.threads() == 5);
  gate.open();
  CHECK(eventually([&] { return pool.threads() == 1; }));
  pool.shutdown();
}

TEST_CASE("shutdown gives up on a stuck task after the drain timeout", "[unit][pool]") {
  ConnectionPoolLimits limits;
  limits.drain_timeout = 100ms;
  Latch stuck;  // declared first: outlives the pool and its task
  auto pool = std::make_unique<ConnectionPool>(limits);
  pool->enqueue([&] { stuck.wait(); });
  REQUIRE(stuck.wait_waiting(1, 5s));
  pool->shutdown();
  CHECK_FALSE(pool->drained());
  CHECK(pool->busy() == 1);
  stuck.open();
  CHECK(eventually([&] { return pool->threads() == 0; }));
}
