#include "nfs_context.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include <holdfast/fd.hpp>

// libnfs.h needs struct timeval (sys/time.h) and the fixed-width integer
// types before it is included.
#include <nfsc/libnfs.h>

namespace holdfast::nfs {

namespace {

// How often the poll loop wakes up without socket events: libnfs handles
// its own RPC timeouts inside nfs_service(), and the Deadline is checked on
// every wake-up.
constexpr std::chrono::milliseconds k_poll_slice{100};
// libnfs's own per-RPC timeout, a backstop below our Deadline. Whole seconds
// only (libnfs rounds).
constexpr int k_rpc_timeout_ms = 60'000;
// Chunk size for reads of metadata files.
constexpr std::uint64_t k_read_chunk = 64 * 1024;

constexpr int k_nfs_v3 = 3;
constexpr int k_nfs_v4 = 4;

struct DirCloser {
  nfs_context* context;
  void operator()(nfsdir* dir) const { nfs_closedir(context, dir); }
};
using DirHandle = std::unique_ptr<nfsdir, DirCloser>;

NfsStat to_stat(const nfs_stat_64& st) {
  NfsStat out;
  out.mode = st.nfs_mode;
  out.uid = st.nfs_uid;
  out.gid = st.nfs_gid;
  out.size = st.nfs_size;
  out.inode = st.nfs_ino;
  out.mtime_sec = static_cast<std::int64_t>(st.nfs_mtime);
  out.mtime_nsec = static_cast<std::int64_t>(st.nfs_mtime_nsec);
  return out;
}

NfsStat to_stat(const nfsdirent& e) {
  NfsStat out;
  out.mode = e.mode;
  out.uid = e.uid;
  out.gid = e.gid;
  out.size = e.size;
  out.inode = e.inode;
  out.mtime_sec = e.mtime.tv_sec;
  out.mtime_nsec = e.mtime_nsec;
  return out;
}

// libnfs's text is "<op> call failed with \"NFS: MKDIR of /x failed with
// NFS3ERR_EXIST(-17)\"": keep it (it names the NFS status), only trimmed.
std::string clean_library_text(const char* text) {
  if (text == nullptr || *text == '\0') {
    return "no detail from libnfs";
  }
  std::string out = redact(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '.')) {
    out.pop_back();
  }
  return out;
}

ErrorKind classify(int code, std::string_view text) {
  // libnfs reports RPC-level failures (no reply, cancelled, connection
  // failed) as -EFAULT.
  if (code == EFAULT) {
    return ErrorKind::unavailable;
  }
  if (code != 0) {
    ErrorKind kind = kind_from_errno(code);
    if (kind != ErrorKind::internal) {
      return kind;
    }
  }
  // Connection-level failures have no NFS status; libnfs reports them as
  // text ("connect() to server failed", "Socket failed with POLLHUP").
  for (std::string_view marker : {"connect", "Connection", "socket", "Socket", "POLLHUP",
                                  "reconnect", "RPC", "rpc", "portmapper", "resolv"}) {
    if (text.find(marker) != std::string_view::npos) {
      return ErrorKind::unavailable;
    }
  }
  return ErrorKind::internal;
}

std::string seconds_text(std::chrono::milliseconds ms) {
  return fmt::format("{:.1f}s", static_cast<double>(ms.count()) / 1000.0);
}

}  // namespace

NfsError::NfsError(ErrorKind kind, int code, const std::string& message)
    : Error(kind, message), m_code(code) {}

bool NfsStat::is_dir() const { return S_ISDIR(static_cast<mode_t>(mode)); }
bool NfsStat::is_link() const { return S_ISLNK(static_cast<mode_t>(mode)); }

struct NfsContext::Completion {
  bool done = false;
  int status = 0;     // libnfs status: >= 0 success (byte count for I/O), < 0 -errno
  std::string error;  // libnfs's text when status < 0
  // Copies the callback's data while it is valid (only on success).
  std::function<void(int status, void* data)> consume;
  Deadline::Clock::time_point started = Deadline::Clock::now();
};

