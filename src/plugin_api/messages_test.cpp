// Decoding of the engine's request bodies (unit: no socket).
#include <catch2/catch.hpp>

#include <string>

#include <holdfast/error.hpp>

#include "plugin_api/messages.hpp"

using holdfast::CreateRequest;
using holdfast::Endpoint;
using holdfast::Error;
using holdfast::ErrorKind;

namespace {

// The message of the invalid_argument error `call` throws.
template <typename F>
std::string malformed_message(F&& call) {
  try {
    call();
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_argument);
    return e.what();
  }
  FAIL("no error thrown");
  return {};
}

}  // namespace

TEST_CASE("endpoint table: exactly the nine paths, case-sensitive", "[unit][messages]") {
  const char* paths[] = {"/Plugin.Activate",    "/VolumeDriver.Create", "/VolumeDriver.Remove",
                         "/VolumeDriver.Mount", "/VolumeDriver.Unmount", "/VolumeDriver.Path",
                         "/VolumeDriver.Get",   "/VolumeDriver.List",   "/VolumeDriver.Capabilities"};
  for (std::size_t i = 0; i < holdfast::k_endpoint_count; ++i) {
    auto found = holdfast::find_endpoint(paths[i]);
    REQUIRE(found.has_value());
    CHECK(static_cast<std::size_t>(*found) == i);
    CHECK(holdfast::endpoint_path(*found) == paths[i]);
  }
  CHECK_FALSE(holdfast::find_endpoint("/volumedriver.get"));
  CHECK_FALSE(holdfast::find_endpoint("/VolumeDriver.Get/"));
  CHECK_FALSE(holdfast::find_endpoint("VolumeDriver.Get"));
  CHECK_FALSE(holdfast::find_endpoint("/VolumeDriver.Snapshot"));
  CHECK_FALSE(holdfast::find_endpoint(""));
  CHECK(holdfast::endpoint_name(Endpoint::mount) == "VolumeDriver.Mount");
  CHECK(holdfast::is_mutating(Endpoint::create));
  CHECK(holdfast::is_mutating(Endpoint::unmount));
  CHECK_FALSE(holdfast::is_mutating(Endpoint::get));
  CHECK_FALSE(holdfast::is_mutating(Endpoint::list));
}

TEST_CASE("Create: Opts absent, null, empty or strings", "[unit][messages]") {
  SECTION("[Success] absent Opts is nullopt") {
    CreateRequest r = holdfast::decode_create(R"({"Name":"v1"})");
    CHECK(r.name == "v1");
    CHECK_FALSE(r.options.has_value());
  }
  SECTION("[Success] null Opts is nullopt (implicit creation)") {
    CreateRequest r = holdfast::decode_create("{\"Name\":\"v1\",\"Opts\":null}\n");
    CHECK_FALSE(r.options.has_value());
  }
  SECTION("[Success] {} is an empty map, not nullopt") {
    CreateRequest r = holdfast::decode_create(R"({"Name":"v1","Opts":{}})");
    REQUIRE(r.options.has_value());
    CHECK(r.options->empty());
  }
  SECTION("[Success] string options, empty values kept (-o foo)") {
    CreateRequest r = holdfast::decode_create(R"({"Name":"v1","Opts":{"size":"10G","foo":"","backend":"filer"}})");
    REQUIRE(r.options.has_value());
    CHECK(r.options->size() == 3);
    CHECK(r.options->at("size") == "10G");
    CHECK(r.options->at("foo").empty());
    CHECK(r.options->at("backend") == "filer");
  }
  SECTION("[Success] unknown fields are ignored") {
    CreateRequest r = holdfast::decode_create(R"({"Name":"v1","Labels":{"a":"b"},"Future":[1,2,{}]})");
    CHECK(r.name == "v1");
  }
  SECTION("[Error] non-string option value names the option") {
    auto msg = malformed_message([] { holdfast::decode_create(R"({"Name":"v1","Opts":{"size":10}})"); });
    CHECK_THAT(msg, Catch::Contains("VolumeDriver.Create") && Catch::Contains("\"size\"") &&
                        Catch::Contains("string"));
  }
  SECTION("[Error] Opts not an object") {
    auto msg = malformed_message([] { holdfast::decode_create(R"({"Name":"v1","Opts":["a=b"]})"); });
    CHECK_THAT(msg, Catch::Contains("Opts"));
  }
}

TEST_CASE("Name: missing, null, empty, non-string are malformed", "[unit][messages]") {
  for (const char* body : {R"({})", R"({"Name":null})", R"({"Name":""})", R"({"Name":5})", R"({"Name":["v"]})",
                           R"({"name":"v1"})"}) {
    INFO(body);
    auto msg = malformed_message([&] { holdfast::decode_name(Endpoint::get, body); });
    CHECK_THAT(msg, Catch::Contains("VolumeDriver.Get") && Catch::Contains("Name"));
  }
}

TEST_CASE("empty or whitespace body where a Name is needed is malformed (moby#39331 retry)", "[unit][messages]") {
  for (const char* body : {"", " ", "\n", "\r\n\t "}) {
    auto msg = malformed_message([&] { holdfast::decode_name(Endpoint::remove, body); });
    CHECK_THAT(msg, Catch::Contains("VolumeDriver.Remove") && Catch::Contains("empty body"));
    CHECK_THROWS_AS(holdfast::decode_create(body), Error);
    CHECK_THROWS_AS(holdfast::decode_mount(Endpoint::mount, body), Error);
  }
}

