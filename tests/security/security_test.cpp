// Security checks on the real holdfastd binary: who can reach its sockets,
// what it refuses to start on, that it opens no network listener, that
// CHAP secrets never leave it (logs, Err, state files, metrics), and that
// no delete or mount escapes the volume directories, symlinks or not.
// See docs/reliability.md, "Security checks".
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "iscsi/tgtd_fixture.hpp"
#include "support/backend_yaml.hpp"
#include "support/black_hole.hpp"
#include "support/daemon_process.hpp"
#include "support/socket_client.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using holdfast::test::DaemonProcess;
using holdfast::test::DaemonSettings;
using holdfast::test::SocketClient;
using holdfast::test::TempDir;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  { std::ofstream(path, std::ios::trunc) << text; }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// Inodes of the sockets the process `pid` has open.
std::set<unsigned long> socket_inodes(pid_t pid) {
  std::set<unsigned long> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::error_code ec;
    std::string target = fs::read_symlink(entry.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) {
      out.insert(std::stoul(target.substr(8, target.size() - 9)));
    }
  }
  return out;
}

// Paths of the unix sockets `pid` listens on (from its /proc/<pid>/net/unix:
// flag __SO_ACCEPTCON, 0x10000, marks a listening socket).
std::vector<std::string> listening_unix_paths(pid_t pid) {
  auto mine = socket_inodes(pid);
  std::istringstream table(read_file("/proc/" + std::to_string(pid) + "/net/unix"));
  std::string line;
  std::getline(table, line);  // header
  std::vector<std::string> out;
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string num, refcount, protocol, flags, type, state, inode, path;
    fields >> num >> refcount >> protocol >> flags >> type >> state >> inode >> path;
    if ((std::stoul(flags, nullptr, 16) & 0x10000U) != 0 && mine.count(std::stoul(inode)) != 0 && !path.empty()) {
      out.push_back(path);
    }
  }
  return out;
}

// Lines of /proc/<pid>/net/{tcp,tcp6,udp,udp6} that belong to `pid`'s
// sockets and listen: TCP state 0A (LISTEN), or any bound UDP socket.
std::vector<std::string> network_listeners(pid_t pid) {
  auto mine = socket_inodes(pid);
  std::vector<std::string> out;
  for (const char* table_name : {"tcp", "tcp6", "udp", "udp6"}) {
    const bool udp = std::string(table_name).rfind("udp", 0) == 0;
    std::istringstream table(read_file("/proc/" + std::to_string(pid) + "/net/" + table_name));
    std::string line;
    std::getline(table, line);
    while (std::getline(table, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (mine.count(std::stoul(inode)) != 0 && (udp || state == "0A")) {
        out.push_back(std::string(table_name) + " " + line);
      }
    }
  }
  return out;
}

std::string err_of(const holdfast::test::HttpReply& reply) {
  auto body = Json::parse(reply.body, nullptr, false);
  return body.is_object() ? body.value("Err", "") : "";
}

}  // namespace

TEST_CASE("every unix socket holdfastd listens on is 0600 and owned by it", "[integration][security]") {
  TempDir dir;
  mode_t previous = ::umask(0);  // a careless parent must not widen the socket
  DaemonProcess daemon(dir.path());
  daemon.start();
  ::umask(previous);

  auto paths = listening_unix_paths(daemon.pid());
  REQUIRE_FALSE(paths.empty());
  bool plugin_socket_seen = false;
  for (const auto& path : paths) {
    INFO("listening socket " << path);
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_uid == ::geteuid());
    struct stat parent {};
    REQUIRE(::stat(fs::path(path).parent_path().c_str(), &parent) == 0);
    CHECK((parent.st_mode & S_IWOTH) == 0);
    plugin_socket_seen = plugin_socket_seen || path == daemon.socket_path();
  }
  CHECK(plugin_socket_seen);
}

