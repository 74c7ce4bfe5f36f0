// The admin socket of the real holdfastd: the JSON API over HTTP, the real
// `holdfast` CLI binary against it, /metrics validated line by line, the
// audit log after a plugin call sequence, the socket's mode, and the
// metrics TCP listener (absent unless configured, loopback when it is).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include <holdfast/fd.hpp>

#include "admin/prometheus_check.hpp"
#include "support/daemon_process.hpp"
#include "support/socket_client.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using holdfast::test::CommandOutput;
using holdfast::test::DaemonProcess;
using holdfast::test::DaemonSettings;
using holdfast::test::parse_prometheus;
using holdfast::test::sample_value;
using holdfast::test::SocketClient;
using holdfast::test::TempDir;
using Catch::Matchers::Contains;
using Json = nlohmann::json;

namespace {

#define WITH_LOG(daemon) INFO("daemon log:\n" << (daemon).log())

const std::string k_mount_id = std::string(64, 'a');

std::string cli_path() { return std::string(HOLDFAST_BINARY_DIR) + "/src/cli/holdfast"; }

CommandOutput holdfast_cli(const DaemonProcess& daemon, std::vector<std::string> args) {
  std::vector<std::string> argv = {cli_path(), "--admin-socket", daemon.admin_socket_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return holdfast::test::run_program(argv, 60s);
}

void plugin_ok(SocketClient& plugin, const std::string& endpoint, const Json& body) {
  auto reply = plugin.post("/VolumeDriver." + endpoint, body.dump());
  INFO(endpoint << " " << body.dump() << " -> " << reply.body);
  REQUIRE(reply.status == 200);
  REQUIRE(Json::parse(reply.body)["Err"] == "");
}

Json admin_json(SocketClient& admin, const std::string& method, const std::string& path, int status = 200,
                const std::string& body = "") {
  auto reply = admin.request(method, path, body);
  INFO(method << " " << path << " -> " << reply.status << " " << reply.body);
  REQUIRE(reply.status == status);
  CHECK_THAT(reply.content_type, Contains("application/json"));
  return Json::parse(reply.body);
}

std::vector<Json> audit_lines(const DaemonProcess& daemon) {
  std::ifstream in(daemon.state_dir() + "/audit.log");
  std::vector<Json> out;
  for (std::string line; std::getline(in, line);) {
    out.push_back(Json::parse(line));
  }
  return out;
}

// Local addresses ("0100007F:24D4") of the TCP sockets `pid` listens on.
std::vector<std::string> listening_tcp(pid_t pid) {
  std::set<std::string> inodes;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* dir = ::opendir(fd_dir.c_str())) {
    while (dirent* entry = ::readdir(dir)) {
      char target[128] = {};
      std::string link = fd_dir + "/" + entry->d_name;
      ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      std::string text(target, n > 0 ? static_cast<std::size_t>(n) : 0);
      if (text.starts_with("socket:[")) {
        inodes.insert(text.substr(8, text.size() - 9));
      }
    }
    ::closedir(dir);
  }
  std::vector<std::string> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (state == "0A" && inodes.count(inode) != 0) {
        out.push_back(local);
      }
    }
  }
  return out;
}

int free_tcp_port() {
  holdfast::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  return ntohs(addr.sin_port);
}

