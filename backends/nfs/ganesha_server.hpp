// holdfast::test::GaneshaServer: an nfs-ganesha NFS server (VFS FSAL) on
// 127.0.0.1, started by a test with a generated config, for the nfs
// backend's integration suite and benchmark.
//
// Exports (NFSv3 and NFSv4, mount_path_pseudo so both use the same path):
//   /export     <dir>/export      no_root_squash
//   /squashed   <dir>/squashed    root_squash
//   /anon       <dir>/anon        root_squash, anonuid/anongid = k_anon_id
// NFS and MOUNT listen on free ports chosen at start (never 2049), so the
// suite does not collide with a real server or another run. ganesha needs
// rpcbind to register; if none is listening on 127.0.0.1:111 the fixture
// starts `rpcbind -f -w` and stops it again in its destructor.
//
// Owns the processes it started (ganesha, maybe rpcbind) and the directory
// tree under `work_dir`. Not thread-safe; pause()/resume() only signal.
#pragma once

#include <sys/types.h>

#include <string>

namespace holdfast::test {

class GaneshaServer {
 public:
  static constexpr unsigned k_anon_id = 1234;

  // Path of ganesha.nfsd, or "" when it is not installed (the suite then
  // skips with a WARN).
  static std::string binary();

  // Starts rpcbind (if needed) and ganesha, and waits until both exports
  // answer a libnfs mount (v3 and v4). Throws std::runtime_error with the
  // tail of ganesha's log when it does not come up within 60 s.
  explicit GaneshaServer(std::string work_dir);
  ~GaneshaServer();
  GaneshaServer(const GaneshaServer&) = delete;
  GaneshaServer& operator=(const GaneshaServer&) = delete;

  int nfs_port() const { return m_nfs_port; }
  int mount_port() const { return m_mount_port; }
  // Local directories behind the exports (to check results directly).
  std::string export_dir() const { return m_work_dir + "/export"; }
  std::string squashed_dir() const { return m_work_dir + "/squashed"; }
  std::string anon_dir() const { return m_work_dir + "/anon"; }

  // SIGSTOP / SIGCONT: a server that keeps its sockets but never answers.
  void pause();
  void resume();
  // SIGTERM and wait; start() again on the same ports.
  void stop();
  void start();
  bool running() const { return m_pid > 0; }

  std::string log_tail(std::size_t bytes = 4000) const;

 private:
  void write_config() const;
  void wait_ready() const;

  std::string m_work_dir;
  int m_nfs_port = 0;
  int m_mount_port = 0;
  pid_t m_pid = -1;
  pid_t m_rpcbind_pid = -1;
  bool m_paused = false;
};

}  // namespace holdfast::test
