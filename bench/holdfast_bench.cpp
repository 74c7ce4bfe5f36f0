// holdfast_bench: drives holdfastd's socket the way the Docker engine does
// (keep-alive HTTP/1.1 POSTs from one connection) and prints each figure
// beside a floor measured in the same run: holdfast_floor, a minimal
// responder on a unix socket that answers with the same bytes holdfastd
// answered (captured here), so the ratio is what holdfastd's HTTP layer,
// JSON and volume manager add on top of the unavoidable socket round trip.
//
// Measured (local backend, state generated directly as state files):
//   Get, Path, List with 1,000 and 10,000 volumes: requests/s, p50, p99;
//   Create+Remove pairs (state written with fsync);
//   cold start with 10,000 volumes: exec to the first answered Activate;
//   RSS of holdfastd after the 10,000-volume runs.
// Targets (not asserted, printed): Get p50 <= 1.5x floor; List of 10,000
// under 10 ms; cold start under 200 ms; RSS under 20 MiB.
//
// Usage: holdfast_bench --daemon <holdfastd> --floor <holdfast_floor>
//                       [--work-dir DIR] [--requests N]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <holdfast/fd.hpp>
#include <holdfast/volume.hpp>

#include "volume/state_store.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using holdfast::Fd;

// ---------------------------------------------------------------- processes

// A child process, SIGKILLed and reaped when the owner goes away.
class Child {
 public:
  Child() = default;
  Child(const std::vector<std::string>& argv, const std::string& log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    int rc = posix_spawn(&m_pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
  }
  Child(Child&& other) noexcept : m_pid(std::exchange(other.m_pid, -1)) {}
  Child& operator=(Child&& other) noexcept {
    if (this != &other) {
      kill();
      m_pid = std::exchange(other.m_pid, -1);
    }
    return *this;
  }
  ~Child() { kill(); }

  pid_t pid() const { return m_pid; }
  // SIGTERM and wait (the daemon's clean stop); returns the exit status.
  int stop() {
    if (m_pid <= 0) {
      return -1;
    }
    ::kill(m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void kill() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
      m_pid = -1;
    }
  }

 private:
  pid_t m_pid = -1;
};

// ------------------------------------------------------------------- client

struct Reply {
  int status = 0;
  std::string body;
};

// A keep-alive HTTP/1.1 client on a unix socket sending what the engine
// sends (Go's headers, no Content-Type). Minimal parsing: Content-Length
// bodies only, which is all holdfastd and the floor produce.
class Client {
 public:
  explicit Client(const std::string& path) : m_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (!m_fd || ::connect(m_fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
    }
  }

  Reply post(const std::string& path, const std::string& body) {
    std::string request = "POST " + path +
                          " HTTP/1.1\r\nHost: plugin.moby.localhost\r\nUser-Agent: Go-http-client/1.1\r\n"
                          "Content-Length: " +
                          std::to_string(body.size()) +
                          "\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\nAccept-Encoding: gzip\r\n\r\n" +
                          body;
    const char* data = request.data();
    size_t left = request.size();
    while (left > 0) {
      ssize_t n = ::send(m_fd.get(), data, left, MSG_NOSIGNAL);
      if (n <= 0) {
        throw std::runtime_error(std::string("send: ") + std::strerror(errno));
      }
      data += n;
      left -= static_cast<size_t>(n);
    }
    size_t header_end = std::string::npos;
    while ((header_end = m_buffer.find("\r\n\r\n")) == std::string::npos) {
      fill();
    }
    Reply reply;
    reply.status = std::atoi(m_buffer.c_str() + 9);
    size_t length = 0;
    for (const char* name : {"Content-Length:", "content-length:"}) {
      size_t at = m_buffer.find(name);
      if (at != std::string::npos && at < header_end) {
        length = std::strtoul(m_buffer.c_str() + at + std::strlen(name), nullptr, 10);
      }
    }
    while (m_buffer.size() < header_end + 4 + length) {
      fill();
    }
    reply.body = m_buffer.substr(header_end + 4, length);
    m_buffer.erase(0, header_end + 4 + length);
    return reply;
  }

 private:
  void fill() {
    char chunk[65536];
    ssize_t n = ::recv(m_fd.get(), chunk, sizeof(chunk), 0);
    if (n <= 0) {
      throw std::runtime_error("connection closed by the server");
    }
    m_buffer.append(chunk, static_cast<size_t>(n));
  }