TEST_CASE("holdfastd refuses to start on a socket path another user controls", "[integration][security]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto argv = daemon.argv();
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  const std::string run_dir = fs::path(daemon.socket_path()).parent_path();
  REQUIRE(fs::create_directories(run_dir));
  REQUIRE(::chmod(run_dir.c_str(), 0755) == 0);

  auto refuses = [&](const std::string& why) {
    auto result = holdfast::test::run_holdfastd(args, 20s);
    INFO("stderr: " << result.err);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains(why));
  };
  SECTION("the socket's directory belongs to another user") {
    REQUIRE(::chown(run_dir.c_str(), 12345, 12345) == 0);
    refuses("owned by uid 12345");
  }
  SECTION("the socket's directory is writable by others") {
    REQUIRE(::chmod(run_dir.c_str(), 0777) == 0);
    refuses("writable by other users");
  }
  SECTION("a stale socket at the path belongs to another user") {
    {
      DaemonProcess first(dir.path());
      first.start();
      first.kill();  // SIGKILL leaves its socket file behind
    }
    REQUIRE(fs::is_socket(daemon.socket_path()));
    REQUIRE(::lchown(daemon.socket_path().c_str(), 12345, 12345) == 0);
    refuses("owned by uid 12345");
    CHECK(fs::is_socket(daemon.socket_path()));  // not removed
  }
  SECTION("a file at the path belongs to another user") {
    write_file(daemon.socket_path(), "theirs", 0644);
    REQUIRE(::chown(daemon.socket_path().c_str(), 12345, 12345) == 0);
    refuses("owned by uid 12345");
    CHECK(read_file(daemon.socket_path()) == "theirs");
  }
  SECTION("a file of ours that is not a socket") {
    write_file(daemon.socket_path(), "mine", 0644);
    refuses("not a socket");
    CHECK(read_file(daemon.socket_path()) == "mine");
  }
}

TEST_CASE("holdfastd opens no network listener", "[integration][security]") {
  TempDir dir;
  DaemonSettings settings;
  // Every backend type that talks to the network, configured but idle,
  // plus a Create that does reach out (and fails: nothing listens on port 9).
  settings.config_yaml = "refresh_interval: 1s\n"
                         "backends:\n" +
                         holdfast::test::local_backend_yaml(dir.sub("volumes")) +
                         holdfast::test::nfs_backend_yaml("filer", 9, {"provision_timeout: 1s"}) +
                         "  san:\n"
                         "    type: iscsi\n"
                         "    portals: [\"127.0.0.1:9\"]\n"
                         "    target: iqn.2024-01.io.holdfast:none\n"
                         "    initiator_name: iqn.2024-01.io.holdfast:sec\n"
                         "    luns: \"1\"\n"
                         "    io_timeout: 1s\n";
  DaemonProcess daemon(dir.path(), settings);
  daemon.start();
  SocketClient client(daemon.socket_path(), 30s);
  CHECK(client.post("/VolumeDriver.Create", R"({"Name":"l1"})").status == 200);
  CHECK(client.post("/VolumeDriver.Create", R"({"Name":"n1","Opts":{"backend":"filer"}})").status >= 400);
  CHECK(client.post("/VolumeDriver.Create", R"({"Name":"i1","Opts":{"backend":"san"}})").status >= 400);
  std::this_thread::sleep_for(1500ms);  // one background refresh
  auto listeners = network_listeners(daemon.pid());
  INFO("network listeners: " << listeners.size());
  for (const auto& l : listeners) {
    UNSCOPED_INFO(l);
  }
  CHECK(listeners.empty());
  // The check itself sees a listener when there is one: a black hole in
  // this very process.
  holdfast::test::BlackHole ours;
  CHECK(network_listeners(::getpid()).size() == 1);
}

