// Unit tests of the deadline machinery: a call that overruns is abandoned,
// its late outcome reaches the handler exactly once, and the per-volume
// operation lock can be released from another thread.
#include "volume/backend_call.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "volume/op_lock.hpp"

using namespace holdfast;
using namespace std::chrono_literals;

TEST_CASE("[Success] a call that finishes in time returns its value or its error", "[unit]") {
  Workers workers;
  auto ok = BackendCall<int>::start(workers, [] { return 42; });
  REQUIRE(ok->wait(Deadline::after(5s)));
  CHECK(ok->result() == 42);

  auto bad = BackendCall<int>::start(workers, []() -> int { throw unavailable("server down"); });
  REQUIRE(bad->wait(Deadline::after(5s)));
  try {
    bad->result();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::unavailable);
    CHECK(std::string(e.what()) == "server down");
  }
  workers.wait_idle();
  CHECK(workers.active() == 0);
}

TEST_CASE("[Error] an overrunning call is abandoned, its late outcome goes to the handler", "[unit]") {
  Workers workers;
  std::promise<void> release;
  auto released = release.get_future().share();
  auto call = BackendCall<int>::start(workers, [released] {
    released.wait();
    return 7;
  });
  CHECK_FALSE(call->wait(Deadline::after(50ms)));
  REQUIRE(call->give_up());
  std::atomic<int> seen{0};
  std::atomic<int> runs{0};
  call->hand_over([&](std::optional<int>& value, const Error* error) {
    ++runs;
    seen = value ? *value : -1;
    CHECK_FALSE(error);
  });
  CHECK(runs == 0);  // still running
  CHECK(workers.active() == 1);
  release.set_value();
  workers.wait_idle();
  CHECK(runs == 1);
  CHECK(seen == 7);
}

TEST_CASE("[Success] a call that finished before hand_over runs the handler inline", "[unit]") {
  Workers workers;
  std::promise<void> release;
  auto released = release.get_future().share();
  auto call = BackendCall<int>::start(workers, [released]() -> int {
    released.wait();
    throw timeout("library timeout");
  });
  CHECK_FALSE(call->wait(Deadline::after(20ms)));
  REQUIRE(call->give_up());
  release.set_value();
  workers.wait_idle();  // finished, nobody handed over yet
  bool ran = false;
  call->hand_over([&](std::optional<int>& value, const Error* error) {
    ran = true;
    CHECK_FALSE(value);
    REQUIRE(error);
    CHECK(error->kind() == ErrorKind::timeout);
  });
  CHECK(ran);
}

TEST_CASE("[Success] give_up after completion reports the call as finished", "[unit]") {
  Workers workers;
  auto call = BackendCall<int>::start(workers, [] { return 1; });
  workers.wait_idle();
  // The deadline passed "just as" it finished: not abandoned, result usable.
  CHECK_FALSE(call->give_up());
  CHECK(call->result() == 1);
}

TEST_CASE("[Success] op lock: bounded wait, holder described, release from another thread", "[unit]") {
  OpLock lock;
  OpLock::Holder holder;
  REQUIRE(lock.acquire(1s, "mount", holder));
  CHECK_FALSE(lock.acquire(30ms, "remove", holder));
  CHECK(holder.operation == "mount");
  CHECK(holder.held_for >= 30ms);

  auto waiter = std::async(std::launch::async, [&] {
    OpLock::Holder h;
    return lock.acquire(5s, "unmount", h);
  });
  CHECK(waiter.wait_for(20ms) == std::future_status::timeout);
  std::thread([&] { lock.release(); }).join();  // released by a worker thread
  CHECK(waiter.get());
  lock.release();
}

TEST_CASE("[Error] a backend throwing something else than holdfast::Error gives `internal`", "[unit]") {
  Workers workers;
  auto call = BackendCall<int>::start(workers, []() -> int { throw std::out_of_range("map::at"); });
  REQUIRE(call->wait(Deadline::after(5s)));
  try {
    call->result();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::internal);
    CHECK(std::string(e.what()) == "unexpected exception: map::at");
  }
}
