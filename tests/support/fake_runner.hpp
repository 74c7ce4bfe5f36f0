// holdfast::test::FakeRunner: a CommandRunner for unit tests that records
// every argv and answers with scripted results instead of running anything.
//
// Scripting: `on({"lvs", "--reportformat"}, result)` answers every argv that
// starts with that prefix (longest matching prefix wins; among equal lengths
// the latest added wins); `on_call(fn)` installs a callback consulted first
// (return nullopt to fall through to the prefixes). `fail_to_start(prefix,
// error)` makes run() throw as the real runner does for a missing program.
// Unmatched argv: exit 0, empty output.
//
// Thread-safe: run() may be called from many threads; the callback is called
// without the internal lock held, so it may block (to simulate a slow
// command) and may call back into the FakeRunner.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <holdfast/error.hpp>
#include <holdfast/host.hpp>

namespace holdfast::test {

class FakeRunner : public CommandRunner {
 public:
  struct Call {
    std::vector<std::string> argv;
    std::string stdin_data;
  };
  using Callback = std::function<std::optional<CommandResult>(const std::vector<std::string>& argv,
                                                               const std::string& stdin_data,
                                                               Deadline deadline)>;

  CommandResult run(const std::vector<std::string>& argv, Deadline deadline,
                    const std::string& stdin_data = {}) override;

  // Answers argv starting with `prefix` with `result`.
  void on(std::vector<std::string> prefix, CommandResult result);
  // Shorthand: exit code plus stdout (and optionally stderr).
  void on(std::vector<std::string> prefix, int exit_code, std::string out = {},
          std::string err = {});
  // Makes argv starting with `prefix` throw `error` (cannot start).
  void fail_to_start(std::vector<std::string> prefix, Error error);
  // Consulted before the prefix table.
  void on_call(Callback callback);

  // Every call so far, in order.
  std::vector<Call> calls() const;
  // Only the argv vectors.
  std::vector<std::vector<std::string>> argvs() const;
  // How many calls started with `prefix`.
  std::size_t count(const std::vector<std::string>& prefix) const;
  void clear_calls();
  // Removes all scripts and the callback (keeps the call log).
  void reset_scripts();

  // "a b c" for messages in test failures.
  static std::string join(const std::vector<std::string>& argv);

 private:
  struct Script {
    std::vector<std::string> prefix;
    std::optional<CommandResult> result;
    std::optional<Error> start_error;
  };

  mutable std::mutex m_mutex;
  std::vector<Script> m_scripts;
  Callback m_callback;
  std::vector<Call> m_calls;
};

}  // namespace holdfast::test