  Fd m_fd;
  std::string m_buffer;
};

// Time from now until `path` answers Activate with 200 (polling connect
// every 0.2 ms), or nullopt when `child` exits or 30 s pass.
std::optional<Clock::duration> time_to_answer(const std::string& path, Clock::time_point since, pid_t child) {
  auto until = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < until) {
    try {
      Client client(path);
      if (client.post("/Plugin.Activate", "").status == 200) {
        return Clock::now() - since;
      }
    } catch (const std::runtime_error&) {
      if (::waitpid(child, nullptr, WNOHANG) == child) {
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ figures

struct Stats {
  double p50_us = 0;
  double p99_us = 0;
  double per_second = 0;
  std::size_t count = 0;
  double cpu_us = 0;  // server CPU time (user + system, all threads) per request
};

// CPU time a process used so far (all threads), in microseconds. The
// latency figures include waking up the server, which on a busy machine
// dominates; CPU per request is what the server's code costs.
double cpu_micros(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text);
  auto close = text.rfind(')');
  if (close == std::string::npos) {
    return 0;
  }
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double utime = 0;
  double stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) {
      utime = std::stod(field);
    } else if (i == 15) {
      stime = std::stod(field);
    }
  }
  return (utime + stime) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Stats measure(std::size_t warmup, std::size_t count, const std::function<void(std::size_t)>& call) {
  for (std::size_t i = 0; i < warmup; ++i) {
    call(i);
  }
  std::vector<double> samples;
  samples.reserve(count);
  auto begin = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    auto t0 = Clock::now();
    call(warmup + i);
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  std::sort(samples.begin(), samples.end());
  Stats s;
  s.count = count;
  s.p50_us = samples[samples.size() / 2];
  s.p99_us = samples[std::min(samples.size() - 1, samples.size() * 99 / 100)];
  s.per_second = static_cast<double>(count) / seconds;
  return s;
}

std::string human(double us) {
  char text[32];
  if (us >= 1000.0) {
    std::snprintf(text, sizeof(text), "%.2fms", us / 1000.0);
  } else {
    std::snprintf(text, sizeof(text), "%.0fus", us);
  }
  return text;
}

void print_ratio(const std::string& what, const Stats& s, const Stats& floor, const std::string& target) {
  std::printf("%-28s p50: %s, floor %s, ratio %.2fx; p99: %s, floor %s; %.0f req/s, floor %.0f req/s; "
              "server CPU/req %s, floor %s%s%s\n",
              what.c_str(), human(s.p50_us).c_str(), human(floor.p50_us).c_str(), s.p50_us / floor.p50_us,
              human(s.p99_us).c_str(), human(floor.p99_us).c_str(), s.per_second, floor.per_second,
              human(s.cpu_us).c_str(), human(floor.cpu_us).c_str(), target.empty() ? "" : " ", target.c_str());
  std::fflush(stdout);
}

long rss_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) {
      return std::strtol(line.c_str() + std::strlen(field), nullptr, 10);
    }
  }
  return -1;
}

// ---------------------------------------------------------------- the setup

struct Paths {
  std::string daemon;
  std::string floor;
  std::string work;
};

std::string volume_name(std::size_t i) {
  char name[32];
  std::snprintf(name, sizeof(name), "vol%05zu", i);
  return name;
}

// Writes `count` volumes as the daemon's state files (the format of
// state_store.hpp) and their local directories, as if created earlier.
void generate_state(const std::string& root, std::size_t count) {
  std::filesystem::create_directories(root + "/state/volumes");
  std::filesystem::create_directories(root + "/volumes");
  auto now = std::chrono::system_clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    holdfast::VolumeRecord record;
    record.name = volume_name(i);
    record.backend = "local";
    record.created_at = now;
    record.created_by = "bench";
    std::ofstream(root + "/state/volumes/" + record.name + ".json") << holdfast::record_to_json(record);
    std::filesystem::create_directory(root + "/volumes/" + record.name);
  }
}

class Daemon {
 public:
  Daemon(const Paths& paths, const std::string& root) : m_root(root), m_socket(root + "/plugin.sock") {
    std::ofstream(root + "/holdfast.yaml") << "log_level: warn\nbackends:\n  local:\n    type: local\n"
                                              "    base_dir: "
                                           << root << "/volumes\n";
    m_argv = {paths.daemon, "--config",     root + "/holdfast.yaml", "--socket", m_socket,
              "--admin-socket", root + "/admin.sock",
              "--state-dir", root + "/state", "--mount-root",          root + "/mounts"};
  }

  // Starts and returns the time from exec to the first answered Activate.
  double start_ms() {
    auto t0 = Clock::now();
    m_child = Child(m_argv, m_root + "/daemon.log");
    auto took = time_to_answer(m_socket, t0, m_child.pid());
    if (!took) {
      std::ifstream log(m_root + "/daemon.log");
      std::stringstream text;
      text << log.rdbuf();
      throw std::runtime_error("holdfastd did not start; its log:\n" + text.str());
    }
    return std::chrono::duration<double, std::milli>(*took).count();
  }
  void stop() { (void)m_child.stop(); }
  pid_t pid() const { return m_child.pid(); }
  const std::string& socket() const { return m_socket; }