// GET over plain TCP to 127.0.0.1:port; the whole response.
std::string http_get_tcp(int port, const std::string& path) {
  holdfast::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  timeval tv{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  REQUIRE(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string body_of(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

bool mounted_at(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point == path) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("admin API: socket mode, ls, inspect, reconcile, doctor over HTTP", "[protocol][admin]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.start();
  WITH_LOG(daemon);

  struct stat st {};
  REQUIRE(::lstat(daemon.admin_socket_path().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);

  SocketClient plugin(daemon.socket_path());
  plugin_ok(plugin, "Create", {{"Name", "alpha"}, {"Opts", nullptr}});
  plugin_ok(plugin, "Create", {{"Name", "beta"}, {"Opts", nullptr}});
  plugin_ok(plugin, "Mount", {{"Name", "alpha"}, {"ID", k_mount_id}});

  SocketClient admin(daemon.admin_socket_path());
  Json list = admin_json(admin, "GET", "/v1/volumes");
  REQUIRE(list["volumes"].size() == 2);
  std::map<std::string, Json> by_name;
  for (const auto& v : list["volumes"]) {
    by_name[v["name"]] = v;
  }
  CHECK(by_name["alpha"]["backend"] == "local");
  CHECK(by_name["alpha"]["mounts"] == 1);
  CHECK(by_name["alpha"]["mountpoint"] == dir.path() + "/volumes/alpha");
  CHECK(by_name["beta"]["mounts"] == 0);
  CHECK(by_name["beta"]["status"].is_object());

  Json one = admin_json(admin, "GET", "/v1/volumes/alpha");
  CHECK(one["volume"]["mounts"][k_mount_id] == 1);
  CHECK(one["volume"]["mount_count"] == 1);
  Json missing = admin_json(admin, "GET", "/v1/volumes/nope", 404);
  CHECK(missing["kind"] == "not_found");
  admin_json(admin, "GET", "/v1/volumes/bad%20name", 400);
  admin_json(admin, "GET", "/v1/nothing", 404);
  admin_json(admin, "DELETE", "/v1/volumes", 405);
  Json verb = admin_json(admin, "POST", "/v1/volumes/alpha/resize", 400, R"({"size":"1G"})");
  CHECK_THAT(verb["error"].get<std::string>(), Contains("has no operator verb \"resize\""));
  admin_json(admin, "POST", "/v1/volumes/alpha/explode", 404, "{}");

  Json dry = admin_json(admin, "GET", "/v1/reconcile");
  CHECK(dry["apply"] == false);
  CHECK(dry["findings"].empty());
  admin_json(admin, "POST", "/v1/reconcile", 400, R"({"apply":"yes"})");

  Json doctor = admin_json(admin, "GET", "/v1/doctor");
  std::map<std::string, std::string> status;
  std::map<std::string, std::string> message;
  for (const auto& check : doctor["checks"]) {
    status[check["name"]] = check["status"];
    message[check["name"]] = check["message"];
  }
  CHECK(status["config"] == "ok");
  CHECK(status["backend local"] == "ok");
  CHECK(status["mounts"] == "ok");
  CHECK(status["sockets"] == "ok");
  CHECK(status["audit log"] == "ok");
  CHECK(message["audit log"] == "appending to " + daemon.state_dir() +
                                    "/audit.log, rotated at 10485760 bytes, 3 rotated file(s) kept");
  CHECK(status.count("metrics") == 0);  // not configured

  Json info = admin_json(admin, "GET", "/v1/info");
  CHECK(info["admin_socket"] == daemon.admin_socket_path());
  CHECK(info["pid"] == daemon.pid());

  // Stopping removes the admin socket too.
  CHECK(daemon.stop() == 0);
  CHECK(::lstat(daemon.admin_socket_path().c_str(), &st) != 0);
}

TEST_CASE("admin API: /metrics is valid Prometheus text that follows the calls", "[protocol][admin][metrics]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.start();
  WITH_LOG(daemon);
  SocketClient plugin(daemon.socket_path());
  plugin_ok(plugin, "Create", {{"Name", "m1"}, {"Opts", nullptr}});
  plugin_ok(plugin, "Mount", {{"Name", "m1"}, {"ID", k_mount_id}});
  plugin_ok(plugin, "Get", {{"Name", "m1"}});
  auto failed = plugin.post("/VolumeDriver.Remove", R"({"Name":"m1"})");  // in use
  CHECK(failed.status == 500);

  SocketClient admin(daemon.admin_socket_path());
  auto reply = admin.request("GET", "/metrics", "");
  REQUIRE(reply.status == 200);
  CHECK_THAT(reply.content_type, Contains("text/plain"));
  std::map<std::string, holdfast::test::PromFamily> families;
  REQUIRE_NOTHROW(families = parse_prometheus(reply.body));
  const std::string h = "holdfast_plugin_request_duration_seconds";
  for (const char* endpoint : {"VolumeDriver.Create", "VolumeDriver.Mount", "VolumeDriver.Get"}) {
    INFO(endpoint);
    CHECK(sample_value(families, "holdfast_plugin_requests_total", "holdfast_plugin_requests_total",
                       {{"endpoint", endpoint}}) == 1);
    CHECK(sample_value(families, h, h + "_count", {{"endpoint", endpoint}}) == 1);
  }
  CHECK(sample_value(families, "holdfast_plugin_errors_total", "holdfast_plugin_errors_total",
                     {{"endpoint", "VolumeDriver.Remove"}}) == 1);
  CHECK(sample_value(families, "holdfast_volumes", "holdfast_volumes", {{"backend", "local"}}) == 1);
  CHECK(sample_value(families, "holdfast_volumes_mounted", "holdfast_volumes_mounted", {{"backend", "local"}}) == 1);
  CHECK(sample_value(families, "holdfast_mounts", "holdfast_mounts", {{"backend", "local"}}) == 1);
  CHECK(sample_value(families, "holdfast_backend_calls_total", "holdfast_backend_calls_total",
                     {{"backend", "local"}}) >= 2);

  // The CLI prints the same text.
  auto cli = holdfast_cli(daemon, {"metrics"});
  CHECK(cli.exit_code == 0);
  CHECK_NOTHROW(parse_prometheus(cli.out));
}

TEST_CASE("audit log: one JSON line per mutating plugin call", "[protocol][admin][audit]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.start();
  WITH_LOG(daemon);
  SocketClient plugin(daemon.socket_path());
  plugin_ok(plugin, "Create", {{"Name", "aud"}, {"Opts", nullptr}});
  plugin_ok(plugin, "Mount", {{"Name", "aud"}, {"ID", k_mount_id}});
  plugin_ok(plugin, "Get", {{"Name", "aud"}});  // a read: not audited
  plugin_ok(plugin, "Unmount", {{"Name", "aud"}, {"ID", k_mount_id}});
  plugin_ok(plugin, "Remove", {{"Name", "aud"}});
  CHECK(plugin.post("/VolumeDriver.Remove", R"({"Name":"aud"})").status == 500);  // gone

  struct stat st {};
  REQUIRE(::stat((daemon.state_dir() + "/audit.log").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto lines = audit_lines(daemon);
  REQUIRE(lines.size() == 5);
  const std::vector<std::string> calls = {"create", "mount", "unmount", "remove", "remove"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO("line " << i << ": " << lines[i].dump());
    CHECK(lines[i]["source"] == "plugin");
    CHECK(lines[i]["call"] == calls[i]);
    CHECK(lines[i]["volume"] == "aud");
    CHECK(lines[i]["time"].get<std::string>().size() == 24);
    CHECK(lines[i]["duration_ms"].is_number());
    CHECK(lines[i]["outcome"] == (i == 4 ? "error" : "ok"));
  }
  CHECK(lines[1]["mount_id"] == k_mount_id);
  CHECK(lines[2]["mount_id"] == k_mount_id);
  CHECK_FALSE(lines[0].contains("mount_id"));
  CHECK_THAT(lines[4]["error"].get<std::string>(), Contains("no such volume"));
}

TEST_CASE("holdfast CLI: every verb against the real daemon, --json, exit codes", "[protocol][admin][cli]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.start();
  WITH_LOG(daemon);
  SocketClient plugin(daemon.socket_path());
  plugin_ok(plugin, "Create", {{"Name", "cli1"}, {"Opts", {{"mode", "0700"}}}});
  plugin_ok(plugin, "Mount", {{"Name", "cli1"}, {"ID", k_mount_id}});

  auto ls = holdfast_cli(daemon, {"ls"});
  INFO(ls.out << ls.err);
  CHECK(ls.exit_code == 0);
  CHECK_THAT(ls.out, Contains("NAME") && Contains("cli1") && Contains("local"));
  auto ls_json = holdfast_cli(daemon, {"--json", "ls"});
  CHECK(ls_json.exit_code == 0);
  CHECK(Json::parse(ls_json.out)["volumes"][0]["name"] == "cli1");

  auto inspect = holdfast_cli(daemon, {"inspect", "cli1"});
  CHECK(inspect.exit_code == 0);
  CHECK_THAT(inspect.out, Contains("mode=0700") && Contains(k_mount_id.substr(0, 12) + " x1"));
  auto missing = holdfast_cli(daemon, {"inspect", "nope"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Contains("no such volume"));
  auto bad_name = holdfast_cli(daemon, {"inspect", "../x"});
  CHECK(bad_name.exit_code == 64);

  auto doctor = holdfast_cli(daemon, {"doctor"});
  INFO(doctor.out);
  CHECK(doctor.exit_code == 0);
  CHECK_THAT(doctor.out, Contains("OK    config") && Contains("doctor: "));
  auto doctor_json = holdfast_cli(daemon, {"--json", "doctor"});
  CHECK(Json::parse(doctor_json.out)["status"] == "ok");

  auto reconcile = holdfast_cli(daemon, {"reconcile"});
  CHECK(reconcile.exit_code == 0);
  CHECK_THAT(reconcile.out, Contains("nothing to reconcile"));

  auto resize = holdfast_cli(daemon, {"resize", "cli1", "1G"});
  CHECK(resize.exit_code == 1);
  CHECK_THAT(resize.err, Contains("resize volume \"cli1\"") && Contains("has no operator verb"));
  auto release = holdfast_cli(daemon, {"takeover", "cli1"});
  CHECK(release.exit_code == 1);
  CHECK_THAT(release.err, Contains("has no operator verb \"release\""));

  auto info = holdfast_cli(daemon, {"info"});
  CHECK(info.exit_code == 0);
  CHECK_THAT(info.out, Contains(daemon.admin_socket_path()));

  auto usage = holdfast_cli(daemon, {"frobnicate"});
  CHECK(usage.exit_code == 64);
  auto help = holdfast::test::run_program({cli_path(), "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Contains("doctor") && Contains("reconcile") && Contains("release"));

  // The audit log has the operator's failed resize too.
  auto lines = audit_lines(daemon);
  REQUIRE_FALSE(lines.empty());
  bool found = false;
  for (const auto& line : lines) {
    found = found || (line["source"] == "admin" && line["call"] == "resize" && line["outcome"] == "error" &&
                      line["details"]["size"] == "1G");
  }
  CHECK(found);

  // Not running: no socket, then a socket nobody listens on.
  daemon.stop();
  auto gone = holdfast_cli(daemon, {"ls"});
  CHECK(gone.exit_code == 69);
  CHECK_THAT(gone.err, Contains("holdfastd is not running") && Contains(daemon.admin_socket_path()));
  {
    holdfast::Fd stale(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, daemon.admin_socket_path().c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  auto refused = holdfast_cli(daemon, {"ls"});
  CHECK(refused.exit_code == 69);
  CHECK_THAT(refused.err, Contains("nobody listens"));
}

TEST_CASE("holdfast reconcile --apply unmounts a stranger under the mount root (root only)",
          "[protocol][admin][cli]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.start();
  WITH_LOG(daemon);
  const std::string stranger = daemon.mount_root() + "/stranger";
  ::mkdir(daemon.mount_root().c_str(), 0755);
  ::mkdir(stranger.c_str(), 0755);
  if (::geteuid() != 0 || ::mount("tmpfs", stranger.c_str(), "tmpfs", 0, "size=1m") != 0) {
    WARN("cannot mount a tmpfs here (not root?): " << std::strerror(errno) << "; the apply path is not exercised");
    return;
  }
  struct Cleanup {
    std::string path;
    ~Cleanup() { ::umount2(path.c_str(), MNT_DETACH); }
  } cleanup{stranger};

  auto dry = holdfast_cli(daemon, {"reconcile"});
  INFO(dry.out << dry.err);
  CHECK(dry.exit_code == 1);
  CHECK_THAT(dry.out, Contains("stranger: unknown_mount") && Contains("[planned]"));
  CHECK(mounted_at(stranger));

  auto doctor = holdfast_cli(daemon, {"doctor"});
  CHECK(doctor.exit_code == 1);  // a warning
  CHECK_THAT(doctor.out, Contains("WARN  mounts"));

  auto apply = holdfast_cli(daemon, {"reconcile", "--apply"});
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 0);
  CHECK_THAT(apply.out, Contains("[done]") && Contains("1 fixed, 0 failed"));
  CHECK_FALSE(mounted_at(stranger));
  auto lines = audit_lines(daemon);
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back()["call"] == "reconcile");
  CHECK(lines.back()["details"]["fixed"] == 1);
}

TEST_CASE("metrics TCP listener: absent unless configured, loopback when configured", "[protocol][admin][metrics]") {
  SECTION("not configured: holdfastd listens on no TCP port") {
    TempDir dir;
    DaemonProcess daemon(dir.path());
    daemon.start();
    WITH_LOG(daemon);
    CHECK(listening_tcp(daemon.pid()).empty());
  }
  SECTION("configured: 127.0.0.1:<port> serves /metrics and nothing else") {
    TempDir dir;
    const int port = free_tcp_port();
    DaemonSettings settings;
    settings.config_yaml = "metrics_listen: 127.0.0.1:" + std::to_string(port) +
                           "\nbackends:\n  local:\n    type: local\n    base_dir: " + dir.path() + "/volumes\n";
    DaemonProcess daemon(dir.path(), settings);
    daemon.start();
    WITH_LOG(daemon);
    char expected[32];
    std::snprintf(expected, sizeof expected, "0100007F:%04X", port);
    CHECK(listening_tcp(daemon.pid()) == std::vector<std::string>{expected});
    std::string response = http_get_tcp(port, "/metrics");
    CHECK_THAT(response, Contains("200 OK"));
    CHECK_NOTHROW(parse_prometheus(body_of(response)));
    CHECK_THAT(http_get_tcp(port, "/v1/volumes"), Contains("404"));
    SocketClient admin(daemon.admin_socket_path());
    Json doctor = Json::parse(admin.request("GET", "/v1/doctor", "").body);
    bool ok = false;
    for (const auto& check : doctor["checks"]) {
      ok = ok || (check["name"] == "metrics" && check["status"] == "ok");
    }
    CHECK(ok);
  }
  SECTION("a non-loopback address is a config error") {
    TempDir dir;
    DaemonSettings settings;
    settings.config_yaml = "metrics_listen: 0.0.0.0:9436\n";
    DaemonProcess daemon(dir.path(), settings);
    auto check = holdfast::test::run_holdfastd({"--config", daemon.config_path(), "--check-config"});
    CHECK(check.exit_code == 1);
    CHECK_THAT(check.err, Contains("metrics_listen") && Contains("not a loopback address"));
  }
}
