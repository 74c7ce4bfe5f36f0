// UnixHttpServer: the socket file's life cycle and graceful stop, on real
// unix sockets in a temp directory.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <thread>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

#include "plugin_api/unix_http_server.hpp"
#include "support/socket_client.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using holdfast::ErrorKind;
using holdfast::UnixHttpServer;
using holdfast::UnixHttpServerOptions;
using holdfast::test::SocketClient;
using holdfast::test::TempDir;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// A bound (and optionally listening) unix socket at `path`.
holdfast::Fd bind_at(const std::string& path, bool listening) {
  holdfast::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  if (listening) {
    REQUIRE(::listen(fd.get(), 8) == 0);
  }
  return fd;
}

ErrorKind open_error(UnixHttpServer& server, std::string* message = nullptr) {
  try {
    server.open();
  } catch (const holdfast::Error& e) {
    if (message != nullptr) {
      *message = e.what();
    }
    return e.kind();
  }
  FAIL("open() succeeded");
  return ErrorKind::internal;
}

// A server answering POST /echo with the body, or sleeping first for /slow.
struct EchoServer {
  std::unique_ptr<UnixHttpServer> server;
  std::thread thread;
  std::atomic<bool> served_result{false};

  explicit EchoServer(UnixHttpServerOptions options) {
    options.accept_socket_activation = false;
    server = std::make_unique<UnixHttpServer>(options);
    server->Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.body, "text/plain");
    });
    server->Post("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(500ms);
      res.set_content("done", "text/plain");
    });
  }
  void start() {
    server->open();
    thread = std::thread([this] { served_result = server->serve(); });
  }
  void stop() {
    server->stop_serving();
    if (thread.joinable()) {
      thread.join();
    }
  }
  ~EchoServer() { stop(); }
};

UnixHttpServerOptions options_for(const std::string& path) {
  UnixHttpServerOptions options;
  options.socket_path = path;
  options.keep_alive_timeout = 60s;
  return options;
}

}  // namespace

TEST_CASE("the socket is created 0600 in a 0755 directory made for it", "[protocol][socket]") {
  TempDir dir;
  std::string path = dir.sub("run/docker/plugins/x.sock");
  // A permissive umask must not leak into the socket's mode.
  mode_t previous = ::umask(0);
  EchoServer echo(options_for(path));
  echo.start();
  ::umask(previous);

  CHECK(S_ISSOCK(mode_of(path)));
  CHECK((mode_of(path) & 07777) == 0600);
  CHECK((mode_of(dir.sub("run/docker/plugins")) & 07777) == 0755);
  CHECK((mode_of(dir.sub("run/docker")) & 07777) == 0755);
  SocketClient client(path);
  CHECK(client.post("/echo", "hi").body == "hi");

  echo.stop();
  CHECK_FALSE(exists(path));
  CHECK(echo.served_result);
}

TEST_CASE("a stale socket left by a crash is replaced", "[protocol][socket]") {
  TempDir dir;
  std::string path = dir.sub("stale.sock");
  { holdfast::Fd stale = bind_at(path, true); }  // closed, file left behind
  REQUIRE(exists(path));
  EchoServer echo(options_for(path));
  echo.start();
  SocketClient client(path);
  CHECK(client.post("/echo", "new").body == "new");
}

TEST_CASE("a socket another process answers on is not taken over", "[protocol][socket]") {
  TempDir dir;
  std::string path = dir.sub("live.sock");
  EchoServer first(options_for(path));
  first.start();

  UnixHttpServer second(options_for(path));
  std::string message;
  CHECK(open_error(second, &message) == ErrorKind::conflict);
  CHECK_THAT(message, Catch::Contains(path) && Catch::Contains("another process"));
  // The first server is untouched.
  SocketClient client(path);
  CHECK(client.post("/echo", "still").body == "still");
}

TEST_CASE("a path that is not a socket is never replaced", "[protocol][socket]") {
  TempDir dir;
  std::string path = dir.sub("plugin.sock");
  { std::ofstream(path) << "precious"; }
  UnixHttpServer server(options_for(path));
  std::string message;
  CHECK(open_error(server, &message) == ErrorKind::conflict);
  CHECK_THAT(message, Catch::Contains("not a socket"));
  std::ifstream in(path);
  std::string content;
  in >> content;
  CHECK(content == "precious");

  SECTION("nor a symlink to a socket") {
    std::string target = dir.sub("real.sock");
    holdfast::Fd stale = bind_at(target, false);
    std::string link = dir.sub("link.sock");
    REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
    UnixHttpServer linked(options_for(link));
    CHECK(open_error(linked) == ErrorKind::conflict);
    CHECK(exists(target));
  }
}

