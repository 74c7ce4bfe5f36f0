#include "lvm_config.hpp"

#include <fstream>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

using holdfast::ConfigReader;
using holdfast::Error;
using holdfast::ErrorKind;
using namespace holdfast::lvm;
using namespace std::chrono_literals;

namespace {

LvmConfig read(const std::string& yaml) {
  ConfigReader reader(YAML::Load(yaml), "/etc/holdfast/holdfast.yaml", "backends.disks");
  return read_lvm_config(reader);
}

std::string error_of(const std::string& yaml) {
  try {
    (void)read(yaml);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_argument);
    return e.what();
  }
  FAIL("config accepted: " << yaml);
  return {};
}

}  // namespace

TEST_CASE("minimal config: a volume group and defaults", "[lvm][config]") {
  LvmConfig c = read("volume_group: vg0\n");
  CHECK(c.volume_group == "vg0");
  CHECK_FALSE(c.thin());
  CHECK(c.lv_prefix == "hf-");
  CHECK(c.default_size == 10 * k_gib);
  CHECK(c.max_size == 16 * k_tib);
  CHECK(c.fs == FsType::ext4);
  CHECK(c.mkfs_ext4.empty());
  CHECK(c.mount_xfs.empty());
  CHECK(c.pool_warning_percent == 80);
  CHECK(c.max_copy_size == 16 * k_gib);
  CHECK_FALSE(c.deactivate_on_unmount);
  CHECK(c.timeouts.command == 30s);
  CHECK(c.timeouts.mkfs == 60s);
  CHECK(c.timeouts.copy == 90s);
  CHECK(c.timeouts.grow == 60s);
  CHECK(c.timeouts.cleanup == 30s);
}

TEST_CASE("full config", "[lvm][config]") {
  LvmConfig c = read(R"(
volume_group: data-vg
thin_pool: pool0
lv_prefix: docker_
default_size: 2G
max_size: 1T
fs: xfs
mkfs_options:
  ext4: "-m 0 -O ^metadata_csum"
  xfs: "-m reflink=0"
mount_options:
  ext4: noatime,nobarrier
  xfs: noatime
pool_warning_percent: 90
max_copy_size: 0
deactivate_on_unmount: true
timeouts:
  command: 10s
  mkfs: 2m
  copy: 5m
  grow: 45s
  cleanup: 20s
)");
  CHECK(c.volume_group == "data-vg");
  CHECK(c.thin_pool == "pool0");
  CHECK(c.thin());
  CHECK(c.lv_prefix == "docker_");
  CHECK(c.default_size == 2 * k_gib);
  CHECK(c.max_size == k_tib);
  CHECK(c.fs == FsType::xfs);
  CHECK(c.mkfs_options(FsType::ext4) == std::vector<std::string>{"-m", "0", "-O", "^metadata_csum"});
  CHECK(c.mkfs_options(FsType::xfs) == std::vector<std::string>{"-m", "reflink=0"});
  CHECK(c.mount_options(FsType::ext4) == "noatime,nobarrier");
  CHECK(c.pool_warning_percent == 90);
  CHECK(c.max_copy_size == 0);
  CHECK(c.deactivate_on_unmount);
  CHECK(c.timeouts.command == 10s);
  CHECK(c.timeouts.mkfs == 120s);
  CHECK(c.timeouts.copy == 300s);
  CHECK(c.timeouts.grow == 45s);
  CHECK(c.timeouts.cleanup == 20s);
}

