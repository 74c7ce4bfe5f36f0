#include "support/daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <holdfast/fd.hpp>

#include "support/socket_client.hpp"

extern char** environ;

namespace holdfast::test {

namespace {

int status_code(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) {
    throw std::runtime_error("cannot write " + path);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The environment for the child: ours without anything that would make it
// think it runs under systemd.
std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view item(*entry);
    if (item.starts_with("LISTEN_") || item.starts_with("NOTIFY_SOCKET=")) {
      continue;
    }
    env.emplace_back(item);
  }
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

// Async-signal-safe decimal formatting into `out` (at least 21 bytes).
void format_pid(pid_t pid, char* out) {
  char digits[24];
  int n = 0;
  auto value = static_cast<unsigned long>(pid);
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 && n < 23);
  for (int i = 0; i < n; ++i) {
    out[i] = digits[n - 1 - i];
  }
  out[n] = '\0';
}

// fork + execve. Between the two, only async-signal-safe calls: the test
// process has threads. Returns the child's pid.
pid_t spawn_process(std::vector<std::string> argv, std::vector<std::string> env, int out_fd, int err_fd,
                    int listen_fd) {
  std::vector<char*> argv_ptrs = pointers(argv);
  // LISTEN_PID must be the child's own pid, known only after fork: its
  // digits are written into this preallocated entry in the child.
  std::string listen_pid_entry;
  if (listen_fd >= 0) {
    env.emplace_back("LISTEN_FDS=1");
    env.emplace_back("LISTEN_FDNAMES=holdfast.socket");
    listen_pid_entry = "LISTEN_PID=" + std::string(24, '\0');
  }
  std::vector<char*> env_ptrs = pointers(env);
  if (listen_fd >= 0) {
    env_ptrs.insert(env_ptrs.end() - 1, listen_pid_entry.data());
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) {
      ::signal(sig, SIG_DFL);
    }
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
      ::dup2(null_fd, 0);
    }
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    if (listen_fd >= 0) {
      if (listen_fd == 3) {
        int flags = ::fcntl(3, F_GETFD);
        ::fcntl(3, F_SETFD, flags & ~FD_CLOEXEC);
      } else {
        ::dup2(listen_fd, 3);
      }
      format_pid(::getpid(), listen_pid_entry.data() + std::strlen("LISTEN_PID="));
    }
    ::execve(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

std::string DaemonProcess::binary_path() {
  if (const char* explicit_path = std::getenv("HOLDFAST_DAEMON"); explicit_path != nullptr && *explicit_path != '\0') {
    return explicit_path;
  }
  return std::string(HOLDFAST_BINARY_DIR) + "/src/daemon/holdfastd";
}

DaemonProcess::DaemonProcess(std::string root, DaemonSettings settings)
    : m_root(std::move(root)),
      m_settings(std::move(settings)),
      m_config_path(m_root + "/holdfast.yaml"),
      m_socket_path(m_root + "/run/plugin.sock"),
      m_admin_socket_path(m_root + "/run/admin.sock"),
      m_state_dir(m_root + "/state"),
      m_mount_root(m_root + "/mounts"),
      m_log_path(m_root + "/daemon.log") {
  std::string yaml = m_settings.config_yaml;
  if (yaml.empty()) {
    yaml = "backends:\n"
           "  local:\n"
           "    type: local\n"
           "    base_dir: " + m_root + "/volumes\n";
  }
  write_file(m_config_path, yaml);
}

DaemonProcess::~DaemonProcess() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGKILL);
    (void)reap(true);
  }
}

std::vector<std::string> DaemonProcess::argv() const {
  std::vector<std::string> args = {binary_path(),  "--config",     m_config_path, "--socket",
                                   m_socket_path,  "--admin-socket", m_admin_socket_path,
                                   "--state-dir",  m_state_dir,   "--mount-root",
                                   m_mount_root,   "--log-level", m_settings.log_level};
  args.insert(args.end(), m_settings.extra_args.begin(), m_settings.extra_args.end());
  return args;
}

