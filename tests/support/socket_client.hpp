// holdfast::test::SocketClient: an HTTP client on a unix socket that talks
// like the Docker engine (POST, keep-alive, Accept: ...v1.2+json, no
// Content-Type, no Expect), for protocol, crash and bench code.
//
// Built on libcurl (CURLOPT_UNIX_SOCKET_PATH); one easy handle per client,
// so consecutive requests reuse one keep-alive connection. connections()
// tells how many connections were opened, to check reuse.
//
// RawConnection is a plain socket for what libcurl will not send: malformed
// HTTP, partial requests, pipelining.
//
// Thread-safety: one SocketClient / RawConnection per thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <curl/curl.h>

#include <holdfast/fd.hpp>

namespace holdfast::test {

struct HttpReply {
  long status = 0;
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;  // lower-case names (last value wins)
};

class SocketClient {
 public:
  explicit SocketClient(std::string socket_path,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~SocketClient();
  SocketClient(const SocketClient&) = delete;
  SocketClient& operator=(const SocketClient&) = delete;

  // POST `path` with `body`. Throws std::runtime_error on a transport error
  // (refused, reset, timeout) with libcurl's message.
  HttpReply post(const std::string& path, std::string_view body);
  // Any method (for 405 tests).
  HttpReply request(const std::string& method, const std::string& path, std::string_view body);
  // Like post(), but nullopt on a transport error: the caller cannot know
  // whether the server acted on the request (crash tests).
  std::optional<HttpReply> try_post(const std::string& path, std::string_view body);

  // Connections opened so far (1 while keep-alive works).
  long connections() const { return m_connections; }
  // Drops the kept-alive connection; the next request opens a new one.
  void reset_connection();
  const std::string& socket_path() const { return m_socket_path; }

 private:
  std::optional<HttpReply> perform(const std::string& method, const std::string& path, std::string_view body,
                                   std::string* error);

  std::string m_socket_path;
  std::chrono::milliseconds m_timeout;
  struct CurlCleanup {
    void operator()(CURL* curl) const noexcept { curl_easy_cleanup(curl); }
  };
  struct SlistFree {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
  };
  std::unique_ptr<CURL, CurlCleanup> m_curl;
  std::unique_ptr<curl_slist, SlistFree> m_headers;
  long m_connections = 0;
};

// A plain connected unix stream socket.
class RawConnection {
 public:
  // Connects or throws std::runtime_error.
  explicit RawConnection(const std::string& socket_path);

  // Writes all of `bytes`; false if the peer closed (EPIPE/ECONNRESET).
  bool send(std::string_view bytes);
  // Reads one HTTP/1.1 response (status line, headers, Content-Length
  // body). nullopt if the connection closes or `timeout` passes first.
  std::optional<HttpReply> read_reply(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True if the peer closes the connection within `timeout` (reads and
  // discards anything still sent).
  bool closed_by_peer(std::chrono::milliseconds timeout);
  // Half-closes our sending side.
  void shutdown_write();
  int fd() const { return m_fd.get(); }

 private:
  // Appends what arrives within `timeout` to m_buffer; false on EOF/timeout.
  bool fill(std::chrono::steady_clock::time_point until);

  Fd m_fd;
  std::string m_buffer;
};

// Sends `bytes` on a fresh connection and returns the first response, or
// nullopt if the server closed without answering.
std::optional<HttpReply> raw_exchange(const std::string& socket_path, std::string_view bytes,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace holdfast::test
