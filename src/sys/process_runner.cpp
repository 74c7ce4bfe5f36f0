#include "sys/process_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <system_error>
#include <thread>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

namespace holdfast {

namespace {

using namespace std::chrono_literals;

// After the direct child exits, how long we keep reading output that a
// grandchild (a daemon the command started) may hold open.
constexpr auto k_drain_grace = 200ms;
// After SIGKILL, how long we wait to reap before leaving it to a thread
// (a process stuck in uninterruptible sleep cannot die until the kernel lets it).
constexpr auto k_reap_grace = 1000ms;

// Moves `fd` above 2 so that the spawn's dup2 onto 0/1/2 is never a no-op
// that would keep FD_CLOEXEC set (possible when the daemon runs with a
// closed stdin).
Fd above_stdio(Fd fd) {
  if (fd.get() > 2) {
    return fd;
  }
  Fd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
  if (!moved) {
    throw from_errno("fcntl(F_DUPFD_CLOEXEC)", errno);
  }
  return moved;
}

struct Pipe {
  Fd read;
  Fd write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw from_errno("pipe2", errno);
  }
  Pipe p{Fd(fds[0]), Fd(fds[1])};
  p.read = above_stdio(std::move(p.read));
  p.write = above_stdio(std::move(p.write));
  return p;
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    throw from_errno("fcntl(O_NONBLOCK)", errno);
  }
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// RAII for the posix_spawn attribute objects.
struct SpawnAttr {
  posix_spawnattr_t attr;
  SpawnAttr() { ::posix_spawnattr_init(&attr); }
  ~SpawnAttr() { ::posix_spawnattr_destroy(&attr); }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
};
struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { ::posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { ::posix_spawn_file_actions_destroy(&actions); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

void check_spawn_setup(int rc, const char* what) {
  if (rc != 0) {
    throw from_errno(what, rc);
  }
}

// Appends what is readable on `fd` to `into` (up to `cap`, the rest is
// dropped). Returns false at end of file.
bool drain(int fd, std::string& into, std::size_t cap) {
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      if (into.size() < cap) {
        into.append(buf, std::min(static_cast<std::size_t>(n), cap - into.size()));
      }
      continue;
    }
    if (n == 0) {
      return false;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return true;
    }
    return false;  // EIO and the like: treat as closed
  }
}

// Blocks SIGPIPE in this thread for the lifetime of the object, so that a
// child that exits without reading its stdin gives EPIPE instead of killing
// the daemon. A SIGPIPE raised meanwhile is thread-directed and consumed
// before the mask is restored.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    m_was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &m_old);
  }
  ~SigpipeBlock() {
    if (m_got_epipe && !m_was_pending) {
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;
  void saw_epipe() { m_got_epipe = true; }

 private:
  sigset_t m_old{};
  bool m_was_pending = false;
  bool m_got_epipe = false;
};

int decode_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return -1;  // killed by a signal
}

// Waits up to `grace` for `pid` to exit and reaps it. Returns the raw
// status, or nullopt when it did not exit in time.
std::optional<int> reap_within(pid_t pid, int pidfd, std::chrono::milliseconds grace) {
  auto until = std::chrono::steady_clock::now() + grace;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return status;
    }
    if (r < 0 && errno != EINTR) {
      return -1;  // ECHILD: someone else reaped it (SIGCHLD ignored)
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= until) {
      return std::nullopt;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::max<long long>(1, left.count())));
    } else {
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(left, 10ms));
    }
  }
}

}  // namespace

ProcessRunner::ProcessRunner(std::size_t output_cap) : m_output_cap(output_cap) {}

std::string ProcessRunner::resolve_program(const std::string& program) {
  if (program.empty()) {
    throw invalid_argument("cannot run a program with an empty name");
  }
  if (program.find('/') != std::string::npos) {
    if (program.front() != '/') {
      throw invalid_argument("program \"" + program + "\" must be an absolute path or a bare name");
    }
    if (!is_executable_file(program)) {
      struct stat st {};
      if (::stat(program.c_str(), &st) != 0 && errno == ENOENT) {
        throw not_found("program \"" + program + "\" not found");
      }
      throw permission_denied("program \"" + program + "\" is not an executable file");
    }
    return program;
  }
  std::string_view dirs(k_trusted_path);
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    std::string candidate(dirs.substr(0, colon));
    candidate += '/';
    candidate += program;
    if (is_executable_file(candidate)) {
      return candidate;
    }
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
  }
  throw not_found("program \"" + program + "\" not found (searched " + std::string(k_trusted_path) +
                  "); is its package installed?");
}

