// Unit tests of the nfs backend's config section: defaults, every key, and
// the errors (with file and line) for bad values and unknown keys.
#include "nfs_config.hpp"

#include <fstream>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

using namespace holdfast::nfs;
using namespace std::chrono_literals;

namespace {

NfsConfig parse(const std::string& yaml) {
  holdfast::ConfigReader reader(YAML::Load(yaml), "holdfast.yaml", "backends.filer");
  return read_nfs_config(reader);
}

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == holdfast::ErrorKind::invalid_argument);
    return e.what();
  }
  FAIL("config accepted: " << yaml);
  return {};
}

}  // namespace

TEST_CASE("nfs config: defaults", "[nfs][config]") {
  NfsConfig c = parse("type: nfs\nserver: 10.0.0.5\nexport: /srv/docker\n");
  CHECK(c.server == "10.0.0.5");
  CHECK(c.export_path == "/srv/docker");
  CHECK(c.base_path == "/holdfast");
  CHECK(c.nfs_version == "4");
  CHECK(c.provision_version == 3);
  CHECK(c.mount_options.size() == 4);
  CHECK(c.allow_options.empty());
  CHECK_FALSE(c.port);
  CHECK_FALSE(c.mount_port);
  CHECK_FALSE(c.default_uid);
  CHECK(c.default_mode == 0755);
  CHECK(c.on_remove == RemovePolicy::remove_data);
  CHECK_FALSE(c.adopt_existing);
  CHECK(c.provision_timeout == 30s);
  CHECK(c.mount_timeout == 60s);
  CHECK(c.probe_timeout == 5s);
  CHECK(c.unmount_timeout == 10s);
}

TEST_CASE("nfs config: every key", "[nfs][config]") {
  NfsConfig c = parse(R"(
type: nfs
server: filer.example.com
export: /exports/docker/
base_path: /
nfs_version: "4.2"
provision_version: 3
mount_options: [soft, "timeo=50", noatime, suid]
allow_options: [suid]
port: 20490
mount_port: 20048
default_uid: 1000
default_gid: 100
default_mode: "0770"
on_remove: archive
adopt_existing: true
provision_timeout: 10s
mount_timeout: 2m
probe_timeout: 1500ms
unmount_timeout: 5s
max_volumes: 500
)");
  CHECK(c.server == "filer.example.com");
  CHECK(c.export_path == "/exports/docker");
  CHECK(c.base_path == "/");
  CHECK(c.nfs_version == "4.2");
  CHECK(c.mount_options ==
        std::vector<std::pair<std::string, std::string>>{{"soft", ""}, {"timeo", "50"}, {"noatime", ""}, {"suid", ""}});
  CHECK(c.allow_options == std::set<std::string>{"suid"});
  CHECK(c.port == 20490);
  CHECK(c.mount_port == 20048);
  CHECK(c.default_uid == 1000u);
  CHECK(c.default_gid == 100u);
  CHECK(c.default_mode == 0770);
  CHECK(c.on_remove == RemovePolicy::archive);
  CHECK(c.adopt_existing);
  CHECK(c.provision_timeout == 10s);
  CHECK(c.mount_timeout == 120s);
  CHECK(c.probe_timeout == 1500ms);
  CHECK(c.unmount_timeout == 5s);
  CHECK(c.max_volumes == 500);
}

