// holdfast::ProcessRunner: the real CommandRunner. Runs a program from an
// argv vector (posix_spawn, never a shell) in its own process group, with a
// minimal clean environment (PATH=<trusted PATH>, LANG=C), cwd "/", stdin
// fed from a string, stdout and stderr captured through pipes up to a cap
// (the excess is read and dropped so the program never blocks), and the
// whole run bounded by the Deadline: at the deadline the process group gets
// SIGKILL, the child is reaped, and the result has timed_out = true.
//
// No descriptor of the daemon leaks into the child: every fd is O_CLOEXEC
// and the spawn closes everything above 2 as well.
//
// Thread-safe: run() keeps no shared state and may be called concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <holdfast/host.hpp>

namespace holdfast {

// Where program names are looked up; the daemon's own PATH is never used.
inline constexpr const char* k_trusted_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

class ProcessRunner : public CommandRunner {
 public:
  static constexpr std::size_t k_default_output_cap = 1024 * 1024;

  // `output_cap`: bytes kept of stdout and of stderr each.
  explicit ProcessRunner(std::size_t output_cap = k_default_output_cap);

  // Throws holdfast::Error when the program cannot be started: not_found for
  // a missing program ("program \"x\" not found in ..."), invalid_argument
  // for an empty argv or a relative path, otherwise classified from errno.
  CommandResult run(const std::vector<std::string>& argv, Deadline deadline,
                    const std::string& stdin_data = {}) override;

  // The absolute path that argv[0] = `program` would run, or throws as run().
  static std::string resolve_program(const std::string& program);

 private:
  std::size_t m_output_cap;
};

}  // namespace holdfast
