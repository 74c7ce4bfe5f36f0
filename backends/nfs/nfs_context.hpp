// holdfast::nfs::NfsContext: one libnfs connection to one export, every call
// bounded by a Deadline, every failure an NfsError.
//
// libnfs offers a blocking API whose only bound is a per-RPC timeout; a
// server that accepts the TCP connection and never answers (a black hole, a
// SIGSTOPped server, a dead filer behind a live load balancer) would hold the
// caller far longer than Docker waits. So this wrapper drives libnfs's async
// API from its own poll() loop and gives up exactly at the Deadline, with a
// message that names the server and the port it was talking to.
//
// Ownership: an NfsContext owns its `nfs_context` (destroyed in the
// destructor) and every open directory/file handle it hands out is owned by
// an RAII object that releases it through the same context. Completion
// records for calls still in flight when a deadline expires are kept alive
// until the libnfs context is destroyed, because libnfs calls every pending
// callback (with an error) from nfs_destroy_context.
//
// Thread-safety: none. libnfs contexts are single-threaded; use one
// NfsContext per operation (they are cheap: one TCP connection, or three for
// NFSv3's portmapper and MOUNT steps). After a deadline expires or the
// connection fails, the context is "broken": every further call throws.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <holdfast/deadline.hpp>
#include <holdfast/error.hpp>

struct nfs_context;
struct nfsfh;

namespace holdfast::nfs {

// How to reach an export.
struct NfsTarget {
  std::string server;       // host name or IP literal (IPv6 without brackets)
  std::string export_path;  // absolute path as the server exports it
  int version = 3;          // protocol libnfs speaks: 3 (MOUNT + NFSv3) or 4
  std::optional<int> nfs_port;    // NFS port; default: portmapper (v3) or 2049 (v4)
  std::optional<int> mount_port;  // MOUNT port (v3); default: portmapper
  int uid = 0;              // AUTH_SYS credentials presented to the server
  int gid = 0;
};

// A libnfs failure. `code()` is the positive errno libnfs reported (EEXIST,
// ENOENT, EACCES, ...) or 0 when the failure is not an errno (deadline,
// connection). The kind is classified from it.
class NfsError : public Error {
 public:
  NfsError(ErrorKind kind, int code, const std::string& message);
  int code() const noexcept { return m_code; }

 private:
  int m_code;
};

struct NfsStat {
  std::uint64_t mode = 0;  // including the S_IFMT type bits
  std::uint64_t uid = 0;
  std::uint64_t gid = 0;
  std::uint64_t size = 0;
  std::uint64_t inode = 0;
  std::int64_t mtime_sec = 0;
  std::int64_t mtime_nsec = 0;

  bool is_dir() const;
  bool is_link() const;
};

struct NfsDirEntry {
  std::string name;
  NfsStat stat;  // from READDIRPLUS; mode 0 when the server sent no attributes
};

struct NfsFsStat {
  std::uint64_t total_bytes = 0;
  std::uint64_t free_bytes = 0;       // free for unprivileged users (f_bavail)
  std::uint64_t total_files = 0;
  std::uint64_t free_files = 0;
};

class NfsContext {
 public:
  // Connects to the server and mounts the export (portmapper + MOUNT + NFS
  // for v3; NFSv4 to the NFS port directly). Throws NfsError: timeout when
  // the deadline passes ("nfs server S not answering on port P ..."),
  // unavailable when the connection is refused or drops, permission when the
  // export refuses this client, not_found for an unknown export.
  NfsContext(const NfsTarget& target, Deadline deadline);
  ~NfsContext();
  NfsContext(const NfsContext&) = delete;
  NfsContext& operator=(const NfsContext&) = delete;

  const NfsTarget& target() const { return m_target; }
  // "nfs server 10.0.0.5" - the subject of most error messages.
  std::string server_label() const;

  // File system calls. Paths are absolute within the export ("/holdfast/x").
  // Each throws NfsError; code() tells EEXIST/ENOENT/... apart.
  void mkdir(const std::string& path, unsigned mode, Deadline deadline);
  void rmdir(const std::string& path, Deadline deadline);
  void unlink(const std::string& path, Deadline deadline);
  void rename(const std::string& from, const std::string& to, Deadline deadline);
  // Hard link: atomic and fails with EEXIST when `to` exists, which makes it
  // the classic NFS-safe exclusive claim (even where O_EXCL is not).
  void link(const std::string& from, const std::string& to, Deadline deadline);
  // Never follows a symbolic link at the end of `path`.
  void lchown(const std::string& path, std::uint32_t uid, std::uint32_t gid, Deadline deadline);
  void lchmod(const std::string& path, unsigned mode, Deadline deadline);
  NfsStat lstat(const std::string& path, Deadline deadline);
  // Entries without "." and "..", at most `limit` (more throws internal).
  // A listing that fails because an entry vanished under it is tried again
  // (see the definition).
  std::vector<NfsDirEntry> list(const std::string& path, std::size_t limit, Deadline deadline);
  NfsFsStat statvfs(const std::string& path, Deadline deadline);

  // Creates `path` exclusively (O_CREAT|O_EXCL), writes `content`, fsyncs
  // and closes it. EEXIST when it exists.
  void write_new_file(const std::string& path, unsigned mode, std::string_view content,
                      Deadline deadline);
  // Reads a whole file of at most `limit` bytes (larger throws invalid_argument).
  std::string read_file(const std::string& path, std::size_t limit, Deadline deadline);

  // False once a deadline expired or the connection failed.
  bool usable() const { return m_broken.empty(); }

 private:
  struct Completion;
  using Starter = std::function<int(Completion&)>;
  struct ContextDeleter {
    void operator()(nfs_context* context) const;
  };

  // Starts one async call through `start` (which must pass `completion` to
  // libnfs as private data with `on_complete` as callback) and services the
  // context until it completes or the deadline passes. Returns libnfs's
  // non-negative status (a byte count for reads and writes); throws NfsError.
  int call(std::string_view what, Deadline deadline, const Starter& start);
  std::vector<NfsDirEntry> list_once(const std::string& path, std::size_t limit, Deadline deadline);
  bool is_directory(const std::string& path, Deadline deadline);  // false on any error
  void wait(Completion& completion, std::string_view what, Deadline deadline);
  [[noreturn]] void fail_call(int status, const std::string& error, std::string_view what);
  [[noreturn]] void fail_broken(std::string_view what);
  std::string peer_port() const;
  // After a failed mount: a TCP connect to the ports involved, returning
  // "cannot connect to port P (NFS): Connection refused" when one refuses.
  std::optional<std::string> connect_diagnosis(Deadline deadline) const;
  void close_file(nfsfh* handle, Deadline deadline);

  static void on_complete(int status, nfs_context* context, void* data, void* private_data);

  NfsTarget m_target;
  // Completions must outlive m_context (declared first, destroyed last):
  // nfs_destroy_context calls the callbacks of calls still in flight.
  std::list<std::unique_ptr<Completion>> m_completions;
  std::unique_ptr<nfs_context, ContextDeleter> m_context;
  std::string m_broken;  // why the context can no longer be used
};

}  // namespace holdfast::nfs