TEST_CASE("body must be one JSON object", "[unit][messages]") {
  SECTION("[Error] invalid JSON keeps the parser's position") {
    auto msg = malformed_message([] { holdfast::decode_name(Endpoint::path, R"({"Name":"v1")"); });
    CHECK_THAT(msg, Catch::Contains("VolumeDriver.Path") && Catch::Contains("invalid JSON") &&
                        Catch::Contains("column"));
    CHECK_THAT(msg, !Catch::Contains("[json.exception"));
  }
  SECTION("[Error] other JSON types") {
    for (const char* body : {"[]", "\"Name\"", "42", "null", "true", R"([{"Name":"v1"}])"}) {
      INFO(body);
      auto msg = malformed_message([&] { holdfast::decode_name(Endpoint::get, body); });
      CHECK_THAT(msg, Catch::Contains("JSON object"));
    }
  }
  SECTION("[Error] trailing garbage") {
    CHECK_THROWS_AS(holdfast::decode_name(Endpoint::get, R"({"Name":"v1"} x)"), Error);
  }
  SECTION("[Error] invalid UTF-8 inside a string") {
    CHECK_THROWS_AS(holdfast::decode_name(Endpoint::get, "{\"Name\":\"v\xff\"}"), Error);
  }
}

TEST_CASE("unicode escapes are decoded, surrogate pairs included", "[unit][messages]") {
  // What Go's json.Encoder sends for "<a&b>" and for U+1F600.
  auto r = holdfast::decode_name(Endpoint::get, R"({"Name":"\u003ca\u0026b\u003e"})");
  CHECK(r.name == "<a&b>");
  auto emoji = holdfast::decode_create(R"({"Name":"v","Opts":{"label":"\ud83d\ude00 \u00e9"}})");
  CHECK(emoji.options->at("label") == "\xF0\x9F\x98\x80 \xC3\xA9");
  // A lone surrogate is invalid JSON text.
  CHECK_THROWS_AS(holdfast::decode_name(Endpoint::get, R"({"Name":"\ud83d"})"), Error);
}

TEST_CASE("Mount/Unmount need Name and ID strings", "[unit][messages]") {
  auto r = holdfast::decode_mount(Endpoint::mount, R"({"Name":"v1","ID":"abc123"})");
  CHECK(r.name == "v1");
  CHECK(r.id == "abc123");
  auto msg = malformed_message([] { holdfast::decode_mount(Endpoint::unmount, R"({"Name":"v1"})"); });
  CHECK_THAT(msg, Catch::Contains("VolumeDriver.Unmount") && Catch::Contains("ID"));
  CHECK_THROWS_AS(holdfast::decode_mount(Endpoint::mount, R"({"Name":"v1","ID":7})"), Error);
  CHECK_THROWS_AS(holdfast::decode_mount(Endpoint::mount, R"({"Name":"v1","ID":""})"), Error);
}

TEST_CASE("Activate/List/Capabilities accept an empty body or any object", "[unit][messages]") {
  CHECK_NOTHROW(holdfast::decode_no_arguments(Endpoint::activate, ""));
  CHECK_NOTHROW(holdfast::decode_no_arguments(Endpoint::list, "{}"));
  CHECK_NOTHROW(holdfast::decode_no_arguments(Endpoint::capabilities, "{}\n"));
  CHECK_NOTHROW(holdfast::decode_no_arguments(Endpoint::list, R"({"Filter":"x"})"));
  CHECK_THROWS_AS(holdfast::decode_no_arguments(Endpoint::list, "[]"), Error);
  CHECK_THROWS_AS(holdfast::decode_no_arguments(Endpoint::list, "{"), Error);
}

// Regression: nlohmann reports a number that overflows a double as
// out_of_range, not parse_error; it escaped as an "internal error" (HTTP
// 500, logged as a daemon bug) instead of a malformed request.
TEST_CASE("a number too large for a double is a malformed request", "[unit][messages]") {
  for (const char* body : {R"({"Name":1e999999})", R"({"Name":"v","Opts":{"a":-1e400}})", "[1e309]"}) {
    INFO(body);
    std::string message = malformed_message([&] { holdfast::decode_create(body); });
    CHECK_THAT(message, Catch::Contains("malformed VolumeDriver.Create request"));
  }
}

TEST_CASE("deep nesting is rejected before parsing", "[unit][messages]") {
  CHECK(holdfast::json_depth(R"({"a":[1,{"b":[]}]})", 100) == 4);
  // Brackets inside strings, escaped quotes included, do not count.
  CHECK(holdfast::json_depth(R"({"Name":"[[[[\"[[[{{{"})", 100) == 1);
  CHECK(holdfast::json_depth(std::string(1000, '['), 32) == 33);  // stops early

  std::string deep = "{\"Name\":\"v\",\"x\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  auto msg = malformed_message([&] { holdfast::decode_name(Endpoint::get, deep); });
  CHECK_THAT(msg, Catch::Contains("nested deeper"));
  // Unterminated, a megabyte of '[': still a clean error.
  CHECK_THROWS_AS(holdfast::decode_create(std::string(1 << 20, '[')), Error);
  // Within the limit it parses.
  std::string ok = R"({"Name":"v","x":)" + std::string(20, '[') + std::string(20, ']') + "}";
  CHECK(holdfast::decode_name(Endpoint::get, ok).name == "v");
}
