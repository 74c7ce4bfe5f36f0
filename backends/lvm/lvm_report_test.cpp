#include "lvm_report.hpp"

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

using holdfast::Error;
using holdfast::ErrorKind;
using namespace holdfast::lvm;

namespace {

// Captured from lvm2 2.03.16 in the test VM (indentation as printed).
const char* k_report = R"(  {
      "report": [
          {
              "lv": [
                  {"lv_name":"hf-snap1", "lv_size":"524288000", "lv_attr":"Vwi-a-tz--", "lv_tags":"holdfast,holdfast.volume=snap1", "pool_lv":"pool", "origin":"hf-thin1", "data_percent":"12.89", "metadata_percent":"", "vg_extent_size":"4194304"},
                  {"lv_name":"hf-thick1", "lv_size":"67108864", "lv_attr":"-wi-ao----", "lv_tags":"holdfast,holdfast.volume=thick1,holdfast.fs=ext4", "pool_lv":"", "origin":"", "data_percent":"", "metadata_percent":"", "vg_extent_size":"4194304"},
                  {"lv_name":"pool", "lv_size":"1073741824", "lv_attr":"twi-aotz--", "lv_tags":"", "pool_lv":"", "origin":"", "data_percent":"6.54", "metadata_percent":"11.82", "vg_extent_size":"4194304"}
              ]
          }
      ]
  }
)";

}  // namespace

TEST_CASE("the lvs argv asks for JSON in bytes", "[lvm][report]") {
  CHECK(lvs_argv("vg0") ==
        std::vector<std::string>{"lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o",
                                 "lv_name,lv_size,lv_attr,lv_tags,pool_lv,origin,data_percent,metadata_percent,"
                                 "vg_extent_size",
                                 "vg0"});
}

TEST_CASE("an lvs JSON report is parsed field by field", "[lvm][report]") {
  auto lvs = parse_lvs_report(k_report);
  REQUIRE(lvs.size() == 3);
  const auto& snap = lvs[0];
  CHECK(snap.name == "hf-snap1");
  CHECK(snap.size == 524288000);
  CHECK(snap.is_thin_volume());
  CHECK(snap.is_active());
  CHECK_FALSE(snap.is_open());
  CHECK(snap.pool == "pool");
  CHECK(snap.origin == "hf-thin1");
  CHECK(snap.tags == std::vector<std::string>{"holdfast", "holdfast.volume=snap1"});
  CHECK(snap.has_tag("holdfast.volume=snap1"));
  CHECK_FALSE(snap.has_tag("holdfast.volume=snap"));
  CHECK(snap.data_percent == Approx(12.89));
  CHECK_FALSE(snap.metadata_percent.has_value());
  CHECK(snap.extent_size == 4194304);

  const auto& thick = lvs[1];
  CHECK_FALSE(thick.is_thin_volume());
  CHECK(thick.is_open());
  CHECK(thick.tag_value("holdfast.fs=") == std::optional<std::string>("ext4"));
  CHECK_FALSE(thick.tag_value("holdfast.incomplete=").has_value());
  CHECK_FALSE(thick.data_percent.has_value());

  const auto& pool = lvs[2];
  CHECK(pool.is_thin_pool());
  CHECK(pool.tags.empty());
  CHECK(pool.data_percent == Approx(6.54));
  CHECK(pool.metadata_percent == Approx(11.82));
}

TEST_CASE("an empty volume group is an empty list", "[lvm][report]") {
  CHECK(parse_lvs_report(R"({"report":[{"lv":[]}]})").empty());
  CHECK(parse_lvs_report(R"({"report":[]})").empty());
}

TEST_CASE("a decimal comma from a locale is accepted", "[lvm][report]") {
  auto lvs = parse_lvs_report(
      R"({"report":[{"lv":[{"lv_name":"pool","lv_size":"1","lv_attr":"twi-a-tz--","lv_tags":"","pool_lv":"","origin":"","data_percent":"6,54","metadata_percent":"1,00","vg_extent_size":"4194304"}]}]})");
  REQUIRE(lvs.size() == 1);
  CHECK(lvs[0].data_percent == Approx(6.54));
}

TEST_CASE("malformed reports are errors, never partial lists", "[lvm][report]") {
  const char* bad[] = {
      "",
      "not json",
      "{\"report\": ",
      "[]",
      R"({"reports":[]})",
      R"({"report":{}})",
      R"({"report":[1]})",
      R"({"report":[{"lv":{}}]})",
      R"({"report":[{"lv":[1]}]})",
      R"({"report":[{"lv":[{"lv_name":"a"}]}]})",
      R"({"report":[{"lv":[{"lv_name":"a","lv_size":"12x","lv_attr":"","lv_tags":"","pool_lv":"","origin":"","data_percent":"","metadata_percent":"","vg_extent_size":"1"}]}]})",
      R"({"report":[{"lv":[{"lv_name":"a","lv_size":12,"lv_attr":"","lv_tags":"","pool_lv":"","origin":"","data_percent":"","metadata_percent":"","vg_extent_size":"1"}]}]})",
      R"({"report":[{"lv":[{"lv_name":"a","lv_size":"-1","lv_attr":"","lv_tags":"","pool_lv":"","origin":"","data_percent":"","metadata_percent":"","vg_extent_size":"1"}]}]})",
      R"({"report":[{"lv":[{"lv_name":"a","lv_size":"1","lv_attr":"","lv_tags":"","pool_lv":"","origin":"","data_percent":"150","metadata_percent":"","vg_extent_size":"1"}]}]})",
      R"({"report":[{"lv":[{"lv_name":"","lv_size":"1","lv_attr":"","lv_tags":"","pool_lv":"","origin":"","data_percent":"","metadata_percent":"","vg_extent_size":"1"}]}]})",
  };
  for (const char* text : bad) {
    INFO(text);
    try {
      (void)parse_lvs_report(text);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::internal);
      CHECK(std::string(e.what()).find("unexpected lvs report") != std::string::npos);
    }
  }
}
