// Integration suite of the nfs backend against a real NFS server:
// nfs-ganesha on 127.0.0.1, started once for the whole executable
// (ganesha_server.hpp), NFSv3 and NFSv4. Two backend instances with their
// own state dirs play two hosts sharing one export.
//
// Proves: provisioning with ownership and mode (checked on the exported
// directory itself), the on-export records, visibility across hosts,
// racing creates, conflicting options, each removal policy, root_squash
// errors and the anonuid workflow, and failure behaviour - a stopped, a
// paused and a black-holed server give errors within the configured
// deadline while other volumes keep working.
//
// With the real holdfastd on top: right after a start the daemon lists what
// the export holds but its state does not (a Create cut off by a crash)
// without waiting for the periodic refresh, and a paused server does not
// delay start-up.
//
// Kernel NFS mounts cannot run on the CI machine (no NFS client): attach is
// exercised up to mount.nfs (the probe against ganesha is real, the
// CommandRunner is a fake); the VM suite (tests/e2e) mounts for real.
//
// Skips with a WARN (does not fail) when ganesha.nfsd is not installed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <holdfast/fd.hpp>
#include <support/daemon_process.hpp>
#include <support/fake_mounter.hpp>
#include <support/fake_runner.hpp>
#include <support/socket_client.hpp>
#include <support/temp_dir.hpp>

#include "ganesha_server.hpp"
#include "nfs_backend.hpp"
#include "nfs_context.hpp"
#include "nfs_metadata.hpp"

using namespace holdfast;
using namespace holdfast::nfs;
using holdfast::test::DaemonProcess;
using holdfast::test::DaemonSettings;
using holdfast::test::FakeMounter;
using holdfast::test::FakeRunner;
using holdfast::test::GaneshaServer;
using holdfast::test::SocketClient;
using holdfast::test::TempDir;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Suite {
  TempDir dir;
  std::unique_ptr<GaneshaServer> server;
};

// Started on first use, stopped at exit (and killed with the process if it
// dies: PR_SET_PDEATHSIG).
Suite* suite() {
  static std::unique_ptr<Suite> instance = []() -> std::unique_ptr<Suite> {
    if (GaneshaServer::binary().empty()) {
      return nullptr;
    }
    auto s = std::make_unique<Suite>();
    ::mkdir(s->dir.sub("ganesha").c_str(), 0700);
    s->server = std::make_unique<GaneshaServer>(s->dir.sub("ganesha"));
    return s;
  }();
  return instance.get();
}

#define REQUIRE_GANESHA()                                                                   \
  if (suite() == nullptr) {                                                                 \
    WARN("SKIPPED: ganesha.nfsd is not installed (apt-get install nfs-ganesha nfs-ganesha-vfs)"); \
    return;                                                                                 \
  }

GaneshaServer& server() { return *suite()->server; }

// One "host": its own fakes for the host side, its own state dir, its own
// backend instance configured against the shared ganesha export.
struct Host {
  FakeRunner runner;
  FakeMounter mounter;
  std::string state_dir;
  BackendEnv env;
  std::unique_ptr<NfsBackend> backend;

  Host(const std::string& host_id, const std::string& yaml)
      : state_dir(suite()->dir.sub("state-" + host_id)), env{"filer", host_id, state_dir, runner, mounter} {
    holdfast::ConfigReader reader(YAML::Load(yaml), "holdfast.yaml", "backends.filer");
    backend = std::make_unique<NfsBackend>(read_nfs_config(reader), env);
  }
};

std::string config(const std::string& base, const std::string& extra = "", const std::string& export_path = "/export",
                   int version = 3) {
  return fmt::format(
      "type: nfs\nserver: 127.0.0.1\nexport: {}\nbase_path: {}\nport: {}\nmount_port: {}\n"
      "provision_version: {}\n{}{}",
      export_path, base, server().nfs_port(), server().mount_port(), version,
      extra.find("provision_timeout") == std::string::npos ? "provision_timeout: 20s\n" : "", extra);
}

VolumeRecord record(const std::string& name, Options options = {}) {
  VolumeRecord r;
  r.name = name;
  r.backend = "filer";
  r.options = std::move(options);
  return r;
}

struct stat local_stat(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

std::size_t count_entries(const std::string& dir) {
  if (!fs::exists(dir)) {
    return 0;
  }
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

std::string read_local(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::string text(static_cast<std::size_t>(fs::file_size(path)), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

// The local path behind the export of volume `name`'s directory, as its
// record on the export names it ("<base>/<name>@<generation>").
std::string volume_path(const std::string& root, const std::string& name) {
  VolumeMetadata meta = parse_metadata(read_local(root + "/.holdfast/volumes/" + name + ".json"), name);
  CHECK(meta.dir.rfind(name + "@", 0) == 0);
  return root + "/" + meta.dir;
}

double seconds_since(Deadline::Clock::time_point start) {
  return std::chrono::duration<double>(Deadline::Clock::now() - start).count();
}

ErrorKind kind_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message != nullptr) {
      *message = e.what();
    }
    return e.kind();
  }
  FAIL("expected a holdfast::Error");
  return ErrorKind::internal;
}

// A TCP port that accepts connections (the kernel completes the handshake
// from the listen backlog) and never answers: a black hole.
class BlackHole {
 public:
  BlackHole() : m_sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(m_sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(m_sock.get(), 64) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(m_sock.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
  }
  int port() const { return m_port; }

 private:
  Fd m_sock;
  int m_port = 0;
};

// A port whose accept queue is full: the kernel drops further SYNs, so a
// client's TCP handshake never completes (a firewall that drops packets,
// an unreachable host).
class SynHole {
 public:
  SynHole() {
    REQUIRE(::listen(m_listener.get(), 0) == 0);
    // Fill the queue (backlog 0 admits one, sometimes two, connections).
    for (int i = 0; i < 3; ++i) {
      Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<std::uint16_t>(port()));
      (void)::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      m_clients.push_back(std::move(client));
    }
    std::this_thread::sleep_for(100ms);
  }
  int port() const { return m_port; }

 private:
  Fd bound() {
    Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    return sock;
  }
  int m_port = 0;
  Fd m_listener = bound();
  std::vector<Fd> m_clients;
};

}  // namespace

