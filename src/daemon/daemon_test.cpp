// holdfastd as a process: command line, start-up, signals, socket
// activation, persistence across restarts. Runs the built binary with a
// local backend in a temp directory.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include <holdfast/fd.hpp>

#include "support/daemon_process.hpp"
#include "support/socket_client.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using holdfast::test::DaemonProcess;
using holdfast::test::DaemonSettings;
using holdfast::test::SocketClient;
using holdfast::test::TempDir;
using Json = nlohmann::json;

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// The log, shown when a check fails.
#define WITH_LOG(daemon) INFO("daemon log:\n" << (daemon).log())

Json post_ok(SocketClient& client, const std::string& path, const std::string& body) {
  auto reply = client.post(path, body);
  INFO(path << " " << body << " -> " << reply.status << " " << reply.body);
  REQUIRE(reply.status == 200);
  Json json = Json::parse(reply.body);
  REQUIRE(json["Err"] == "");
  return json;
}

holdfast::Fd listening_socket(const std::string& path) {
  holdfast::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(fd.get(), 64) == 0);
  return fd;
}

}  // namespace

TEST_CASE("holdfastd --version and --help exit 0", "[protocol][daemon]") {
  auto version = holdfast::test::run_holdfastd({"--version"});
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, Catch::Contains("holdfastd"));
  auto help = holdfast::test::run_holdfastd({"--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("--check-config") && Catch::Contains("--socket"));
  auto bad = holdfast::test::run_holdfastd({"--no-such-option"});
  CHECK(bad.exit_code != 0);
}

TEST_CASE("holdfastd --check-config validates the file and the backends", "[protocol][daemon]") {
  TempDir dir;
  SECTION("[Success] a valid file") {
    write(dir.sub("ok.yaml"), "backends:\n  local:\n    type: local\n    base_dir: " + dir.sub("v") + "\n");
    auto result = holdfast::test::run_holdfastd({"--check-config", "--config", dir.sub("ok.yaml")});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Catch::StartsWith("config OK"));
  }
  SECTION("[Error] unknown key, with file and line") {
    write(dir.sub("bad.yaml"), "log_level: info\nsoket: /tmp/x.sock\n");
    auto result = holdfast::test::run_holdfastd({"--check-config", "--config", dir.sub("bad.yaml")});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("bad.yaml:2") && Catch::Contains("soket"));
  }
  SECTION("[Error] a backend's own key is wrong (the backends are built)") {
    write(dir.sub("bad.yaml"), "backends:\n  local:\n    type: local\n    on_remove: shred\n");
    auto result = holdfast::test::run_holdfastd({"--check-config", "--config", dir.sub("bad.yaml")});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("on_remove"));
  }
  SECTION("[Error] unknown backend type") {
    write(dir.sub("bad.yaml"), "backends:\n  x:\n    type: floppy\n");
    auto result = holdfast::test::run_holdfastd({"--check-config", "--config", dir.sub("bad.yaml")});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("floppy"));
  }
  SECTION("[Error] an explicit --config that does not exist") {
    auto result = holdfast::test::run_holdfastd({"--check-config", "--config", dir.sub("missing.yaml")});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("missing.yaml"));
  }
  SECTION("[Error] --log-level outside the list") {
    auto result = holdfast::test::run_holdfastd({"--check-config", "--log-level", "loud"});
    CHECK(result.exit_code != 0);
  }
}

