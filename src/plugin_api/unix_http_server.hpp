// holdfast::UnixHttpServer: cpp-httplib's server on an AF_UNIX stream socket,
// the transport Docker uses to reach a volume plugin.
//
// httplib::Server only binds TCP; this subclass makes the listening socket
// itself and hands it to the protected `svr_sock_`, then runs httplib's
// accept loop with listen_after_bind(). It owns the socket file's
// lifecycle (docs/architecture.md, guides/docker-engine-contract.md 2.1):
//  - the parent directory is created 0755 when missing, and must be owned by
//    root or by us and not writable by others (unless sticky);
//  - an existing path must be a socket nobody answers on (stale, left by a
//    crash), owned by root or by us: it is then removed; a live socket, a
//    file owned by another user, or any other file is an error;
//  - the socket is bound under umask 0177 and chmod 0600, so it is never
//    accessible to other users, and unlinked on clean exit (only if it is
//    still the file we created);
//  - a socket passed by systemd socket activation (LISTEN_FDS, one AF_UNIX
//    listening stream socket) is used as is and never unlinked.
// Connections are served by a ConnectionPool (see connection_pool.hpp for why
// it grows on demand), with keep-alive (no pipelining, as httplib), a 1 MiB body
// limit and read/write timeouts; stop_serving() closes idle connections at
// once and lets busy ones finish their reply. The read timeout bounds the
// wait for a new connection's first request and the reading of each whole
// request (not each recv()), so silent or trickling clients release their
// thread after it (docs/reliability.md, "Hostile input").
//
// Each connection is served by our own loop (process_and_close_socket) with
// a buffered stream: one recv() and one send() per request, an idle wait
// that stop_serving() interrupts, httplib's parser and router for the rest.
//
// Thread-safety: open() and serve() from one thread; stop_serving() from any
// thread (not from a signal handler).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

#include <httplib.h>

#include <holdfast/fd.hpp>

#include "plugin_api/connection_pool.hpp"

namespace holdfast {

struct UnixHttpServerOptions {
  std::string socket_path;
  // What the socket serves, for log lines ("serving the <role> on ...").
  std::string role = "plugin API";
  // Requests larger than this are answered 413 without being buffered.
  std::size_t payload_max_bytes = 1U << 20U;
  // Request line and headers together; a request that sends more than
  // this plus payload_max_bytes is cut off (connection closed).
  std::size_t header_max_bytes = 64U << 10U;
  // Docker keeps connections alive without an idle timeout of its own
  // and keeps at most two idle; closing an idle one earlier than the engine
  // expects can race with a request just being sent on it (moby#39331), so
  // the idle timeout is generous. Each open connection holds one thread.
  std::chrono::seconds keep_alive_timeout{120};
  std::size_t keep_alive_max_requests = 100'000;
  // Bounds the wait for a new connection's first request, the reading of one
  // whole request, and each send of a reply.
  std::chrono::seconds read_timeout{15};
  std::chrono::seconds write_timeout{15};
  ConnectionPoolLimits pool;
  // Use a socket passed by systemd (LISTEN_FDS) if there is one.
  bool accept_socket_activation = true;
};

class UnixHttpServer : public httplib::Server {
 public:
  explicit UnixHttpServer(UnixHttpServerOptions options);
  ~UnixHttpServer() override;
  UnixHttpServer(const UnixHttpServer&) = delete;
  UnixHttpServer& operator=(const UnixHttpServer&) = delete;

  // Creates (or adopts from systemd) the listening socket. Connections that
  // arrive from now on wait in the backlog until serve(). Throws
  // holdfast::Error with a message that names the path and the reason.
  void open();

  // Runs the accept loop until stop(); then waits (bounded by
  // pool.drain_timeout) for in-flight requests, and removes the socket file
  // we created. Returns false when some requests were still running after
  // the drain timeout.
  bool serve();

  // Stops accepting and removes the socket file at once, then waits
  // (bounded by pool.drain_timeout) for requests being answered and closes
  // idle keep-alive connections; serve() returns soon after. Safe to call
  // before or during serve(), more than once, from any thread.
  void stop_serving();

  // True when the socket came from systemd socket activation.
  bool socket_activated() const { return m_activated; }
  const std::string& socket_path() const { return m_options.socket_path; }
  // Connection threads alive right now, and requests being answered.
  std::size_t connection_threads() const { return m_pool.threads(); }
  int requests_in_flight() const { return m_in_flight.load(); }

 protected:
  // Serves one accepted connection until it closes, and closes it. The
  // accept loop runs it on a pool thread; protected so that the HTTP fuzz
  // target (tests/fuzz/fuzz_http_request.cpp) can feed a socketpair to the
  // same per-connection code.
  bool process_and_close_socket(socket_t sock) override;

 private:
  // Waits for the next request or stop_serving(); false when `idle_limit`
  // passed first or the server is stopping.
  bool wait_for_request(int fd, std::chrono::milliseconds idle_limit) const;
  void bind_socket();
  void remove_socket_file();

  UnixHttpServerOptions m_options;
  ConnectionPool m_pool;
  // Readable once stop_serving() ran: wakes idle keep-alive connections.
  Fd m_wake;
  std::atomic<bool> m_stopping{false};
  std::atomic<int> m_in_flight{0};
  bool m_activated = false;
  std::mutex m_file_mutex;
  bool m_created_file = false;
  // Identity of the socket file we created, so that exit never removes a
  // successor's socket.
  dev_t m_file_dev = 0;
  ino_t m_file_ino = 0;
};

// Whether some process accepts connections on the unix socket at `path`
// (false when nobody listens or the file is gone). Throws holdfast::Error
// for other failures.
bool socket_is_live(const std::string& path);

// The socket passed by systemd socket activation, or -1 when the process was
// not socket-activated. Throws holdfast::Error when LISTEN_FDS passes
// something else than exactly one listening AF_UNIX stream socket.
int activated_unix_socket();

}  // namespace holdfast