TEST_CASE("CHAP secrets never appear in logs or Err or replies or state files or metrics", "[integration][security]") {
  using holdfast::iscsi::test::Tgtd;
  if (!Tgtd::available()) {
    WARN("tgtd/tgtadm (package tgt) not installed: skipped");
    return;
  }
  const std::string iqn = "iqn.2024-01.io.holdfast:secrets";
  const std::string right = "Right-chap-Secret-7f3a9c";
  const std::string wrong = "Wrong-chap-Secret-b41d2e";
  const std::string mutual = "Mutual-chap-Secret-5e6f70";
  Tgtd target;
  target.add_target(1, iqn);
  target.add_lun(1, 1, 40ULL << 20U);
  target.add_lun(1, 2, 40ULL << 20U);
  target.add_account("hfuser", right);
  target.add_account("tgtuser", mutual);
  target.bind_account(1, "hfuser", false);
  target.bind_account(1, "tgtuser", true);

  TempDir dir;
  write_file(dir.sub("right.secret"), right + "\n");
  write_file(dir.sub("wrong.secret"), wrong + "\n");
  write_file(dir.sub("mutual.secret"), mutual + "\n");
  auto section = [&](const std::string& name, const std::string& secret_file, bool with_mutual) {
    std::string out = "  " + name + ":\n"
                      "    type: iscsi\n"
                      "    portals: [\"" + target.portal() + "\"]\n"
                      "    target: " + iqn + "\n"
                      "    initiator_name: iqn.2024-01.io.holdfast:" + name + "\n"
                      "    luns: \"1-2\"\n"
                      "    io_timeout: 2s\n"
                      "    chap:\n"
                      "      username: hfuser\n"
                      "      secret_file: " + secret_file + "\n";
    if (with_mutual) {
      out += "      mutual_username: tgtuser\n"
             "      mutual_secret_file: " + dir.sub("mutual.secret") + "\n";
    }
    return out;
  };
  DaemonSettings settings;
  settings.log_level = "trace";  // everything the daemon would ever log
  settings.config_yaml = "refresh_interval: 1s\n"
                         "default_backend: local\n"
                         "backends:\n" +
                         holdfast::test::local_backend_yaml(dir.sub("volumes")) +
                         section("san", dir.sub("right.secret"), true) + section("bad", dir.sub("wrong.secret"), false);
  DaemonProcess daemon(dir.path(), settings);
  daemon.start();
  SocketClient client(daemon.socket_path(), 60s);

  std::vector<std::string> replies;
  auto post = [&](const std::string& endpoint, const Json& body) {
    auto reply = client.post(endpoint, body.dump());
    replies.push_back(endpoint + " " + reply.body);
    return reply;
  };
  auto good = post("/VolumeDriver.Create", {{"Name", "v-right"}, {"Opts", {{"backend", "san"}}}});
  INFO("right CHAP: " << good.body);
  CHECK(good.status == 200);
  auto bad = post("/VolumeDriver.Create", {{"Name", "v-wrong"}, {"Opts", {{"backend", "bad"}}}});
  CHECK(bad.status >= 400);
  CHECK_THAT(err_of(bad), Catch::Contains("create volume \"v-wrong\""));
  post("/VolumeDriver.Get", {{"Name", "v-right"}});
  post("/VolumeDriver.List", Json::object());
  post("/VolumeDriver.Mount", {{"Name", "v-right"}, {"ID", "m1"}});  // no kernel initiator here: an Err
  post("/VolumeDriver.Path", {{"Name", "v-right"}});
  post("/VolumeDriver.Unmount", {{"Name", "v-right"}, {"ID", "m1"}});
  post("/VolumeDriver.Remove", {{"Name", "v-wrong"}});
  std::this_thread::sleep_for(1500ms);  // a background refresh with both sessions

  // Metrics, wherever the daemon serves them (any other socket it listens on).
  std::string metrics;
  for (const auto& path : listening_unix_paths(daemon.pid())) {
    if (path != daemon.socket_path()) {
      SocketClient admin(path, 10s);
      if (auto reply = admin.try_post("/metrics", "")) {
        metrics += reply->body;
      }
      try {
        metrics += admin.request("GET", "/metrics", "").body;
      } catch (const std::exception&) {
      }
    }
  }
  daemon.stop();

  std::map<std::string, std::string> places;
  places["daemon log"] = daemon.log();
  places["metrics"] = metrics;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    places["reply " + std::to_string(i)] = replies[i];
  }
  for (const auto& entry : fs::recursive_directory_iterator(daemon.state_dir())) {
    if (entry.is_regular_file()) {
      places["state file " + entry.path().string()] = read_file(entry.path());
    }
  }
  REQUIRE(places.size() > replies.size() + 2);  // state files were written
  CHECK_THAT(places["daemon log"], Catch::Contains("v-wrong"));  // the log is the real one
  for (const auto& [where, text] : places) {
    for (const auto& secret : {right, wrong, mutual}) {
      INFO(where << " must not contain " << secret);
      CHECK(text.find(secret) == std::string::npos);
    }
  }
}