TEST_CASE("nfs integration: provisioning over NFSv3 sets ownership and mode and writes the record", "[nfs][integration]") {
  REQUIRE_GANESHA();
  Host a("host-a", config("/prov"));
  VolumeRecord r = record("web", {{"uid", "1000"}, {"gid", "1001"}, {"mode", "0750"}});
  a.backend->provision(r, Deadline::after(30s));
  CHECK(r.created_by == "host-a");

  auto st = local_stat(volume_path(server().export_dir() + "/prov", "web"));
  CHECK(r.backend_data["dir"] == fs::path(volume_path(server().export_dir() + "/prov", "web")).filename().string());
  CHECK(S_ISDIR(st.st_mode));
  CHECK(st.st_uid == 1000);
  CHECK(st.st_gid == 1001);
  CHECK((st.st_mode & 07777) == 0750);

  std::string text = read_local(server().export_dir() + "/prov/.holdfast/volumes/web.json");
  VolumeMetadata meta = parse_metadata(text, "web");
  CHECK(meta.options == r.options);
  CHECK(meta.created_by == "host-a");
  CHECK(meta.created_at == r.created_at);
  CHECK(count_entries(server().export_dir() + "/prov/.holdfast/tmp") == 0);

  SECTION("idempotent with the same options") {
    VolumeRecord again = record("web", r.options);
    a.backend->provision(again, Deadline::after(30s));
    CHECK(again.created_at == r.created_at);
  }
  SECTION("no options adopts the stored ones") {
    VolumeRecord implicit = record("web");
    a.backend->provision(implicit, Deadline::after(30s));
    CHECK(implicit.options == r.options);
  }
  SECTION("different options are a conflict that names both") {
    VolumeRecord other = record("web", {{"uid", "2000"}});
    std::string message;
    CHECK(kind_of([&] { a.backend->provision(other, Deadline::after(30s)); }, &message) == ErrorKind::conflict);
    CHECK_THAT(message, Catch::Contains("host-a") && Catch::Contains("uid=1000") && Catch::Contains("uid=2000"));
  }
  SECTION("default ownership from the config") {
    Host d("host-d", config("/prov-defaults", "default_uid: 4000\ndefault_gid: 4001\ndefault_mode: \"0700\"\n"));
    VolumeRecord plain = record("plain");
    d.backend->provision(plain, Deadline::after(30s));
    auto pst = local_stat(volume_path(server().export_dir() + "/prov-defaults", "plain"));
    CHECK(pst.st_uid == 4000);
    CHECK(pst.st_gid == 4001);
    CHECK((pst.st_mode & 07777) == 0700);
  }
  SECTION("a file where the volume's directory should be is a conflict, and leaves no record") {
    std::ofstream(server().export_dir() + "/prov/stray") << "not a dir";
    VolumeRecord stray = record("stray");
    std::string message;
    CHECK(kind_of([&] { a.backend->provision(stray, Deadline::after(30s)); }, &message) == ErrorKind::conflict);
    CHECK_THAT(message, Catch::Contains("not a directory"));
    CHECK_FALSE(fs::exists(server().export_dir() + "/prov/.holdfast/volumes/stray.json"));
  }
}

TEST_CASE("nfs integration: provisioning over NFSv4", "[nfs][integration]") {
  REQUIRE_GANESHA();
  Host a("host-a", config("/v4", "", "/export", 4));
  VolumeRecord r = record("four", {{"mode", "0770"}});
  a.backend->validate(r.options);
  a.backend->provision(r, Deadline::after(30s));
  const std::string four = volume_path(server().export_dir() + "/v4", "four");
  auto st = local_stat(four);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 07777) == 0770);
  auto found = a.backend->discover(Deadline::after(30s));
  REQUIRE(found);
  REQUIRE(found->size() == 1);
  CHECK((*found)[0].name == "four");
  CHECK((*found)[0].options == r.options);
  CHECK(kind_of([&] { a.backend->validate({{"uid", "1000"}}); }) == ErrorKind::invalid_argument);
  a.backend->deprovision(r, Deadline::after(30s));
  CHECK_FALSE(fs::exists(four));
}

TEST_CASE("nfs integration: two hosts share one export", "[nfs][integration]") {
  REQUIRE_GANESHA();
  Host a("host-a", config("/shared"));
  Host b("host-b", config("/shared"));
  REQUIRE(a.state_dir != b.state_dir);

  auto empty = b.backend->discover(Deadline::after(30s));
  REQUIRE(empty);
  CHECK(empty->empty());

  VolumeRecord r = record("db", {{"uid", "999"}, {"timeo", "50"}});
  a.backend->provision(r, Deadline::after(30s));

  auto seen = b.backend->discover(Deadline::after(30s));
  REQUIRE(seen);
  REQUIRE(seen->size() == 1);
  const VolumeRecord& found = seen->front();
  CHECK(found.name == "db");
  CHECK(found.backend == "filer");
  CHECK(found.options == r.options);
  CHECK(found.created_by == "host-a");
  CHECK(found.created_at == r.created_at);

  // B mounts A's volume without creating it: the probe runs against the
  // server, and mount.nfs gets A's options.
  b.runner.on_call([&](const std::vector<std::string>& argv, const std::string&, Deadline) -> std::optional<CommandResult> {
    b.mounter.add_mount(argv[1], argv[2], "nfs4");
    return CommandResult{0, false, "", ""};
  });
  VolumeRecord on_b = found;
  CHECK(b.backend->attach(on_b, "/mnt/b/db", Deadline::after(30s)) == "/mnt/b/db");
  auto argv = b.runner.argvs().at(0);
  CHECK(argv[1] == "127.0.0.1:/export/shared/" + fs::path(volume_path(server().export_dir() + "/shared", "db")).filename().string());
  CHECK_THAT(argv[4], Catch::Contains("timeo=50") && Catch::Contains("nosuid"));

  // Create on B: with no options it adopts, with others it conflicts.
  VolumeRecord implicit = record("db");
  b.backend->provision(implicit, Deadline::after(30s));
  CHECK(implicit.options == r.options);
  CHECK(implicit.created_by == "host-a");
  VolumeRecord clash = record("db", {{"uid", "998"}});
  CHECK(kind_of([&] { b.backend->provision(clash, Deadline::after(30s)); }) == ErrorKind::conflict);

  // Removal on A is seen by B.
  a.backend->deprovision(r, Deadline::after(30s));
  auto after = b.backend->discover(Deadline::after(30s));
  REQUIRE(after);
  CHECK(after->empty());
}

