#include "config/config.hpp"

#include <unistd.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include <holdfast/backend.hpp>
#include <holdfast/config_reader.hpp>
#include <holdfast/error.hpp>

#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using holdfast::Config;
using holdfast::ErrorKind;
using holdfast::parse_config;

namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_config(yaml, "f.yaml");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_argument);
    return e.what();
  }
  FAIL("expected an error for:\n" << yaml);
  return {};
}

std::string this_host() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// Everything that decides the daemon's behaviour, in one comparable string.
std::string describe(const Config& c) {
  std::ostringstream out;
  out << c.socket_path << '|' << c.state_dir << '|' << c.mount_root << '|' << c.admin_socket_path << '|'
      << c.log_level << '|' << c.host_id << '|' << c.default_backend << '|' << c.refresh_interval.count() << '|'
      << c.deadlines.create.count() << ',' << c.deadlines.remove.count() << ',' << c.deadlines.mount.count() << ','
      << c.deadlines.unmount.count() << ',' << c.deadlines.volume_lock.count();
  for (const auto& b : c.backends) {
    out << '|' << b.name << ':' << b.type << ':';
    // The section as the factory sees it: its keys and values.
    if (b.section && b.section.IsMap()) {
      for (const auto& kv : b.section) {
        out << kv.first.as<std::string>() << '=' << YAML::Dump(kv.second) << ';';
      }
    } else if (b.section && !b.section.IsNull()) {
      out << "not-a-map";
    }
  }
  return out.str();
}

}  // namespace

TEST_CASE("config: defaults", "[unit][config]") {
  Config c = holdfast::default_config();
  CHECK(c.file.empty());
  CHECK(c.socket_path == "/run/docker/plugins/holdfast.sock");
  CHECK(c.state_dir == "/var/lib/holdfast");
  CHECK(c.mount_root == "/var/lib/holdfast/mounts");
  CHECK(c.admin_socket_path == "/run/holdfast/admin.sock");
  CHECK(c.log_level == "info");
  CHECK(c.host_id == this_host());
  CHECK(c.default_backend == "local");
  CHECK(c.refresh_interval == 15s);
  CHECK(c.deadlines.create == 100s);
  CHECK(c.deadlines.mount == 100s);
  CHECK(c.deadlines.remove == 50s);
  CHECK(c.deadlines.unmount == 50s);
  CHECK(c.deadlines.volume_lock == 50s);
  REQUIRE(c.backends.size() == 1);
  CHECK(c.backends[0].name == "local");
  CHECK(c.backends[0].type == "local");
  CHECK(c.backends[0].section.IsMap());
  CHECK(c.backends[0].section.size() == 0);
}

TEST_CASE("config: an empty or comment-only file gives the defaults", "[unit][config]") {
  std::string defaults = describe(holdfast::default_config());
  for (std::string text : {"", "\n\n", "# only a comment\n", "---\n", "backends:\n", "backends: {}\n",
                           "deadlines:\n", "deadlines: {}\n"}) {
    INFO("text: " << text);
    Config c = parse_config(text, "f.yaml");
    CHECK(c.file == "f.yaml");
    CHECK(describe(c) == defaults);
  }
}

