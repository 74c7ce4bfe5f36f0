#include "ganesha_server.hpp"

#include <arpa/inet.h>
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
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <holdfast/fd.hpp>

#include "nfs_context.hpp"

namespace holdfast::test {

namespace {

using namespace std::chrono_literals;

int free_port() {
  Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (!sock || ::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw std::runtime_error("cannot bind a probe socket on 127.0.0.1");
  }
  socklen_t len = sizeof(addr);
  ::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

bool port_open(int port) {
  Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return sock && ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

// fork + exec rather than posix_spawn: the child asks to be killed when
// the test process dies (PR_SET_PDEATHSIG), so a crashed or timed-out
// test never leaves a server running.
pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error(fmt::format("cannot fork for {}: {}", argv[0], std::strerror(errno)));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// SIGTERM, then SIGKILL after `grace`; reaps the child.
void terminate(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) {
    return;
  }
  ::kill(pid, SIGCONT);
  ::kill(pid, SIGTERM);
  auto until = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return;
    }
    std::this_thread::sleep_for(50ms);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

void make_dir(const std::string& path, mode_t mode, uid_t uid = 0, gid_t gid = 0) {
  ::mkdir(path.c_str(), mode);
  if (::chmod(path.c_str(), mode) != 0 || ::chown(path.c_str(), uid, gid) != 0) {
    throw std::runtime_error("cannot prepare " + path);
  }
}

}  // namespace

std::string GaneshaServer::binary() {
  for (const char* path : {"/usr/bin/ganesha.nfsd", "/usr/sbin/ganesha.nfsd", "/usr/local/bin/ganesha.nfsd"}) {
    if (::access(path, X_OK) == 0) {
      return path;
    }
  }
  return {};
}

GaneshaServer::GaneshaServer(std::string work_dir) : m_work_dir(std::move(work_dir)) {
  if (binary().empty()) {
    throw std::runtime_error("ganesha.nfsd is not installed");
  }
  // The work dir is private (0700); ganesha serves as root, clients never
  // see it.
  make_dir(export_dir(), 0755);
  make_dir(squashed_dir(), 0755);
  // The anonuid workflow: the base holding volumes belongs to the anonymous
  // user the squashed root becomes.
  make_dir(anon_dir(), 0755, k_anon_id, k_anon_id);
  make_dir(m_work_dir + "/recovery", 0700);
  m_nfs_port = free_port();
  do {
    m_mount_port = free_port();
  } while (m_mount_port == m_nfs_port);

  if (!port_open(111)) {
    m_rpcbind_pid = spawn({"rpcbind", "-f", "-w"});
    for (int i = 0; i < 100 && !port_open(111); ++i) {
      std::this_thread::sleep_for(50ms);
    }
  }
  write_config();
  start();
}

GaneshaServer::~GaneshaServer() {
  stop();
  if (m_rpcbind_pid > 0) {
    terminate(m_rpcbind_pid, 5s);
  }
}

void GaneshaServer::write_config() const {
  std::ofstream out(m_work_dir + "/ganesha.conf");
  out << fmt::format(R"(NFS_CORE_PARAM {{
  Bind_Addr = 127.0.0.1;
  NFS_Port = {nfs};
  MNT_Port = {mnt};
  Protocols = 3, 4;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  mount_path_pseudo = true;
}}
NFSV4 {{
  Graceless = true;
  RecoveryBackend = fs;
  RecoveryRoot = {dir}/recovery;
  Only_Numeric_Owners = true;
}}
EXPORT {{
  Export_Id = 1; Path = {dir}/export; Pseudo = /export;
  Protocols = 3, 4; Access_Type = RW; Squash = no_root_squash; SecType = sys;
  FSAL {{ Name = VFS; }}
}}
EXPORT {{
  Export_Id = 2; Path = {dir}/squashed; Pseudo = /squashed;
  Protocols = 3, 4; Access_Type = RW; Squash = root_squash; SecType = sys;
  FSAL {{ Name = VFS; }}
}}
EXPORT {{
  Export_Id = 3; Path = {dir}/anon; Pseudo = /anon;
  Protocols = 3, 4; Access_Type = RW; Squash = root_squash; SecType = sys;
  Anonymous_Uid = {anon}; Anonymous_Gid = {anon};
  FSAL {{ Name = VFS; }}
}}
LOG {{ Default_Log_Level = WARN; }}
)",
                     fmt::arg("nfs", m_nfs_port), fmt::arg("mnt", m_mount_port), fmt::arg("dir", m_work_dir),
                     fmt::arg("anon", k_anon_id));
  if (!out) {
    throw std::runtime_error("cannot write the ganesha config");
  }
}

void GaneshaServer::start() {
  if (m_pid > 0) {
    return;
  }
  m_pid = spawn({binary(), "-F", "-L", m_work_dir + "/ganesha.log", "-f", m_work_dir + "/ganesha.conf", "-p",
                 m_work_dir + "/ganesha.pid"});
  m_paused = false;
  wait_ready();
}

void GaneshaServer::stop() {
  if (m_pid > 0) {
    terminate(m_pid, 10s);
    m_pid = -1;
    m_paused = false;
  }
}

void GaneshaServer::pause() {
  if (m_pid > 0 && !m_paused) {
    ::kill(m_pid, SIGSTOP);
    m_paused = true;
  }
}

void GaneshaServer::resume() {
  if (m_pid > 0 && m_paused) {
    ::kill(m_pid, SIGCONT);
    m_paused = false;
  }
}

void GaneshaServer::wait_ready() const {
  auto until = std::chrono::steady_clock::now() + 60s;
  std::string last;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      throw std::runtime_error("ganesha.nfsd exited during start-up; log:\n" + log_tail());
    }
    if (port_open(m_nfs_port) && port_open(m_mount_port)) {
      try {
        for (int version : {3, 4}) {
          nfs::NfsTarget target;
          target.server = "127.0.0.1";
          target.export_path = "/export";
          target.version = version;
          target.nfs_port = m_nfs_port;
          target.mount_port = m_mount_port;
          nfs::NfsContext probe(target, Deadline::after(5s));
          (void)probe.lstat("/", Deadline::after(5s));
        }
        return;
      } catch (const Error& e) {
        last = e.what();
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  throw std::runtime_error("ganesha.nfsd did not answer within 60s (" + last + "); log:\n" + log_tail());
}

std::string GaneshaServer::log_tail(std::size_t bytes) const {
  std::ifstream in(m_work_dir + "/ganesha.log");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

}  // namespace holdfast::test