TEST_CASE("nfs integration: racing creates from two hosts end with one directory and one record", "[nfs][integration]") {
  REQUIRE_GANESHA();
  Host a("host-a", config("/race"));
  Host b("host-b", config("/race"));
  constexpr int k_rounds = 20;
  for (int i = 0; i < k_rounds; ++i) {
    const std::string name = fmt::format("same-{}", i);
    const Options options = {{"uid", "1000"}, {"mode", "0700"}};
    VolumeRecord ra = record(name, options);
    VolumeRecord rb = record(name, options);
    std::atomic<int> ready{0};
    std::string error_a;
    std::string error_b;
    auto run = [&](Host& h, VolumeRecord& r, std::string& error) {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      try {
        h.backend->provision(r, Deadline::after(30s));
      } catch (const Error& e) {
        error = e.what();
      }
    };
    std::thread ta(run, std::ref(a), std::ref(ra), std::ref(error_a));
    std::thread tb(run, std::ref(b), std::ref(rb), std::ref(error_b));
    ta.join();
    tb.join();
    INFO(name << ": A: " << error_a << " B: " << error_b);
    CHECK(error_a.empty());
    CHECK(error_b.empty());
    // Both agree on who created it.
    CHECK(ra.created_by == rb.created_by);
    CHECK(ra.created_at == rb.created_at);
    auto st = local_stat(volume_path(server().export_dir() + "/race", name));
    CHECK(S_ISDIR(st.st_mode));
    CHECK(st.st_uid == 1000);
    CHECK((st.st_mode & 07777) == 0700);
  }
  auto all = a.backend->discover(Deadline::after(30s));
  REQUIRE(all);
  CHECK(all->size() == static_cast<std::size_t>(k_rounds));
  CHECK(count_entries(server().export_dir() + "/race/.holdfast/volumes") == static_cast<std::size_t>(k_rounds));
  CHECK(count_entries(server().export_dir() + "/race/.holdfast/tmp") == 0);
  // k_rounds volume directories plus .holdfast.
  CHECK(count_entries(server().export_dir() + "/race") == static_cast<std::size_t>(k_rounds) + 1);

  SECTION("racing with different options: one wins, the other gets a conflict") {
    for (int i = 0; i < 10; ++i) {
      const std::string name = fmt::format("clash-{}", i);
      VolumeRecord ra = record(name, {{"uid", "1"}});
      VolumeRecord rb = record(name, {{"uid", "2"}});
      std::atomic<int> ready{0};
      ErrorKind ka = ErrorKind::internal;
      ErrorKind kb = ErrorKind::internal;
      bool ok_a = false;
      bool ok_b = false;
      auto run = [&](Host& h, VolumeRecord& r, bool& ok, ErrorKind& kind) {
        ready.fetch_add(1);
        while (ready.load() < 2) {
        }
        try {
          h.backend->provision(r, Deadline::after(30s));
          ok = true;
        } catch (const Error& e) {
          kind = e.kind();
        }
      };
      std::thread ta(run, std::ref(a), std::ref(ra), std::ref(ok_a), std::ref(ka));
      std::thread tb(run, std::ref(b), std::ref(rb), std::ref(ok_b), std::ref(kb));
      ta.join();
      tb.join();
      INFO(name);
      CHECK(ok_a != ok_b);
      CHECK((ok_a ? kb : ka) == ErrorKind::conflict);
      auto st = local_stat(volume_path(server().export_dir() + "/race", name));
      CHECK(st.st_uid == (ok_a ? 1u : 2u));
    }
  }
}

TEST_CASE("nfs integration: removal policies", "[nfs][integration]") {
  REQUIRE_GANESHA();
  const std::string outside = server().export_dir() + "/keep-me";
  std::ofstream(outside) << "precious";

  auto fill = [&](const std::string& dir) {
    fs::create_directories(dir + "/a/b/c");
    std::ofstream(dir + "/top.txt") << "top";
    std::ofstream(dir + "/a/b/c/deep.txt") << "deep";
    // Links are removed as links: neither target may be touched.
    fs::create_symlink(outside, dir + "/link-to-file");
    fs::create_directory_symlink(server().export_dir(), dir + "/a/link-to-export");
  };

  SECTION("delete: data, record and trash entry gone; symlink targets untouched; idempotent") {
    Host h("host-a", config("/rm-delete", "on_remove: delete\n"));
    VolumeRecord r = record("gone");
    h.backend->provision(r, Deadline::after(30s));
    const std::string gone = volume_path(server().export_dir() + "/rm-delete", "gone");
    fill(gone);
    h.backend->deprovision(r, Deadline::after(30s));
    CHECK_FALSE(fs::exists(gone));
    CHECK_FALSE(fs::exists(server().export_dir() + "/rm-delete/.holdfast/volumes/gone.json"));
    CHECK(count_entries(server().export_dir() + "/rm-delete/.holdfast/trash") == 0);
    CHECK(fs::exists(outside));
    CHECK(count_entries(server().export_dir()) > 1);
    h.backend->deprovision(r, Deadline::after(30s));  // already gone: success
    // The name is free again.
    VolumeRecord again = record("gone", {{"uid", "5"}});
    h.backend->provision(again, Deadline::after(30s));
    CHECK(count_entries(volume_path(server().export_dir() + "/rm-delete", "gone")) == 0);
    CHECK(volume_path(server().export_dir() + "/rm-delete", "gone") != gone);
  }
  SECTION("delete: what does not fit in the deadline is finished by refresh") {
    Host h("host-a", config("/rm-big", "on_remove: delete\n"));
    VolumeRecord r = record("big");
    h.backend->provision(r, Deadline::after(30s));
    const std::string dir = volume_path(server().export_dir() + "/rm-big", "big");
    for (int d = 0; d < 20; ++d) {
      fs::create_directories(fmt::format("{}/d{}", dir, d));
      for (int f = 0; f < 100; ++f) {
        std::ofstream(fmt::format("{}/d{}/f{}", dir, d, f)) << f;
      }
    }
    auto start = Deadline::Clock::now();
    h.backend->deprovision(r, Deadline::after(1500ms));
    double took = seconds_since(start);
    CHECK(took < 1.6);
    // Gone for users at once, whatever the purge managed.
    CHECK_FALSE(fs::exists(dir));
    CHECK_FALSE(fs::exists(server().export_dir() + "/rm-big/.holdfast/volumes/big.json"));
    WARN("remove of 2000 files + 20 dirs took " << took << " s; trash entries left: "
                                                << count_entries(server().export_dir() + "/rm-big/.holdfast/trash"));
    h.backend->refresh(Deadline::after(60s));
    CHECK(count_entries(server().export_dir() + "/rm-big/.holdfast/trash") == 0);
  }
  SECTION("archive: data and record moved into the trash with a timestamp") {
    Host h("host-a", config("/rm-archive", "on_remove: archive\n"));
    VolumeRecord r = record("kept", {{"mode", "0700"}});
    h.backend->provision(r, Deadline::after(30s));
    const std::string kept = volume_path(server().export_dir() + "/rm-archive", "kept");
    fill(kept);
    h.backend->deprovision(r, Deadline::after(30s));
    CHECK_FALSE(fs::exists(kept));
    CHECK_FALSE(fs::exists(server().export_dir() + "/rm-archive/.holdfast/volumes/kept.json"));
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(server().export_dir() + "/rm-archive/.holdfast/trash")) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    REQUIRE(names.size() == 2);
    CHECK(names[0].rfind("kept@", 0) == 0);
    CHECK(names[1] == names[0] + ".json");
    CHECK(fs::exists(server().export_dir() + "/rm-archive/.holdfast/trash/" + names[0] + "/a/b/c/deep.txt"));
    // refresh purges only deleted trees, never archives.
    h.backend->refresh(Deadline::after(30s));
    CHECK(count_entries(server().export_dir() + "/rm-archive/.holdfast/trash") == 2);
    h.backend->deprovision(r, Deadline::after(30s));  // idempotent
    auto found = h.backend->discover(Deadline::after(30s));
    REQUIRE(found);
    CHECK(found->empty());
  }
  SECTION("retain: the data stays, the record goes; a new volume of the name is a new directory; adoption") {
    Host h("host-a", config("/rm-retain", "on_remove: retain\n"));
    VolumeRecord r = record("stay", {{"uid", "77"}});
    h.backend->provision(r, Deadline::after(30s));
    const std::string stay = volume_path(server().export_dir() + "/rm-retain", "stay");
    std::ofstream(stay + "/data.txt") << "data";
    h.backend->deprovision(r, Deadline::after(30s));
    CHECK(fs::exists(stay + "/data.txt"));
    CHECK_FALSE(fs::exists(server().export_dir() + "/rm-retain/.holdfast/volumes/stay.json"));
    // Discovery does not bring a retained volume back, then or later.
    for (int i = 0; i < 2; ++i) {
      auto found = h.backend->discover(Deadline::after(30s));
      REQUIRE(found);
      CHECK(found->empty());
      h.backend->refresh(Deadline::after(30s));
    }

    VolumeRecord again = record("stay", {{"uid", "78"}});
    h.backend->provision(again, Deadline::after(30s));
    CHECK(volume_path(server().export_dir() + "/rm-retain", "stay") != stay);
    CHECK(fs::exists(stay + "/data.txt"));
    h.backend->deprovision(again, Deadline::after(30s));

    // The operator's way back to retained data: rename it to the volume's
    // name on the server, then Create with adopt_existing.
    fs::rename(stay, server().export_dir() + "/rm-retain/stay");
    VolumeRecord adopted = record("stay", {{"uid", "79"}});
    std::string message;
    CHECK(kind_of([&] { h.backend->provision(adopted, Deadline::after(30s)); }, &message) == ErrorKind::conflict);
    CHECK_THAT(message, Catch::Contains("adopt_existing"));
    Host adopter("host-b", config("/rm-retain", "on_remove: retain\nadopt_existing: true\n"));
    adopter.backend->provision(adopted, Deadline::after(30s));
    CHECK(adopted.backend_data["dir"] == "stay");
    CHECK(fs::exists(server().export_dir() + "/rm-retain/stay/data.txt"));
    CHECK(local_stat(server().export_dir() + "/rm-retain/stay").st_uid == 77);  // adopted as is
  }
}