TEST_CASE("config: every key read", "[unit][config]") {
  Config c = parse_config(
      "socket: /run/x/h.sock\n"
      "state_dir: /srv/holdfast\n"
      "mount_root: /srv/mounts\n"
      "admin_socket: /run/x/admin.sock\n"
      "log_level: debug\n"
      "host_id: node-7.example\n"
      "default_backend: fast\n"
      "refresh_interval: 1m\n"
      "deadlines:\n"
      "  create: 115s\n"
      "  remove: 55s\n"
      "  mount: 90000ms\n"
      "  unmount: 10\n"
      "  volume_lock: 0s\n"
      "backends:\n"
      "  fast:\n"
      "    type: local\n"
      "    base_dir: /srv/fast\n"
      "  slow:\n"
      "    on_remove: retain\n"
      "    type: local\n",
      "f.yaml");
  CHECK(c.socket_path == "/run/x/h.sock");
  CHECK(c.state_dir == "/srv/holdfast");
  CHECK(c.mount_root == "/srv/mounts");
  CHECK(c.admin_socket_path == "/run/x/admin.sock");
  CHECK(c.log_level == "debug");
  CHECK(c.host_id == "node-7.example");
  CHECK(c.default_backend == "fast");
  CHECK(c.refresh_interval == 60s);
  CHECK(c.deadlines.create == 115s);
  CHECK(c.deadlines.remove == 55s);
  CHECK(c.deadlines.mount == 90s);
  CHECK(c.deadlines.unmount == 10s);
  CHECK(c.deadlines.volume_lock == 0s);
  REQUIRE(c.backends.size() == 2);
  CHECK(c.backends[0].name == "fast");
  CHECK(c.backends[1].name == "slow");

  // The section reaches the factory without `type`, with its line numbers.
  holdfast::ConfigReader fast(c.backends[0].section, c.file, "backends.fast");
  CHECK(fast.keys() == std::vector<std::string>{"base_dir"});
  CHECK(fast.string("base_dir") == std::optional<std::string>("/srv/fast"));
  fast.finish();
  holdfast::ConfigReader slow(c.backends[1].section, c.file, "backends.slow");
  try {
    slow.finish();
    FAIL("on_remove was not read: finish() must complain");
  } catch (const holdfast::Error& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("f.yaml:20: backends.slow: unknown key \"on_remove\""));
  }
}

TEST_CASE("config: default_backend rules", "[unit][config]") {
  // One backend: it is the default.
  CHECK(parse_config("backends:\n  only:\n    type: local\n", "f").default_backend == "only");
  // Several, one called local: that one.
  CHECK(parse_config("backends:\n  a:\n    type: local\n  local:\n    type: local\n", "f").default_backend ==
        "local");
  CHECK(error_of("backends:\n  a:\n    type: local\n  b:\n    type: local\n") ==
        "f.yaml:1: default_backend: is required when several backends are configured and none is named \"local\" "
        "(configured: a, b)");
  CHECK(error_of("default_backend: nfs1\nbackends:\n  a:\n    type: local\n") ==
        "f.yaml:1: default_backend: \"nfs1\" is not a configured backend (configured: a)");
  // Without a backends section only the built-in "local" exists.
  CHECK(error_of("default_backend: filer\n") ==
        "f.yaml:1: default_backend: \"filer\" is not a configured backend (configured: local)");
  CHECK(parse_config("default_backend: local\n", "f").default_backend == "local");
}

TEST_CASE("config: unknown and repeated keys", "[unit][config]") {
  CHECK_THAT(error_of("socket: /run/a.sock\nsockt: /run/b.sock\n"),
             Catch::StartsWith("f.yaml:2: top level: unknown key \"sockt\" (accepted: "));
  CHECK_THAT(error_of("socket: /run/a.sock\nsockt: /run/b.sock\n"), Catch::Contains("default_backend"));
  CHECK_THAT(error_of("deadlines:\n  create: 10s\n  delete: 10s\n"),
             Catch::StartsWith("f.yaml:3: deadlines: unknown key \"delete\""));
  CHECK(error_of("log_level: info\nlog_level: debug\n") == "f.yaml:2: top level: key \"log_level\" is repeated");
  CHECK_THAT(error_of("backends:\n  a:\n    type: local\n  a:\n    type: local\n"),
             Catch::Contains("f.yaml:4: backends: key \"a\" is repeated"));
}

TEST_CASE("config: YAML syntax errors carry the line", "[unit][config]") {
  CHECK_THAT(error_of("socket: /run/a.sock\nbackends: [unclosed\n"), Catch::StartsWith("f.yaml:"));
  CHECK_THAT(error_of("socket: /run/a.sock\nbackends: [unclosed\n"), Catch::Contains("YAML syntax error"));
  CHECK_THAT(error_of("a: 1\n  b: 2\nc: [\n"), Catch::Matches("f\\.yaml:[0-9]+: YAML syntax error: .*"));
  CHECK(error_of("just a string\n") == "f.yaml:1: top level: expected a mapping");
  CHECK(error_of("- a\n- b\n") == "f.yaml:1: top level: expected a mapping");
}

