// Unit tests of the NFS mount option allowlist and option string building.
#include "nfs_options.hpp"

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

using holdfast::ErrorKind;
using namespace holdfast::nfs;

namespace {

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const holdfast::Error& e) {
    return e.kind();
  }
  FAIL("expected a holdfast::Error");
  return ErrorKind::internal;
}

}  // namespace

TEST_CASE("nfs options: valid values are accepted and normalised", "[nfs][options]") {
  CHECK(validate_mount_option("vers", "4.1") == "4.1");
  CHECK(validate_mount_option("timeo", "600") == "600");
  CHECK(validate_mount_option("timeo", "0600") == "600");
  CHECK(validate_mount_option("hard", "") == "");
  CHECK(validate_mount_option("noatime", "true") == "");
  CHECK(validate_mount_option("sec", "krb5p") == "krb5p");
  CHECK(validate_mount_option("rsize", "1048576") == "1048576");
  CHECK(validate_mount_option("nconnect", "16") == "16");
  CHECK(validate_mount_option("lookupcache", "positive") == "positive");
}

TEST_CASE("nfs options: smuggling and out-of-range values are refused", "[nfs][options]") {
  // Each of these would add an option to "-o ..." if it were passed through.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"timeo", "600,suid"},  {"timeo", "600 "},      {"timeo", "60\n0"},   {"timeo", "-1"},
      {"timeo", "+5"},        {"timeo", "0"},         {"timeo", "6001"},    {"timeo", ""},
      {"timeo", "99999999999999999999"},              {"vers", "4.1,dev"},  {"vers", "5"},
      {"proto", "tcp,suid"},  {"proto", "udp"},       {"sec", "sys=x"},     {"hard", "false"},
      {"hard", "1"},          {"noatime", "yes"},     {"noatime", ",suid"}, {"nconnect", "17"},
      {"rsize", "1024"},      {"port", "65536"},      {"port", "0x10"},     {"lookupcache", "All"},
  };
  for (const auto& [name, value] : bad) {
    INFO(name << "=" << value);
    CHECK(kind_of([&] { validate_mount_option(name, value); }) == ErrorKind::invalid_argument);
  }
}

TEST_CASE("nfs options: unknown names are refused", "[nfs][options]") {
  for (std::string name : {"nosuid,suid", "addr", "clientaddr", "context", "fsc", "", "vers=4", "x-mount.mkdir"}) {
    INFO(name);
    CHECK_FALSE(is_mount_option(name));
    CHECK(kind_of([&] { validate_mount_option(name, ""); }) == ErrorKind::invalid_argument);
  }
}

TEST_CASE("nfs options: the message names the option and what it accepts", "[nfs][options]") {
  try {
    validate_mount_option("timeo", "600,suid");
    FAIL("accepted");
  } catch (const holdfast::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("timeo") && Catch::Contains("from 1 to 6000"));
  }
  try {
    validate_mount_option("timeo", std::string("1\n2"));
    FAIL("accepted");
  } catch (const holdfast::Error& e) {
    // Control characters are shown escaped, never raw.
    CHECK_THAT(e.what(), Catch::Contains("1\\x0a2"));
  }
}

TEST_CASE("nfs options: config entries parse as name[=value]", "[nfs][options]") {
  CHECK(parse_mount_option("timeo=600") == std::pair<std::string, std::string>{"timeo", "600"});
  CHECK(parse_mount_option("hard") == std::pair<std::string, std::string>{"hard", ""});
  CHECK(kind_of([] { parse_mount_option("hard=true"); }) == ErrorKind::invalid_argument);
  CHECK(kind_of([] { parse_mount_option("timeo"); }) == ErrorKind::invalid_argument);
  CHECK(kind_of([] { parse_mount_option("timeo=600,retrans=2"); }) == ErrorKind::invalid_argument);
  CHECK(kind_of([] { parse_mount_option("bogus=1"); }) == ErrorKind::invalid_argument);
}

TEST_CASE("nfs options: building the -o string", "[nfs][options]") {
  MountOptionInputs in;
  in.version = "4.1";
  in.defaults = {{"hard", ""}, {"proto", "tcp"}, {"timeo", "600"}, {"retrans", "2"}};

  SECTION("[Success] defaults, with nosuid and nodev forced") {
    CHECK(build_mount_options(in) == "vers=4.1,proto=tcp,hard,timeo=600,retrans=2,nodev,nosuid");
  }
  SECTION("[Success] volume options override defaults and the version") {
    in.volume = {{"timeo", "50"}, {"vers", "3"}, {"noatime", ""}, {"uid", "1000"}, {"mode", "0750"}};
    CHECK(build_mount_options(in) == "vers=3,proto=tcp,hard,timeo=50,retrans=2,noatime,nodev,nosuid");
  }
  SECTION("[Success] soft replaces the default hard") {
    in.volume = {{"soft", ""}};
    CHECK(build_mount_options(in) == "vers=4.1,proto=tcp,soft,timeo=600,retrans=2,nodev,nosuid");
  }
  SECTION("[Success] ports from the backend config; mountport only for v3") {
    in.port = 20490;
    in.mount_port = 20048;
    CHECK(build_mount_options(in) == "vers=4.1,proto=tcp,port=20490,hard,timeo=600,retrans=2,nodev,nosuid");
    in.version = "3";
    CHECK(build_mount_options(in) ==
          "vers=3,proto=tcp,port=20490,mountport=20048,hard,timeo=600,retrans=2,nodev,nosuid");
    in.volume = {{"port", "2049"}};
    CHECK(build_mount_options(in) ==
          "vers=3,proto=tcp,port=2049,mountport=20048,hard,timeo=600,retrans=2,nodev,nosuid");
  }
  SECTION("[Success] allowed privileged options replace the forced no-variants") {
    in.allowed = {"suid"};
    in.volume = {{"suid", ""}};
    CHECK(build_mount_options(in) == "vers=4.1,proto=tcp,hard,timeo=600,retrans=2,suid,nodev");
  }
  SECTION("[Error] privileged options that are not allowed") {
    in.volume = {{"dev", ""}};
    CHECK(kind_of([&] { build_mount_options(in); }) == ErrorKind::invalid_argument);
  }
  SECTION("[Error] a value that slipped past validation is still refused") {
    in.volume = {{"timeo", "600,suid"}};
    CHECK(kind_of([&] { build_mount_options(in); }) == ErrorKind::invalid_argument);
  }
}

TEST_CASE("nfs options: versions", "[nfs][options]") {
  for (std::string v : {"3", "4", "4.0", "4.1", "4.2"}) {
    CHECK(is_nfs_version(v));
  }
  for (std::string v : {"2", "4.3", "", "v4", "4.1 "}) {
    CHECK_FALSE(is_nfs_version(v));
  }
}