TEST_CASE("config errors name the file, line and key", "[lvm][config]") {
  CHECK(error_of("thin_pool: p\n") == "/etc/holdfast/holdfast.yaml:1: backends.disks.volume_group: is required");
  CHECK_THAT(error_of("volume_group: vg0\nthinpool: p\n"),
             Catch::StartsWith("/etc/holdfast/holdfast.yaml:2: backends.disks: unknown key \"thinpool\"") &&
                 Catch::Contains("thin_pool"));
  CHECK_THAT(error_of("volume_group: vg0\ntimeouts:\n  comand: 5s\n"),
             Catch::StartsWith("/etc/holdfast/holdfast.yaml:3: backends.disks.timeouts: unknown key \"comand\""));
  CHECK_THAT(error_of("volume_group: vg0\nmkfs_options:\n  btrfs: x\n"),
             Catch::Contains("backends.disks.mkfs_options: unknown key \"btrfs\""));
  CHECK_THAT(error_of("volume_group: vg0\nfs: btrfs\n"),
             Catch::StartsWith("/etc/holdfast/holdfast.yaml:2: backends.disks.fs: \"btrfs\" is not one of: ext4, xfs"));
  CHECK_THAT(error_of("volume_group: vg0\ndefault_size: 10X\n"),
             Catch::StartsWith("/etc/holdfast/holdfast.yaml:2: backends.disks.default_size: default_size \"10X\" has an unknown unit"));
  CHECK_THAT(error_of("volume_group: vg0\ndefault_size: 1M\n"),
             Catch::StartsWith("/etc/holdfast/holdfast.yaml:2: backends.disks.default_size: 1 MiB is outside"));
  CHECK_THAT(error_of("volume_group: vg0\nmax_size: 1G\ndefault_size: 2G\n"),
             Catch::Contains("backends.disks.default_size: 2 GiB is outside [16 MiB, max_size 1 GiB]"));
  CHECK_THAT(error_of("volume_group: vg0\nfs: xfs\ndefault_size: 100M\n"),
             Catch::Contains("default_size: xfs needs at least 300 MiB"));
  CHECK_THAT(error_of("volume_group: 'vg 0'\n"),
             Catch::StartsWith("/etc/holdfast/holdfast.yaml:1: backends.disks.volume_group: volume_group \"vg 0\" is not a valid LVM name"));
  CHECK_THAT(error_of("volume_group: vg0\nlv_prefix: snapshot\n"),
             Catch::StartsWith("/etc/holdfast/holdfast.yaml:2: backends.disks.lv_prefix: lv_prefix \"snapshot\" is not usable"));
  CHECK_THAT(error_of("volume_group: vg0\nthin_pool: pool_tdata\n"),
             Catch::StartsWith("/etc/holdfast/holdfast.yaml:2: backends.disks.thin_pool:"));
  CHECK_THAT(error_of("volume_group: vg0\npool_warning_percent: 101\n"),
             Catch::Contains("pool_warning_percent: 101 is out of range [1, 100]"));
  CHECK_THAT(error_of("volume_group: vg0\ntimeouts:\n  mkfs: 0s\n"), Catch::Contains("backends.disks.timeouts.mkfs:"));
  CHECK_THAT(error_of("volume_group: vg0\nmount_options:\n  ext4: \"a b\"\n"),
             Catch::StartsWith("/etc/holdfast/holdfast.yaml:3: backends.disks.mount_options.ext4:"));
  CHECK_THAT(error_of("volume_group: vg0\nmkfs_options:\n  ext4: \"-m \x01\"\n"),
             Catch::StartsWith("/etc/holdfast/holdfast.yaml:3: backends.disks.mkfs_options.ext4:"));
  CHECK_THAT(error_of("volume_group: vg0\ndeactivate_on_unmount: maybe\n"),
             Catch::Contains("deactivate_on_unmount: expected true or false"));
}

TEST_CASE("the commented lvm example in config/holdfast.yaml is valid when uncommented", "[lvm][config]") {
  std::ifstream file(std::string(HOLDFAST_SOURCE_DIR) + "/config/holdfast.yaml");
  REQUIRE(file);
  // The example starts at "  # disks:" and runs while lines are commented
  // at that indentation; "#   # ..." lines are its own comments.
  std::string line;
  std::string yaml;
  bool inside = false;
  while (std::getline(file, line)) {
    if (line == "  # disks:") {
      inside = true;
    } else if (inside && line.rfind("  #   ", 0) != 0) {
      break;
    }
    if (!inside) {
      continue;
    }
    std::string text = line.substr(4);  // drop "  # "
    auto first = text.find_first_not_of(' ');
    if (first != std::string::npos && text[first] == '#') {
      continue;
    }
    yaml += text + "\n";
  }
  REQUIRE(!yaml.empty());
  YAML::Node doc = YAML::Load(yaml);
  CHECK(doc["disks"]["type"].as<std::string>() == "lvm");
  doc["disks"].remove("type");  // read by the daemon's config, not by the backend
  ConfigReader reader(doc["disks"], "holdfast.yaml", "backends.disks");
  LvmConfig c = read_lvm_config(reader);
  CHECK(c.volume_group == "vg0");
  CHECK(c.lv_prefix == "hf-");
  CHECK(c.default_size == 10 * k_gib);
  CHECK(c.max_size == 16 * k_tib);
  CHECK(c.pool_warning_percent == 80);
  CHECK(c.timeouts.cleanup == 30s);
}
