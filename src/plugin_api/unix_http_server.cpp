#include "plugin_api/unix_http_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

namespace holdfast {

namespace {

// httplib deletes the task queue it gets from new_task_queue when its listen
// loop ends; the pool itself belongs to the server, so this forwards.
class PoolHandle : public httplib::TaskQueue {
 public:
  explicit PoolHandle(ConnectionPool& pool) : m_pool(pool) {}
  void enqueue(std::function<void()> fn) override { m_pool.enqueue(std::move(fn)); }
  void shutdown() override { m_pool.shutdown(); }

 private:
  ConnectionPool& m_pool;
};

// One accepted connection as httplib sees it. Input is read in 16 KiB
// chunks (httplib reads request lines byte by byte); output is collected and
// sent with one send() when the reply is complete, so the client wakes once
// per reply. Pending output is also flushed before blocking on input
// (an interim "100 Continue" must reach the client before the body comes).
//
// Reading one request is bounded as a whole, in time by the read timeout
// (not per recv(): a client trickling one byte per second would otherwise
// hold its connection thread for as long as it likes) and in bytes by
// `read_limit` (httplib caps the body and each header line, but not the
// number of header lines: endless headers would grow memory for the whole
// read timeout).
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int fd, std::chrono::seconds read_timeout, std::chrono::seconds write_timeout,
                   std::size_t read_limit)
      : m_fd(fd), m_read_timeout(read_timeout), m_read_limit(read_limit) {
    timeval snd{static_cast<time_t>(write_timeout.count()), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
  }

  // Starts the time and byte budgets of the next request.
  void start_request() {
    m_read_deadline = std::chrono::steady_clock::now() + m_read_timeout;
    m_read_bytes = 0;
  }

  bool is_readable() const override {
    if (has_buffered_input()) {
      return true;
    }
    pollfd p{m_fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }
  bool is_writable() const override { return m_write_ok; }

  ssize_t read(char* ptr, size_t size) override {
    if (!has_buffered_input()) {
      if (!flush()) {
        return -1;
      }
      if (m_read_bytes >= m_read_limit || !wait_readable()) {
        return -1;  // the request's byte or time budget is spent
      }
      ssize_t n = 0;
      do {
        n = ::recv(m_fd, m_in.data(), m_in.size(), 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) {
        return n;  // EOF, or an error
      }
      m_in_begin = 0;
      m_in_end = static_cast<size_t>(n);
      m_read_bytes += m_in_end;
    }
    size_t count = std::min(size, m_in_end - m_in_begin);
    std::memcpy(ptr, m_in.data() + m_in_begin, count);
    m_in_begin += count;
    return static_cast<ssize_t>(count);
  }

  ssize_t write(const char* ptr, size_t size) override {
    m_out.append(ptr, size);
    return static_cast<ssize_t>(size);
  }

  // No addresses on a unix socket; not asking the kernel saves two system
  // calls per request.
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;
  }
  socket_t socket() const override { return m_fd; }

  bool has_buffered_input() const { return m_in_begin < m_in_end; }

  // Waits for input until the request's read deadline; false when it passed.
  bool wait_readable() const {
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(m_read_deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return false;
      }
      pollfd p{m_fd, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) {
        continue;
      }
      return ready > 0;  // data, EOF or an error: recv() tells which
    }
  }
  // Drops input read past the end of the request just handled: httplib
  // does not read the body of a GET or OPTIONS, and its own streams (one
  // per request) drop such bytes too; they must not be parsed as the next
  // request. The engine never pipelines requests.
  void discard_buffered_input() { m_in_begin = m_in_end = 0; }

  // Sends the collected output. False once a send failed (client gone,
  // SO_SNDTIMEO expired).
  bool flush() {
    size_t sent = 0;
    while (m_write_ok && sent < m_out.size()) {
      ssize_t n = ::send(m_fd, m_out.data() + sent, m_out.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        m_write_ok = false;
        break;
      }
      sent += static_cast<size_t>(n);
    }
    if (m_out.capacity() > 64 * 1024) {
      std::string().swap(m_out);  // a List reply: do not keep its buffer per connection
    } else {
      m_out.clear();
    }
    return m_write_ok;
  }

 private:
  int m_fd;
  std::chrono::seconds m_read_timeout;
  std::chrono::steady_clock::time_point m_read_deadline{};
  std::size_t m_read_limit;
  std::size_t m_read_bytes = 0;
  std::array<char, 16384> m_in{};
  size_t m_in_begin = 0;
  size_t m_in_end = 0;
  std::string m_out;
  bool m_write_ok = true;
};

std::string in_quotes(std::string_view text) {
  std::string out = "\"";
  out += text;
  out += '"';
  return out;
}

std::string socket_address(int fd) {
  sockaddr_un addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || addr.sun_family != AF_UNIX) {
    return {};
  }
  auto offset = offsetof(sockaddr_un, sun_path);
  if (len <= offset) {
    return {};
  }
  return std::string(addr.sun_path, len - offset);
}

