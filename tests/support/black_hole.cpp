#include "support/black_hole.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace holdfast::test {

namespace {

std::runtime_error failure(const std::string& what) {
  return std::runtime_error("black hole: " + what + ": " + std::strerror(errno));
}

}  // namespace

BlackHole::BlackHole()
    : m_listen(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)), m_stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!m_listen || !m_stop) {
    throw failure("socket/eventfd");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(m_listen.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(m_listen.get(), 128) != 0) {
    throw failure("bind/listen on 127.0.0.1");
  }
  socklen_t len = sizeof(addr);
  if (::getsockname(m_listen.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw failure("getsockname");
  }
  m_port = ntohs(addr.sin_port);
  m_thread = std::thread([this] { run(); });
}

BlackHole::~BlackHole() {
  std::uint64_t one = 1;
  (void)!::write(m_stop.get(), &one, sizeof(one));
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void BlackHole::run() {
  for (;;) {
    pollfd fds[2] = {{m_listen.get(), POLLIN, 0}, {m_stop.get(), POLLIN, 0}};
    int ready = ::poll(fds, 2, -1);
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready < 0 || (fds[1].revents & POLLIN) != 0) {
      return;
    }
    Fd connection(::accept4(m_listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) {
      continue;
    }
    ++m_accepted;
    std::lock_guard lock(m_mutex);
    m_connections.push_back(std::move(connection));
  }
}

}  // namespace holdfast::test
