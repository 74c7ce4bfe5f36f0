// holdfast_floor: the benchmark's floor. A minimal HTTP/1.1 responder on a
// unix socket: one thread per connection, keep-alive, reads each request
// (headers and Content-Length body) and answers every one with the same
// fixed JSON body, read from a file at start. Whatever holdfastd spends
// beyond this is the price of its HTTP layer, JSON and volume manager.
//
// Usage: holdfast_floor <socket path> <reply body file>
// Runs until killed. Not a general HTTP server: no chunked bodies, no
// pipelining beyond what one read returns.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include <holdfast/fd.hpp>

namespace {

std::string g_reply;

bool send_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void serve(holdfast::Fd connection) {
  const int fd = connection.get();
  std::string buffer;
  char chunk[16384];
  for (;;) {
    size_t header_end = buffer.find("\r\n\r\n");
    while (header_end == std::string::npos) {
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        return;
      }
      buffer.append(chunk, static_cast<size_t>(n));
      header_end = buffer.find("\r\n\r\n");
    }
    size_t length = 0;
    // Case-insensitive enough for the bench client and curl.
    for (const char* name : {"Content-Length:", "content-length:"}) {
      size_t at = buffer.find(name);
      if (at != std::string::npos && at < header_end) {
        length = std::strtoul(buffer.c_str() + at + std::strlen(name), nullptr, 10);
      }
    }
    while (buffer.size() < header_end + 4 + length) {
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        return;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
    buffer.erase(0, header_end + 4 + length);
    if (!send_all(fd, g_reply.data(), g_reply.size())) {
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <socket path> <reply body file>\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[2]);
  std::stringstream body;
  body << in.rdbuf();
  std::string content = body.str();
  g_reply = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: " +
            std::to_string(content.size()) + "\r\n\r\n" + content;

  std::signal(SIGPIPE, SIG_IGN);
  holdfast::Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, argv[1], sizeof(addr.sun_path) - 1);
  ::unlink(argv[1]);
  if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener.get(), SOMAXCONN) != 0) {
    std::perror("holdfast_floor: bind/listen");
    return 1;
  }
  for (;;) {
    holdfast::Fd connection(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      std::perror("holdfast_floor: accept");
      return 1;
    }
    std::thread(serve, std::move(connection)).detach();
  }
}