// Creates `dir` and missing parents with mode 0755 (exactly, whatever the
// umask), like systemd's DirectoryMode=0755 for /run/docker/plugins.
void make_directories(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    return;
  }
  if (errno != ENOENT) {
    throw from_errno("cannot access directory " + in_quotes(dir.string()), errno);
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    make_directories(dir.parent_path());
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throw from_errno("cannot create directory " + in_quotes(dir.string()), errno);
  }
  if (::chmod(dir.c_str(), 0755) != 0) {
    throw from_errno("cannot set mode 0755 on " + in_quotes(dir.string()), errno);
  }
}

// The socket's directory decides who can replace the socket: it must belong
// to root or to us and not be writable by others (a sticky directory such as
// /tmp is acceptable: others cannot remove our file there).
void check_directory(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    throw from_errno("cannot access socket directory " + in_quotes(dir.string()), errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    throw invalid_argument("socket directory " + in_quotes(dir.string()) + " is not a directory");
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    throw permission_denied("socket directory " + in_quotes(dir.string()) + " is owned by uid " +
                            std::to_string(st.st_uid) + ", not by root or by this process; refusing to use it");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    throw permission_denied("socket directory " + in_quotes(dir.string()) +
                            " is writable by other users; refusing to use it");
  }
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    throw invalid_argument("socket path " + in_quotes(path) + " must be 1 to " +
                           std::to_string(sizeof(addr.sun_path) - 1) + " bytes long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

bool socket_is_live(const std::string& path) {
  Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe) {
    throw from_errno("cannot create a socket", errno);
  }
  sockaddr_un addr = unix_address(path);
  if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    return true;
  }
  int err = errno;
  if (err == ECONNREFUSED || err == ENOENT) {
    return false;
  }
  if (err == EAGAIN || err == EINPROGRESS) {
    return true;  // backlog full: someone listens
  }
  throw from_errno("cannot probe existing socket " + in_quotes(path), err);
}

int activated_unix_socket() {
  int count = sd_listen_fds(1);
  if (count < 0) {
    throw from_errno("systemd socket activation", -count);
  }
  if (count == 0) {
    return -1;
  }
  if (count != 1) {
    throw invalid_argument("systemd passed " + std::to_string(count) +
                           " sockets (LISTEN_FDS); holdfastd expects exactly one AF_UNIX stream socket");
  }
  int fd = SD_LISTEN_FDS_START;
  int is_unix = sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0);
  if (is_unix < 0) {
    throw from_errno("systemd socket activation: checking fd " + std::to_string(fd), -is_unix);
  }
  if (is_unix == 0) {
    throw invalid_argument("the socket passed by systemd (LISTEN_FDS) is not a listening AF_UNIX stream socket");
  }
  return fd;
}