void NfsContext::ContextDeleter::operator()(nfs_context* context) const {
  nfs_destroy_context(context);
}

void NfsContext::on_complete(int status, nfs_context* context, void* data, void* private_data) {
  (void)context;
  auto* completion = static_cast<Completion*>(private_data);
  completion->done = true;
  completion->status = status;
  if (status < 0) {
    completion->error = clean_library_text(static_cast<const char*>(data));
  } else if (completion->consume) {
    completion->consume(status, data);
  }
}

NfsContext::NfsContext(const NfsTarget& target, Deadline deadline) : m_target(target) {
  if (m_target.version != k_nfs_v3 && m_target.version != k_nfs_v4) {
    throw NfsError(ErrorKind::invalid_argument, 0,
                   fmt::format("libnfs speaks NFS version 3 or 4, not {}", m_target.version));
  }
  m_context.reset(nfs_init_context());
  if (!m_context) {
    throw NfsError(ErrorKind::internal, 0, "nfs_init_context failed (out of memory?)");
  }
  nfs_context* ctx = m_context.get();

  // Ports and version are applied through libnfs's URL parser: in libnfs
  // 4.0 that is the only way to set nfsport/mountport. Every component was
  // validated against an allowlist by the caller (NfsConfig), so the URL
  // cannot smuggle other arguments.
  std::string url = fmt::format("nfs://{}{}", m_target.server.find(':') != std::string::npos
                                                  ? "[" + m_target.server + "]"
                                                  : m_target.server,
                                m_target.export_path);
  std::vector<std::string> args;
  args.push_back(fmt::format("version={}", m_target.version));
  if (m_target.nfs_port) {
    args.push_back(fmt::format("nfsport={}", *m_target.nfs_port));
  }
  if (m_target.mount_port && m_target.version == k_nfs_v3) {
    args.push_back(fmt::format("mountport={}", *m_target.mount_port));
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    url += (i == 0 ? "?" : "&") + args[i];
  }
  {
    std::unique_ptr<nfs_url, decltype(&nfs_destroy_url)> parsed(nfs_parse_url_dir(ctx, url.c_str()),
                                                                &nfs_destroy_url);
    if (!parsed) {
      throw NfsError(ErrorKind::invalid_argument, 0,
                     fmt::format("{}: cannot use export {}: {}", server_label(), m_target.export_path,
                                 clean_library_text(nfs_get_error(ctx))));
    }
  }
  if (m_target.version == k_nfs_v4) {
    nfs_set_version(ctx, k_nfs_v4);
  }
  nfs_set_uid(ctx, m_target.uid);
  nfs_set_gid(ctx, m_target.gid);
  // Failures must surface, not be retried behind our back: the deadline
  // belongs to the caller.
  nfs_set_autoreconnect(ctx, 0);
  nfs_set_timeout(ctx, k_rpc_timeout_ms);
  // Modes are given explicitly; no client-side umask.
  nfs_umask(ctx, 0);

  const std::string server = m_target.server;
  const std::string export_path = m_target.export_path;
  try {
    call("mount of the export", deadline, [&](Completion& c) {
      return nfs_mount_async(ctx, server.c_str(), export_path.c_str(), &NfsContext::on_complete, &c);
    });
  } catch (const NfsError& e) {
    if (e.kind() == ErrorKind::timeout) {
      throw;
    }
    // libnfs says little about refused connections ("Socket failed with
    // POLLHUP", or nothing): find out which port refused, to say so.
    if (e.code() == 0 || e.code() == EFAULT || e.kind() == ErrorKind::internal) {
      if (auto refused = connect_diagnosis(deadline)) {
        throw NfsError(ErrorKind::unavailable, e.code(), *refused);
      }
      if (e.kind() == ErrorKind::unavailable) {
        throw;
      }
    }
    // Say which export when the failure is not about reaching the server.
    throw NfsError(e.kind(), e.code(), fmt::format("{} export {}: {}", server_label(), export_path, e.what()));
  }
}