TEST_CASE("nfs config: errors name the file, line and key", "[nfs][config]") {
  const std::string head = "type: nfs\nserver: 10.0.0.5\nexport: /srv\n";
  CHECK_THAT(error_of("type: nfs\nexport: /srv\n"), Catch::Contains("backends.filer.server: is required"));
  CHECK_THAT(error_of(head + "sever: x\n"),
             Catch::Contains("holdfast.yaml:4: backends.filer: unknown key \"sever\"") && Catch::Contains("server"));
  CHECK_THAT(error_of("type: nfs\nserver: \"10.0.0.5 -o suid\"\nexport: /srv\n"),
             Catch::Contains("holdfast.yaml:2") && Catch::Contains("not a host name"));
  CHECK_THAT(error_of("type: nfs\nserver: \"-oX\"\nexport: /srv\n"), Catch::Contains("not a host name"));
  CHECK_THAT(error_of("type: nfs\nserver: h\nexport: srv\n"), Catch::Contains("absolute path"));
  CHECK_THAT(error_of("type: nfs\nserver: h\nexport: /srv/../etc\n"), Catch::Contains("absolute path"));
  CHECK_THAT(error_of("type: nfs\nserver: h\nexport: \"/srv,suid\"\n"), Catch::Contains("absolute path"));
  CHECK_THAT(error_of(head + "base_path: /a//b\n"), Catch::Contains("base_path"));
  CHECK_THAT(error_of(head + "nfs_version: 5\n"), Catch::Contains("holdfast.yaml:4") && Catch::Contains("nfs_version"));
  CHECK_THAT(error_of(head + "provision_version: 2\n"), Catch::Contains("provision_version"));
  CHECK_THAT(error_of(head + "mount_options: [\"timeo=600,suid\"]\n"),
             Catch::Contains("holdfast.yaml:4: backends.filer.mount_options") && Catch::Contains("timeo"));
  CHECK_THAT(error_of(head + "mount_options: [\"vers=3\"]\n"), Catch::Contains("nfs_version"));
  CHECK_THAT(error_of(head + "mount_options: [dev]\n"), Catch::Contains("allow_options"));
  CHECK_THAT(error_of(head + "allow_options: [noexec]\n"), Catch::Contains("allow_options"));
  CHECK_THAT(error_of(head + "port: 70000\n"), Catch::Contains("out of range"));
  CHECK_THAT(error_of(head + "default_uid: -1\n"), Catch::Contains("default_uid"));
  CHECK_THAT(error_of(head + "default_mode: \"0999\"\n"), Catch::Contains("default_mode"));
  CHECK_THAT(error_of(head + "on_remove: shred\n"), Catch::Contains("delete, archive, retain"));
  CHECK_THAT(error_of(head + "probe_timeout: 5 minutes\n"), Catch::Contains("probe_timeout"));
  CHECK_THAT(error_of(head + "provision_version: 4\ndefault_uid: 1000\n"), Catch::Contains("cannot set ownership"));
}

TEST_CASE("nfs config: the commented example in config/holdfast.yaml is valid and shows the defaults", "[nfs][config]") {
  std::ifstream in(std::string(HOLDFAST_SOURCE_DIR) + "/config/holdfast.yaml");
  REQUIRE(in);
  std::string line;
  std::string section;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "  # filer:") {
      inside = true;
      section += "filer:\n";
      continue;
    }
    if (inside) {
      if (line.rfind("  #   ", 0) != 0) {
        break;
      }
      section += line.substr(4) + "\n";  // "  #   key: v" -> "  key: v"
    }
  }
  REQUIRE(inside);
  holdfast::ConfigReader reader(YAML::Load(section)["filer"], "holdfast.yaml", "backends.filer");
  NfsConfig c = read_nfs_config(reader);
  NfsConfig defaults;
  CHECK(c.server == "10.0.0.5");
  CHECK(c.base_path == defaults.base_path);
  CHECK(c.nfs_version == defaults.nfs_version);
  CHECK(c.provision_version == defaults.provision_version);
  CHECK(c.mount_options == defaults.mount_options);
  CHECK(c.allow_options == defaults.allow_options);
  CHECK(c.default_mode == defaults.default_mode);
  CHECK(c.on_remove == defaults.on_remove);
  CHECK(c.adopt_existing == defaults.adopt_existing);
  CHECK(c.provision_timeout == defaults.provision_timeout);
  CHECK(c.mount_timeout == defaults.mount_timeout);
  CHECK(c.probe_timeout == defaults.probe_timeout);
  CHECK(c.unmount_timeout == defaults.unmount_timeout);
  CHECK(c.max_volumes == defaults.max_volumes);
}