// Found by the crash torture: a holdfastd killed mid-Remove leaves its last
// RPC queued in the server, which may carry it out a second later, after a
// new holdfastd has removed and created the name again. Each step of a
// Remove is replayed here as such a late RPC against the new volume.
TEST_CASE("nfs integration: a Remove that reaches the server late cannot touch the volume created again",
          "[nfs][integration]") {
  REQUIRE_GANESHA();
  const std::string root = server().export_dir() + "/late";
  Host h("host-a", config("/late", "on_remove: delete\n"));
  Host other("host-b", config("/late"));
  NfsTarget t{"127.0.0.1", "/export", 3, server().nfs_port(), server().mount_port()};
  NfsContext stale(t, Deadline::after(10s));

  VolumeRecord first = record("v", {{"mode", "0700"}});
  h.backend->provision(first, Deadline::after(30s));
  const std::string first_dir = fs::path(volume_path(root, "v")).filename().string();
  h.backend->deprovision(first, Deadline::after(30s));

  VolumeRecord second = record("v", {{"mode", "0700"}});
  h.backend->provision(second, Deadline::after(30s));
  const std::string second_path = volume_path(root, "v");
  REQUIRE(fs::path(second_path).filename().string() != first_dir);
  std::ofstream(second_path + "/precious.txt") << "written after the re-create";

  SECTION("the data step: moving the first volume's directory into the trash") {
    try {
      stale.rename("/late/" + first_dir, "/late/.holdfast/trash/.delete-v@stale", Deadline::after(10s));
      FAIL("the late rename found a directory to move");
    } catch (const NfsError& e) {
      CHECK(e.code() == ENOENT);
    }
  }
  SECTION("the record step: moving the record into the trash; the next look puts it back") {
    stale.rename("/late/.holdfast/volumes/v.json", "/late/.holdfast/trash/.record-v.stale.json", Deadline::after(10s));
    const std::string second_dir = fs::path(second_path).filename().string();
    SECTION("a discovery") {
      auto found = other.backend->discover(Deadline::after(30s));
      REQUIRE(found);
      REQUIRE(found->size() == 1);
      CHECK(found->front().name == "v");
      CHECK(found->front().backend_data["dir"] == second_dir);
    }
    SECTION("a Create of the name (Docker's implicit create before a run) gets the volume, not a new one") {
      VolumeRecord implicit = record("v");
      other.backend->provision(implicit, Deadline::after(30s));
      CHECK(implicit.backend_data["dir"] == second_dir);
      CHECK(implicit.options == second.options);
    }
    SECTION("a Mount") {
      other.runner.on_call([&](const std::vector<std::string>& argv, const std::string&, Deadline)
                               -> std::optional<CommandResult> {
        other.mounter.add_mount(argv[1], argv[2], "nfs");
        return CommandResult{0, false, "", ""};
      });
      VolumeRecord mounted = record("v", second.options);
      other.backend->attach(mounted, "/mnt/late-v", Deadline::after(30s));
      CHECK(other.runner.argvs().at(0).at(1) == "127.0.0.1:/export/late/" + second_dir);
    }
    CHECK(fs::exists(root + "/.holdfast/volumes/v.json"));
    CHECK_FALSE(fs::exists(root + "/.holdfast/trash/.record-v.stale.json"));
  }
  CHECK(read_local(second_path + "/precious.txt") == "written after the re-create");
  auto found = h.backend->discover(Deadline::after(30s));
  REQUIRE(found);
  REQUIRE(found->size() == 1);
  h.backend->refresh(Deadline::after(30s));
  h.backend->refresh(Deadline::after(30s));
  CHECK(read_local(second_path + "/precious.txt") == "written after the re-create");
  h.backend->deprovision(second, Deadline::after(30s));
  CHECK_FALSE(fs::exists(second_path));
}

