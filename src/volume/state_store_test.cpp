// Unit tests of the durable state: the strict JSON form of a record and the
// one-file-per-volume store (torn/corrupt files, leftover temp files).
#include "volume/state_store.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

#include "support/temp_dir.hpp"
#include "sys/atomic_file.hpp"

using namespace holdfast;
using namespace holdfast::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

VolumeRecord sample(const std::string& name = "db1") {
  VolumeRecord r;
  r.name = name;
  r.backend = "filer";
  r.options = {{"size", "10G"}, {"mode", "0750"}};
  r.created_at = parse_rfc3339("2024-05-01T10:00:00Z");
  r.created_by = "host-a";
  r.mounts = {{"3f2a9c1b7d4e", 2}, {"b0b", 1}};
  r.mountpoint = "/var/lib/holdfast/mounts/" + name;
  r.backend_data = {{"lun", 3}, {"device", "/dev/sdb"}, {"nested", {{"a", {1, 2}}}}};
  return r;
}

void write_raw(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), [](DIR* p) { return ::closedir(p); });
  REQUIRE(d);
  while (const dirent* e = ::readdir(d.get())) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      out.insert(n);
    }
  }
  return out;
}

bool is_bad(const std::string& text) {
  try {
    record_from_json(text);
    return false;
  } catch (const Error& e) {
    return e.kind() == ErrorKind::invalid_argument;
  }
}

}  // namespace

TEST_CASE("[Success] record JSON round trip", "[unit]") {
  auto r = sample();
  auto back = record_from_json(record_to_json(r));
  CHECK(back.name == r.name);
  CHECK(back.backend == r.backend);
  CHECK(back.options == r.options);
  CHECK(back.created_at == r.created_at);
  CHECK(back.created_by == r.created_by);
  CHECK(back.mounts == r.mounts);
  CHECK(back.mountpoint == r.mountpoint);
  CHECK(back.backend_data == r.backend_data);

  auto text = nlohmann::json::parse(record_to_json(r));
  CHECK(text["created_at"] == "2024-05-01T10:00:00Z");
  CHECK(text["version"] == 1);
}

TEST_CASE("[Success] record JSON: optional fields and unknown fields", "[unit]") {
  auto r = record_from_json(
      R"({"name":"v","backend":"local","created_at":"2024-05-01T12:00:00+02:00","future_field":{"x":1},)"
      R"("mounts":null,"mountpoint":null,"options":null,"backend_data":null})");
  CHECK(r.name == "v");
  CHECK(r.mounts.empty());
  CHECK(r.mountpoint.empty());
  CHECK(r.options.empty());
  CHECK(r.backend_data == nlohmann::json::object());
  CHECK(format_rfc3339(r.created_at) == "2024-05-01T10:00:00Z");
}

TEST_CASE("[Error] record JSON is strict", "[unit]") {
  const std::string ok_head = R"({"name":"v","backend":"local","created_at":"2024-05-01T10:00:00Z")";
  auto with = [&](const std::string& extra) { return ok_head + "," + extra + "}"; };
  REQUIRE_FALSE(is_bad(ok_head + "}"));

  const std::vector<std::string> bad = {
      "",
      "{",
      R"({"name":"v","backend":"local","created_at":"2024-05-01T10:00:00Z")",  // torn
      "[]",
      "42",
      R"({"backend":"local","created_at":"2024-05-01T10:00:00Z"})",
      R"({"name":7,"backend":"local","created_at":"2024-05-01T10:00:00Z"})",
      R"({"name":"../x","backend":"local","created_at":"2024-05-01T10:00:00Z"})",
      R"({"name":"v","created_at":"2024-05-01T10:00:00Z"})",
      R"({"name":"v","backend":"","created_at":"2024-05-01T10:00:00Z"})",
      R"({"name":"v","backend":"local"})",
      R"({"name":"v","backend":"local","created_at":"yesterday"})",
      R"({"name":"v","backend":"local","created_at":1714557600})",
      with(R"("options":["size"])"),
      with(R"("options":{"size":10})"),
      with(R"("options":{"":"x"})"),
      with(R"("mounts":[])"),
      with(R"("mounts":{"a":0})"),
      with(R"("mounts":{"a":-1})"),
      with(R"("mounts":{"a":"1"})"),
      with(R"("mounts":{"a":1.5})"),
      with(R"("mounts":{"a":4294967296})"),
      with(R"("mounts":{"":1})"),
      with(R"("mounts":{"a b":1})"),
      with(R"("mounts":{")" + std::string(300, 'f') + R"(":1})"),
      with(R"("mountpoint":"relative/path")"),
      with(R"("mountpoint":5)"),
      with(R"("created_by":false)"),
      with(R"("backend_data":[1])"),
      with(R"("version":2)"),
      with(R"("version":"1")"),
  };
  for (const auto& text : bad) {
    INFO(text);
    CHECK(is_bad(text));
  }
  CHECK_FALSE(is_bad(with(R"("version":1,"mounts":{"a":4294967295})")));
}