UnixHttpServer::UnixHttpServer(UnixHttpServerOptions options)
    : m_options(std::move(options)), m_pool(m_options.pool), m_wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  set_keep_alive_max_count(m_options.keep_alive_max_requests);
  set_keep_alive_timeout(static_cast<time_t>(m_options.keep_alive_timeout.count()));
  set_read_timeout(static_cast<time_t>(m_options.read_timeout.count()), 0);
  set_write_timeout(static_cast<time_t>(m_options.write_timeout.count()), 0);
  set_payload_max_length(m_options.payload_max_bytes);
  // Makes the accept loop poll, so that it notices stop_serving() even when
  // the listening socket is systemd's and must not be shut down.
  set_idle_interval(0, 200'000);
  new_task_queue = [this] { return new PoolHandle(m_pool); };
  // Every reply on these sockets is one small JSON document, useless in
  // pieces; httplib would otherwise slice it for a Range header (found by
  // fuzz_http_request). RFC 9110 lets a server ignore Range, so drop it.
  // The Request is httplib's own non-const object, handed over as const.
  set_pre_routing_handler([](const httplib::Request& request, httplib::Response&) {
    const_cast<httplib::Request&>(request).ranges.clear();
    return HandlerResponse::Unhandled;
  });
  if (!m_wake) {
    throw from_errno("eventfd", errno);
  }
}

UnixHttpServer::~UnixHttpServer() {
  stop_serving();
}

void UnixHttpServer::open() {
  if (svr_sock_ != INVALID_SOCKET) {
    throw internal_error("plugin socket already open");
  }
  int activated = m_options.accept_socket_activation ? activated_unix_socket() : -1;
  if (activated >= 0) {
    m_activated = true;
    std::string address = socket_address(activated);
    std::string path = address.c_str();  // up to the NUL (empty for an abstract socket)
    if (!path.empty() && path != m_options.socket_path) {
      spdlog::warn("systemd passed a socket bound to {} while the configured socket is {}; using systemd's", path,
                   m_options.socket_path);
    }
    svr_sock_ = activated;
    spdlog::info("serving the {} on the socket passed by systemd ({})", m_options.role, path);
    return;
  }
  bind_socket();
  spdlog::info("serving the {} on {}", m_options.role, m_options.socket_path);
}

void UnixHttpServer::bind_socket() {
  const std::string& path = m_options.socket_path;
  sockaddr_un addr = unix_address(path);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  make_directories(dir);
  check_directory(dir);

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    // Whatever it is, a file another user put there is theirs: never
    // removed, never served through.
    if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
      throw permission_denied(in_quotes(path) + " exists and is owned by uid " + std::to_string(st.st_uid) +
                              ", not by root or by this process; refusing to replace it");
    }
    if (!S_ISSOCK(st.st_mode)) {
      throw conflict(in_quotes(path) + " exists and is not a socket; refusing to replace it");
    }
    if (socket_is_live(path)) {
      throw conflict("another process is already serving on " + in_quotes(path) +
                     " (is another holdfastd running?)");
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      throw from_errno("cannot remove stale socket " + in_quotes(path), errno);
    }
    spdlog::info("removed stale socket {}", path);
  } else if (errno != ENOENT) {
    throw from_errno("cannot access " + in_quotes(path), errno);
  }

  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) {
    throw from_errno("cannot create a unix socket", errno);
  }
  // The umask makes bind() create the file 0600 from the start, so it is
  // never reachable by other users, not even between bind and chmod. umask
  // is process-wide: open() runs before other threads create files.
  mode_t previous = ::umask(0177);
  int rc = ::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int bind_errno = errno;
  ::umask(previous);
  if (rc != 0) {
    throw from_errno("cannot bind " + in_quotes(path), bind_errno);
  }
  {
    std::lock_guard lock(m_file_mutex);
    m_created_file = true;
    if (::lstat(path.c_str(), &st) == 0) {
      m_file_dev = st.st_dev;
      m_file_ino = st.st_ino;
    }
  }
  if (::chmod(path.c_str(), 0600) != 0) {
    int err = errno;
    remove_socket_file();
    throw from_errno("cannot set mode 0600 on " + in_quotes(path), err);
  }
  if (::listen(sock.get(), SOMAXCONN) != 0) {
    int err = errno;
    remove_socket_file();
    throw from_errno("cannot listen on " + in_quotes(path), err);
  }
  svr_sock_ = sock.release();
}