std::optional<std::string> NfsContext::connect_diagnosis(Deadline deadline) const {
  std::vector<std::pair<int, std::string>> ports;
  if (m_target.version == k_nfs_v4) {
    ports.emplace_back(m_target.nfs_port.value_or(2049), "NFS");
  } else {
    ports.emplace_back(m_target.mount_port.value_or(111), m_target.mount_port ? "MOUNT" : "portmapper");
    // Without an explicit port the portmapper decides; 2049 is where
    // nearly every server has it.
    ports.emplace_back(m_target.nfs_port.value_or(2049), "NFS");
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(m_target.server.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    return fmt::format("{}: cannot resolve the server name", server_label());
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
  for (const auto& [port, service] : ports) {
    sockaddr_storage address{};
    std::memcpy(&address, found->ai_addr, std::min<std::size_t>(found->ai_addrlen, sizeof(address)));
    if (address.ss_family == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&address)->sin_port = htons(static_cast<std::uint16_t>(port));
    } else if (address.ss_family == AF_INET6) {
      reinterpret_cast<sockaddr_in6*>(&address)->sin6_port = htons(static_cast<std::uint16_t>(port));
    } else {
      return std::nullopt;
    }
    Fd sock(::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!sock) {
      return std::nullopt;
    }
    int err = 0;
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&address), found->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd pfd{sock.get(), POLLOUT, 0};
        auto slice = std::min(deadline.remaining(), std::chrono::milliseconds(1000));
        if (::poll(&pfd, 1, static_cast<int>(slice.count())) <= 0) {
          return std::nullopt;  // no answer either way: nothing to add
        }
        socklen_t len = sizeof(err);
        if (::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
      }
    }
    if (err != 0) {
      return fmt::format("{}: cannot connect to port {} ({}): {}", server_label(), port, service,
                         std::strerror(err));
    }
  }
  return std::nullopt;
}

NfsContext::~NfsContext() {
  // Destroy the libnfs context (which cancels calls still in flight through
  // their callbacks) before the completion records those callbacks use.
  m_context.reset();
  m_completions.clear();
}

std::string NfsContext::server_label() const { return "nfs server " + m_target.server; }

std::string NfsContext::peer_port() const {
  int fd = m_context ? nfs_get_fd(m_context.get()) : -1;
  if (fd >= 0) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
      if (peer.ss_family == AF_INET) {
        return std::to_string(ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port));
      }
      if (peer.ss_family == AF_INET6) {
        return std::to_string(ntohs(reinterpret_cast<sockaddr_in6*>(&peer)->sin6_port));
      }
    }
  }
  // Not connected: the TCP handshake itself gets no answer (SYNs dropped).
  // libnfs does not say which of its connections this is, so name the
  // candidates.
  if (m_target.version == k_nfs_v4) {
    return std::to_string(m_target.nfs_port.value_or(2049)) + " (no TCP connection)";
  }
  std::string mount = m_target.mount_port ? std::to_string(*m_target.mount_port) + " (MOUNT)" : "111 (portmapper), MOUNT";
  std::string nfs = std::to_string(m_target.nfs_port.value_or(2049)) + " (NFS)";
  return mount + " or " + nfs + ": no TCP connection";
}

int NfsContext::call(std::string_view what, Deadline deadline, const Starter& start) {
  if (!m_broken.empty()) {
    fail_broken(what);
  }
  m_completions.push_back(std::make_unique<Completion>());
  auto slot = std::prev(m_completions.end());
  Completion& completion = **slot;
  if (start(completion) != 0) {
    // Not queued: libnfs did not and will not call the callback.
    std::string text = clean_library_text(nfs_get_error(m_context.get()));
    m_completions.erase(slot);
    throw NfsError(classify(0, text), 0, fmt::format("{}: cannot start {}: {}", server_label(), what, text));
  }
  // On a deadline or a broken connection the record stays (libnfs still
  // holds a pointer to it); once completed, nothing refers to it any more.
  wait(completion, what, deadline);
  int status = completion.status;
  std::string error = completion.error;
  m_completions.erase(slot);
  if (status < 0) {
    fail_call(status, error, what);
  }
  return status;
}