// The same race for the same volume: a Remove cut off by a kill after it
// sent its first request, and the client's next Create (or Mount) of the
// name acknowledged by the next holdfastd before the server carries that
// request out. The journal entry the killed process left makes the next
// one finish the Remove first, so the late request finds nothing to do.
TEST_CASE("nfs integration: a Remove cut off by a crash is finished before its name is used again",
          "[nfs][integration]") {
  REQUIRE_GANESHA();
  const std::string root = server().export_dir() + "/settle";
  Host h("host-a", config("/settle", "on_remove: delete\n"));
  NfsTarget t{"127.0.0.1", "/export", 3, server().nfs_port(), server().mount_port()};
  NfsContext killed(t, Deadline::after(10s));

  VolumeRecord first = record("s", {{"mode", "0700"}});
  h.backend->provision(first, Deadline::after(30s));
  const std::string first_dir = fs::path(volume_path(root, "s")).filename().string();
  std::ofstream(root + "/" + first_dir + "/old.txt") << "removed by the cut-off Remove";
  // What the killed holdfastd (pid 999999) left: its journal entry, written
  // before its RENAME, which the server has not carried out yet.
  const std::string journal = h.state_dir + "/backends/filer/removing";
  fs::create_directories(journal);
  std::ofstream(journal + "/s") << R"({"dir": ")" << first_dir << R"(", "pid": 999999})";

  SECTION("a Create of the name makes a new volume") {
    VolumeRecord again = record("s", {{"mode", "0700"}});
    h.backend->provision(again, Deadline::after(30s));
    const std::string second_path = volume_path(root, "s");
    CHECK(fs::path(second_path).filename().string() != first_dir);
    CHECK(count_entries(second_path) == 0);
    std::ofstream(second_path + "/new.txt") << "acknowledged after the crash";
    // The killed process's RENAME, carried out now.
    try {
      killed.rename("/settle/" + first_dir, "/settle/.holdfast/trash/.delete-s@late", Deadline::after(10s));
      FAIL("the late rename found the directory");
    } catch (const NfsError& e) {
      CHECK(e.code() == ENOENT);
    }
    CHECK(read_local(second_path + "/new.txt") == "acknowledged after the crash");
  }
  SECTION("a Mount of the volume fails: its Remove came first") {
    std::string message;
    VolumeRecord mounted = record("s", first.options);
    CHECK(kind_of([&] { h.backend->attach(mounted, "/mnt/settle-s", Deadline::after(30s)); }, &message) ==
          ErrorKind::not_found);
    CHECK(h.runner.argvs().empty());
  }
  SECTION("the background refresh finishes it") {
    h.backend->refresh(Deadline::after(30s));
    auto found = h.backend->discover(Deadline::after(30s));
    REQUIRE(found);
    CHECK(found->empty());
  }
  CHECK_FALSE(fs::exists(root + "/" + first_dir));
  CHECK_FALSE(fs::exists(journal + "/s"));

}

TEST_CASE("nfs integration: a Remove of this process that failed waits for its name to be used again",
          "[nfs][integration]") {
  REQUIRE_GANESHA();
  const std::string root = server().export_dir() + "/settle-own";
  Host h("host-a", config("/settle-own", "on_remove: delete\n"));
  const std::string journal = h.state_dir + "/backends/filer/removing";
  fs::create_directories(journal);
  VolumeRecord third = record("t");
  h.backend->provision(third, Deadline::after(30s));
  const std::string third_dir = fs::path(volume_path(root, "t")).filename().string();
  // As a Remove that timed out leaves it: its RENAME may still be carried
  // out, but the volume stays until its name is used again.
  std::ofstream(journal + "/t") << R"({"dir": ")" << third_dir << R"(", "pid": )" << ::getpid() << "}";
  h.backend->refresh(Deadline::after(30s));
  CHECK(fs::exists(root + "/" + third_dir));
  VolumeRecord again = record("t");
  h.backend->provision(again, Deadline::after(30s));
  CHECK(fs::path(volume_path(root, "t")).filename().string() != third_dir);
  CHECK_FALSE(fs::exists(root + "/" + third_dir));
  CHECK_FALSE(fs::exists(journal + "/t"));
}

TEST_CASE("nfs integration: records left in the trash by an interrupted Remove are purged, not restored",
          "[nfs][integration]") {
  REQUIRE_GANESHA();
  const std::string root = server().export_dir() + "/cut";
  Host h("host-a", config("/cut", "on_remove: delete\n"));
  NfsTarget t{"127.0.0.1", "/export", 3, server().nfs_port(), server().mount_port()};
  NfsContext killed(t, Deadline::after(10s));
  VolumeRecord r = record("w");
  h.backend->provision(r, Deadline::after(30s));
  const std::string dir = fs::path(volume_path(root, "w")).filename().string();
  // A Remove cut off after its first two steps: data and record moved.
  killed.rename("/cut/" + dir, "/cut/.holdfast/trash/.delete-w@cut", Deadline::after(10s));
  killed.rename("/cut/.holdfast/volumes/w.json", "/cut/.holdfast/trash/.record-w.cut.json", Deadline::after(10s));
  auto found = h.backend->discover(Deadline::after(30s));
  REQUIRE(found);
  CHECK(found->empty());
  h.backend->refresh(Deadline::after(30s));  // first sighting: left alone (a Remove may be finishing)
  CHECK(fs::exists(root + "/.holdfast/trash/.record-w.cut.json"));
  h.backend->refresh(Deadline::after(30s));
  CHECK(count_entries(root + "/.holdfast/trash") == 0);
  found = h.backend->discover(Deadline::after(30s));
  REQUIRE(found);
  CHECK(found->empty());
}