bool UnixHttpServer::serve() {
  if (svr_sock_ == INVALID_SOCKET) {
    // Stopped before serving (or never opened): nothing to drain.
    remove_socket_file();
    return true;
  }
  listen_after_bind();
  remove_socket_file();
  return m_pool.drained();
}

void UnixHttpServer::stop_serving() {
  socket_t sock = svr_sock_.exchange(INVALID_SOCKET);
  if (sock != INVALID_SOCKET) {
    // Our own socket is shut down so that pending and new connections fail
    // at once. systemd's is only closed: its backlog belongs to the next
    // instance, and shutdown() would break systemd's copy too.
    if (!m_activated) {
      ::shutdown(sock, SHUT_RDWR);
    }
    ::close(sock);
  }
  // Idle keep-alive connections wake up and close; busy ones close after
  // writing their reply. The eventfd stays readable, so every waiter sees it.
  m_stopping = true;
  std::uint64_t one = 1;
  (void)!::write(m_wake.get(), &one, sizeof(one));
  // The engine must not find a socket nobody answers on (it would stall
  // on it, guides/docker-engine-contract.md 2.1).
  remove_socket_file();
}

bool UnixHttpServer::wait_for_request(int fd, std::chrono::milliseconds idle_limit) const {
  pollfd fds[2] = {{fd, POLLIN, 0}, {m_wake.get(), POLLIN, 0}};
  const auto timeout = static_cast<int>(idle_limit.count());
  for (;;) {
    int ready = ::poll(fds, 2, timeout);
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0 || (fds[1].revents & POLLIN) != 0) {
      return false;  // idle too long, or stopping
    }
    // Data, or a hang-up that the next read reports.
    return true;
  }
}

// Replaces httplib's per-connection loop (a private virtual, so overriding
// it is legal) to serve each request with one read and one write system
// call where httplib makes about ten, to wait for the next keep-alive
// request without its 10 ms polling, and to notice stop_serving() while
// idle. Requests are still parsed and routed by httplib (process_request).
bool UnixHttpServer::process_and_close_socket(socket_t sock) {
  Fd connection(sock);
  ConnectionStream stream(sock, m_options.read_timeout, m_options.write_timeout,
                          m_options.payload_max_bytes + m_options.header_max_bytes);
  bool ok = true;
  // A client sends its first request right after connecting (the engine's
  // HTTP client dials for a request): a connection that stays silent gets
  // the read timeout, not the long keep-alive idle time, so that silent
  // connections cannot hold the pool's threads for minutes.
  bool first = true;
  for (std::size_t left = m_options.keep_alive_max_requests; left > 0 && !m_stopping; --left) {
    if (!wait_for_request(sock, first ? m_options.read_timeout : m_options.keep_alive_timeout)) {
      break;
    }
    first = false;
    stream.start_request();
    bool connection_closed = false;
    m_in_flight.fetch_add(1);
    ok = process_request(stream, left == 1 || m_stopping, connection_closed, nullptr);
    ok = stream.flush() && ok;
    stream.discard_buffered_input();
    m_in_flight.fetch_sub(1);
    if (!ok || connection_closed) {
      break;
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  return ok;
}

void UnixHttpServer::remove_socket_file() {
  std::lock_guard lock(m_file_mutex);
  if (!m_created_file) {
    return;
  }
  m_created_file = false;
  const std::string& path = m_options.socket_path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return;
  }
  if (st.st_dev != m_file_dev || st.st_ino != m_file_ino) {
    spdlog::warn("{} was replaced by another file; leaving it", path);
    return;
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    spdlog::warn("cannot remove socket {}: {}", path, std::strerror(errno));
  }
}

}  // namespace holdfast