void NfsContext::wait(Completion& completion, std::string_view what, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  while (!completion.done) {
    if (deadline.expired()) {
      auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Deadline::Clock::now() -
                                                                          completion.started);
      m_broken = "an earlier call timed out";
      // A late reply must not write into the caller's (gone) variables.
      completion.consume = nullptr;
      throw NfsError(ErrorKind::timeout, 0,
                     fmt::format("{} not answering on port {} (no reply to {} within {}); is the "
                                 "server up and reachable from this host?",
                                 server_label(), peer_port(), what, seconds_text(waited)));
    }
    int fd = nfs_get_fd(ctx);
    if (fd < 0) {
      m_broken = "the connection was lost";
      completion.consume = nullptr;
      throw NfsError(ErrorKind::unavailable, 0,
                     fmt::format("{}: connection lost during {}: {}", server_label(), what,
                                 clean_library_text(nfs_get_error(ctx))));
    }
    pollfd pfd{};
    pfd.fd = fd;
    pfd.events = static_cast<short>(nfs_which_events(ctx));
    auto slice = std::min(deadline.remaining(), k_poll_slice);
    int ready = ::poll(&pfd, 1, static_cast<int>(slice.count()));
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      int err = errno;
      m_broken = "poll failed";
      throw NfsError(ErrorKind::internal, err, fmt::format("poll on the nfs connection: {}", std::strerror(err)));
    }
    // Also called without events, so libnfs can expire its own timers.
    if (nfs_service(ctx, ready > 0 ? pfd.revents : 0) < 0 && !completion.done) {
      m_broken = "the connection failed";
      completion.consume = nullptr;
      throw NfsError(ErrorKind::unavailable, 0,
                     fmt::format("{} (port {}): {} failed: {}", server_label(), peer_port(), what,
                                 clean_library_text(nfs_get_error(ctx))));
    }
  }
}

void NfsContext::fail_call(int status, const std::string& error, std::string_view what) {
  int code = -status;
  ErrorKind kind = classify(code, error);
  // A reply with an NFS status leaves the connection usable; a transport
  // failure does not.
  if (kind == ErrorKind::unavailable && code == 0) {
    m_broken = "the connection failed";
  }
  std::string detail = error;
  if (kind == ErrorKind::unavailable && code == 0) {
    detail = fmt::format("port {}: {}", peer_port(), detail);
  }
  throw NfsError(kind, code, fmt::format("{}: {} failed: {}", server_label(), what, detail));
}

void NfsContext::fail_broken(std::string_view what) {
  throw NfsError(ErrorKind::unavailable, 0,
                 fmt::format("{}: cannot run {}: {}", server_label(), what, m_broken));
}

void NfsContext::mkdir(const std::string& path, unsigned mode, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  call("mkdir " + path, deadline, [&](Completion& c) {
    return nfs_mkdir2_async(ctx, path.c_str(), static_cast<int>(mode), &NfsContext::on_complete, &c);
  });
}

void NfsContext::rmdir(const std::string& path, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  call("rmdir " + path, deadline, [&](Completion& c) {
    return nfs_rmdir_async(ctx, path.c_str(), &NfsContext::on_complete, &c);
  });
}

void NfsContext::unlink(const std::string& path, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  call("unlink " + path, deadline, [&](Completion& c) {
    return nfs_unlink_async(ctx, path.c_str(), &NfsContext::on_complete, &c);
  });
}

void NfsContext::rename(const std::string& from, const std::string& to, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  call("rename " + from + " to " + to, deadline, [&](Completion& c) {
    return nfs_rename_async(ctx, from.c_str(), to.c_str(), &NfsContext::on_complete, &c);
  });
}

