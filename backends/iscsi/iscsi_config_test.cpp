// Unit tests of the iSCSI backend's config: parsers and the section reader.
#include "iscsi_config.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include <holdfast/error.hpp>

#include "support/fake_mounter.hpp"
#include "support/fake_runner.hpp"
#include "support/temp_dir.hpp"

using namespace holdfast;
using namespace holdfast::iscsi;

namespace {

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

struct Env {
  holdfast::test::TempDir dir;
  holdfast::test::FakeRunner runner;
  holdfast::test::FakeMounter mounter;
  BackendEnv env{"san", "host-a", "", runner, mounter};
  Env() { env.state_dir = dir.path(); }

  IscsiConfig parse(const std::string& yaml) {
    ConfigReader reader(YAML::Load(yaml), "holdfast.yaml", "backends.san");
    return parse_config(reader, env);
  }
};

}  // namespace

TEST_CASE("LUN pools parse numbers and ranges", "[config]") {
  CHECK(parse_lun_pool("1-8,10") == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 10});
  CHECK(parse_lun_pool(" 3 , 1 - 2 ") == std::vector<int>{1, 2, 3});
  CHECK(parse_lun_pool("0") == std::vector<int>{0});
  CHECK(parse_lun_pool("16383") == std::vector<int>{16383});
  for (const char* bad : {"", ",", "1,", "a", "1-", "-1", "5-3", "1-8,8", "16384", "1--2", "1 2", "0x1"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_lun_pool(bad), Error);
  }
}

TEST_CASE("portals parse host, port and IPv6", "[config]") {
  CHECK(parse_portal("10.0.0.1").text() == "10.0.0.1:3260");
  CHECK(parse_portal("san-a.example.com:3261").text() == "san-a.example.com:3261");
  CHECK(parse_portal("[fd00::1]:3262").text() == "[fd00::1]:3262");
  CHECK(parse_portal("[fd00::1]").port == 3260);
  for (const char* bad :
       {"", ":3260", "host:", "host:0", "host:70000", "fd00::1", "[fd00::1", "a b", "h;rm:1", "[zz]:1"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_portal(bad), Error);
  }
}

TEST_CASE("sizes use binary units", "[config]") {
  CHECK(parse_size("1024") == 1024);
  CHECK(parse_size("512M") == 512ULL << 20);
  CHECK(parse_size("10G") == 10ULL << 30);
  CHECK(parse_size("10GiB") == 10ULL << 30);
  CHECK(parse_size("2t") == 2ULL << 40);
  CHECK(parse_size("1KB") == 1024);
  for (const char* bad : {"", "0", "G", "-1G", "1.5G", "10X", "10GG", "99999999999999999999", "16777216T"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_size(bad), Error);
  }
}

TEST_CASE("takeover policies", "[config]") {
  CHECK(parse_takeover("never").mode == TakeoverMode::never);
  CHECK(parse_takeover("operator").mode == TakeoverMode::operator_);
  auto g = parse_takeover("grace:90s");
  CHECK(g.mode == TakeoverMode::grace);
  CHECK(g.grace == std::chrono::seconds(90));
  CHECK(g.text() == "grace:90s");
  CHECK(parse_takeover("grace:2m").grace == std::chrono::minutes(2));
  for (const char* bad : {"", "always", "grace:", "grace:5s", "grace:1x", "grace:200h", "Never"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_takeover(bad), Error);
  }
}

TEST_CASE("iSCSI names are checked", "[config]") {
  CHECK_NOTHROW(validate_iscsi_name("iqn.2024-01.io.holdfast:tgt1", "target"));
  CHECK_NOTHROW(validate_iscsi_name("eui.02004567a425678d", "target"));
  CHECK_THROWS_AS(validate_iscsi_name("IQN.2024-01.x:y", "target"), Error);
  CHECK_THROWS_AS(validate_iscsi_name("iqn.2024 01", "target"), Error);
  CHECK_THROWS_AS(validate_iscsi_name("target1", "target"), Error);
  CHECK(generated_initiator_name("Node_A.example") == "iqn.2024-01.io.holdfast:node-a.example");
  CHECK(parse_initiator_file("## comment\nInitiatorName=iqn.1993-08.org.debian:01:abc\n") ==
        "iqn.1993-08.org.debian:01:abc");
  CHECK(parse_initiator_file("nothing here").empty());
}

