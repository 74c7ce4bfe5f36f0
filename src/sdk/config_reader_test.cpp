#include <holdfast/config_reader.hpp>

#include <functional>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

using namespace std::chrono_literals;
using holdfast::ConfigReader;

namespace {

ConfigReader reader(const std::string& yaml) { return ConfigReader(YAML::Load(yaml), "test.yaml", "sec"); }

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const holdfast::Error& e) {
    CHECK(e.kind() == holdfast::ErrorKind::invalid_argument);
    return e.what();
  }
  FAIL("expected an invalid_argument error");
  return {};
}

}  // namespace

TEST_CASE("config reader: typed getters and defaults", "[unit][config_reader]") {
  auto r = reader(
      "name: filer\n"
      "count: 12\n"
      "flag: Yes\n"
      "off: FALSE\n"
      "wait: 1500ms\n"
      "bare: 30\n"
      "mins: 2m\n"
      "mode: 0750\n"
      "list: [a, b]\n"
      "one: x\n"
      "empty:\n"
      "child: {k: v}\n");
  CHECK(r.string("name") == std::optional<std::string>("filer"));
  CHECK(r.string("absent", "dflt") == "dflt");
  CHECK(r.integer("count", 0, 100) == std::optional<long long>(12));
  CHECK(r.boolean("flag", false));
  CHECK_FALSE(r.boolean("off", true));
  CHECK(r.duration("wait", 1s, 0ms, 1h) == 1500ms);
  CHECK(r.duration("bare", 1s, 0ms, 1h) == 30s);
  CHECK(r.duration("mins", 1s, 0ms, 1h) == 2min);
  CHECK(r.mode("mode") == std::optional<unsigned>(0750));
  CHECK(r.string_list("list") == std::vector<std::string>{"a", "b"});
  CHECK(r.string_list("one") == std::vector<std::string>{"x"});
  CHECK_FALSE(r.string("empty").has_value());  // "key:" reads as absent
  auto c = r.child("child");
  CHECK(c.path() == "sec.child");
  CHECK(c.string("k") == std::optional<std::string>("v"));
  c.finish();
  CHECK(r.keys().size() == 12);
  r.finish();
}

TEST_CASE("config reader: errors carry file, line and key", "[unit][config_reader]") {
  CHECK(error_of([] { reader("a: 1\nb: [1]\n").string("b"); }) == "test.yaml:2: sec.b: expected a string");
  CHECK(error_of([] { reader("n: 12x\n").integer("n", 0, 100); }) ==
        "test.yaml:1: sec.n: expected an integer, got \"12x\"");
  CHECK(error_of([] { reader("n: 101\n").integer("n", 0, 100); }) ==
        "test.yaml:1: sec.n: 101 is out of range [0, 100]");
  CHECK_THAT(error_of([] { reader("d: 5h\n").duration("d", 1s, 0ms, 1h); }), Catch::Contains("expected a duration"));
  CHECK_THAT(error_of([] { reader("d: -5s\n").duration("d", 1s, 0ms, 1h); }), Catch::Contains("expected a duration"));
  CHECK_THAT(error_of([] { reader("d: 2h\n").duration("d", 1s, 0ms, 1h); }), Catch::Contains("expected a duration"));
  CHECK_THAT(error_of([] { reader("d: 61m\n").duration("d", 1s, 0ms, 1h); }), Catch::Contains("out of range"));
  // Huge values must not overflow into a small (accepted) duration.
  CHECK_THAT(error_of([] { reader("d: 9223372036854775m\n").duration("d", 1s, 0ms, 1h); }),
             Catch::Contains("sec.d"));
  CHECK_THAT(error_of([] { reader("b: maybe\n").boolean("b", false); }), Catch::Contains("expected true or false"));
  CHECK_THAT(error_of([] { reader("m: 0800\n").mode("m"); }), Catch::Contains("octal file mode"));
  CHECK_THAT(error_of([] { reader("m: 017777\n").mode("m"); }), Catch::Contains("octal file mode"));
  CHECK_THAT(error_of([] { reader("c: purple\n").choice("c", "red", {"red", "blue"}); }),
             Catch::Contains("\"purple\" is not one of: red, blue"));
  CHECK(error_of([] { reader("x: \"\"\n").required_string("x"); }) == "test.yaml:1: sec.x: is required");
  CHECK_THAT(error_of([] { reader("x: 1\n").required_string("y"); }), Catch::Contains("sec.y: is required"));
  CHECK(error_of([] { reader("c: 5\n").child("c"); }) == "test.yaml:1: sec.c: expected a mapping");
  CHECK_THAT(error_of([] { ConfigReader(YAML::Load("[1, 2]"), "f.yaml", ""); }),
             Catch::Contains("top level: expected a mapping"));
}

TEST_CASE("config reader: unknown, repeated and non-string keys", "[unit][config_reader]") {
  CHECK(error_of([] {
          auto r = reader("server: a\nsever: b\n");
          r.string("server");
          r.string("export");
          r.finish();
        }) == "test.yaml:2: sec: unknown key \"sever\" (accepted: export, server)");
  CHECK(error_of([] {
          auto r = reader("server: a\nserver: b\n");
          r.string("server");
          r.finish();
        }) == "test.yaml:2: sec: key \"server\" is repeated");
  CHECK_THAT(error_of([] {
               auto r = reader("? [a, b]\n: 1\n");
               r.finish();
             }),
             Catch::Contains("keys must be plain strings"));
  CHECK_THAT(error_of([] { reader("? {a: 1}\n: 1\n").keys(); }), Catch::Contains("keys must be plain strings"));
}

TEST_CASE("config reader: fail() locates cross-field errors", "[unit][config_reader]") {
  auto r = reader("a: 1\nb: 2\n");
  CHECK(error_of([&] { r.fail("b", "must be less than a"); }) == "test.yaml:2: sec.b: must be less than a");
  CHECK_THAT(error_of([&] { r.fail("", "is inconsistent"); }), Catch::Contains("sec: is inconsistent"));
  // A reader over an absent section: getters give defaults, finish() passes.
  ConfigReader none(YAML::Node(), "f.yaml", "backends.x");
  CHECK(none.string("k", "d") == "d");
  CHECK_FALSE(none.has("k"));
  none.finish();
}