CommandResult ProcessRunner::run(const std::vector<std::string>& argv, Deadline deadline,
                                 const std::string& stdin_data) {
  if (argv.empty()) {
    throw invalid_argument("cannot run an empty command line");
  }
  std::string program = resolve_program(argv[0]);

  Pipe in = make_pipe();
  Pipe out = make_pipe();
  Pipe err = make_pipe();

  SpawnActions fa;
  check_spawn_setup(::posix_spawn_file_actions_adddup2(&fa.actions, in.read.get(), 0), "posix_spawn dup2");
  check_spawn_setup(::posix_spawn_file_actions_adddup2(&fa.actions, out.write.get(), 1), "posix_spawn dup2");
  check_spawn_setup(::posix_spawn_file_actions_adddup2(&fa.actions, err.write.get(), 2), "posix_spawn dup2");
  // Belt and braces: even an fd another thread opened without O_CLOEXEC
  // (a library) never reaches the child.
  check_spawn_setup(::posix_spawn_file_actions_addclosefrom_np(&fa.actions, 3), "posix_spawn closefrom");
  // Never hold a mount point busy through the child's cwd.
  check_spawn_setup(::posix_spawn_file_actions_addchdir_np(&fa.actions, "/"), "posix_spawn chdir");

  SpawnAttr attr;
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  check_spawn_setup(::posix_spawnattr_setpgroup(&attr.attr, 0), "posix_spawn setpgroup");
  // The daemon's blocked and ignored signals (SIGPIPE, ...) must not be inherited.
  check_spawn_setup(::posix_spawnattr_setsigmask(&attr.attr, &none), "posix_spawn sigmask");
  check_spawn_setup(::posix_spawnattr_setsigdefault(&attr.attr, &all), "posix_spawn sigdefault");
  check_spawn_setup(::posix_spawnattr_setflags(&attr.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                               POSIX_SPAWN_SETSIGDEF),
                    "posix_spawn flags");

  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (const auto& a : argv) {
    c_argv.push_back(const_cast<char*>(a.c_str()));
  }
  c_argv.push_back(nullptr);
  std::string env_path = std::string("PATH=") + k_trusted_path;
  std::string env_lang = "LANG=C";
  char* c_env[] = {env_path.data(), env_lang.data(), nullptr};

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &fa.actions, &attr.attr, c_argv.data(), c_env);
  if (rc != 0) {
    if (rc == ENOENT) {
      throw not_found("program \"" + argv[0] + "\" not found");
    }
    throw from_errno("cannot start " + program, rc);
  }

  // The child has its copies; ours must close so that EOF arrives.
  in.read.reset();
  out.write.reset();
  err.write.reset();

  // glibc 2.36's <sys/pidfd.h> lacks extern "C", so the syscall is made
  // directly. May fail on kernels before 5.3: then the loop ticks instead.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  SigpipeBlock sigpipe_block;

  CommandResult result;
  std::size_t stdin_pos = 0;
  if (stdin_data.empty()) {
    in.write.reset();
  } else {
    set_nonblocking(in.write.get());
  }
  set_nonblocking(out.read.get());
  set_nonblocking(err.read.get());

  bool exited = false;
  int status = 0;
  std::optional<Deadline::Clock::time_point> exited_at;

  while (true) {
    if (!exited) {
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) {
        exited = true;
        exited_at = Deadline::Clock::now();
        if (r < 0) {
          status = -1;  // reaped elsewhere (SIGCHLD ignored): status unknown
        }
        pidfd.reset();
      }
    }
    if (exited) {
      bool pipes_open = out.read || err.read;
      // Past the grace a grandchild (a daemon the command started) holds
      // the pipes; what we have is the output.
      if (!pipes_open || Deadline::Clock::now() - *exited_at >= k_drain_grace || deadline.expired()) {
        break;
      }
    } else if (deadline.expired()) {
      ::kill(-pid, SIGKILL);
      result.timed_out = true;
      break;
    }

    pollfd fds[4];
    nfds_t n = 0;
    int i_out = -1;
    int i_err = -1;
    int i_in = -1;
    if (out.read) {
      i_out = static_cast<int>(n);
      fds[n++] = pollfd{out.read.get(), POLLIN, 0};
    }
    if (err.read) {
      i_err = static_cast<int>(n);
      fds[n++] = pollfd{err.read.get(), POLLIN, 0};
    }
    if (in.write) {
      i_in = static_cast<int>(n);
      fds[n++] = pollfd{in.write.get(), POLLOUT, 0};
    }
    if (pidfd) {
      fds[n++] = pollfd{pidfd.get(), POLLIN, 0};
    }
    long long wait_ms = deadline.remaining().count() + 1;
    if (exited) {
      wait_ms = std::min<long long>(wait_ms, 20);
    } else if (!pidfd) {
      wait_ms = std::min<long long>(wait_ms, 10);  // no pidfd: notice the exit by polling
    }
    int ready = ::poll(fds, n, static_cast<int>(std::max<long long>(0, wait_ms)));
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      ::kill(-pid, SIGKILL);
      reap_within(pid, -1, k_reap_grace);
      throw from_errno("poll", errno);
    }
    if (i_out >= 0 && fds[i_out].revents != 0 && !drain(out.read.get(), result.out, m_output_cap)) {
      out.read.reset();
    }
    if (i_err >= 0 && fds[i_err].revents != 0 && !drain(err.read.get(), result.err, m_output_cap)) {
      err.read.reset();
    }
    if (i_in >= 0 && fds[i_in].revents != 0) {
      ssize_t w = ::write(in.write.get(), stdin_data.data() + stdin_pos, stdin_data.size() - stdin_pos);
      if (w > 0) {
        stdin_pos += static_cast<std::size_t>(w);
        if (stdin_pos == stdin_data.size()) {
          in.write.reset();  // EOF for the child
        }
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        if (errno == EPIPE) {
          sigpipe_block.saw_epipe();
        }
        in.write.reset();  // the child does not read stdin: fine
      }
    }
  }

  if (result.timed_out) {
    // The group was killed; collect what it wrote before dying, then reap.
    if (out.read) {
      drain(out.read.get(), result.out, m_output_cap);
    }
    if (err.read) {
      drain(err.read.get(), result.err, m_output_cap);
    }
    auto reaped = reap_within(pid, pidfd.get(), k_reap_grace);
    if (!reaped) {
      // Stuck in the kernel: reap it whenever it finally dies so that it
      // does not stay a zombie.
      try {
        std::thread([pid] {
          int ignored = 0;
          while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
          }
        }).detach();
      } catch (const std::system_error&) {
        // No thread to spare: the process stays a zombie until it dies and
        // the daemon exits; the caller still gets its timeout.
      }
    }
    result.exit_code = -1;
    return result;
  }
  result.exit_code = decode_status(status);
  return result;
}

}  // namespace holdfast