TEST_CASE("the daemon serves, persists state and stops cleanly on SIGTERM", "[protocol][daemon]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.start();
  WITH_LOG(daemon);

  struct stat st {};
  REQUIRE(::lstat(daemon.socket_path().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);

  {
    SocketClient client(daemon.socket_path());
    post_ok(client, "/VolumeDriver.Create", R"({"Name":"keep","Opts":{"mode":"0750"}})");
    Json mount = post_ok(client, "/VolumeDriver.Mount", R"({"Name":"keep","ID":"id1"})");
    std::string mountpoint = mount["Mountpoint"];
    CHECK(exists(mountpoint));
    CHECK(post_ok(client, "/VolumeDriver.Capabilities", "{}")["Capabilities"]["Scope"] == "local");
  }

  CHECK(daemon.stop() == 0);
  CHECK_FALSE(exists(daemon.socket_path()));
  CHECK_THAT(daemon.log(), Catch::Contains("SIGTERM"));

  // After a restart: the volume, its options and its mount count are back.
  daemon.start();
  SocketClient client(daemon.socket_path());
  Json get = post_ok(client, "/VolumeDriver.Get", R"({"Name":"keep"})");
  CHECK(get["Volume"]["Name"] == "keep");
  CHECK_FALSE(get["Volume"]["Mountpoint"].get<std::string>().empty());
  auto remove = client.post("/VolumeDriver.Remove", R"({"Name":"keep"})");
  CHECK(remove.status == 500);  // still mounted by id1
  post_ok(client, "/VolumeDriver.Unmount", R"({"Name":"keep","ID":"id1"})");
  post_ok(client, "/VolumeDriver.Remove", R"({"Name":"keep"})");
  CHECK(daemon.stop() == 0);
}

TEST_CASE("SIGINT stops like SIGTERM and SIGHUP is ignored", "[protocol][daemon]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.start();
  WITH_LOG(daemon);
  ::kill(daemon.pid(), SIGHUP);
  std::this_thread::sleep_for(100ms);
  REQUIRE(daemon.running());
  SocketClient client(daemon.socket_path());
  post_ok(client, "/Plugin.Activate", "");
  CHECK_THAT(daemon.log(), Catch::Contains("SIGHUP"));

  ::kill(daemon.pid(), SIGINT);
  auto code = daemon.wait_exit(15s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK_FALSE(exists(daemon.socket_path()));
}

TEST_CASE("bad requests never end the daemon", "[protocol][daemon]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.start();
  WITH_LOG(daemon);
  SocketClient client(daemon.socket_path());
  for (const char* body : {"", "{", "[]", "{\"Name\":null}", "\xff\xfe", "{\"Name\":\"../../etc\"}"}) {
    for (const char* path : {"/VolumeDriver.Create", "/VolumeDriver.Mount", "/VolumeDriver.Get", "/x"}) {
      auto reply = client.post(path, body);
      CHECK(reply.status >= 400);
      CHECK(Json::parse(reply.body)["Err"].get<std::string>().size() > 0);
    }
  }
  (void)holdfast::test::raw_exchange(daemon.socket_path(), "GARBAGE\r\n\r\n", 2s);
  std::string huge(2U << 20U, '{');
  CHECK(client.post("/VolumeDriver.Create", huge).status == 413);
  REQUIRE(daemon.running());
  SocketClient fresh(daemon.socket_path());
  post_ok(fresh, "/Plugin.Activate", "");
}

TEST_CASE("a stale socket is replaced and a live one makes the second daemon fail", "[protocol][daemon]") {
  TempDir dir;
  DaemonProcess first(dir.path());
  SECTION("stale (left by kill -9)") {
    first.start();
    first.kill();
    REQUIRE(exists(first.socket_path()));  // SIGKILL leaves it
    first.start();
    SocketClient client(first.socket_path());
    post_ok(client, "/Plugin.Activate", "");
  }
  SECTION("live") {
    first.start();
    TempDir other;
    DaemonSettings settings;
    DaemonProcess second(other.path(), settings);
    // Same socket path, other state: must refuse and leave the first alone.
    auto result = holdfast::test::run_holdfastd({"--config", second.config_path(), "--socket", first.socket_path(),
                                                 "--state-dir", other.sub("state"), "--mount-root",
                                                 other.sub("mounts")},
                                                20s);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err + result.out, Catch::Contains("another process"));
    SocketClient client(first.socket_path());
    post_ok(client, "/Plugin.Activate", "");
  }
}

TEST_CASE("systemd socket activation: the passed socket is used and kept", "[protocol][daemon]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  // What systemd does for holdfast.socket: it owns the bound, listening
  // socket and passes it as fd 3 with LISTEN_FDS=1 and LISTEN_PID.
  std::string path = dir.sub("activated.sock");
  holdfast::Fd systemd_socket = listening_socket(path);

  // A client connects before the daemon even runs: it waits in the backlog.
  holdfast::test::RawConnection early(path);
  REQUIRE(early.send("POST /Plugin.Activate HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));

  daemon.spawn(systemd_socket.get());
  WITH_LOG(daemon);
  auto early_reply = early.read_reply(15s);
  REQUIRE(early_reply);
  CHECK(early_reply->status == 200);
  CHECK_THAT(daemon.log(), Catch::Contains("systemd"));
  // The configured --socket path was not created.
  CHECK_FALSE(exists(daemon.socket_path()));

  SocketClient client(path);
  post_ok(client, "/VolumeDriver.Create", R"({"Name":"act"})");
  CHECK(daemon.stop() == 0);
  // systemd's socket file stays, and the socket still accepts (for the next
  // instance): a connection made now waits in its backlog.
  CHECK(exists(path));
  holdfast::test::RawConnection queued(path);
  REQUIRE(queued.send("POST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n{\"Name\":\"act\"}"));
  daemon.spawn(systemd_socket.get());
  auto queued_reply = queued.read_reply(15s);
  REQUIRE(queued_reply);
  CHECK(queued_reply->status == 200);
  CHECK(Json::parse(queued_reply->body)["Volume"]["Name"] == "act");
  CHECK(daemon.stop() == 0);
}