TEST_CASE("nfs integration: a directory listed while its entries are removed and made again lists cleanly",
          "[nfs][integration]") {
  // ganesha may fail a READDIRPLUS with NFS3ERR_STALE (the crash torture,
  // on the trash directory during a purge) or NFS3ERR_NOENT (this test,
  // without the retry) when an entry it reads attributes for goes away
  // meanwhile. NfsContext::list tries again.
  REQUIRE_GANESHA();
  const std::string dir = "/churn";
  NfsTarget t{"127.0.0.1", "/export", 3, server().nfs_port(), server().mount_port()};
  NfsContext lister(t, Deadline::after(10s));
  try {
    lister.mkdir(dir, 0755, Deadline::after(10s));
  } catch (const NfsError& e) {
    REQUIRE(e.code() == EEXIST);
  }
  constexpr int k_entries = 64;
  std::atomic<bool> stop{false};
  std::atomic<int> churned{0};
  std::string churn_error;
  std::thread churn([&] {
    try {
      NfsContext other(t, Deadline::after(10s));
      for (int round = 0; !stop; ++round) {
        for (int i = 0; i < k_entries && !stop; ++i) {
          const std::string path = fmt::format("{}/e{}", dir, i);
          if (round % 2 == 0) {
            other.mkdir(path, 0755, Deadline::after(10s));
          } else {
            other.rmdir(path, Deadline::after(10s));
          }
          ++churned;
        }
      }
    } catch (const std::exception& e) {
      churn_error = e.what();
    }
  });
  int listings = 0;
  std::string list_error;
  const auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until && churn_error.empty()) {
    try {
      auto entries = lister.list(dir, 1000, Deadline::after(10s));
      CHECK(entries.size() <= static_cast<std::size_t>(k_entries));
      ++listings;
    } catch (const std::exception& e) {
      list_error = e.what();
      break;
    }
  }
  stop = true;
  churn.join();
  WARN(listings << " listings beside " << churned.load() << " mkdir/rmdir of their entries");
  CHECK(churn_error == std::string());
  CHECK(list_error == std::string());
  CHECK(listings > 10);
}

TEST_CASE("nfs integration: root_squash is explained, anonuid exports work", "[nfs][integration]") {
  REQUIRE_GANESHA();
  SECTION("a squashed root cannot create the layout") {
    Host h("host-a", config("/holdfast", "", "/squashed"));
    VolumeRecord r = record("sq");
    std::string message;
    CHECK(kind_of([&] { h.backend->provision(r, Deadline::after(30s)); }, &message) == ErrorKind::permission);
    CHECK_THAT(message, Catch::Contains("root_squash") && Catch::Contains("no_root_squash") &&
                            Catch::Contains("anonuid") && Catch::Contains("NFS3ERR_ACCES"));
  }
  SECTION("anonuid export: matching uid/gid work, others say why not") {
    const std::string anon = std::to_string(GaneshaServer::k_anon_id);
    Host h("host-a", config("/", "", "/anon"));
    VolumeRecord ok = record("mine", {{"uid", anon}, {"gid", anon}, {"mode", "0700"}});
    h.backend->provision(ok, Deadline::after(30s));
    auto st = local_stat(volume_path(server().anon_dir(), "mine"));
    CHECK(st.st_uid == GaneshaServer::k_anon_id);
    CHECK((st.st_mode & 07777) == 0700);

    VolumeRecord other = record("theirs", {{"uid", "1000"}});
    std::string message;
    CHECK(kind_of([&] { h.backend->provision(other, Deadline::after(30s)); }, &message) == ErrorKind::permission);
    CHECK_THAT(message, Catch::Contains("chown") && Catch::Contains("root_squash"));
    for (const auto& entry : fs::directory_iterator(server().anon_dir())) {
      CHECK(entry.path().filename().string().rfind("theirs", 0) != 0);
    }
    // The failed create withdrew its claim and left nothing behind.
    CHECK_FALSE(fs::exists(server().anon_dir() + "/.holdfast/volumes/theirs.json"));
    CHECK(count_entries(server().anon_dir() + "/.holdfast/tmp") == 0);
    auto found = h.backend->discover(Deadline::after(30s));
    REQUIRE(found);
    CHECK(found->size() == 1);
  }
}

// Regression (found by the crash torture, tests/crash): every holdfastd
// killed mid-Create left its temporary record or directory in .holdfast/tmp,
// and nothing ever removed them.
TEST_CASE("nfs integration: refresh removes this host's staging leftovers of earlier processes",
          "[nfs][integration]") {
  REQUIRE_GANESHA();
  Host h("host-a", config("/stale-tmp"));
  VolumeRecord r = record("v");
  h.backend->provision(r, Deadline::after(30s));
  const std::string tmp = server().export_dir() + "/stale-tmp/.holdfast/tmp/";
  const std::string mine = std::to_string(::getpid());
  std::ofstream(tmp + "a.b.host-a.999999.0123456789abcdef.json") << "{}";   // dead process of this host
  fs::create_directory(tmp + "c.host-a.999999.0123456789abcdef.dir");     // its staging directory
  std::ofstream(tmp + "d.host-a." + mine + ".0123456789abcdef.json") << "{}";  // this process: in flight
  std::ofstream(tmp + "e.host-b.999999.0123456789abcdef.json") << "{}";   // another host's
  std::ofstream(tmp + "notes.txt") << "not ours";
  h.backend->refresh(Deadline::after(30s));
  CHECK_FALSE(fs::exists(tmp + "a.b.host-a.999999.0123456789abcdef.json"));
  CHECK_FALSE(fs::exists(tmp + "c.host-a.999999.0123456789abcdef.dir"));
  CHECK(fs::exists(tmp + "d.host-a." + mine + ".0123456789abcdef.json"));
  CHECK(fs::exists(tmp + "e.host-b.999999.0123456789abcdef.json"));
  CHECK(fs::exists(tmp + "notes.txt"));
}

TEST_CASE("nfs integration: status shows capacity from the refresh cache", "[nfs][integration]") {
  REQUIRE_GANESHA();
  Host h("host-a", config("/status"));
  VolumeRecord r = record("s1");
  h.backend->provision(r, Deadline::after(30s));
  CHECK(h.backend->status(r)["capacity"] == "unknown (not measured yet)");
  h.backend->refresh(Deadline::after(30s));
  auto s = h.backend->status(r);
  CHECK(s["capacity_bytes"].get<std::uint64_t>() > 0);
  CHECK(s["available_bytes"].get<std::uint64_t>() > 0);
  CHECK(s["path"] == "/export/status/" + fs::path(volume_path(server().export_dir() + "/status", "s1")).filename().string());
  CHECK_FALSE(s.contains("server_error"));
}

