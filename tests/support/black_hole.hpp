// holdfast::test::BlackHole: a TCP listener on 127.0.0.1 that accepts every
// connection and never answers: the shape of a hung NFS filer or iSCSI
// portal (a server process that is stuck, or a load balancer in front of a
// dead one). Clients connect at once and then wait for a reply that never
// comes, so only their own deadlines end the call.
//
// accepted() counts connections, so a test can also prove that a request
// never reached the network (validation refused it first).
//
// Owns its listening socket, the accepted connections (held open, unread,
// until destruction) and one accept thread. accepted() is thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include <holdfast/fd.hpp>

namespace holdfast::test {

class BlackHole {
 public:
  // Listens on 127.0.0.1 on a free port; throws std::runtime_error.
  BlackHole();
  ~BlackHole();
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;

  int port() const { return m_port; }
  std::size_t accepted() const { return m_accepted.load(); }

 private:
  void run();

  Fd m_listen;
  Fd m_stop;  // eventfd: readable once the destructor runs
  int m_port = 0;
  std::atomic<std::size_t> m_accepted{0};
  std::mutex m_mutex;
  std::vector<Fd> m_connections;
  std::thread m_thread;  // last: starts after the members it uses
};

}  // namespace holdfast::test