TEST_CASE("config: paths must be absolute", "[unit][config]") {
  for (std::string key : {"socket", "state_dir", "mount_root", "admin_socket"}) {
    INFO("key " << key);
    CHECK(error_of(key + ": relative/path\n") ==
          "f.yaml:1: " + key + ": must be an absolute path, got \"relative/path\"");
    CHECK_THAT(error_of(key + ": \"\"\n"), Catch::Contains("must be an absolute path"));
    CHECK_THAT(error_of(key + ": [a]\n"), Catch::Contains("expected a string"));
  }
  std::string long_path = "/run/" + std::string(120, 'x') + ".sock";
  CHECK_THAT(error_of("socket: " + long_path + "\n"), Catch::Contains("at most 107 bytes"));
  CHECK_THAT(error_of("admin_socket: " + long_path + "\n"), Catch::Contains("at most 107 bytes"));
  // A long state_dir is fine: it is not a socket.
  CHECK(parse_config("state_dir: " + long_path + "\n", "f").state_dir == long_path);
}

TEST_CASE("config: deadlines stay below Docker's", "[unit][config]") {
  CHECK_THAT(error_of("deadlines:\n  create: 116s\n"), Catch::StartsWith("f.yaml:2: deadlines.create: "));
  CHECK_THAT(error_of("deadlines:\n  create: 116s\n"), Catch::Contains("out of range"));
  CHECK_THAT(error_of("deadlines:\n  mount: 2m\n"), Catch::StartsWith("f.yaml:2: deadlines.mount: "));
  CHECK_THAT(error_of("deadlines:\n  remove: 56s\n"), Catch::StartsWith("f.yaml:2: deadlines.remove: "));
  CHECK_THAT(error_of("deadlines:\n  unmount: 1m\n"), Catch::StartsWith("f.yaml:2: deadlines.unmount: "));
  CHECK_THAT(error_of("deadlines:\n  volume_lock: 56s\n"), Catch::StartsWith("f.yaml:2: deadlines.volume_lock: "));
  CHECK_THAT(error_of("deadlines:\n  create: 0s\n"), Catch::Contains("out of range"));
  CHECK_THAT(error_of("deadlines:\n  mount: soon\n"), Catch::Contains("expected a duration"));
  CHECK_THAT(error_of("deadlines: 30s\n"), Catch::Contains("f.yaml:1: deadlines: expected a mapping"));
  CHECK_THAT(error_of("refresh_interval: 0s\n"), Catch::StartsWith("f.yaml:1: refresh_interval: "));
  CHECK_THAT(error_of("refresh_interval: 25h\n"), Catch::Contains("expected a duration"));
  auto c = parse_config("deadlines:\n  mount: 115s\n  unmount: 55s\n", "f");
  CHECK(c.deadlines.mount == 115s);
  CHECK(c.deadlines.unmount == 55s);
  CHECK(c.deadlines.create == 100s);  // untouched keys keep their defaults
}

TEST_CASE("config: log level and host id", "[unit][config]") {
  CHECK(error_of("log_level: verbose\n") ==
        "f.yaml:1: log_level: \"verbose\" is not one of: trace, debug, info, warn, error");
  for (const std::string& bad : std::vector<std::string>{"\"has space\"", "-dash", "\"a/b\"", std::string(65, 'h')}) {
    INFO("host_id " << bad);
    CHECK_THAT(error_of("host_id: " + bad + "\n"), Catch::StartsWith("f.yaml:1: host_id: "));
  }
  CHECK(parse_config("host_id: " + std::string(64, 'h') + "\n", "f").host_id == std::string(64, 'h'));
}