void NfsContext::link(const std::string& from, const std::string& to, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  call("link " + from + " to " + to, deadline, [&](Completion& c) {
    return nfs_link_async(ctx, from.c_str(), to.c_str(), &NfsContext::on_complete, &c);
  });
}

void NfsContext::lchown(const std::string& path, std::uint32_t uid, std::uint32_t gid, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  call(fmt::format("chown {}:{} {}", uid, gid, path), deadline, [&](Completion& c) {
    return nfs_lchown_async(ctx, path.c_str(), static_cast<int>(uid), static_cast<int>(gid),
                            &NfsContext::on_complete, &c);
  });
}

void NfsContext::lchmod(const std::string& path, unsigned mode, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  call(fmt::format("chmod {:04o} {}", mode, path), deadline, [&](Completion& c) {
    return nfs_lchmod_async(ctx, path.c_str(), static_cast<int>(mode), &NfsContext::on_complete, &c);
  });
}

NfsStat NfsContext::lstat(const std::string& path, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  NfsStat out;
  call("lstat " + path, deadline, [&](Completion& c) {
    c.consume = [&out](int, void* data) { out = to_stat(*static_cast<nfs_stat_64*>(data)); };
    return nfs_lstat64_async(ctx, path.c_str(), &NfsContext::on_complete, &c);
  });
  return out;
}

std::vector<NfsDirEntry> NfsContext::list(const std::string& path, std::size_t limit, Deadline deadline) {
  // nfs-ganesha fails a whole READDIRPLUS with NFS3ERR_NOENT or
  // NFS3ERR_STALE when an entry whose attributes it is reading is removed
  // meanwhile (a Remove or a trash purge beside the listing; the crash
  // torture met it, the integration test "a directory listed while its
  // entries are removed..." provokes it): a new listing no longer meets that
  // entry. ENOENT is taken for that race only while the directory itself is
  // still there; a directory that is gone or stale keeps its error.
  constexpr int k_attempts = 5;
  for (int attempt = 1;; ++attempt) {
    try {
      return list_once(path, limit, deadline);
    } catch (const NfsError& e) {
      if ((e.code() != ESTALE && e.code() != ENOENT) || attempt == k_attempts || deadline.expired()) {
        throw;
      }
      if (e.code() == ENOENT && !is_directory(path, deadline)) {
        throw;  // the directory is gone: the listing's own error
      }
    }
    std::this_thread::sleep_for(std::min(std::chrono::milliseconds(2 * attempt), deadline.remaining()));
  }
}

bool NfsContext::is_directory(const std::string& path, Deadline deadline) {
  try {
    return lstat(path, deadline).is_dir();
  } catch (const NfsError&) {
    return false;
  }
}

std::vector<NfsDirEntry> NfsContext::list_once(const std::string& path, std::size_t limit, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  std::vector<NfsDirEntry> out;
  bool too_many = false;
  call("readdir " + path, deadline, [&](Completion& c) {
    c.consume = [&out, &too_many, ctx, limit](int, void* data) {
      DirHandle dir(static_cast<nfsdir*>(data), DirCloser{ctx});
      while (nfsdirent* e = nfs_readdir(ctx, dir.get())) {
        std::string_view name(e->name);
        if (name == "." || name == "..") {
          continue;
        }
        if (out.size() >= limit) {
          too_many = true;
          break;
        }
        out.push_back(NfsDirEntry{std::string(name), to_stat(*e)});
      }
    };
    return nfs_opendir_async(ctx, path.c_str(), &NfsContext::on_complete, &c);
  });
  if (too_many) {
    throw NfsError(ErrorKind::internal, 0,
                   fmt::format("{}: directory {} has more than {} entries", server_label(), path, limit));
  }
  return out;
}

