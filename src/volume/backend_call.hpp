// holdfast::Workers and holdfast::BackendCall: run a backend call on its own
// thread so that its deadline is enforced even when the backend ignores it.
//
// The volume manager starts each backend call (provision, attach, ...) with
// BackendCall<T>::start() and waits for it until the call's Deadline. If the
// call overruns, the manager gives up on it (give_up()), answers `timeout`,
// and hands the call a handler (hand_over()) that deals with the late
// outcome when the backend finally returns: a late successful attach is
// detached, a late detach clears the leftover mountpoint, and the handler
// owns the volume's operation lock until then, so nothing else touches the
// volume while its abandoned call is still running.
//
// Why a thread per call and not a bounded pool: a pool whose threads are all
// stuck in a hung server would queue every later call behind them, turning
// one dead NFS server into timeouts for every volume. Threads are cheap
// next to a backend call (tens of microseconds against an fsync).
//
// Workers counts the threads it started; wait_idle() (used by the manager's
// destructor) returns when all have finished, so nothing a worker touches is
// destroyed under it. Each thread holds the counter by shared_ptr, so the
// counter outlives the last thread's final notify.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <exception>
#include <string>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include <holdfast/deadline.hpp>
#include <holdfast/error.hpp>

namespace holdfast {

class Workers {
 public:
  Workers() : m_state(std::make_shared<State>()) {}

  // Runs `task` on a new detached thread. Throws internal_error when no
  // thread can be started. `task` (and everything it captured) is destroyed
  // on the worker thread before the thread counts as finished.
  template <class F>
  void spawn(F task) {
    auto state = m_state;
    {
      std::lock_guard lock(state->mutex);
      ++state->active;
    }
    try {
      std::thread([state, task = std::move(task)]() mutable {
        {
          F local = std::move(task);
          local();
        }
        std::lock_guard lock(state->mutex);
        --state->active;
        state->cv.notify_all();
      }).detach();
    } catch (const std::system_error& e) {
      std::lock_guard lock(state->mutex);
      --state->active;
      state->cv.notify_all();
      throw internal_error(std::string("cannot start a worker thread: ") + e.what());
    }
  }

  // Blocks until every thread started by spawn() has finished.
  void wait_idle() {
    std::unique_lock lock(m_state->mutex);
    m_state->cv.wait(lock, [&] { return m_state->active == 0; });
  }

  std::size_t active() const {
    std::lock_guard lock(m_state->mutex);
    return m_state->active;
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::condition_variable cv;
    std::size_t active = 0;
  };
  std::shared_ptr<State> m_state;
};

// One backend call in flight. T is the call's result (use a small struct
// for calls that return nothing).
template <class T>
class BackendCall {
 public:
  // Runs with the late outcome: `value` is set on success, `error` otherwise.
  // Errors cross threads as kind + message text and are rebuilt on the
  // consuming thread: neither an exception_ptr nor a copied Error (whose
  // runtime_error message is a shared, refcounted string) is shared.
  // Runs on the worker thread (or on the caller's, when the call finished
  // between give_up() and hand_over()). Must not throw; anything it throws
  // is logged and dropped.
  using LateHandler = std::function<void(std::optional<T>& value, const Error* error)>;

  static std::shared_ptr<BackendCall> start(Workers& workers, std::function<T()> fn) {
    auto call = std::shared_ptr<BackendCall>(new BackendCall());
    workers.spawn([call, fn = std::move(fn)]() { call->run(fn); });
    return call;
  }

  // Waits until the call finished or `deadline` passed; true if finished.
  bool wait(Deadline deadline) {
    std::unique_lock lock(m_mutex);
    return m_cv.wait_until(lock, deadline.when(), [&] { return m_done; });
  }

  // After wait() returned false: abandons the call. Returns false if it
  // finished in the meantime after all (then use result() as usual).
  bool give_up() {
    std::lock_guard lock(m_mutex);
    if (m_done) {
      return false;
    }
    m_abandoned = true;
    return true;
  }

  // The result of a finished call that was not given up; rethrows the
  // exception the call ended with.
  T result() {
    std::lock_guard lock(m_mutex);
    if (m_error) {
      throw m_error->rebuild();
    }
    return std::move(*m_value);
  }

  // After give_up(): `handler` deals with the late outcome. It runs when the
  // call finishes, or right now if it already has. The caller first makes
  // the volume's state consistent for the "it failed" view, then hands over:
  // so the handler never races with the caller.
  void hand_over(LateHandler handler) {
    {
      std::lock_guard lock(m_mutex);
      if (!m_done) {
        m_handler = std::move(handler);
        return;
      }
    }
    invoke(handler, m_value, m_error);
  }

 private:
  struct CarriedError {
    ErrorKind kind;
    std::string message;
    Error rebuild() const { return Error(kind, std::string(message.data(), message.size())); }
  };
  static CarriedError carry(const Error& e) { return {e.kind(), std::string(e.what())}; }

  BackendCall() = default;

  void run(const std::function<T()>& fn) {
    std::optional<T> value;
    std::optional<CarriedError> error;
    // Not swallowed: carried to the waiting caller (or the late handler),
    // which rethrows or reports it. Everything a backend throws must cross
    // this thread boundary; what is not a holdfast::Error is a bug in the
    // backend and becomes `internal`.
    try {
      value.emplace(fn());
    } catch (const Error& e) {
      error = carry(e);
    } catch (const std::exception& e) {
      error = CarriedError{ErrorKind::internal, std::string("unexpected exception: ") + e.what()};
    } catch (...) {
      error = CarriedError{ErrorKind::internal, "unexpected exception"};
    }
    LateHandler handler;
    {
      std::lock_guard lock(m_mutex);
      m_value = std::move(value);
      m_error = error;
      m_done = true;
      handler = std::move(m_handler);
      m_cv.notify_all();
    }
    if (handler) {
      invoke(handler, m_value, m_error);
    }
  }

  static void invoke(LateHandler& handler, std::optional<T>& value, const std::optional<CarriedError>& carried) {
    // Cleanup path: a late handler has nobody to report to but the log.
    try {
      std::optional<Error> error;
      if (carried) {
        error.emplace(carried->rebuild());
      }
      handler(value, error ? &*error : nullptr);
    } catch (const std::exception& e) {
      spdlog::error("late backend call handler failed: {}", e.what());
    } catch (...) {
      spdlog::error("late backend call handler failed with an unknown exception");
    }
  }

  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_done = false;
  bool m_abandoned = false;
  std::optional<T> m_value;
  std::optional<CarriedError> m_error;
  LateHandler m_handler;
};

}  // namespace holdfast
