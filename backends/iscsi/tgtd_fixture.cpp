#include "tgtd_fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <holdfast/fd.hpp>

#include "sys/process_runner.hpp"

namespace holdfast::iscsi::test {

namespace {

int free_tcp_port() {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (!s || ::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot bind a probe socket");
  }
  socklen_t len = sizeof addr;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

std::string control_socket(int control_port) {
  return "/var/run/tgtd/socket." + std::to_string(control_port);
}

}  // namespace

bool Tgtd::available() {
  return ::access("/usr/sbin/tgtd", X_OK) == 0 && ::access("/usr/sbin/tgtadm", X_OK) == 0;
}

Tgtd::Tgtd() {
  m_port = free_tcp_port();
  // tgtd's management "port" names a unix socket, /var/run/tgtd/socket.N:
  // pick one no other tgtd uses. tgtadm accepts -C values up to 32767 only,
  // so the pid-derived start stays below that (and the search wraps).
  for (int step = 0, start = 20000 + static_cast<int>(::getpid() % 12000);; ++step) {
    int candidate = 20000 + (start - 20000 + step) % 12768;
    if (::access(control_socket(candidate).c_str(), F_OK) != 0) {
      m_control_port = candidate;
      break;
    }
  }
  std::string log = m_dir.sub("tgtd.log");
  std::string control = std::to_string(m_control_port);
  std::string portal = "portal=127.0.0.1:" + std::to_string(m_port);
  std::vector<std::string> args = {"/usr/sbin/tgtd", "-f", "-C", control, "--iscsi", portal};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  Fd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  Fd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!log_fd || !null_fd) {
    throw std::runtime_error("cannot open tgtd's log");
  }
  // fork+exec rather than posix_spawn for PR_SET_PDEATHSIG: a test that
  // crashes must not leave its tgtd behind. Only async-signal-safe calls
  // between fork and exec.
  pid_t parent = ::getpid();
  m_pid = ::fork();
  if (m_pid < 0) {
    throw std::runtime_error(std::string("cannot fork tgtd: ") + std::strerror(errno));
  }
  if (m_pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    ::dup2(null_fd.get(), 0);
    ::dup2(log_fd.get(), 1);
    ::dup2(log_fd.get(), 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (true) {
    holdfast::ProcessRunner runner;
    auto r =
        runner.run({"/usr/sbin/tgtadm", "-C", control, "--lld", "iscsi", "--mode", "target", "--op", "show"},
                   Deadline::after(std::chrono::seconds(5)));
    if (r.exit_code == 0) {
      break;
    }
    if (std::chrono::steady_clock::now() > until) {
      kill();
      throw std::runtime_error("tgtd did not come up: " + r.err);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Tgtd::~Tgtd() {
  kill();
}

void Tgtd::kill() {
  if (m_pid > 0) {
    ::kill(-m_pid, SIGCONT);
    ::kill(-m_pid, SIGKILL);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    ::unlink(control_socket(m_control_port).c_str());
    ::unlink((control_socket(m_control_port) + ".lock").c_str());
  }
}

void Tgtd::freeze() {
  if (m_pid > 0) {
    ::kill(-m_pid, SIGSTOP);
  }
}

void Tgtd::thaw() {
  if (m_pid > 0) {
    ::kill(-m_pid, SIGCONT);
  }
}

std::string Tgtd::tgtadm(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/sbin/tgtadm", "-C", std::to_string(m_control_port), "--lld",
                                   "iscsi"};
  argv.insert(argv.end(), args.begin(), args.end());
  holdfast::ProcessRunner runner;
  auto r = runner.run(argv, Deadline::after(std::chrono::seconds(10)));
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) {
      cmd += a + " ";
    }
    throw std::runtime_error(cmd + "failed: " + r.err + r.out);
  }
  return r.out;
}

void Tgtd::add_target(int tid, const std::string& iqn) {
  tgtadm({"--mode", "target", "--op", "new", "--tid", std::to_string(tid), "--targetname", iqn});
  tgtadm({"--mode", "target", "--op", "bind", "--tid", std::to_string(tid), "--initiator-address", "ALL"});
}

std::string Tgtd::backing(int tid, int lun) const {
  return m_dir.sub("t" + std::to_string(tid) + "-lun" + std::to_string(lun) + ".img");
}

std::string Tgtd::add_lun(int tid, int lun, std::uint64_t size) {
  std::string path = backing(tid, lun);
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    throw std::runtime_error("cannot create " + path);
  }
  tgtadm({"--mode", "logicalunit", "--op", "new", "--tid", std::to_string(tid), "--lun", std::to_string(lun),
          "--backing-store", path});
  return path;
}

void Tgtd::add_account(const std::string& user, const std::string& password) {
  tgtadm({"--mode", "account", "--op", "new", "--user", user, "--password", password});
}

void Tgtd::bind_account(int tid, const std::string& user, bool outgoing) {
  std::vector<std::string> args = {"--mode", "account",           "--op",   "bind",
                                   "--tid",  std::to_string(tid), "--user", user};
  if (outgoing) {
    args.push_back("--outgoing");
  }
  tgtadm(args);
}

void Tgtd::unbind_all(int tid) {
  tgtadm({"--mode", "target", "--op", "unbind", "--tid", std::to_string(tid), "--initiator-address", "ALL"});
}

void Tgtd::write_backing(int tid, int lun, std::uint64_t offset, const std::vector<unsigned char>& data) {
  Fd fd(::open(backing(tid, lun).c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd || ::pwrite(fd.get(), data.data(), data.size(), static_cast<off_t>(offset)) !=
                 static_cast<ssize_t>(data.size())) {
    throw std::runtime_error("cannot write " + backing(tid, lun));
  }
}

std::vector<unsigned char> Tgtd::read_backing(int tid, int lun, std::uint64_t offset, std::size_t length) {
  std::vector<unsigned char> out(length);
  Fd fd(::open(backing(tid, lun).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd ||
      ::pread(fd.get(), out.data(), length, static_cast<off_t>(offset)) != static_cast<ssize_t>(length)) {
    throw std::runtime_error("cannot read " + backing(tid, lun));
  }
  return out;
}

}  // namespace holdfast::iscsi::test