TEST_CASE("nfs integration: discover skips bad records and is bounded", "[nfs][integration]") {
  REQUIRE_GANESHA();
  Host h("host-a", config("/disc", "max_volumes: 7\n"));
  for (int i = 0; i < 3; ++i) {
    VolumeRecord r = record(fmt::format("v{}", i));
    h.backend->provision(r, Deadline::after(30s));
  }
  const std::string records = server().export_dir() + "/disc/.holdfast/volumes/";
  std::ofstream(records + "broken.json") << "{not json";
  std::ofstream(records + "future.json")
      << R"({"holdfast_volume": 3, "name": "future", "dir": "future", "options": {}, "created_at": "2026-11-28T01:06:11Z", "created_by": "h"})";
  std::ofstream(records + "evil.json")
      << R"({"holdfast_volume": 1, "name": "evil", "options": {"suid": ""}, "created_at": "2026-11-28T01:06:11Z", "created_by": "h"})";
  std::ofstream(records + "notes.txt") << "ignored";
  auto found = h.backend->discover(Deadline::after(30s));
  REQUIRE(found);
  std::vector<std::string> names;
  for (const auto& r : *found) {
    names.push_back(r.name);
  }
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"v0", "v1", "v2"});
  // Cached: a second discovery does not re-read unchanged records.
  auto again = h.backend->discover(Deadline::after(30s));
  REQUIRE(again);
  CHECK(again->size() == 3);

  for (int i = 3; i < 6; ++i) {
    VolumeRecord r = record(fmt::format("v{}", i));
    h.backend->provision(r, Deadline::after(30s));
  }
  // 6 good + 3 bad records > max_volumes (7).
  CHECK(kind_of([&] { h.backend->discover(Deadline::after(30s)); }) == ErrorKind::internal);
}

TEST_CASE("nfs integration: attach probes the server, a missing directory fails before mount.nfs", "[nfs][integration]") {
  REQUIRE_GANESHA();
  Host h("host-a", config("/attach"));
  VolumeRecord r = record("m1");
  h.backend->provision(r, Deadline::after(30s));
  const std::string dir = fs::path(volume_path(server().export_dir() + "/attach", "m1")).filename().string();
  {
    // Removed by "another host", through the server (removing it behind
    // ganesha's back would leave ganesha's cache stale).
    NfsTarget t{"127.0.0.1", "/export", 3, server().nfs_port(), server().mount_port()};
    NfsContext other(t, Deadline::after(10s));
    other.rmdir("/attach/" + dir, Deadline::after(10s));
  }
  std::string message;
  CHECK(kind_of([&] { h.backend->attach(r, "/mnt/m1", Deadline::after(30s)); }, &message) == ErrorKind::not_found);
  CHECK_THAT(message, Catch::Contains("/export/attach/" + dir) && Catch::Contains("does not exist"));
  CHECK(h.runner.argvs().empty());
  // Create with the same options heals the missing directory, under the
  // same generation (the record is unchanged).
  VolumeRecord again = record("m1");
  h.backend->provision(again, Deadline::after(30s));
  CHECK(fs::is_directory(server().export_dir() + "/attach/" + dir));

  SECTION("[Error] a volume whose record is gone fails before mount.nfs") {
    Host b("host-b", config("/attach"));
    b.backend->deprovision(again, Deadline::after(30s));
    CHECK(kind_of([&] { h.backend->attach(r, "/mnt/m1", Deadline::after(30s)); }, &message) == ErrorKind::not_found);
    CHECK_THAT(message, Catch::Contains("/export/attach/.holdfast/volumes/m1.json") && Catch::Contains("does not exist"));
    CHECK(h.runner.argvs().empty());
  }
}

TEST_CASE("nfs integration: a paused server gives a timeout within the deadline, other volumes keep working", "[nfs][integration]") {
  REQUIRE_GANESHA();
  Host h("host-a", config("/paused", "provision_timeout: 2s\nprobe_timeout: 1500ms\n"));
  VolumeRecord existing = record("before");
  h.backend->provision(existing, Deadline::after(30s));
  h.backend->refresh(Deadline::after(30s));

  server().pause();
  struct Resume {
    ~Resume() { server().resume(); }
  } resume_guard;

  // Create: bounded by provision_timeout (2 s), with a message naming the
  // server and port.
  VolumeRecord r = record("during");
  std::string message;
  std::atomic<bool> finished{false};
  double took = 0;
  std::thread creator([&] {
    auto start = Deadline::Clock::now();
    try {
      h.backend->provision(r, Deadline::after(60s));
    } catch (const Error& e) {
      message = e.what();
    }
    took = seconds_since(start);
    finished = true;
  });
  // Meanwhile status (Get) of another volume answers from memory.
  std::this_thread::sleep_for(200ms);
  auto start = Deadline::Clock::now();
  auto status = h.backend->status(existing);
  CHECK(seconds_since(start) < 0.05);
  CHECK(status["capacity_bytes"].get<std::uint64_t>() > 0);
  CHECK_FALSE(finished.load());
  creator.join();
  CHECK(took >= 1.9);
  CHECK(took < 2.5);
  CHECK_THAT(message, Catch::Contains("nfs server 127.0.0.1 not answering on port"));

  // Mount: the probe fails within probe_timeout, mount.nfs never runs.
  start = Deadline::Clock::now();
  VolumeRecord m = existing;
  std::string probe_message;
  CHECK(kind_of([&] { h.backend->attach(m, "/mnt/before", Deadline::after(60s)); }, &probe_message) ==
        ErrorKind::timeout);
  double probe_took = seconds_since(start);
  CHECK(probe_took < 2.0);
  CHECK_THAT(probe_message, Catch::Contains("not answering"));
  CHECK(h.runner.argvs().empty());

  // Refresh fails within its deadline and Status says so, still instantly.
  CHECK(kind_of([&] { h.backend->refresh(Deadline::after(60s)); }) == ErrorKind::timeout);
  CHECK(h.backend->status(existing).contains("server_error"));
  WARN("paused server: create failed after " << took << " s, mount probe after " << probe_took << " s: " << message);

  server().resume();
  VolumeRecord after = record("after");
  h.backend->provision(after, Deadline::after(30s));
  h.backend->refresh(Deadline::after(30s));
  CHECK_FALSE(h.backend->status(existing).contains("server_error"));
}

TEST_CASE("nfs integration: a stopped server fails fast with connection refused", "[nfs][integration]") {
  REQUIRE_GANESHA();
  Host h("host-a", config("/stopped"));
  VolumeRecord existing = record("x");
  h.backend->provision(existing, Deadline::after(30s));
  server().stop();
  struct Restart {
    ~Restart() { server().start(); }
  } restart_guard;

  auto start = Deadline::Clock::now();
  VolumeRecord r = record("y");
  std::string message;
  CHECK(kind_of([&] { h.backend->provision(r, Deadline::after(30s)); }, &message) == ErrorKind::unavailable);
  double took = seconds_since(start);
  CHECK(took < 1.0);
  CHECK_THAT(message, Catch::Contains("Connection refused") && Catch::Contains(std::to_string(server().mount_port())));
  CHECK(kind_of([&] { h.backend->attach(existing, "/mnt/x", Deadline::after(30s)); }) == ErrorKind::unavailable);
  CHECK(kind_of([&] { h.backend->discover(Deadline::after(30s)); }) == ErrorKind::unavailable);
  WARN("stopped server: create failed after " << took << " s: " << message);
}