NfsFsStat NfsContext::statvfs(const std::string& path, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  NfsFsStat out;
  call("statvfs " + path, deadline, [&](Completion& c) {
    c.consume = [&out](int, void* data) {
      const auto& sv = *static_cast<nfs_statvfs_64*>(data);
      std::uint64_t unit = sv.f_frsize != 0 ? sv.f_frsize : sv.f_bsize;
      out.total_bytes = sv.f_blocks * unit;
      out.free_bytes = sv.f_bavail * unit;
      out.total_files = sv.f_files;
      out.free_files = sv.f_favail;
    };
    return nfs_statvfs64_async(ctx, path.c_str(), &NfsContext::on_complete, &c);
  });
  return out;
}

namespace {

// Closing needs the context and, for NFSv4, a round trip; the owner closes
// without waiting (the reply, or the cancellation at context destruction,
// completes it). The normal path closes explicitly and waits.
void ignore_result(int, nfs_context*, void*, void*) {}

struct FileCloser {
  nfs_context* context;
  void operator()(nfsfh* handle) const { nfs_close_async(context, handle, &ignore_result, nullptr); }
};
using FileHandle = std::unique_ptr<nfsfh, FileCloser>;

}  // namespace

void NfsContext::close_file(nfsfh* handle, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  call("close", deadline, [&](Completion& c) {
    return nfs_close_async(ctx, handle, &NfsContext::on_complete, &c);
  });
}

void NfsContext::write_new_file(const std::string& path, unsigned mode, std::string_view content,
                                Deadline deadline) {
  nfs_context* ctx = m_context.get();
  nfsfh* raw = nullptr;
  call("create " + path, deadline, [&](Completion& c) {
    c.consume = [&raw](int, void* data) { raw = static_cast<nfsfh*>(data); };
    return nfs_open2_async(ctx, path.c_str(), O_CREAT | O_EXCL | O_WRONLY, static_cast<int>(mode),
                           &NfsContext::on_complete, &c);
  });
  FileHandle file(raw, FileCloser{ctx});
  std::size_t written = 0;
  while (written < content.size()) {
    int count = call("write " + path, deadline, [&](Completion& c) {
      return nfs_write_async(ctx, file.get(), content.size() - written, content.data() + written,
                             &NfsContext::on_complete, &c);
    });
    if (count <= 0) {
      throw NfsError(ErrorKind::unavailable, 0, fmt::format("{}: write {} made no progress", server_label(), path));
    }
    written += static_cast<std::size_t>(count);
  }
  call("fsync " + path, deadline, [&](Completion& c) {
    return nfs_fsync_async(ctx, file.get(), &NfsContext::on_complete, &c);
  });
  close_file(file.release(), deadline);
}

std::string NfsContext::read_file(const std::string& path, std::size_t limit, Deadline deadline) {
  nfs_context* ctx = m_context.get();
  nfsfh* raw = nullptr;
  call("open " + path, deadline, [&](Completion& c) {
    c.consume = [&raw](int, void* data) { raw = static_cast<nfsfh*>(data); };
    return nfs_open2_async(ctx, path.c_str(), O_RDONLY, 0, &NfsContext::on_complete, &c);
  });
  FileHandle file(raw, FileCloser{ctx});
  std::string out;
  for (;;) {
    std::string chunk;
    call("read " + path, deadline, [&](Completion& c) {
      c.consume = [&chunk](int status, void* data) { chunk.assign(static_cast<const char*>(data), static_cast<std::size_t>(status)); };
      return nfs_pread_async(ctx, file.get(), out.size(), k_read_chunk, &NfsContext::on_complete, &c);
    });
    if (chunk.empty()) {
      break;
    }
    out += chunk;
    if (out.size() > limit) {
      throw NfsError(ErrorKind::invalid_argument, 0,
                     fmt::format("{}: {} is larger than {} bytes", server_label(), path, limit));
    }
  }
  close_file(file.release(), deadline);
  return out;
}

}  // namespace holdfast::nfs