TEST_CASE("no delete or mount escapes a volume's directory even through symlinks", "[integration][security]") {
  TempDir dir;
  const std::string base = dir.sub("volumes");
  const std::string outside = dir.sub("outside");
  REQUIRE(fs::create_directories(outside + "/keep"));
  write_file(outside + "/precious", "precious", 0644);
  DaemonProcess daemon(dir.path());
  daemon.start();
  SocketClient client(daemon.socket_path(), 10s);
  auto post = [&](const std::string& endpoint, const Json& body) { return client.post(endpoint, body.dump()); };
  auto outside_intact = [&] {
    CHECK(read_file(outside + "/precious") == "precious");
    CHECK(fs::is_directory(outside + "/keep"));
  };

  SECTION("Remove deletes a volume holding symlinks to outside, and nothing outside") {
    REQUIRE(post("/VolumeDriver.Create", {{"Name", "v"}}).status == 200);
    auto mounted = post("/VolumeDriver.Mount", {{"Name", "v"}, {"ID", "m1"}});
    REQUIRE(mounted.status == 200);
    const std::string vol = Json::parse(mounted.body)["Mountpoint"];
    CHECK(vol == base + "/v");
    // What a container could plant inside its volume.
    REQUIRE(fs::create_directories(vol + "/sub/deeper"));
    fs::create_directory_symlink(outside, vol + "/to-outside");
    fs::create_symlink(outside + "/precious", vol + "/to-file");
    fs::create_directory_symlink("../../outside", vol + "/relative-up");
    fs::create_directory_symlink("../../../outside", vol + "/sub/up-up");
    fs::create_directory_symlink("/", vol + "/sub/deeper/root");
    REQUIRE(post("/VolumeDriver.Unmount", {{"Name", "v"}, {"ID", "m1"}}).status == 200);
    REQUIRE(post("/VolumeDriver.Remove", {{"Name", "v"}}).status == 200);
    CHECK_FALSE(fs::exists(fs::symlink_status(vol)));
    outside_intact();
  }
  SECTION("a symlink in place of a new volume's directory is refused") {
    fs::create_directories(base);
    fs::create_directory_symlink(outside, base + "/w");
    auto created = post("/VolumeDriver.Create", {{"Name", "w"}});
    CHECK(created.status >= 400);
    CHECK_THAT(err_of(created), Catch::Contains("create volume \"w\"") && Catch::Contains("not a directory"));
    CHECK(fs::is_symlink(base + "/w"));
    CHECK_FALSE(fs::exists(daemon.state_dir() + "/volumes/w.json"));
    outside_intact();
  }
  SECTION("a volume directory swapped for a symlink is neither mounted nor deleted through") {
    REQUIRE(post("/VolumeDriver.Create", {{"Name", "x"}}).status == 200);
    fs::remove(base + "/x");
    fs::create_directory_symlink(outside, base + "/x");
    auto mounted = post("/VolumeDriver.Mount", {{"Name", "x"}, {"ID", "m1"}});
    CHECK(mounted.status >= 400);
    CHECK_THAT(err_of(mounted), Catch::Contains("mount volume \"x\""));
    CHECK(Json::parse(post("/VolumeDriver.Path", {{"Name", "x"}}).body).value("Mountpoint", "") == "");
    REQUIRE(post("/VolumeDriver.Remove", {{"Name", "x"}}).status == 200);
    CHECK_FALSE(fs::exists(fs::symlink_status(base + "/x")));  // the link itself went
    outside_intact();
  }
  SECTION("a path or subdir option is refused, not resolved") {
    for (const char* key : {"subdir", "path", "base_dir", "source"}) {
      auto created = post("/VolumeDriver.Create", {{"Name", "opt"}, {"Opts", {{key, "../outside"}}}});
      CHECK(created.status >= 400);
      CHECK_THAT(err_of(created), Catch::Contains("unknown option"));
    }
    CHECK_FALSE(fs::exists(base + "/opt"));
    outside_intact();
  }
  // Whatever happened, every mountpoint handed out is a volume directory.
  auto listed = Json::parse(post("/VolumeDriver.List", Json::object()).body);
  for (const auto& v : listed["Volumes"]) {
    const std::string mp = v.value("Mountpoint", "");
    if (!mp.empty()) {
      CHECK(mp == base + "/" + v["Name"].get<std::string>());
      CHECK(fs::weakly_canonical(mp).string().rfind(base + "/", 0) == 0);
    }
  }
}