 private:
  std::string m_root;
  std::string m_socket;
  std::vector<std::string> m_argv;
  Child m_child;
};

// The floor answering with `body`; measured with the same client code.
class Floor {
 public:
  Floor(const Paths& paths, const std::string& dir, const std::string& body)
      : m_socket(dir + "/floor.sock") {
    std::ofstream(dir + "/floor-body") << body;
    auto t0 = Clock::now();
    m_child = Child({paths.floor, m_socket, dir + "/floor-body"}, dir + "/floor.log");
    auto took = time_to_answer(m_socket, t0, m_child.pid());
    if (!took) {
      throw std::runtime_error("holdfast_floor did not start");
    }
    m_start_ms = std::chrono::duration<double, std::milli>(*took).count();
  }
  const std::string& socket() const { return m_socket; }
  double start_ms() const { return m_start_ms; }
  pid_t pid() const { return m_child.pid(); }

 private:
  std::string m_socket;
  Child m_child;
  double m_start_ms = 0;
};

Stats run_requests(const std::string& socket, pid_t server, const std::string& path, std::size_t warmup,
                   std::size_t count, const std::function<std::string(std::size_t)>& body) {
  Client client(socket);
  auto call = [&](std::size_t i) {
    Reply reply = client.post(path, body(i));
    if (reply.status != 200) {
      throw std::runtime_error(path + " failed: " + std::to_string(reply.status) + " " + reply.body);
    }
  };
  for (std::size_t i = 0; i < warmup; ++i) {
    call(i);
  }
  double cpu_before = cpu_micros(server);
  Stats stats = measure(0, count, [&](std::size_t i) { call(warmup + i); });
  stats.cpu_us = (cpu_micros(server) - cpu_before) / static_cast<double>(count);
  return stats;
}

// Measures Get, Path and List against holdfastd with `volumes` volumes, and
// the floor with holdfastd's own replies.
void read_benchmarks(const Paths& paths, Daemon& daemon, std::size_t volumes, std::size_t requests,
                     const std::string& dir) {
  std::mt19937 rng(42);
  std::vector<std::size_t> picks(requests + 2000);
  std::uniform_int_distribution<std::size_t> pick(0, volumes - 1);
  for (auto& p : picks) {
    p = pick(rng);
  }
  auto name_body = [&](std::size_t i) { return "{\"Name\":\"" + volume_name(picks[i % picks.size()]) + "\"}\n"; };

  Client probe(daemon.socket());
  std::string get_reply = probe.post("/VolumeDriver.Get", name_body(0)).body;
  std::string path_reply = probe.post("/VolumeDriver.Path", name_body(0)).body;
  std::string list_reply = probe.post("/VolumeDriver.List", "{}\n").body;
  std::string label = " (" + std::to_string(volumes) + " volumes)";

  Stats get = run_requests(daemon.socket(), daemon.pid(), "/VolumeDriver.Get", 1000, requests, name_body);
  Stats get_floor = [&] {
    Floor floor(paths, dir, get_reply);
    return run_requests(floor.socket(), floor.pid(), "/VolumeDriver.Get", 1000, requests, name_body);
  }();
  print_ratio("Get" + label, get, get_floor, "(target p50 <= 1.5x floor)");

  Stats path = run_requests(daemon.socket(), daemon.pid(), "/VolumeDriver.Path", 1000, requests, name_body);
  Stats path_floor = [&] {
    Floor floor(paths, dir, path_reply);
    return run_requests(floor.socket(), floor.pid(), "/VolumeDriver.Path", 1000, requests, name_body);
  }();
  print_ratio("Path" + label, path, path_floor, "");

  std::size_t list_count = volumes >= 10000 ? 200 : 1000;
  auto empty = [](std::size_t) { return std::string("{}\n"); };
  Stats list = run_requests(daemon.socket(), daemon.pid(), "/VolumeDriver.List", 20, list_count, empty);
  Stats list_floor = [&] {
    Floor floor(paths, dir, list_reply);
    return run_requests(floor.socket(), floor.pid(), "/VolumeDriver.List", 20, list_count, empty);
  }();
  print_ratio("List" + label, list, list_floor,
              volumes >= 10000 ? "(target p50 < 10ms; reply " + std::to_string(list_reply.size() / 1024) + " KiB)"
                               : "(reply " + std::to_string(list_reply.size() / 1024) + " KiB)");
}

