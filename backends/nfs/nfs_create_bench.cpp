// Benchmark: Create (and discover, Remove) 1,000 NFS volumes against
// nfs-ganesha on 127.0.0.1, beside floors measured in the same run:
//   floor A: the same 1,000 directories made with bare libnfs calls (one
//            connection per volume: mount, mkdir, chown, chmod) - the
//            protocol work any libnfs-based provisioning needs;
//   floor B: one connection for all 1,000 (mkdir, chown, chmod only).
// Prints figures and ratios; asserts nothing (timing is not a test).
//
//   nfs_create_bench [count]      (default 1000; needs ganesha.nfsd, root)
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <support/fake_mounter.hpp>
#include <support/fake_runner.hpp>
#include <support/temp_dir.hpp>

#include "ganesha_server.hpp"
#include "nfs_backend.hpp"
#include "nfs_context.hpp"

using namespace holdfast;
using namespace holdfast::nfs;
using namespace std::chrono_literals;

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::unique_ptr<NfsBackend> make(const test::GaneshaServer& server, const std::string& base, BackendEnv& env) {
  std::string yaml = fmt::format(
      "type: nfs\nserver: 127.0.0.1\nexport: /export\nbase_path: {}\nport: {}\nmount_port: {}\n", base,
      server.nfs_port(), server.mount_port());
  ConfigReader reader(YAML::Load(yaml), "bench", "backends.bench");
  return std::make_unique<NfsBackend>(read_nfs_config(reader), env);
}

}  // namespace

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 1000;
  if (test::GaneshaServer::binary().empty()) {
    std::printf("SKIPPED: ganesha.nfsd is not installed\n");
    return 0;
  }
  spdlog::set_level(spdlog::level::warn);
  test::TempDir dir;
  ::mkdir(dir.sub("ganesha").c_str(), 0700);
  test::GaneshaServer server(dir.sub("ganesha"));
  NfsTarget target{"127.0.0.1", "/export", 3, server.nfs_port(), server.mount_port()};
  std::printf("nfs bench: %d volumes, nfs-ganesha on 127.0.0.1 (NFSv3 provisioning)\n", count);

  // Floor A: bare libnfs, a connection per volume.
  {
    NfsContext setup(target, Deadline::after(10s));
    setup.mkdir("/floor-a", 0755, Deadline::after(10s));
    setup.mkdir("/floor-b", 0755, Deadline::after(10s));
  }
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    NfsContext nfs(target, Deadline::after(10s));
    std::string path = fmt::format("/floor-a/v{}", i);
    nfs.mkdir(path, 0700, Deadline::after(10s));
    nfs.lchown(path, 1000, 1000, Deadline::after(10s));
    nfs.lchmod(path, 0750, Deadline::after(10s));
  }
  double floor_a = since(t0);
  // Floor B: one connection.
  t0 = std::chrono::steady_clock::now();
  {
    NfsContext nfs(target, Deadline::after(10s));
    for (int i = 0; i < count; ++i) {
      std::string path = fmt::format("/floor-b/v{}", i);
      nfs.mkdir(path, 0700, Deadline::after(10s));
      nfs.lchown(path, 1000, 1000, Deadline::after(10s));
      nfs.lchmod(path, 0750, Deadline::after(10s));
    }
  }
  double floor_b = since(t0);

  test::FakeRunner runner;
  test::FakeMounter mounter;
  BackendEnv env{"bench", "bench-host", dir.sub("state"), runner, mounter};
  auto backend = make(server, "/seq", env);
  auto record = [](int i, const char* prefix) {
    VolumeRecord r;
    r.name = fmt::format("{}{}", prefix, i);
    r.backend = "bench";
    r.options = {{"uid", "1000"}, {"gid", "1000"}, {"mode", "0750"}};
    return r;
  };

  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    VolumeRecord r = record(i, "v");
    backend->provision(r, Deadline::after(30s));
  }
  double create_seq = since(t0);

  auto parallel = make(server, "/par", env);
  constexpr int k_threads = 4;
  t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < count; i += k_threads) {
        VolumeRecord r = record(i, "p");
        parallel->provision(r, Deadline::after(30s));
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  double create_par = since(t0);

  t0 = std::chrono::steady_clock::now();
  auto found = backend->discover(Deadline::after(60s));
  double discover_cold = since(t0);
  t0 = std::chrono::steady_clock::now();
  found = backend->discover(Deadline::after(60s));
  double discover_warm = since(t0);

  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    VolumeRecord r = record(i, "v");
    backend->deprovision(r, Deadline::after(30s));
  }
  double remove_seq = since(t0);

  std::printf("  floor A  bare libnfs, connection per volume   %7.2f s  %6.2f ms/volume\n", floor_a,
              1000 * floor_a / count);
  std::printf("  floor B  bare libnfs, one connection          %7.2f s  %6.2f ms/volume\n", floor_b,
              1000 * floor_b / count);
  std::printf("  holdfast Create, sequential                   %7.2f s  %6.2f ms/volume  %.2fx floor A  %.2fx floor B\n",
              create_seq, 1000 * create_seq / count, create_seq / floor_a, create_seq / floor_b);
  std::printf("  holdfast Create, %d threads                    %7.2f s  %6.2f ms/volume  %.2fx floor A\n", k_threads,
              create_par, 1000 * create_par / count, create_par / floor_a);
  std::printf("  discover %zu volumes: cold %.3f s, cached %.3f s\n", found ? found->size() : 0, discover_cold,
              discover_warm);
  std::printf("  holdfast Remove (delete), sequential          %7.2f s  %6.2f ms/volume\n", remove_seq,
              1000 * remove_seq / count);
  return 0;
}