TEST_CASE("the socket directory must be owned by root or us and not open to others", "[protocol][socket]") {
  TempDir dir;
  std::string sub = dir.sub("d");
  REQUIRE(::mkdir(sub.c_str(), 0755) == 0);

  SECTION("[Error] owned by another user") {
    REQUIRE(::chown(sub.c_str(), 12345, 12345) == 0);
    UnixHttpServer server(options_for(sub + "/p.sock"));
    std::string message;
    CHECK(open_error(server, &message) == ErrorKind::permission);
    CHECK_THAT(message, Catch::Contains("12345"));
  }
  SECTION("[Error] world-writable without the sticky bit") {
    REQUIRE(::chmod(sub.c_str(), 0777) == 0);
    UnixHttpServer server(options_for(sub + "/p.sock"));
    CHECK(open_error(server) == ErrorKind::permission);
  }
  SECTION("[Success] world-writable with the sticky bit (like /tmp)") {
    REQUIRE(::chmod(sub.c_str(), 01777) == 0);
    EchoServer echo(options_for(sub + "/p.sock"));
    echo.start();
    CHECK((mode_of(sub + "/p.sock") & 07777) == 0600);
  }
  SECTION("[Error] a stale socket owned by another user is not replaced") {
    std::string path = sub + "/p.sock";
    { holdfast::Fd stale = bind_at(path, true); }  // closed: stale
    REQUIRE(::lchown(path.c_str(), 12345, 12345) == 0);
    UnixHttpServer server(options_for(path));
    std::string message;
    CHECK(open_error(server, &message) == ErrorKind::permission);
    CHECK_THAT(message, Catch::Contains(path) && Catch::Contains("owned by uid 12345"));
    CHECK(exists(path));
  }
  SECTION("[Error] a regular file owned by another user is not replaced") {
    std::string path = sub + "/p.sock";
    { std::ofstream(path) << "theirs"; }
    REQUIRE(::chown(path.c_str(), 12345, 12345) == 0);
    UnixHttpServer server(options_for(path));
    std::string message;
    CHECK(open_error(server, &message) == ErrorKind::permission);
    CHECK_THAT(message, Catch::Contains("owned by uid 12345"));
  }
  SECTION("[Error] path too long for sun_path") {
    UnixHttpServer server(options_for(sub + "/" + std::string(120, 'x')));
    CHECK(open_error(server) == ErrorKind::invalid_argument);
  }
}

TEST_CASE("stop does not remove a socket file that is not ours any more", "[protocol][socket]") {
  TempDir dir;
  std::string path = dir.sub("p.sock");
  EchoServer echo(options_for(path));
  echo.start();
  // Someone (a second instance after a crash) replaced the file.
  REQUIRE(::unlink(path.c_str()) == 0);
  holdfast::Fd successor = bind_at(path, true);
  echo.stop();
  CHECK(exists(path));
}

TEST_CASE("stop finishes in-flight requests and does not wait for idle connections", "[protocol][socket]") {
  TempDir dir;
  std::string path = dir.sub("p.sock");
  EchoServer echo(options_for(path));
  echo.start();

  // Idle keep-alive connections (the engine keeps some): the keep-alive
  // timeout is 60 s, stop must not wait for it.
  SocketClient idle1(path);
  SocketClient idle2(path);
  REQUIRE(idle1.post("/echo", "a").status == 200);
  REQUIRE(idle2.post("/echo", "b").status == 200);

  auto slow = std::async(std::launch::async, [&] {
    SocketClient client(path);
    return client.post("/slow", "");
  });
  // Let the slow request reach its handler.
  std::this_thread::sleep_for(150ms);
  auto started = std::chrono::steady_clock::now();
  echo.stop();
  auto took = std::chrono::steady_clock::now() - started;

  auto reply = slow.get();
  CHECK(reply.status == 200);
  CHECK(reply.body == "done");
  CHECK(echo.served_result);  // drained
  CHECK(took < 10s);          // far below the 60 s keep-alive timeout
  CHECK_FALSE(exists(path));
  // New connections are refused now.
  CHECK_THROWS(SocketClient(path, 2s).post("/echo", "x"));
}

