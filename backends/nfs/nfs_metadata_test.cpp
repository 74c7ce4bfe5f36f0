// Unit tests of the on-export volume record: round trip, strict parsing,
// and the layout of holdfast's directories inside the base path.
#include "nfs_metadata.hpp"

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

using namespace holdfast::nfs;

namespace {

VolumeMetadata sample() {
  VolumeMetadata m;
  m.name = "db-1";
  m.dir = "db-1@20261128T010611Z.0a0b0c0d";
  m.options = {{"uid", "1000"}, {"timeo", "50"}};
  m.created_at = holdfast::parse_rfc3339("2026-11-28T01:06:11Z");
  m.created_by = "host-a";
  return m;
}

void check_rejected(const std::string& text, const std::string& why) {
  INFO(text);
  try {
    parse_metadata(text, "db-1");
    FAIL("accepted");
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == holdfast::ErrorKind::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains(why));
  }
}

}  // namespace

TEST_CASE("nfs metadata: round trip", "[nfs][metadata]") {
  VolumeMetadata in = sample();
  std::string text = serialize_metadata(in);
  CHECK_THAT(text, Catch::Contains("\"holdfast_volume\": 2"));
  VolumeMetadata out = parse_metadata(text, "db-1");
  CHECK(out.name == in.name);
  CHECK(out.dir == in.dir);
  CHECK(parse_metadata_any_name(text).dir == in.dir);
  CHECK(out.options == in.options);
  CHECK(out.created_at == in.created_at);
  CHECK(out.created_by == in.created_by);
}

TEST_CASE("nfs metadata: format 1 records (no dir) live in <base>/<name>", "[nfs][metadata]") {
  VolumeMetadata old = parse_metadata(
      R"({"holdfast_volume": 1, "name": "db-1", "options": {}, "created_at": "2026-11-28T01:06:11Z", "created_by": "h"})",
      "db-1");
  CHECK(old.dir == "db-1");
  check_rejected(R"({"holdfast_volume": 1, "name": "db-1", "dir": "db-1", "options": {}, "created_at": "2026-11-28T01:06:11Z", "created_by": "h"})",
                 "unknown key \"dir\"");
}

TEST_CASE("nfs metadata: generation directories", "[nfs][metadata]") {
  const std::string dir = generation_dir("db-1", holdfast::parse_rfc3339("2026-11-28T01:06:11Z"), 0xabc);
  CHECK(dir == "db-1@20261128T010611Z.00000abc");
  CHECK(valid_volume_dir("db-1", dir));
  CHECK(valid_volume_dir("db-1", "db-1"));
  CHECK_FALSE(valid_volume_dir("db-1", "db-2"));
  CHECK_FALSE(valid_volume_dir("db-1", "db-1@"));
  CHECK_FALSE(valid_volume_dir("db-1", "db-1@a/b"));
  CHECK_FALSE(valid_volume_dir("db-1", "db-1@a_b"));
  CHECK_FALSE(valid_volume_dir("db-1", "db-1x@a"));
  CHECK_FALSE(valid_volume_dir("db-1", "db-1@" + std::string(49, 'a')));
  CHECK_FALSE(valid_volume_dir("db", "db-1@a"));
  CHECK_FALSE(valid_volume_dir("db-1", ""));
}

TEST_CASE("nfs metadata: strict parsing", "[nfs][metadata]") {
  const std::string ok_tail = R"("created_at": "2026-11-28T01:06:11Z", "created_by": "host-a"})";
  check_rejected(R"({"holdfast_volume": 3, "name": "db-1", "options": {}, )" + ok_tail, "format 3");
  check_rejected(R"({"holdfast_volume": 2, "name": "db-1", "options": {}, )" + ok_tail, "lacks \"dir\"");
  check_rejected(R"({"holdfast_volume": 2, "name": "db-1", "dir": "db-2@x", "options": {}, )" + ok_tail, "\"dir\"");
  check_rejected(R"({"holdfast_volume": 2, "name": "db-1", "dir": "db-1@../x", "options": {}, )" + ok_tail, "\"dir\"");
  check_rejected(R"({"holdfast_volume": 2, "name": "db-1", "dir": 7, "options": {}, )" + ok_tail, "\"dir\"");
  check_rejected("", "not valid JSON");
  check_rejected("{\"holdfast_volume\": 1,", "not valid JSON");
  // Found by fuzz_nfs_metadata: a number beyond double is out_of_range, not parse_error.
  check_rejected("{\"holdfast_volume\": 1, \"name\": 1e400}", "not valid JSON");
  check_rejected("[]", "not a JSON object");
  check_rejected(R"({"holdfast_volume": "1", "name": "db-1", "options": {}, )" + ok_tail, "format");
  check_rejected(R"({"holdfast_volume": 1, "name": "db-2", "options": {}, )" + ok_tail, "stored as");
  check_rejected(R"({"holdfast_volume": 1, "name": "../x", "options": {}, )" + ok_tail, "not allowed");
  check_rejected(R"({"holdfast_volume": 1, "name": "db-1", "options": {"uid": 1000}, )" + ok_tail, "not a string");
  check_rejected(R"({"holdfast_volume": 1, "name": "db-1", "options": [], )" + ok_tail, "not an object");
  check_rejected(R"({"holdfast_volume": 1, "name": "db-1", "options": {}, "extra": 1, )" + ok_tail, "unknown key");
  check_rejected(R"({"holdfast_volume": 1, "name": "db-1", "created_at": "2026-11-28T01:06:11Z", "created_by": "h"})",
                 "lacks \"options\"");
  check_rejected(R"({"holdfast_volume": 1, "name": "db-1", "options": {}, "created_at": "yesterday", "created_by": "h"})",
                 "");
  check_rejected(R"({"holdfast_volume": 1, "name": "db-1", "options": {}, "created_at": "2026-11-28T01:06:11Z", "created_by": ""})",
                 "created_by");
  check_rejected(std::string(k_max_metadata_bytes + 1, ' '), "larger than");
}

TEST_CASE("nfs metadata: layout inside the base path", "[nfs][metadata]") {
  ExportLayout nested{"/holdfast"};
  CHECK(nested.volume_dir("db") == "/holdfast/db");
  CHECK(nested.record_path("db") == "/holdfast/.holdfast/volumes/db.json");
  CHECK(nested.staging_dir() == "/holdfast/.holdfast/tmp");
  CHECK(nested.trash_dir() == "/holdfast/.holdfast/trash");
  ExportLayout root{"/"};
  CHECK(root.volume_dir("db") == "/db");
  CHECK(root.records_dir() == "/.holdfast/volumes");
}

TEST_CASE("nfs metadata: record file names", "[nfs][metadata]") {
  CHECK(ExportLayout::name_of_record("db.json") == "db");
  CHECK(ExportLayout::name_of_record("a.b.json") == "a.b");
  CHECK(ExportLayout::name_of_record(".json").empty());
  CHECK(ExportLayout::name_of_record("db.json.tmp").empty());
  CHECK(ExportLayout::name_of_record(".hidden.json").empty());
  CHECK(ExportLayout::name_of_record("db").empty());
}

TEST_CASE("nfs metadata: helpers for file names", "[nfs][metadata]") {
  CHECK(file_name_safe("host-a.example") == "host-a.example");
  CHECK(file_name_safe("a/b c\n") == "a_b_c_");
  CHECK(file_name_safe("") == "_");
  CHECK(file_name_safe(std::string(100, 'x')).size() == 64);
  CHECK(compact_timestamp(holdfast::parse_rfc3339("2026-11-28T01:06:11Z")) == "20261128T010611Z");
}