TEST_CASE("a full section parses, with CHAP secrets read from files and registered", "[config]") {
  Env e;
  write_file(e.dir.sub("chap"), "s3cret-initiator\n", 0600);
  write_file(e.dir.sub("mutual"), "s3cret-target-x\n", 0640);
  auto c = e.parse(R"(
type: iscsi
portals: [10.0.0.1, "10.0.0.2:3261"]
target: iqn.2024-01.io.holdfast:pool
initiator_name: iqn.2024-01.io.holdfast:host-a
chap:
  username: holdfast
  secret_file: )" + e.dir.sub("chap") +
                   R"(
  mutual_username: target
  mutual_secret_file: )" +
                   e.dir.sub("mutual") + R"(
luns: "1-4,7"
fs: xfs
mkfs_options: ["-m", "reflink=0"]
mount_options: noatime,discard
takeover: grace:60s
remove: wipe
io_timeout: 5s
)");
  CHECK(c.portals.size() == 2);
  CHECK(c.portals[1].port == 3261);
  CHECK(c.multipath == MultipathMode::on);  // auto with two portals
  CHECK(c.target == "iqn.2024-01.io.holdfast:pool");
  CHECK(c.chap.secret == "s3cret-initiator");
  CHECK(c.chap.mutual_secret == "s3cret-target-x");
  CHECK(c.luns == std::vector<int>{1, 2, 3, 4, 7});
  CHECK(c.fs == "xfs");
  CHECK(c.mkfs_options.size() == 2);
  CHECK(c.takeover.mode == TakeoverMode::grace);
  CHECK(c.remove == RemovePolicy::wipe);
  CHECK(c.io_timeout == std::chrono::seconds(5));
  CHECK(c.takeover_dir == e.dir.path() + "/backends/san/takeover");
  // Secrets are masked wherever they would appear.
  CHECK(redact("login failed with s3cret-initiator") == "login failed with ***");
  CHECK(redact("x s3cret-target-x y") == "x *** y");
}

TEST_CASE("defaults: initiator name from the host file, else generated", "[config]") {
  Env e;
  write_file(e.dir.sub("initiatorname.iscsi"), "InitiatorName=iqn.1993-08.org.debian:01:feed\n", 0644);
  auto c =
      e.parse("portals: [127.0.0.1]\nluns: '1'\ninitiator_name_file: " + e.dir.sub("initiatorname.iscsi"));
  CHECK(c.initiator_name == "iqn.1993-08.org.debian:01:feed");
  CHECK(c.fs == "ext4");
  CHECK(c.takeover.mode == TakeoverMode::never);
  CHECK(c.remove == RemovePolicy::keep);
  CHECK(c.multipath == MultipathMode::off);
  CHECK(c.target.empty());
  auto g = e.parse("portals: [127.0.0.1]\nluns: '1'\ninitiator_name_file: " + e.dir.sub("absent"));
  CHECK(g.initiator_name == "iqn.2024-01.io.holdfast:host-a");
}