TEST_CASE("nfs integration: a black-holed port times out within the deadline while a healthy backend serves", "[nfs][integration]") {
  REQUIRE_GANESHA();
  BlackHole hole;
  for (int version : {3, 4}) {
    INFO("provision_version " << version);
    Host dead("host-a", fmt::format("type: nfs\nserver: 127.0.0.1\nexport: /export\nport: {0}\nmount_port: {0}\n"
                                    "provision_version: {1}\nprovision_timeout: 1500ms\nprobe_timeout: 1s\n",
                                    hole.port(), version));
    Host healthy("host-b", config("/healthy"));

    std::string message;
    ErrorKind kind = ErrorKind::internal;
    double took = 0;
    // No Catch assertions in threads (Catch2 v2 is not thread-safe).
    std::thread blocked([&] {
      auto start = Deadline::Clock::now();
      VolumeRecord r = record("void");
      try {
        dead.backend->provision(r, Deadline::after(60s));
      } catch (const Error& e) {
        kind = e.kind();
        message = e.what();
      }
      took = seconds_since(start);
    });
    // While the black-holed backend hangs, the healthy one creates volumes.
    auto start = Deadline::Clock::now();
    for (int i = 0; i < 5; ++i) {
      VolumeRecord r = record(fmt::format("v{}-{}", version, i));
      healthy.backend->provision(r, Deadline::after(30s));
    }
    double healthy_took = seconds_since(start);
    blocked.join();
    CHECK(kind == ErrorKind::timeout);
    CHECK(healthy_took < 1.4);
    CHECK(took >= 1.4);
    CHECK(took < 2.0);
    CHECK_THAT(message, Catch::Contains(fmt::format("nfs server 127.0.0.1 not answering on port {}", hole.port())));

    start = Deadline::Clock::now();
    VolumeRecord m = record("void");
    CHECK(kind_of([&] { dead.backend->attach(m, "/mnt/void", Deadline::after(60s)); }) == ErrorKind::timeout);
    CHECK(seconds_since(start) < 1.5);
    CHECK(dead.runner.argvs().empty());
    CHECK(kind_of([&] { dead.backend->discover(Deadline::after(1s)); }) == ErrorKind::timeout);
    WARN("black hole (v" << version << "): create failed after " << took << " s: " << message
                         << "; 5 healthy creates meanwhile took " << healthy_took << " s");
  }
}

TEST_CASE("nfs integration: a server that never completes the TCP handshake times out with the candidate ports", "[nfs][integration]") {
  REQUIRE_GANESHA();
  SynHole hole;
  for (int version : {3, 4}) {
    INFO("provision_version " << version);
    Host dead("host-a", fmt::format("type: nfs\nserver: 127.0.0.1\nexport: /export\nport: {0}\nmount_port: {0}\n"
                                    "provision_version: {1}\nprovision_timeout: 1s\n",
                                    hole.port(), version));
    auto start = Deadline::Clock::now();
    VolumeRecord r = record("void");
    std::string message;
    CHECK(kind_of([&] { dead.backend->provision(r, Deadline::after(60s)); }, &message) == ErrorKind::timeout);
    double took = seconds_since(start);
    CHECK(took >= 0.9);
    CHECK(took < 1.5);
    CHECK_THAT(message, Catch::Contains("not answering on port " + std::to_string(hole.port())) &&
                            Catch::Contains("no TCP connection"));
    WARN("SYN black hole (v" << version << "): " << took << " s: " << message);
  }
}

namespace {

// The daemon's config: one nfs backend "filer" (`section`, as config()
// gives it) and a refresh an hour away, so that only the pass at start can
// make the export's volumes appear within the test.
std::string daemon_config(const std::string& host_id, const std::string& section) {
  std::string yaml = "host_id: " + host_id + "\nrefresh_interval: 3600s\nbackends:\n  filer:\n";
  std::istringstream lines(section);
  for (std::string line; std::getline(lines, line);) {
    yaml += "    " + line + "\n";
  }
  return yaml;
}

// Volume names in the daemon's List reply.
std::set<std::string> listed(SocketClient& client) {
  auto reply = client.post("/VolumeDriver.List", "{}");
  REQUIRE(reply.status == 200);
  const auto body = nlohmann::json::parse(reply.body);
  std::set<std::string> names;
  for (const auto& v : body.at("Volumes")) {
    names.insert(v["Name"].get<std::string>());
  }
  return names;
}

// Polls List until `name` is in it, for at most `limit` (a bound, not a
// speed target: the periodic refresh is an hour away).
bool listed_within(SocketClient& client, const std::string& name, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (listed(client).count(name) > 0) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= end) {
      return false;
    }
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace

TEST_CASE("nfs integration: holdfastd lists the export's volumes right after start, a paused server does not "
          "delay it",
          "[nfs][integration][daemon]") {
  REQUIRE_GANESHA();
  // provision_timeout 60s: a start-up that waited for the refresh of a
  // paused server would miss DaemonProcess::start's 15 s.
  const std::string section = config("/restart", "provision_timeout: 60s\n");
  // On the export, unknown to any daemon state: what a Create cut off by a
  // crash after linking its record leaves.
  Host writer("restarted", section);
  VolumeRecord orphan = record("orphan");
  writer.backend->provision(orphan, Deadline::after(30s));

  DaemonSettings settings;
  settings.log_level = "info";
  settings.config_yaml = daemon_config("restarted", section);
  TempDir root;

  SECTION("listed by the pass at start") {
    DaemonProcess daemon(root.path(), settings);
    daemon.start();
    SocketClient client(daemon.socket_path());
    const bool seen = listed_within(client, "orphan", 10s);
    INFO("daemon log:\n" << daemon.log());
    CHECK(seen);
    CHECK(daemon.stop() == 0);
  }

  SECTION("a paused server: the daemon answers, the volume follows once the server is back") {
    server().pause();
    DaemonProcess daemon(root.path(), settings);
    try {
      daemon.start();
    } catch (...) {
      server().resume();
      throw;
    }
    SocketClient client(daemon.socket_path());
    CHECK(listed(client).count("orphan") == 0);  // the refresh is stuck on the server
    server().resume();
    const bool seen = listed_within(client, "orphan", 30s);
    INFO("daemon log:\n" << daemon.log());
    CHECK(seen);
    CHECK(daemon.stop() == 0);
  }

  writer.backend->deprovision(orphan, Deadline::after(30s));
}