TEST_CASE("config: backend entries", "[unit][config]") {
  std::string types;
  for (const auto& d : holdfast::backend_registry()) {
    types += (types.empty() ? "" : ", ") + std::string(d.type);
  }
  CHECK(error_of("backends:\n  filer:\n    type: nfz\n") ==
        "f.yaml:3: backends.filer.type: unknown backend type \"nfz\" (available: " + types + ")");
  CHECK(error_of("backends:\n  filer:\n    base_dir: /x\n") == "f.yaml:3: backends.filer.type: is required");
  CHECK(error_of("backends:\n  filer: local\n") == "f.yaml:2: backends.filer: expected a mapping");
  CHECK_THAT(error_of("backends:\n  filer:\n"), Catch::Contains("backends.filer: expected a mapping with at least a `type`"));
  CHECK_THAT(error_of("backends:\n  \"bad name\":\n    type: local\n"),
             Catch::Contains("backend name \"bad name\" is not allowed"));
  CHECK_THAT(error_of("backends:\n  _x:\n    type: local\n"), Catch::Contains("is not allowed"));
  CHECK_THAT(error_of("backends:\n  " + std::string(65, 'b') + ":\n    type: local\n"),
             Catch::Contains("is not allowed"));
  CHECK(error_of("backends:\n  - type: local\n") == "f.yaml:2: backends: expected a mapping");
  CHECK_THAT(error_of("backends:\n  a:\n    type: [local]\n"), Catch::Contains("backends.a.type: expected a string"));
}

TEST_CASE("config: load_config reads a file, reports a missing one", "[unit][config]") {
  holdfast::test::TempDir dir;
  try {
    holdfast::load_config(dir.sub("absent.yaml"));
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK_THAT(e.what(), Catch::Contains(dir.sub("absent.yaml")));
  }
  std::ofstream(dir.sub("h.yaml")) << "log_level: warn\nbogus: 1\n";
  try {
    holdfast::load_config(dir.sub("h.yaml"));
    FAIL("expected an error");
  } catch (const holdfast::Error& e) {
    CHECK_THAT(e.what(), Catch::StartsWith(dir.sub("h.yaml") + ":2: top level: unknown key \"bogus\""));
  }
  std::ofstream(dir.sub("ok.yaml")) << "log_level: warn\n";
  Config c = holdfast::load_config(dir.sub("ok.yaml"));
  CHECK(c.file == dir.sub("ok.yaml"));
  CHECK(c.log_level == "warn");
  std::ofstream(dir.sub("empty.yaml")) << "";
  CHECK(describe(holdfast::load_config(dir.sub("empty.yaml"))) == describe(holdfast::default_config()));
}

TEST_CASE("config: the shipped example config is exactly the zero-config behaviour", "[unit][config]") {
  std::string path = std::string(HOLDFAST_SOURCE_DIR) + "/config/holdfast.yaml";
  Config c = holdfast::load_config(path);
  CHECK(describe(c) == describe(holdfast::default_config()));

  // It documents every top-level key (host_id commented out: its default
  // is the host name).
  std::ifstream in(path);
  std::set<std::string> active;
  std::set<std::string> commented;
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos || line.empty() || line[0] == ' ') {
      continue;
    }
    if (line[0] == '#') {
      if (line.size() > 2 && line[1] == ' ' && line[2] != ' ') {
        commented.insert(line.substr(2, colon - 2));
      }
      continue;
    }
    active.insert(line.substr(0, colon));
  }
  for (std::string key : {"socket", "state_dir", "mount_root", "admin_socket", "log_level", "default_backend",
                          "refresh_interval", "deadlines", "backends"}) {
    INFO("key " << key);
    CHECK(active.count(key) == 1);
  }
  CHECK(commented.count("host_id") == 1);
  CHECK(commented.count("metrics_listen") == 1);
  CHECK(commented.count("audit_log") == 1);
  CHECK(commented.count("audit_log_max_bytes") == 1);
  CHECK(commented.count("audit_log_keep") == 1);
}

