// Fuzz target: raw bytes on the plugin socket, end to end.
//
// The bytes go through the same per-connection code as a connection Docker
// opens: UnixHttpServer::process_and_close_socket (its buffered stream and
// keep-alive loop), cpp-httplib's request parser and router, PluginApi
// (src/plugin_api/handlers.cpp), the JSON decoders (messages.cpp) and the
// real VolumeManager with its StateStore in a fresh directory, over a
// FakeBackend and a FakeMounter (tests/support). Only the backend and the
// kernel are fakes.
//
// Input format: the input is cut at every "\n#next#\n"; each piece is sent
// as one packet of a SOCK_SEQPACKET socketpair, so the server's stream reads
// it with one recv() (one network read, as from the engine). A sequence of
// pieces is a sequence of keep-alive requests on one connection (Create,
// then Mount, ...), or one request whose body arrives in a later read.
// Every input starts from an empty state directory.
//
// Contract checked (handlers.hpp, state_store.hpp): nothing crashes or
// leaks; every reply is HTTP/1.1 and each one with a body carries a JSON
// object with a string "Err"; and after the connection ends, the state on
// disk is exactly the manager's state (a success is only reported once
// saved).
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <holdfast/fd.hpp>

#include "config/config.hpp"
#include "fuzz_check.hpp"
#include "plugin_api/handlers.hpp"
#include "plugin_api/metrics.hpp"
#include "plugin_api/unix_http_server.hpp"
#include "support/fake_backend.hpp"
#include "support/fake_mounter.hpp"
#include "volume/backend_set.hpp"
#include "volume/state_store.hpp"
#include "volume/volume_manager.hpp"

using holdfast::fuzz::fuzz_require;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view k_separator = "\n#next#\n";
// Bounds the work per input (each piece is at most one request).
constexpr std::size_t k_max_pieces = 32;

// A fresh directory per input; tmpfs when there is one, since the state
// store fsyncs every write.
class ScratchDir {
 public:
  ScratchDir() {
    for (const char* base : {"/dev/shm", "/tmp"}) {
      std::string pattern = std::string(base) + "/holdfast-fuzz-XXXXXX";
      if (::mkdtemp(pattern.data()) != nullptr) {
        m_path = pattern;
        return;
      }
    }
    fuzz_require(false, "cannot create a scratch directory");
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string sub(std::string_view name) const { return m_path + "/" + std::string(name); }

 private:
  std::string m_path;
};

// The accept loop's per-connection code, callable on a given socket.
class ConnectionServer : public holdfast::UnixHttpServer {
 public:
  using holdfast::UnixHttpServer::UnixHttpServer;
  using holdfast::UnixHttpServer::process_and_close_socket;
};

// holdfastd's wiring (daemon.cpp) with a fake backend and mount table.
struct Plugin {
  ScratchDir dir;
  holdfast::Config config = make_config(dir);
  holdfast::test::FakeMounter mounter;
  holdfast::BackendSet backends{one_fake_backend(), "fake"};
  holdfast::StateStore store{config.state_dir};
  holdfast::VolumeManager manager{backends, store, mounter, config};
  holdfast::PluginMetrics metrics;
  holdfast::PluginApi api{manager, metrics};
  ConnectionServer server{server_options(dir)};

  Plugin() {
    manager.start();
    api.install(server);
  }