void DaemonProcess::spawn(int listen_fd) {
  if (m_pid > 0) {
    throw std::runtime_error("holdfastd already running (pid " + std::to_string(m_pid) + ")");
  }
  Fd log(::open(m_log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) {
    throw std::runtime_error("cannot open " + m_log_path + ": " + std::strerror(errno));
  }
  std::string marker = "----- test: starting holdfastd -----\n";
  (void)!::write(log.get(), marker.data(), marker.size());
  m_pid = spawn_process(argv(), child_environment(), log.get(), log.get(), listen_fd);
}

bool DaemonProcess::wait_ready(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (!running()) {
      return false;
    }
    if (::access(m_socket_path.c_str(), F_OK) == 0) {
      SocketClient client(m_socket_path, std::chrono::seconds(5));
      auto reply = client.try_post("/Plugin.Activate", "");
      if (reply && reply->status == 200) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void DaemonProcess::start(std::chrono::milliseconds timeout) {
  spawn();
  if (!wait_ready(timeout)) {
    bool alive = running();
    if (alive) {
      kill();
    }
    throw std::runtime_error(std::string("holdfastd ") + (alive ? "did not answer in time" : "exited") +
                             "; its log:\n" + log());
  }
}

std::optional<int> DaemonProcess::reap(bool block) {
  if (m_pid <= 0) {
    return std::nullopt;
  }
  int status = 0;
  pid_t done = 0;
  do {
    done = ::waitpid(m_pid, &status, block ? 0 : WNOHANG);
  } while (done < 0 && errno == EINTR);
  if (done == m_pid) {
    m_pid = -1;
    return status_code(status);
  }
  if (done < 0) {
    m_pid = -1;  // not our child any more
    return -1;
  }
  return std::nullopt;
}

bool DaemonProcess::running() {
  if (m_pid <= 0) {
    return false;
  }
  return !reap(false).has_value();
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (m_pid <= 0) {
      return std::nullopt;
    }
    if (auto code = reap(false)) {
      return code;
    }
    if (std::chrono::steady_clock::now() >= until) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

int DaemonProcess::stop(std::chrono::milliseconds timeout) {
  if (m_pid <= 0) {
    throw std::runtime_error("holdfastd is not running");
  }
  ::kill(m_pid, SIGTERM);
  if (auto code = wait_exit(timeout)) {
    return *code;
  }
  ::kill(m_pid, SIGKILL);
  auto code = reap(true);
  return code.value_or(-1);
}

void DaemonProcess::kill() {
  if (m_pid <= 0) {
    return;
  }
  ::kill(m_pid, SIGKILL);
  (void)reap(true);
}

void DaemonProcess::restart(bool hard) {
  if (hard) {
    kill();
  } else if (m_pid > 0) {
    (void)stop();
  }
  start();
}

std::string DaemonProcess::log() const {
  return read_file(m_log_path);
}

CommandOutput run_holdfastd(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {DaemonProcess::binary_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, timeout);
}

CommandOutput run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  char out_template[] = "/tmp/holdfastd-out-XXXXXX";
  char err_template[] = "/tmp/holdfastd-err-XXXXXX";
  Fd out(::mkstemp(out_template));
  Fd err(::mkstemp(err_template));
  if (!out || !err) {
    throw std::runtime_error(std::string("mkstemp: ") + std::strerror(errno));
  }
  pid_t pid = spawn_process(argv, child_environment(), out.get(), err.get(), -1);

  CommandOutput result;
  auto until = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      result.exit_code = status_code(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.exit_code = status_code(status);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  result.out = read_file(out_template);
  result.err = read_file(err_template);
  ::unlink(out_template);
  ::unlink(err_template);
  return result;
}

}  // namespace holdfast::test