TEST_CASE("[Success] mount IDs: printable, bounded", "[unit]") {
  validate_mount_id(std::string(64, 'a'));
  validate_mount_id(std::string(k_max_mount_id, 'a'));
  CHECK_THROWS_AS(validate_mount_id(""), Error);
  CHECK_THROWS_AS(validate_mount_id(std::string(k_max_mount_id + 1, 'a')), Error);
  CHECK_THROWS_AS(validate_mount_id("a b"), Error);
  CHECK_THROWS_AS(validate_mount_id("a\x01"), Error);
  CHECK_THROWS_AS(validate_mount_id("caf\xc3\xa9"), Error);
}

TEST_CASE("[Success] save, load, erase: one file per volume, private", "[unit]") {
  TempDir dir;
  StateStore store(dir.sub("state"));
  CHECK(store.directory() == dir.sub("state") + "/volumes");
  struct stat st {};
  REQUIRE(::stat(store.directory().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);

  store.save(sample("a"));
  store.save(sample("b"));
  auto changed = sample("a");
  changed.mounts.clear();
  store.save(changed);  // replaces
  REQUIRE(::stat((store.directory() + "/a.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(entries(store.directory()) == std::set<std::string>{"a.json", "b.json"});

  auto loaded = store.load();
  CHECK(loaded.unreadable.empty());
  REQUIRE(loaded.records.size() == 2);
  std::map<std::string, VolumeRecord> by_name;
  for (auto& r : loaded.records) {
    by_name[r.name] = r;
  }
  CHECK(by_name.at("a").mounts.empty());
  CHECK(by_name.at("b").mounts == sample("b").mounts);

  store.erase("a");
  store.erase("a");  // absent: fine
  store.erase("never");
  CHECK(entries(store.directory()) == std::set<std::string>{"b.json"});
  CHECK(store.load().records.size() == 1);

  // A second store over an existing directory works the same.
  StateStore again(dir.sub("state"));
  CHECK(again.load().records.size() == 1);
}

TEST_CASE("[Error] load: corrupt and torn files are set aside, temp files removed", "[unit]") {
  TempDir dir;
  StateStore store(dir.sub("state"));
  const auto& d = store.directory();
  store.save(sample("good"));
  auto full = record_to_json(sample("torn"));
  write_raw(d + "/torn.json", full.substr(0, full.size() / 2));  // torn (written without the atomic path)
  write_raw(d + "/garbage.json", "\x01\x02 not json");
  write_raw(d + "/empty.json", "");
  write_raw(d + "/other.json", record_to_json(sample("someone")));  // names another volume
  write_raw(d + "/bad name.json", record_to_json(sample("good")));  // not a volume name
  write_raw(d + "/.good.json.tmp-1234-7", "half a reco");           // interrupted write
  write_raw(d + "/old.json.corrupt-1700000000", "kept for the operator");
  write_raw(d + "/README", "not ours");
  REQUIRE(::mkdir((d + "/sub.json").c_str(), 0700) == 0);

  auto loaded = store.load();
  REQUIRE(loaded.records.size() == 1);
  CHECK(loaded.records[0].name == "good");
  std::set<std::string> unreadable(loaded.unreadable.begin(), loaded.unreadable.end());
  CHECK(unreadable == std::set<std::string>{d + "/torn.json", d + "/garbage.json", d + "/empty.json",
                                            d + "/other.json", d + "/bad name.json"});

  auto names = entries(d);
  CHECK(names.count(".good.json.tmp-1234-7") == 0);
  CHECK(names.count("old.json.corrupt-1700000000") == 1);
  CHECK(names.count("README") == 1);
  CHECK(names.count("sub.json") == 1);
  for (const char* base : {"torn", "garbage", "empty", "other", "bad name"}) {
    INFO(base);
    CHECK(names.count(std::string(base) + ".json") == 0);
    bool aside = false;
    for (const auto& n : names) {
      aside = aside || n.rfind(std::string(base) + ".json.corrupt-", 0) == 0;
    }
    CHECK(aside);
  }

  // The next load is clean: set-aside files are not read again.
  auto again = store.load();
  CHECK(again.records.size() == 1);
  CHECK(again.unreadable.empty());
}

TEST_CASE("[Error] save of an invalid name is refused", "[unit]") {
  TempDir dir;
  StateStore store(dir.sub("state"));
  auto r = sample("x");
  r.name = "../escape";
  CHECK_THROWS_AS(store.save(r), Error);
  CHECK(entries(store.directory()).empty());
}