// Regression: a connection that never sent a request held its thread for
// the whole keep-alive timeout, and a request trickling in one byte at a
// time held it for ever (the read timeout was per recv()).
TEST_CASE("silent and trickling connections are closed after the read timeout", "[protocol][socket]") {
  TempDir dir;
  std::string path = dir.sub("p.sock");
  UnixHttpServerOptions options = options_for(path);
  options.read_timeout = 1s;  // keep-alive stays 60 s
  EchoServer echo(options);
  echo.start();

  holdfast::test::RawConnection silent(path);
  holdfast::test::RawConnection trickle(path);
  // An endless header block, one byte every 100 ms.
  const std::string endless = "POST /echo HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\nX-Slow: 2\r\nX-Slow: 3\r\n";
  bool trickle_cut = false;
  auto until = std::chrono::steady_clock::now() + 10s;  // far beyond the 1 s budget
  for (std::size_t i = 0; std::chrono::steady_clock::now() < until; ++i) {
    if (!trickle.send(std::string(1, endless[i % endless.size()])) || trickle.closed_by_peer(100ms)) {
      trickle_cut = true;
      break;
    }
  }
  CHECK(trickle_cut);
  CHECK(silent.closed_by_peer(5s));

  // A keep-alive connection that already sent a request is not cut at the
  // read timeout: it waits for the next one up to the keep-alive timeout.
  SocketClient engine(path);
  REQUIRE(engine.post("/echo", "1").status == 200);
  std::this_thread::sleep_for(2500ms);
  REQUIRE(engine.post("/echo", "2").body == "2");
  CHECK(engine.connections() == 1);
}

// Regression: httplib bounds each header line but not their number, so a
// client could make the server buffer headers without end (for as long as
// the read timeout lets it send).
TEST_CASE("a request whose headers never end is cut off at the byte budget", "[protocol][socket]") {
  TempDir dir;
  std::string path = dir.sub("p.sock");
  UnixHttpServerOptions options = options_for(path);
  options.read_timeout = 30s;  // the byte budget must end it, not the clock
  options.payload_max_bytes = 64 * 1024;
  options.header_max_bytes = 16 * 1024;
  EchoServer echo(options);
  echo.start();

  holdfast::test::RawConnection flood(path);
  timeval limit{10, 0};
  ::setsockopt(flood.fd(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  std::string block = "POST /echo HTTP/1.1\r\nHost: x\r\n";
  while (block.size() < 64 * 1024) {
    block += "X-Flood: " + std::to_string(block.size()) + "\r\n";
  }
  // 64 MiB offered; the server stops reading after 80 KiB and closes.
  bool refused = false;
  for (int i = 0; i < 1024 && !refused; ++i) {
    refused = !flood.send(block);
    block = std::string();  // then more short header lines, without end
    while (block.size() < 64 * 1024) {
      block += "X-More: " + std::to_string(i) + "\r\n";
    }
  }
  CHECK((refused || flood.closed_by_peer(5s)));
  SocketClient client(path);
  CHECK(client.post("/echo", "still").body == "still");
}

TEST_CASE("stop before serve makes serve return at once", "[protocol][socket]") {
  TempDir dir;
  UnixHttpServerOptions options = options_for(dir.sub("p.sock"));
  options.accept_socket_activation = false;
  UnixHttpServer server(options);
  server.open();
  server.stop_serving();
  CHECK(server.serve());
  CHECK_FALSE(exists(dir.sub("p.sock")));
}

TEST_CASE("LISTEN_FDS with something else than one socket is an error", "[protocol][socket]") {
  // sd_listen_fds only honours variables whose LISTEN_PID is ours.
  std::string pid = std::to_string(::getpid());
  ::setenv("LISTEN_PID", pid.c_str(), 1);
  ::setenv("LISTEN_FDS", "2", 1);
  CHECK_THROWS_AS(holdfast::activated_unix_socket(), holdfast::Error);
  // The variables are consumed (not inherited by commands we run).
  CHECK(std::getenv("LISTEN_FDS") == nullptr);
  // Not for us: ignored.
  ::setenv("LISTEN_PID", "1", 1);
  ::setenv("LISTEN_FDS", "1", 1);
  CHECK(holdfast::activated_unix_socket() == -1);
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  CHECK(holdfast::activated_unix_socket() == -1);
}