  static holdfast::Config make_config(const ScratchDir& dir) {
    holdfast::Config config = holdfast::default_config();
    config.state_dir = dir.sub("state");
    config.mount_root = dir.sub("mounts");
    config.default_backend = "fake";
    config.deadlines.volume_lock = 1s;
    return config;
  }
  static std::map<std::string, std::unique_ptr<holdfast::Backend>> one_fake_backend() {
    std::map<std::string, std::unique_ptr<holdfast::Backend>> map;
    map.emplace("fake", std::make_unique<holdfast::test::FakeBackend>());
    return map;
  }
  static holdfast::UnixHttpServerOptions server_options(const ScratchDir& dir) {
    holdfast::UnixHttpServerOptions options;
    options.socket_path = dir.sub("never-bound.sock");
    options.accept_socket_activation = false;
    // The whole input is queued before serving, so nothing ever waits for
    // more; short timeouts only bound a mistake.
    options.keep_alive_timeout = 1s;
    options.read_timeout = 1s;
    options.write_timeout = 1s;
    return options;
  }
};

std::vector<std::string_view> pieces_of(std::string_view input) {
  std::vector<std::string_view> pieces;
  while (pieces.size() < k_max_pieces) {
    std::size_t cut = input.find(k_separator);
    std::string_view piece = input.substr(0, cut);
    if (!piece.empty()) {  // an empty packet would read as end of stream
      pieces.push_back(piece);
    }
    if (cut == std::string_view::npos) {
      break;
    }
    input.remove_prefix(cut + k_separator.size());
  }
  return pieces;
}

void check_reply(std::string_view reply) {
  fuzz_require(reply.starts_with("HTTP/1.1 "), "reply is not HTTP/1.1");
  if (reply.starts_with("HTTP/1.1 100 ")) {
    return;  // interim "100 Continue"
  }
  const std::size_t head_end = reply.find("\r\n\r\n");
  fuzz_require(head_end != std::string_view::npos, "reply without the end of its header");
  const std::string_view body = reply.substr(head_end + 4);
  if (body.empty()) {
    return;  // a HEAD request: httplib sends the header only
  }
  const auto json = nlohmann::json::parse(body, nullptr, false);
  fuzz_require(json.is_object() && json.contains("Err") && json["Err"].is_string(),
               "reply body is not a JSON object with a string Err");
}

// What is on disk must be what the manager holds: every reply that
// reported success had saved it.
void check_durable(Plugin& plugin) {
  holdfast::StateStore reader(plugin.config.state_dir);
  const holdfast::LoadResult loaded = reader.load();
  fuzz_require(loaded.unreadable.empty(), "the manager wrote a state file it cannot read back");
  std::map<std::string, holdfast::VolumeRecord> on_disk;
  for (const auto& record : loaded.records) {
    on_disk.emplace(record.name, record);
  }
  const auto in_memory = plugin.manager.records();
  fuzz_require(on_disk.size() == in_memory.size(), "volumes on disk differ from the manager's");
  for (const auto& record : in_memory) {
    auto found = on_disk.find(record.name);
    fuzz_require(found != on_disk.end(), "a volume the manager holds is not on disk");
    fuzz_require(found->second.mounts == record.mounts, "mount counts on disk differ from the manager's");
    fuzz_require(found->second.options == record.options, "options on disk differ from the manager's");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  holdfast::fuzz::silence_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Plugin plugin;
  std::array<int, 2> ends{};
  fuzz_require(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends.data()) == 0, "socketpair failed");
  holdfast::Fd client(ends[0]);

  for (std::string_view piece : pieces_of(holdfast::fuzz::as_text(data, size))) {
    if (::send(client.get(), piece.data(), piece.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
      break;  // socket buffer full: serve what was queued
    }
  }
  ::shutdown(client.get(), SHUT_WR);
  plugin.server.process_and_close_socket(ends[1]);  // takes the server end

  static std::vector<char> reply(1 << 20);  // larger than any reply packet
  for (;;) {
    ssize_t n = ::recv(client.get(), reply.data(), reply.size(), MSG_DONTWAIT);
    if (n <= 0) {
      // ECONNRESET: the server closed (Connection: close, a bad request)
      // with later pieces still unread, which the kernel reports as a reset.
      fuzz_require(n == 0 || errno == EAGAIN || errno == ECONNRESET, "reading the replies failed");
      break;
    }
    check_reply(std::string_view(reply.data(), static_cast<std::size_t>(n)));
  }
  check_durable(plugin);
  return 0;
}
