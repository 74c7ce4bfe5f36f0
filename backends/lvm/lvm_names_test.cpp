#include "lvm_names.hpp"

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>
#include <holdfast/volume.hpp>

using namespace holdfast::lvm;

TEST_CASE("LV name rules follow lvm2", "[lvm][names]") {
  CHECK(is_valid_lv_name("hf-data"));
  CHECK(is_valid_lv_name("a+b_c.d-e"));
  CHECK_FALSE(is_valid_lv_name(""));
  CHECK_FALSE(is_valid_lv_name("-x"));
  CHECK_FALSE(is_valid_lv_name("."));
  CHECK_FALSE(is_valid_lv_name(".."));
  CHECK_FALSE(is_valid_lv_name("a/b"));
  CHECK_FALSE(is_valid_lv_name("a b"));
  CHECK_FALSE(is_valid_lv_name("snapshot1"));
  CHECK_FALSE(is_valid_lv_name("pvmove0"));
  CHECK_FALSE(is_valid_lv_name("x_tdata"));
  CHECK_FALSE(is_valid_lv_name("x_tmeta_y"));
  CHECK_FALSE(is_valid_lv_name("x_mimage"));
  CHECK_FALSE(is_valid_lv_name("x_rimage_1"));
  CHECK_FALSE(is_valid_lv_name("x_pmspare"));
  CHECK_FALSE(is_valid_lv_name("x_vorigin"));
  CHECK_FALSE(is_valid_lv_name(std::string(128, 'a')));
  CHECK(is_valid_lv_name(std::string(127, 'a')));
  CHECK(dm_length("a-b--c") == 9);
  CHECK(dm_escape("vg-0") == "vg--0");
}

TEST_CASE("ordinary volume names map to <prefix><name>", "[lvm][names]") {
  LvNamer namer("vg0", "hf-");
  CHECK(namer.lv_name("data") == "hf-data");
  CHECK(namer.lv_name("My.Vol-1_x") == "hf-My.Vol-1_x");
  CHECK(namer.lv_name("snapshot") == "hf-snapshot");  // the prefix keeps it off LVM's reserved prefixes
}

TEST_CASE("names LVM would refuse map to a readable name plus a hash", "[lvm][names]") {
  LvNamer namer("vg0", "hf-");
  std::string reserved = namer.lv_name("db_tdata");
  CHECK(reserved == "hf-db.tdata." + name_hash("db_tdata"));
  CHECK(is_valid_lv_name(reserved));

  // 128 characters: the longest volume name.
  std::string longest(holdfast::k_max_volume_name, 'a');
  holdfast::validate_volume_name(longest);
  std::string mapped = namer.lv_name(longest);
  CHECK(is_valid_lv_name(mapped));
  CHECK(std::string("vg0/").size() + mapped.size() <= k_max_lvm_name);
  CHECK(std::string("vg0-").size() + dm_length(mapped) <= k_max_dm_name);
  CHECK(mapped.substr(mapped.size() - 17) == "." + name_hash(longest));

  // Names that differ only past the cut still map apart.
  std::string other = longest;
  other.back() = 'b';
  CHECK(namer.lv_name(other) != mapped);
  // Dashes count twice in device-mapper names.
  std::string dashes = "a" + std::string(100, '-');
  std::string dashed = namer.lv_name(dashes);
  CHECK(std::string("vg0-").size() + dm_length(dashed) <= k_max_dm_name);
  // a_b and a.b stay distinct once they need hashing.
  std::string pad(110, 'x');
  CHECK(namer.lv_name(pad + "a_b") != namer.lv_name(pad + "a.b"));
}

TEST_CASE("the mapping is stable and fits a long volume group name", "[lvm][names]") {
  std::string vg(60, 'v');
  LvNamer namer(vg, "hf-");
  for (const std::string& name : std::vector<std::string>{"x", std::string(128, 'z'), std::string("q_tmeta"), std::string(64, '-').insert(0, "a")}) {
    std::string lv = namer.lv_name(name);
    INFO(name << " -> " << lv);
    CHECK(lv == namer.lv_name(name));
    CHECK(is_valid_lv_name(lv));
    CHECK(vg.size() + 1 + lv.size() <= k_max_lvm_name);
    CHECK(dm_length(vg) + 1 + dm_length(lv) <= k_max_dm_name);
  }
}

TEST_CASE("unusable prefixes and volume groups are refused", "[lvm][names]") {
  CHECK_THROWS_WITH(LvNamer("vg0", ""), Catch::Contains("lv_prefix"));
  CHECK_THROWS_WITH(LvNamer("vg0", "-x"), Catch::Contains("lv_prefix"));
  CHECK_THROWS_WITH(LvNamer("vg0", "snapshot-"), Catch::Contains("lv_prefix"));
  CHECK_THROWS_WITH(LvNamer("vg0", "a_tdata"), Catch::Contains("lv_prefix"));
  CHECK_THROWS_WITH(LvNamer("vg0", "a/b"), Catch::Contains("lv_prefix"));
  CHECK_THROWS_WITH(LvNamer("vg 0", "hf-"), Catch::Contains("volume_group"));
  CHECK_THROWS_WITH(LvNamer(std::string(100, 'v'), "hf-"), Catch::Contains("too little room"));
  CHECK_NOTHROW(LvNamer("vg0", "docker_"));
}

TEST_CASE("tags carry the volume name and filesystem", "[lvm][names]") {
  CHECK(volume_tag("db1") == "holdfast.volume=db1");
  CHECK(fs_tag("xfs") == "holdfast.fs=xfs");
  CHECK(incomplete_tag("12.ab") == "holdfast.incomplete=12.ab");
  CHECK(name_hash("") == "cbf29ce484222325");  // FNV-1a 64 offset basis
  CHECK(name_hash("a") == "af63dc4c8601ec8c");
}