int run(const Paths& paths, std::size_t requests) {
  std::printf("holdfast_bench: %s vs floor %s, %zu requests per figure, one keep-alive connection\n",
              paths.daemon.c_str(), paths.floor.c_str(), requests);

  // ---- 1,000 volumes: reads, then Create+Remove.
  {
    std::string root = paths.work + "/v1000";
    generate_state(root, 1000);
    Daemon daemon(paths, root);
    double started = daemon.start_ms();
    std::printf("%-28s %.1f ms\n", "cold start (1000 volumes)", started);
    read_benchmarks(paths, daemon, 1000, requests, root);

    Client client(daemon.socket());
    std::size_t pairs = 300;
    std::vector<double> create_us;
    std::vector<double> remove_us;
    auto begin = Clock::now();
    for (std::size_t i = 0; i < pairs; ++i) {
      std::string body = "{\"Name\":\"bench-cr-" + std::to_string(i) + "\",\"Opts\":{}}\n";
      auto t0 = Clock::now();
      Reply created = client.post("/VolumeDriver.Create", body);
      auto t1 = Clock::now();
      Reply removed = client.post("/VolumeDriver.Remove", "{\"Name\":\"bench-cr-" + std::to_string(i) + "\"}\n");
      auto t2 = Clock::now();
      if (created.status != 200 || removed.status != 200) {
        throw std::runtime_error("Create/Remove failed: " + created.body + " " + removed.body);
      }
      create_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      remove_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    }
    double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    std::sort(create_us.begin(), create_us.end());
    std::sort(remove_us.begin(), remove_us.end());
    std::printf("%-28s %.0f pairs/s; Create p50 %s p99 %s; Remove p50 %s p99 %s (state fsynced per call)\n",
                "Create+Remove", static_cast<double>(pairs) / seconds, human(create_us[pairs / 2]).c_str(),
                human(create_us[pairs * 99 / 100]).c_str(), human(remove_us[pairs / 2]).c_str(),
                human(remove_us[pairs * 99 / 100]).c_str());
    daemon.stop();
  }

  // ---- 10,000 volumes: cold start (median of 5), reads, RSS.
  {
    std::string root = paths.work + "/v10000";
    generate_state(root, 10000);
    Daemon daemon(paths, root);
    std::vector<double> starts;
    for (int i = 0; i < 5; ++i) {
      starts.push_back(daemon.start_ms());
      if (i < 4) {
        daemon.stop();
      }
    }
    std::vector<double> floor_starts;
    long floor_rss = 0;
    for (int i = 0; i < 5; ++i) {
      Floor floor(paths, root, "{\"Err\":\"\"}");
      floor_starts.push_back(floor.start_ms());
      floor_rss = rss_kib(floor.pid(), "VmRSS:");
    }
    std::sort(starts.begin(), starts.end());
    std::sort(floor_starts.begin(), floor_starts.end());
    std::printf("%-28s %.1f ms (median of 5, min %.1f, max %.1f), floor %.1f ms (target < 200 ms)\n",
                "cold start (10000 volumes)", starts[2], starts[0], starts[4], floor_starts[2]);
    long after_start = rss_kib(daemon.pid(), "VmRSS:");

    read_benchmarks(paths, daemon, 10000, requests, root);
    long rss = rss_kib(daemon.pid(), "VmRSS:");
    long hwm = rss_kib(daemon.pid(), "VmHWM:");
    std::printf("%-28s %.1f MiB after the runs (%.1f MiB after start, peak %.1f MiB), floor %.1f MiB "
                "(target < 20 MiB)\n",
                "RSS (10000 volumes)", static_cast<double>(rss) / 1024.0, static_cast<double>(after_start) / 1024.0,
                static_cast<double>(hwm) / 1024.0, static_cast<double>(floor_rss) / 1024.0);
    daemon.stop();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Paths paths;
  std::size_t requests = 20000;
  std::string work;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--daemon") {
      paths.daemon = value();
    } else if (arg == "--floor") {
      paths.floor = value();
    } else if (arg == "--work-dir") {
      work = value();
    } else if (arg == "--requests") {
      requests = std::strtoul(value().c_str(), nullptr, 10);
    } else {
      std::fprintf(stderr,
                   "usage: %s --daemon <holdfastd> --floor <holdfast_floor> [--work-dir DIR] [--requests N]\n",
                   argv[0]);
      return 2;
    }
  }
  if (paths.daemon.empty() || paths.floor.empty() || requests < 100) {
    std::fprintf(stderr, "usage: %s --daemon <holdfastd> --floor <holdfast_floor> [--work-dir DIR] [--requests N]\n",
                 argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  bool own_work = work.empty();
  if (own_work) {
    char pattern[] = "/tmp/holdfast-bench-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    work = pattern;
  }
  paths.work = work;
  int rc = 1;
  try {
    rc = run(paths, requests);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "holdfast_bench: %s\n", e.what());
  }
  if (own_work) {
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
  }
  return rc;
}