TEST_CASE("config errors name the key and never the secret", "[config]") {
  Env e;
  write_file(e.dir.sub("open"), "world-readable-secret\n", 0644);
  write_file(e.dir.sub("empty"), "\n", 0600);
  write_file(e.dir.sub("ok"), "fine-secret-1\n", 0600);
  struct Case {
    std::string yaml;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"luns: '1'", "portals: is required"},
      {"portals: [127.0.0.1]", "luns: is required"},
      {"portals: [127.0.0.1]\nluns: '1-'", "luns: bad LUN pool item"},
      {"portals: ['127.0.0.1:99999']\nluns: '1'", "portals: bad portal"},
      {"portals: [127.0.0.1, 127.0.0.1:3260]\nluns: '1'", "listed twice"},
      {"portals: [127.0.0.1]\nluns: '1'\ntarget: Foo", "target: target \"Foo\""},
      {"portals: [127.0.0.1]\nluns: '1'\nfs: btrfs", "fs: \"btrfs\" is not one of"},
      {"portals: [127.0.0.1]\nluns: '1'\ntakeover: always", "takeover:"},
      {"portals: [127.0.0.1]\nluns: '1'\nremove: shred", "remove:"},
      {"portals: [127.0.0.1]\nluns: '1'\nmultipath: on", "needs at least two portals"},
      {"portals: [127.0.0.1]\nluns: '1'\nmount_options: 'a;b'", "mount_options:"},
      {"portals: [127.0.0.1]\nluns: '1'\nchap: {username: u}", "secret_file: is required"},
      {"portals: [127.0.0.1]\nluns: '1'\nchap: {username: u, secret_file: " + e.dir.sub("open") + "}",
       "accessible by other users"},
      {"portals: [127.0.0.1]\nluns: '1'\nchap: {username: u, secret_file: " + e.dir.sub("empty") + "}",
       "is empty"},
      {"portals: [127.0.0.1]\nluns: '1'\nchap: {username: u, secret_file: " + e.dir.sub("missing") + "}",
       "cannot open"},
      {"portals: [127.0.0.1]\nluns: '1'\nchap: {username: u, secret_file: " + e.dir.sub("ok") +
           ", mutual_secret_file: " + e.dir.sub("ok") + "}",
       "needs mutual_username"},
      {"portals: [127.0.0.1]\nluns: '1'\nchap: {username: u, secret_file: " + e.dir.sub("ok") +
           ", mutual_username: t, mutual_secret_file: " + e.dir.sub("ok") + "}",
       "must differ"},
      {"portals: [127.0.0.1]\nluns: '1'\nchap: {username: 'a b', secret_file: " + e.dir.sub("ok") + "}",
       "username: may contain only"},
      {"portals: [127.0.0.1]\nluns: '1'\nchap: {username: u, secret: inline, secret_file: " +
           e.dir.sub("ok") + "}",
       "unknown key \"secret\""},
      {"portals: [127.0.0.1]\nluns: '1'\nsever: x", "unknown key \"sever\""},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    try {
      e.parse(c.yaml);
      FAIL("no error");
    } catch (const Error& err) {
      CHECK(err.kind() == ErrorKind::invalid_argument);
      CHECK_THAT(err.what(), Catch::Contains(c.expect));
      CHECK_THAT(err.what(), Catch::Contains("holdfast.yaml:"));
      CHECK_THAT(err.what(), !Catch::Contains("world-readable-secret"));
      CHECK_THAT(err.what(), !Catch::Contains("fine-secret-1"));
    }
  }
}

TEST_CASE("the commented example in config/holdfast.yaml parses", "[config]") {
  std::ifstream in(std::string(HOLDFAST_SOURCE_DIR) + "/config/holdfast.yaml");
  REQUIRE(in);
  std::string line;
  std::string block;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "  # san:") {
      inside = true;
    } else if (inside && (line.rfind("  # ----", 0) == 0 || line.empty())) {
      break;
    }
    if (inside) {
      REQUIRE(line.rfind("  # ", 0) == 0);
      block += line.substr(4) + "\n";
    }
  }
  REQUIRE_FALSE(block.empty());
  Env e;
  ConfigReader reader(YAML::Load(block)["san"], "holdfast.yaml", "backends.san");
  auto c = parse_config(reader, e.env);
  CHECK(c.portals.size() == 1);
  CHECK(c.target == "iqn.2003-01.org.example:pool1");
  CHECK(c.luns.size() == 8);
  CHECK(c.takeover.mode == TakeoverMode::never);
  CHECK(c.remove == RemovePolicy::keep);
  CHECK(c.iface == "holdfast");
}