TEST_CASE("config: metrics_listen takes loopback addresses only", "[unit][config]") {
  CHECK_FALSE(parse_config("", "f.yaml").metrics_listen);
  auto c = parse_config("metrics_listen: 127.0.0.1:9436\n", "f.yaml");
  REQUIRE(c.metrics_listen);
  CHECK(c.metrics_listen->host == "127.0.0.1");
  CHECK(c.metrics_listen->port == 9436);
  CHECK(c.metrics_listen->text() == "127.0.0.1:9436");
  CHECK(holdfast::parse_loopback_address("[::1]:9000").text() == "[::1]:9000");
  CHECK(holdfast::parse_loopback_address("localhost:80").host == "127.0.0.1");
  CHECK(holdfast::parse_loopback_address("127.3.4.5:1").host == "127.3.4.5");

  CHECK_THAT(error_of("metrics_listen: 0.0.0.0:9436\n"),
             Catch::Contains("f.yaml:1: metrics_listen:") && Catch::Contains("0.0.0.0 is not a loopback address"));
  CHECK_THAT(error_of("metrics_listen: 192.0.2.1:9436\n"), Catch::Contains("is not a loopback address"));
  CHECK_THAT(error_of("metrics_listen: \"[::]:9436\"\n"), Catch::Contains("is not a loopback address"));
  CHECK_THAT(error_of("metrics_listen: 127.0.0.1\n"), Catch::Contains("such as 127.0.0.1:9436"));
  CHECK_THAT(error_of("metrics_listen: 127.0.0.1:0\n"), Catch::Contains("the port must be 1 to 65535"));
  CHECK_THAT(error_of("metrics_listen: 127.0.0.1:70000\n"), Catch::Contains("the port must be 1 to 65535"));
  CHECK_THAT(error_of("metrics_listen: example.org:80\n"), Catch::Contains("is not an IP address"));
  CHECK_THAT(error_of("metrics_listen: ::1:80\n"), Catch::Contains("brackets"));
}

TEST_CASE("config: audit_log defaults under the state dir, \"\" disables it", "[unit][config]") {
  auto c = parse_config("state_dir: /srv/hf\n", "f.yaml");
  CHECK(holdfast::audit_log_path(c) == "/srv/hf/audit.log");
  CHECK(holdfast::audit_log_path(parse_config("audit_log: /var/log/hf.log\n", "f.yaml")) == "/var/log/hf.log");
  CHECK(holdfast::audit_log_path(parse_config("audit_log: \"\"\n", "f.yaml")).empty());
  CHECK_THAT(error_of("audit_log: relative.log\n"), Catch::Contains("audit_log: must be an absolute path"));
}

TEST_CASE("config: the audit log's size cap and rotated files are validated", "[unit][config]") {
  auto defaults = parse_config("", "f.yaml");
  CHECK(defaults.audit_log_max_bytes == 10 * 1024 * 1024);
  CHECK(defaults.audit_log_keep == 3);
  auto c = parse_config("audit_log_max_bytes: 65536\naudit_log_keep: 7\n", "f.yaml");
  CHECK(c.audit_log_max_bytes == 65536);
  CHECK(c.audit_log_keep == 7);
  CHECK(parse_config("audit_log_max_bytes: 4294967296\n", "f.yaml").audit_log_max_bytes == 4294967296ULL);

  for (const char* bad : {"0", "-1", "65535", "4294967297", "10M", "1.5", "\"\"", "99999999999999999999999"}) {
    INFO("audit_log_max_bytes: " << bad);
    CHECK_THAT(error_of(std::string("\naudit_log_max_bytes: ") + bad + "\n"),
               Catch::Contains("f.yaml:2: audit_log_max_bytes: expected a number of bytes from 65536 (64 KiB) to "
                               "4294967296 (4 GiB)"));
  }
  CHECK_THAT(error_of("audit_log_keep: 0\n"), Catch::Contains("audit_log_keep: 0 is out of range [1, 100]"));
  CHECK_THAT(error_of("audit_log_keep: 101\n"), Catch::Contains("audit_log_keep: 101 is out of range [1, 100]"));
  CHECK_THAT(error_of("audit_log_keep: three\n"), Catch::Contains("audit_log_keep: expected an integer"));
}
