#include "support/socket_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace holdfast::test {

namespace {

// curl_global_init is not thread-safe; curl_easy_init would call it lazily
// from whichever test thread comes first.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(std::string_view text) {
  auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) {
    return {};
  }
  auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

// Parses "Name: value" into `headers` (lower-case name).
void add_header_line(std::string_view line, std::map<std::string, std::string>& headers) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return;
  }
  headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
}

size_t collect_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t collect_header(char* data, size_t size, size_t count, void* user) {
  auto* reply = static_cast<HttpReply*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    reply->headers.clear();  // a new response (after 100 Continue)
  } else {
    add_header_line(line, reply->headers);
  }
  return size * count;
}

}  // namespace

SocketClient::SocketClient(std::string socket_path, std::chrono::milliseconds timeout)
    : m_socket_path(std::move(socket_path)), m_timeout(timeout) {
  global_init();
  m_curl.reset(curl_easy_init());
  if (!m_curl) {
    throw std::runtime_error("curl_easy_init failed");
  }
  // What the engine sends (guides/docker-engine-contract.md 1.1): no
  // Content-Type, no Expect: 100-continue, the plugin Accept type.
  for (const char* header : {"Accept: application/vnd.docker.plugins.v1.2+json", "Content-Type:", "Expect:",
                             "User-Agent: Go-http-client/1.1"}) {
    curl_slist* list = curl_slist_append(m_headers.get(), header);
    if (list == nullptr) {
      throw std::runtime_error("curl_slist_append failed");
    }
    (void)m_headers.release();
    m_headers.reset(list);
  }
}

SocketClient::~SocketClient() = default;

void SocketClient::reset_connection() {
  // A fresh handle forgets its connection cache.
  m_curl.reset(curl_easy_init());
  if (!m_curl) {
    throw std::runtime_error("curl_easy_init failed");
  }
}

std::optional<HttpReply> SocketClient::perform(const std::string& method, const std::string& path,
                                               std::string_view body, std::string* error) {
  CURL* curl = m_curl.get();
  HttpReply reply;
  std::string url = "http://localhost" + path;
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, m_socket_path.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, m_headers.get());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method == "POST" ? nullptr : method.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(m_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply);

  CURLcode rc = curl_easy_perform(curl);
  long connects = 0;
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
  m_connections += connects;
  if (rc != CURLE_OK) {
    if (error != nullptr) {
      *error = method + " " + path + " on " + m_socket_path + ": " + curl_easy_strerror(rc);
    }
    return std::nullopt;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) {
    reply.content_type = type;
  }
  return reply;
}

HttpReply SocketClient::post(const std::string& path, std::string_view body) {
  return request("POST", path, body);
}

HttpReply SocketClient::request(const std::string& method, const std::string& path, std::string_view body) {
  std::string error;
  auto reply = perform(method, path, body, &error);
  if (!reply) {
    throw std::runtime_error(error);
  }
  return *reply;
}

std::optional<HttpReply> SocketClient::try_post(const std::string& path, std::string_view body) {
  return perform("POST", path, body, nullptr);
}

RawConnection::RawConnection(const std::string& socket_path)
    : m_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  if (!m_fd) {
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    throw std::runtime_error("socket path too long: " + socket_path);
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(m_fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw std::runtime_error("connect " + socket_path + ": " + std::strerror(errno));
  }
}

bool RawConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(m_fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void RawConnection::shutdown_write() {
  ::shutdown(m_fd.get(), SHUT_WR);
}

bool RawConnection::fill(std::chrono::steady_clock::time_point until) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{m_fd.get(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      return false;
    }
    char chunk[8192];
    ssize_t n = ::recv(m_fd.get(), chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    m_buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

std::optional<HttpReply> RawConnection::read_reply(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  std::size_t header_end = std::string::npos;
  while ((header_end = m_buffer.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(until)) {
      return std::nullopt;
    }
  }
  HttpReply reply;
  std::string_view head(m_buffer.data(), header_end);
  auto first_line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, first_line_end);
  // "HTTP/1.1 200 OK"
  auto space = status_line.find(' ');
  if (space == std::string_view::npos) {
    return std::nullopt;
  }
  reply.status = std::strtol(std::string(status_line.substr(space + 1, 3)).c_str(), nullptr, 10);
  std::string_view rest = first_line_end == std::string_view::npos ? std::string_view{} : head.substr(first_line_end + 2);
  while (!rest.empty()) {
    auto end = rest.find("\r\n");
    add_header_line(rest.substr(0, end), reply.headers);
    if (end == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(end + 2);
  }
  std::size_t length = 0;
  if (auto it = reply.headers.find("content-length"); it != reply.headers.end()) {
    length = std::strtoull(it->second.c_str(), nullptr, 10);
  }
  if (auto it = reply.headers.find("content-type"); it != reply.headers.end()) {
    reply.content_type = it->second;
  }
  std::size_t body_start = header_end + 4;
  while (m_buffer.size() < body_start + length) {
    if (!fill(until)) {
      return std::nullopt;
    }
  }
  reply.body = m_buffer.substr(body_start, length);
  m_buffer.erase(0, body_start + length);
  return reply;
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{m_fd.get(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      return false;
    }
    char chunk[4096];
    ssize_t n = ::recv(m_fd.get(), chunk, sizeof(chunk), 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
      return true;
    }
  }
}

std::optional<HttpReply> raw_exchange(const std::string& socket_path, std::string_view bytes,
                                      std::chrono::milliseconds timeout) {
  RawConnection connection(socket_path);
  // Even when the server stops reading early (body too large) it may have
  // answered: read what is there.
  (void)connection.send(bytes);
  return connection.read_reply(timeout);
}

}  // namespace holdfast::test
