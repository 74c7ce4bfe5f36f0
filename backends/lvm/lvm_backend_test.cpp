// Unit tests of the LVM backend against a FakeRunner and a FakeMounter: the
// exact argv of every path and what every failure leaves behind.
#include "lvm_backend.hpp"

#include <sys/mount.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include <catch2/catch.hpp>

#include <holdfast/error.hpp>

#include "support/fake_mounter.hpp"
#include "support/fake_runner.hpp"

using holdfast::BackendEnv;
using holdfast::CommandResult;
using holdfast::ConfigReader;
using holdfast::Deadline;
using holdfast::Error;
using holdfast::ErrorKind;
using holdfast::UnmountMode;
using holdfast::VolumeRecord;
using holdfast::test::FakeMounter;
using holdfast::test::FakeRunner;
using namespace holdfast::lvm;
using namespace std::chrono_literals;
using Argv = std::vector<std::string>;

namespace {

const std::string k_thick_config = "volume_group: vg0\n";
const std::string k_thin_config = "volume_group: vg0\nthin_pool: pool\npool_warning_percent: 80\n";

class FakeLocalFs : public LocalFs {
 public:
  std::optional<FsUsage> usage(const std::string& path) override {
    std::lock_guard lock(mutex);
    auto it = usages.find(path);
    return it == usages.end() ? std::nullopt : std::optional<FsUsage>(it->second);
  }
  bool is_block_device(const std::string& path) override {
    std::lock_guard lock(mutex);
    return devices.count(path) != 0;
  }
  bool remove_empty_dir(const std::string& path) override {
    std::lock_guard lock(mutex);
    removed.push_back(path);
    return true;
  }

  std::mutex mutex;
  std::set<std::string> devices;
  std::map<std::string, FsUsage> usages;
  std::vector<std::string> removed;
};

struct Lv {
  std::string name;
  std::uint64_t size = 0;
  std::string attr;
  std::string tags;
  std::string pool = {};
  std::string data_percent = {};
  std::string metadata_percent = {};
  std::string origin = {};
};

std::string report(const std::vector<Lv>& lvs) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& lv : lvs) {
    rows.push_back({{"lv_name", lv.name},
                    {"lv_size", std::to_string(lv.size)},
                    {"lv_attr", lv.attr},
                    {"lv_tags", lv.tags},
                    {"pool_lv", lv.pool},
                    {"origin", lv.origin},
                    {"data_percent", lv.data_percent},
                    {"metadata_percent", lv.metadata_percent},
                    {"vg_extent_size", "4194304"}});
  }
  return nlohmann::json{{"report", {{{"lv", rows}}}}}.dump();
}

const Argv k_lvs = lvs_argv("vg0");
const std::uint64_t k_gib_ = k_gib;

struct Fixture {
  explicit Fixture(const std::string& yaml = k_thick_config) {
    ConfigReader reader(YAML::Load(yaml), "test.yaml", "backends.disks");
    auto local = std::make_unique<FakeLocalFs>();
    fs = local.get();
    backend = std::make_unique<LvmBackend>(read_lvm_config(reader), env, std::move(local));
  }

  VolumeRecord record(const std::string& name, holdfast::Options options = {}) const {
    VolumeRecord r;
    r.name = name;
    r.backend = "disks";
    r.options = std::move(options);
    return r;
  }

  // Provisions `name` with everything succeeding, then forgets the calls.
  VolumeRecord created(const std::string& name, holdfast::Options options = {}) {
    VolumeRecord r = record(name, std::move(options));
    backend->provision(r, deadline());
    runner.clear_calls();
    return r;
  }

  static Deadline deadline() { return Deadline::after(100s); }

  // The incomplete tag this process uses (the argument after the last --addtag of a create).
  std::string incomplete_tag_used() const {
    for (const auto& argv : runner.argvs()) {
      for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == "--addtag" && argv[i + 1].rfind("holdfast.incomplete=", 0) == 0) {
          return argv[i + 1];
        }
      }
    }
    return {};
  }

  FakeRunner runner;
  FakeMounter mounter;
  BackendEnv env{"disks", "host1", "/var/lib/holdfast", runner, mounter};
  FakeLocalFs* fs = nullptr;
  std::unique_ptr<LvmBackend> backend;
};

Argv thick_create(const std::string& lv, const std::string& volume, const std::string& mib, const std::string& fs,
                  const std::string& incomplete) {
  return {"lvcreate", "--yes",    "--wipesignatures", "y",        "--name",  lv,
          "--size",   mib,        "--addtag",         "holdfast", "--addtag", "holdfast.volume=" + volume,
          "--addtag", "holdfast.fs=" + fs, "--addtag", incomplete, "vg0"};
}

Argv thin_create(const std::string& lv, const std::string& volume, const std::string& mib, const std::string& fs,
                 const std::string& incomplete) {
  return {"lvcreate", "--yes",         "--wipesignatures", "y",        "--name",   lv,
          "--virtualsize", mib,        "--thinpool",       "pool",     "--addtag", "holdfast",
          "--addtag", "holdfast.volume=" + volume, "--addtag", "holdfast.fs=" + fs, "--addtag", incomplete, "vg0"};
}

const Argv k_mkfs_ext4_a = {"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard",
                            "/dev/vg0/hf-a"};

ErrorKind kind_of(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (message != nullptr) {
      *message = e.what();
    }
    return e.kind();
  }
  FAIL("no error thrown");
  return ErrorKind::internal;
}

}  // namespace

// ---------------------------------------------------------------------------
// Options

TEST_CASE("lvm: accepted options and their validation", "[lvm][backend]") {
  Fixture f;
  std::vector<std::string> names;
  for (const auto& spec : f.backend->accepted_options()) {
    names.push_back(spec.name);
    CHECK_FALSE(spec.help.empty());
  }
  CHECK(names == std::vector<std::string>{"size", "fs", "from", "mkfs_options", "mount_options"});
  CHECK(f.backend->type() == "lvm");
  CHECK(f.backend->scope() == holdfast::Scope::local);

  CHECK_NOTHROW(f.backend->validate({}));
  CHECK_NOTHROW(f.backend->validate({{"size", "500M"}, {"fs", "ext4"}, {"mkfs_options", "-m 1"},
                                     {"mount_options", "noatime,commit=30"}}));
  CHECK_NOTHROW(f.backend->validate({{"size", "1.5G"}, {"fs", "xfs"}, {"mkfs_options", "-m reflink=0"}}));
  CHECK_NOTHROW(f.backend->validate({{"from", "base"}, {"size", "20G"}}));

  struct Row {
    holdfast::Options options;
    const char* message;
  };
  const Row rows[] = {
      {{{"size", "10X"}}, "size \"10X\" has an unknown unit"},
      {{{"size", "0"}}, "size 0 is too small: the minimum is 16 MiB"},
      {{{"size", "1M"}}, "the minimum is 16 MiB"},
      {{{"size", "17T"}}, "size 17T is larger than this backend's maximum of 16 TiB"},
      {{{"size", "99999999999999999999"}}, "too large"},
      {{{"size", "200M"}, {"fs", "xfs"}}, "too small for xfs: the minimum is 300 MiB"},
      {{{"fs", "btrfs"}}, "fs: \"btrfs\" is not one of: ext4, xfs"},
      {{{"from", "../x"}}, "from: volume name \"../x\" is not allowed"},
      {{{"from", "a"}, {"mkfs_options", "-m 1"}}, "mkfs_options cannot be combined with from"},
      {{{"mkfs_options", "-O ^has_journal"}}, "mkfs_options: \"-O\" is not allowed for ext4"},
      {{{"fs", "xfs"}, {"mkfs_options", "-m 1"}}, "mkfs_options: -m sub-option \"1\" is not allowed"},
      {{{"mount_options", "nobarrier"}}, "mount_options: \"nobarrier\" is not allowed for ext4"},
      {{{"fs", "xfs"}, {"mount_options", "data=journal"}}, "is not allowed for xfs"},
  };
  for (const auto& row : rows) {
    INFO(row.message);
    std::string message;
    CHECK(kind_of([&] { f.backend->validate(row.options); }, &message) == ErrorKind::invalid_argument);
    CHECK_THAT(message, Catch::Contains(row.message));
  }
  CHECK(f.runner.calls().empty());  // validate never runs anything
}

// ---------------------------------------------------------------------------
// Create

TEST_CASE("lvm: thick create is lvcreate, mkfs, then the incomplete tag goes", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.record("a", {{"size", "500M"}});
  f.backend->provision(r, Fixture::deadline());
  std::string incomplete = f.incomplete_tag_used();
  CHECK_THAT(incomplete, Catch::StartsWith("holdfast.incomplete="));
  CHECK(f.runner.argvs() == std::vector<Argv>{
                                thick_create("hf-a", "a", "500m", "ext4", incomplete),
                                k_mkfs_ext4_a,
                                {"lvchange", "--deltag", incomplete, "vg0/hf-a"},
                            });
  CHECK(r.backend_data ==
        nlohmann::json{{"vg", "vg0"}, {"lv", "hf-a"}, {"fs", "ext4"}, {"thin", false}, {"fresh", true}});
  CHECK(f.mounter.calls().empty());
}

TEST_CASE("lvm: thin create uses the pool, default size and fs from config", "[lvm][backend]") {
  Fixture f(k_thin_config + "default_size: 1.5G\nfs: xfs\n");
  VolumeRecord r = f.record("b");
  f.backend->provision(r, Fixture::deadline());
  std::string incomplete = f.incomplete_tag_used();
  CHECK(f.runner.argvs() == std::vector<Argv>{
                                thin_create("hf-b", "b", "1536m", "xfs", incomplete),
                                {"mkfs.xfs", "-q", "-f", "-K", "/dev/vg0/hf-b"},
                                {"lvchange", "--deltag", incomplete, "vg0/hf-b"},
                            });
  CHECK(r.backend_data == nlohmann::json{{"vg", "vg0"}, {"lv", "hf-b"}, {"fs", "xfs"}, {"thin", true}});
}

TEST_CASE("lvm: sizes are rounded up to MiB, mkfs options of config and volume", "[lvm][backend]") {
  Fixture f(k_thick_config + "mkfs_options:\n  ext4: \"-O ^metadata_csum\"\n");
  VolumeRecord r = f.record("a", {{"size", "1000001K"}, {"mkfs_options", "-m 0 -L data"}});
  f.backend->provision(r, Fixture::deadline());
  auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() == 3);
  CHECK(argvs[0][7] == "977m");
  CHECK(argvs[1] == Argv{"mkfs.ext4", "-q", "-F", "-O", "^metadata_csum", "-m", "0", "-L", "data", "-E",
                         "lazy_itable_init=1,lazy_journal_init=1,nodiscard", "/dev/vg0/hf-a"});
}

TEST_CASE("lvm: names LVM would refuse get a mapped LV name", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.record("x_tmeta");
  f.backend->provision(r, Fixture::deadline());
  std::string lv = "hf-x.tmeta." + name_hash("x_tmeta");
  CHECK(f.runner.argvs()[0][5] == lv);
  CHECK(f.runner.argvs()[0][11] == "holdfast.volume=x_tmeta");
  CHECK(r.backend_data["lv"] == lv);
  CHECK(f.backend->lv_name_for("x_tmeta") == lv);
}

TEST_CASE("lvm: lvcreate failing leaves nothing to clean and says why", "[lvm][backend]") {
  Fixture f;
  f.runner.on({"lvcreate"}, 5, "",
              "  Volume group \"vg0\" has insufficient free space (765 extents): 25600 required.\n");
  VolumeRecord r = f.record("a", {{"size", "100G"}});
  std::string message;
  CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }, &message) == ErrorKind::unavailable);
  CHECK(message ==
        "create logical volume vg0/hf-a: lvcreate exited with status 5: Volume group \"vg0\" has insufficient "
        "free space (765 extents): 25600 required.");
  CHECK(f.runner.argvs().size() == 1);
  CHECK(r.backend_data.empty());
}

TEST_CASE("lvm: mkfs failing removes the half-made LV", "[lvm][backend]") {
  Fixture f;
  f.runner.on({"mkfs.ext4"}, 1, "", "mkfs.ext4: Device size reported to be zero.\n");
  VolumeRecord r = f.record("a");
  std::string message;
  CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }, &message) == ErrorKind::unavailable);
  CHECK(message == "make the ext4 filesystem: mkfs.ext4 exited with status 1: mkfs.ext4: Device size reported to "
                   "be zero.");
  auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() == 3);
  CHECK(argvs[0][0] == "lvcreate");
  CHECK(argvs[1][0] == "mkfs.ext4");
  CHECK(argvs[2] == Argv{"lvremove", "-f", "vg0/hf-a"});
}

TEST_CASE("lvm: a mkfs timeout is a timeout and removes the LV with a fresh deadline", "[lvm][backend]") {
  Fixture f(k_thick_config + "timeouts:\n  mkfs: 2s\n  cleanup: 7s\n");
  std::vector<std::chrono::milliseconds> budgets;
  f.runner.on_call([&](const Argv& argv, const std::string&, Deadline deadline) -> std::optional<CommandResult> {
    budgets.push_back(deadline.remaining());
    if (argv[0] == "mkfs.ext4") {
      CommandResult killed;
      killed.timed_out = true;
      return killed;
    }
    return std::nullopt;
  });
  VolumeRecord r = f.record("a");
  std::string message;
  // An operation deadline that is almost over: the cleanup still gets its own budget.
  CHECK(kind_of([&] { f.backend->provision(r, Deadline::after(100ms)); }, &message) == ErrorKind::timeout);
  CHECK(message == "make the ext4 filesystem: mkfs.ext4 did not finish within its deadline and was killed");
  auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() == 3);
  CHECK(argvs[2] == Argv{"lvremove", "-f", "vg0/hf-a"});
  CHECK(budgets[0] <= 100ms);
  CHECK(budgets[2] > 6s);
  CHECK(budgets[2] <= 7s);
}

TEST_CASE("lvm: each command is bounded by its own timeout within the operation's deadline", "[lvm][backend]") {
  Fixture f(k_thick_config + "timeouts:\n  command: 5s\n  mkfs: 9s\n");
  std::map<std::string, std::chrono::milliseconds> budgets;
  f.runner.on_call([&](const Argv& argv, const std::string&, Deadline deadline) -> std::optional<CommandResult> {
    budgets[argv[0]] = deadline.remaining();
    return std::nullopt;
  });
  VolumeRecord r = f.record("a");
  f.backend->provision(r, Deadline::after(100s));
  CHECK(budgets["lvcreate"] <= 5s);
  CHECK(budgets["lvcreate"] > 4s);
  CHECK(budgets["mkfs.ext4"] <= 9s);
  CHECK(budgets["mkfs.ext4"] > 8s);
  CHECK(budgets["lvchange"] <= 5s);
}

TEST_CASE("lvm: a killed lvcreate removes the LV only if it is this attempt's", "[lvm][backend]") {
  Fixture f;
  CommandResult killed;
  killed.timed_out = true;
  f.runner.on({"lvcreate"}, killed);
  VolumeRecord r = f.record("a");

  SECTION("LVM committed it before being killed") {
    std::string incomplete;
    f.runner.on_call([&](const Argv& argv, const std::string&, Deadline) -> std::optional<CommandResult> {
      if (argv[0] == "lvs") {
        incomplete = f.incomplete_tag_used();
        CommandResult out;
        out.exit_code = 0;
        out.out = report({{"hf-a", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=a,holdfast.fs=ext4," + incomplete}});
        return out;
      }
      return std::nullopt;
    });
    CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }) == ErrorKind::timeout);
    auto argvs = f.runner.argvs();
    REQUIRE(argvs.size() == 3);
    CHECK(argvs[1] == k_lvs);
    CHECK(argvs[2] == Argv{"lvremove", "-f", "vg0/hf-a"});
  }
  SECTION("nothing was committed") {
    f.runner.on(k_lvs, 0, report({}));
    CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }) == ErrorKind::timeout);
    CHECK(f.runner.argvs().size() == 2);
    CHECK(f.runner.count({"lvremove"}) == 0);
  }
  SECTION("an LV of that name that is not this attempt's is left alone") {
    f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=a,holdfast.fs=ext4"}}));
    CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }) == ErrorKind::timeout);
    CHECK(f.runner.count({"lvremove"}) == 0);
  }
}

TEST_CASE("lvm: failing to drop the incomplete tag removes the LV", "[lvm][backend]") {
  Fixture f;
  f.runner.on({"lvchange", "--deltag"}, 5, "", "  Failed to update metadata\n");
  VolumeRecord r = f.record("a");
  CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }) == ErrorKind::unavailable);
  CHECK(f.runner.argvs().back() == Argv{"lvremove", "-f", "vg0/hf-a"});
}

TEST_CASE("lvm: an existing LV of the same name", "[lvm][backend]") {
  Fixture f;
  f.runner.on({"lvcreate"}, 5, "", "  Logical Volume \"hf-a\" already exists in volume group \"vg0\"\n");
  VolumeRecord r = f.record("a", {{"size", "1G"}});

  SECTION("not holdfast's: conflict, untouched") {
    f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_, "-wi-a-----", ""}}));
    std::string message;
    CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }, &message) == ErrorKind::conflict);
    CHECK_THAT(message, Catch::Contains("vg0/hf-a already exists and does not belong to this volume"));
    CHECK(f.runner.count({"lvremove"}) == 0);
    CHECK(f.runner.count({"mkfs.ext4"}) == 0);
  }
  SECTION("this volume's, complete: adopted with its data") {
    f.runner.on(k_lvs, 0, report({{"hf-a", 2 * k_gib_, "-wi-a-----", "holdfast,holdfast.volume=a,holdfast.fs=ext4"}}));
    f.backend->provision(r, Fixture::deadline());
    CHECK(f.runner.argvs().size() == 2);
    CHECK(f.runner.count({"mkfs.ext4"}) == 0);
    CHECK(r.backend_data == nlohmann::json{{"vg", "vg0"}, {"lv", "hf-a"}, {"fs", "ext4"}, {"thin", false}});
  }
  SECTION("this volume's but smaller or of another filesystem: conflict") {
    f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_ / 2, "-wi-a-----", "holdfast,holdfast.volume=a,holdfast.fs=ext4"}}));
    std::string message;
    CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }, &message) == ErrorKind::conflict);
    CHECK_THAT(message, Catch::Contains("already exists with size 512 MiB, smaller than the requested 1 GiB"));
    f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=a,holdfast.fs=xfs"}}));
    CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }, &message) == ErrorKind::conflict);
    CHECK_THAT(message, Catch::Contains("already exists with filesystem xfs"));
  }
  SECTION("this volume's, half-made by a crashed daemon: removed and made again") {
    f.runner.on(k_lvs, 0,
                report({{"hf-a", k_gib_, "-wi-a-----",
                         "holdfast,holdfast.volume=a,holdfast.fs=ext4,holdfast.incomplete=999.dead"}}));
    int creates = 0;
    f.runner.on_call([&](const Argv& argv, const std::string&, Deadline) -> std::optional<CommandResult> {
      if (argv[0] == "lvcreate" && ++creates == 2) {
        CommandResult ok;
        ok.exit_code = 0;
        return ok;
      }
      return std::nullopt;
    });
    f.backend->provision(r, Fixture::deadline());
    std::string incomplete = f.incomplete_tag_used();
    CHECK(f.runner.argvs() == std::vector<Argv>{
                                  thick_create("hf-a", "a", "1024m", "ext4", incomplete),
                                  k_lvs,
                                  {"lvremove", "-f", "vg0/hf-a"},
                                  thick_create("hf-a", "a", "1024m", "ext4", incomplete),
                                  k_mkfs_ext4_a,
                                  {"lvchange", "--deltag", incomplete, "vg0/hf-a"},
                              });
  }
}

TEST_CASE("lvm: a second create of a volume still being created is refused", "[lvm][backend]") {
  Fixture f;
  std::mutex mutex;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  f.runner.on_call([&](const Argv& argv, const std::string&, Deadline) -> std::optional<CommandResult> {
    if (argv[0] == "mkfs.ext4") {
      std::unique_lock lock(mutex);
      entered = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    }
    return std::nullopt;
  });
  std::thread first([&] {
    VolumeRecord r = f.record("a");
    f.backend->provision(r, Fixture::deadline());
  });
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return entered; });
  }
  VolumeRecord again = f.record("a");
  std::string message;
  ErrorKind kind = kind_of([&] { f.backend->provision(again, Fixture::deadline()); }, &message);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  first.join();
  CHECK(kind == ErrorKind::busy);
  CHECK(message == "an earlier create of this volume is still running");
  CHECK(f.runner.count({"lvcreate"}) == 1);
  CHECK(f.runner.count({"lvremove"}) == 0);
}

// ---------------------------------------------------------------------------
// Snapshots and clones

TEST_CASE("lvm: from= in a thin pool is a thin snapshot", "[lvm][backend]") {
  Fixture f(k_thin_config);
  f.runner.on(k_lvs, 0,
              report({{"hf-base", 2 * k_gib_, "Vwi-aotz--", "holdfast,holdfast.volume=base,holdfast.fs=xfs", "pool"},
                      {"pool", 10 * k_gib_, "twi-aotz--", "", "", "10.00", "5.00"}}));
  VolumeRecord r = f.record("copy", {{"from", "base"}});
  f.backend->provision(r, Fixture::deadline());
  std::string incomplete = f.incomplete_tag_used();
  CHECK(f.runner.argvs() == std::vector<Argv>{
                                k_lvs,
                                {"lvcreate", "--yes", "--snapshot", "--setactivationskip", "n", "--name", "hf-copy",
                                 "--addtag", "holdfast", "--addtag", "holdfast.volume=copy", "--addtag",
                                 "holdfast.fs=xfs", "--addtag", incomplete, "vg0/hf-base"},
                                {"lvchange", "--deltag", incomplete, "vg0/hf-copy"},
                            });
  CHECK(r.backend_data == nlohmann::json{{"vg", "vg0"},
                                         {"lv", "hf-copy"},
                                         {"fs", "xfs"},
                                         {"thin", true},
                                         {"source", "base"},
                                         {"nouuid", true}});

  // Mounted with nouuid: the snapshot has its origin's XFS UUID.
  f.backend->attach(r, "/m/copy", Fixture::deadline());
  auto mounts = f.mounter.calls();
  REQUIRE(f.mounter.count("mount") == 1);
  auto mount = *std::find_if(mounts.begin(), mounts.end(), [](const auto& c) { return c.op == "mount"; });
  CHECK(mount.data == "nouuid");
  CHECK(mount.fs_type == "xfs");
}

TEST_CASE("lvm: a bigger snapshot is extended and its filesystem grown at first mount", "[lvm][backend]") {
  Fixture f(k_thin_config);
  f.runner.on(k_lvs, 0,
              report({{"hf-base", k_gib_, "Vwi-a-tz--", "holdfast,holdfast.volume=base,holdfast.fs=ext4", "pool"},
                      {"pool", 10 * k_gib_, "twi-aotz--", "", "", "10.00", "5.00"}}));
  VolumeRecord r = f.record("big", {{"from", "base"}, {"size", "3G"}});
  f.backend->provision(r, Fixture::deadline());
  auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() == 4);
  CHECK(argvs[1][2] == "--snapshot");
  CHECK(argvs[2] == Argv{"lvextend", "--size", "3072m", "vg0/hf-big"});
  CHECK(argvs[3][1] == "--deltag");
  CHECK(r.backend_data["grow_fs"] == true);
  CHECK_FALSE(r.backend_data.contains("nouuid"));
  CHECK_THAT(f.backend->status(r)["warning"].get<std::string>(), Catch::Contains("grows to the volume size at the next mount"));

  f.runner.clear_calls();
  f.fs->devices.insert("/dev/vg0/hf-big");
  f.backend->attach(r, "/m/big", Fixture::deadline());
  CHECK(f.runner.argvs() == std::vector<Argv>{{"resize2fs", "/dev/vg0/hf-big"}});
  CHECK_FALSE(r.backend_data.contains("grow_fs"));
}

TEST_CASE("lvm: a failed grow at mount keeps the volume usable and retries later", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.created("a");
  r.backend_data["grow_fs"] = true;
  f.fs->devices.insert("/dev/vg0/hf-a");
  f.runner.on({"resize2fs"}, 1, "", "resize2fs: Permission denied to resize filesystem\n");
  CHECK(f.backend->attach(r, "/m/a", Fixture::deadline()) == "/m/a");
  CHECK(r.backend_data["grow_fs"] == true);
  CHECK(f.mounter.is_mounted("/m/a"));
}

TEST_CASE("lvm: snapshot refusals", "[lvm][backend]") {
  Fixture f(k_thin_config);
  f.runner.on(k_lvs, 0,
              report({{"hf-base", 2 * k_gib_, "Vwi-a-tz--", "holdfast,holdfast.volume=base,holdfast.fs=ext4", "pool"},
                      {"hf-half", 2 * k_gib_, "Vwi-a-tz--",
                       "holdfast,holdfast.volume=half,holdfast.fs=ext4,holdfast.incomplete=1.x", "pool"},
                      {"pool", 10 * k_gib_, "twi-aotz--", "", "", "10.00", "5.00"}}));
  std::string message;
  VolumeRecord missing = f.record("c", {{"from", "nope"}});
  CHECK(kind_of([&] { f.backend->provision(missing, Fixture::deadline()); }, &message) == ErrorKind::not_found);
  CHECK(message == "from: source volume \"nope\" does not exist in volume group vg0");
  VolumeRecord half = f.record("c", {{"from", "half"}});
  CHECK(kind_of([&] { f.backend->provision(half, Fixture::deadline()); }) == ErrorKind::not_found);
  VolumeRecord other_fs = f.record("c", {{"from", "base"}, {"fs", "xfs"}});
  CHECK(kind_of([&] { f.backend->provision(other_fs, Fixture::deadline()); }, &message) == ErrorKind::invalid_argument);
  CHECK(message == "fs=xfs differs from the source's filesystem ext4: a clone keeps its source's filesystem");
  VolumeRecord smaller = f.record("c", {{"from", "base"}, {"size", "1G"}});
  CHECK(kind_of([&] { f.backend->provision(smaller, Fixture::deadline()); }, &message) == ErrorKind::invalid_argument);
  CHECK(message == "size 1 GiB is smaller than the source's 2 GiB: a clone is at least as big as its source");
  VolumeRecord itself = f.record("c", {{"from", "c"}});
  CHECK(kind_of([&] { f.backend->provision(itself, Fixture::deadline()); }) == ErrorKind::invalid_argument);
  CHECK(f.runner.count({"lvcreate"}) == 0);
}

TEST_CASE("lvm: from= without a thin pool is a full copy with dd", "[lvm][backend]") {
  Fixture f(k_thick_config + "max_copy_size: 4G\n");
  f.runner.on(k_lvs, 0, report({{"hf-base", 2 * k_gib_, "-wi-------", "holdfast,holdfast.volume=base,holdfast.fs=ext4"}}));
  VolumeRecord r = f.record("copy", {{"from", "base"}});

  SECTION("inactive, unmounted source: activated, copied, tagged complete") {
    f.backend->provision(r, Fixture::deadline());
    std::string incomplete = f.incomplete_tag_used();
    CHECK(f.runner.argvs() == std::vector<Argv>{
                                  k_lvs,
                                  thick_create("hf-copy", "copy", "2048m", "ext4", incomplete),
                                  {"lvchange", "--activate", "y", "vg0/hf-base"},
                                  {"dd", "if=/dev/vg0/hf-base", "of=/dev/vg0/hf-copy", "bs=4M", "iflag=direct",
                                   "oflag=direct", "conv=fsync", "status=none"},
                                  {"lvchange", "--deltag", incomplete, "vg0/hf-copy"},
                              });
    CHECK(r.backend_data ==
          nlohmann::json{{"vg", "vg0"}, {"lv", "hf-copy"}, {"fs", "ext4"}, {"thin", false}, {"source", "base"}});
  }
  SECTION("a copy that overruns its deadline is removed") {
    CommandResult killed;
    killed.timed_out = true;
    f.runner.on({"dd"}, killed);
    std::string message;
    CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }, &message) == ErrorKind::timeout);
    CHECK(message == "copy volume \"base\": dd did not finish within its deadline and was killed");
    CHECK(f.runner.argvs().back() == Argv{"lvremove", "-f", "vg0/hf-copy"});
  }
  SECTION("a source in use is refused before anything is created") {
    f.mounter.add_mount("/dev/vg0/hf-base", "/m/base", "ext4");
    std::string message;
    CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }, &message) == ErrorKind::busy);
    CHECK_THAT(message, Catch::Contains("source volume \"base\" is in use"));
    f.mounter.drop_mount("/m/base");
    f.runner.on(k_lvs, 0, report({{"hf-base", 2 * k_gib_, "-wi-ao----", "holdfast,holdfast.volume=base,holdfast.fs=ext4"}}));
    CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }) == ErrorKind::busy);
    CHECK(f.runner.count({"lvcreate"}) == 0);
  }
  SECTION("a source over max_copy_size is refused") {
    f.runner.on(k_lvs, 0, report({{"hf-base", 8 * k_gib_, "-wi-------", "holdfast,holdfast.volume=base,holdfast.fs=ext4"}}));
    std::string message;
    CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }, &message) == ErrorKind::invalid_argument);
    CHECK_THAT(message, Catch::Contains("a full copy is limited to 4 GiB (max_copy_size)"));
    CHECK(f.runner.count({"lvcreate"}) == 0);
  }
}

TEST_CASE("lvm: max_copy_size 0 disables full copies", "[lvm][backend]") {
  Fixture f(k_thick_config + "max_copy_size: 0\n");
  f.runner.on(k_lvs, 0, report({{"hf-base", k_gib_, "-wi-------", "holdfast,holdfast.volume=base,holdfast.fs=ext4"}}));
  VolumeRecord r = f.record("copy", {{"from", "base"}});
  std::string message;
  CHECK(kind_of([&] { f.backend->provision(r, Fixture::deadline()); }, &message) == ErrorKind::invalid_argument);
  CHECK_THAT(message, Catch::Contains("full copies are disabled (max_copy_size: 0)"));
}

// ---------------------------------------------------------------------------
// Remove

TEST_CASE("lvm: remove", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.created("a");

  SECTION("lvremove of the volume's LV") {
    f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=a,holdfast.fs=ext4"}}));
    f.backend->deprovision(r, Fixture::deadline());
    CHECK(f.runner.argvs() == std::vector<Argv>{k_lvs, {"lvremove", "-f", "vg0/hf-a"}});
  }
  SECTION("already gone: success without lvremove") {
    f.runner.on(k_lvs, 0, report({}));
    f.backend->deprovision(r, Fixture::deadline());
    CHECK(f.runner.argvs() == std::vector<Argv>{k_lvs});
  }
  SECTION("gone between lvs and lvremove: success") {
    f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=a"}}));
    f.runner.on({"lvremove"}, 5, "", "  Failed to find logical volume \"vg0/hf-a\"\n");
    CHECK_NOTHROW(f.backend->deprovision(r, Fixture::deadline()));
  }
  SECTION("an LV of that name that is not this volume's is never removed") {
    f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=other"}}));
    CHECK(kind_of([&] { f.backend->deprovision(r, Fixture::deadline()); }) == ErrorKind::conflict);
    CHECK(f.runner.count({"lvremove"}) == 0);
  }
  SECTION("in use: busy, with LVM's words") {
    f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_, "-wi-ao----", "holdfast,holdfast.volume=a"}}));
    f.runner.on({"lvremove"}, 5, "", "  Logical volume vg0/hf-a contains a filesystem in use.\n");
    std::string message;
    CHECK(kind_of([&] { f.backend->deprovision(r, Fixture::deadline()); }, &message) == ErrorKind::busy);
    CHECK(message == "remove logical volume vg0/hf-a: lvremove exited with status 5: Logical volume vg0/hf-a "
                     "contains a filesystem in use.");
  }
  SECTION("lvs failing or lying is an error, not a removal") {
    f.runner.on(k_lvs, 0, "{\"report\": [ {\"lv\": [ {\"lv_name\": ");
    CHECK(kind_of([&] { f.backend->deprovision(r, Fixture::deadline()); }) == ErrorKind::internal);
    f.runner.on(k_lvs, 5, "", "  Volume group \"vg0\" not found\n");
    std::string message;
    CHECK(kind_of([&] { f.backend->deprovision(r, Fixture::deadline()); }, &message) == ErrorKind::unavailable);
    CHECK(message == "list logical volumes: lvs exited with status 5: Volume group \"vg0\" not found");
    CommandResult killed;
    killed.timed_out = true;
    f.runner.on(k_lvs, killed);
    CHECK(kind_of([&] { f.backend->deprovision(r, Fixture::deadline()); }) == ErrorKind::timeout);
    CHECK(f.runner.count({"lvremove"}) == 0);
  }
}

// ---------------------------------------------------------------------------
// Mount, unmount

TEST_CASE("lvm: mount activates an inactive LV and mounts it on the target", "[lvm][backend]") {
  Fixture f(k_thick_config + "mount_options:\n  ext4: noatime,commit=60\n");
  VolumeRecord r = f.created("a", {{"mount_options", "nodev,nosuid,data=journal"}});
  CHECK(f.backend->attach(r, "/m/a", Fixture::deadline()) == "/m/a");
  CHECK(f.runner.argvs() == std::vector<Argv>{{"lvchange", "--activate", "y", "vg0/hf-a"}});
  auto calls = f.mounter.calls();
  auto mount = *std::find_if(calls.begin(), calls.end(), [](const auto& c) { return c.op == "mount"; });
  CHECK(mount.source == "/dev/vg0/hf-a");
  CHECK(mount.target == "/m/a");
  CHECK(mount.fs_type == "ext4");
  CHECK(mount.flags == (MS_NOATIME | MS_NODEV | MS_NOSUID));
  CHECK(mount.data == "commit=60,data=journal");
  // A fresh ext4's lost+found goes, so that Docker copies image data in.
  CHECK(f.fs->removed == std::vector<std::string>{"/m/a/lost+found"});
  CHECK_FALSE(r.backend_data.contains("fresh"));
  CHECK(f.backend->is_attached([&] {
    VolumeRecord copy = r;
    copy.mountpoint = "/m/a";
    return copy;
  }()));
}

TEST_CASE("lvm: mount of an active LV runs no command, mounted already is a no-op", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.created("a");
  f.fs->devices.insert("/dev/vg0/hf-a");
  CHECK(f.backend->attach(r, "/m/a", Fixture::deadline()) == "/m/a");
  CHECK(f.runner.calls().empty());
  CHECK(f.mounter.count("mount") == 1);
  CHECK(f.backend->attach(r, "/m/a", Fixture::deadline()) == "/m/a");
  CHECK(f.mounter.count("mount") == 1);
  // Second mount after the first: lost+found is only removed once.
  CHECK(f.fs->removed.size() == 1);
}

TEST_CASE("lvm: mount failures", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.created("a");
  SECTION("the LV is gone") {
    f.runner.on({"lvchange", "--activate"}, 5, "", "  Failed to find logical volume \"vg0/hf-a\"\n");
    std::string message;
    CHECK(kind_of([&] { f.backend->attach(r, "/m/a", Fixture::deadline()); }, &message) == ErrorKind::not_found);
    CHECK(message == "activate logical volume vg0/hf-a: lvchange exited with status 5: Failed to find logical volume "
                     "\"vg0/hf-a\"");
    CHECK(f.mounter.count("mount") == 0);
  }
  SECTION("mount(2) fails") {
    f.fs->devices.insert("/dev/vg0/hf-a");
    f.mounter.fail_mount("/m/a", holdfast::from_errno("mount /m/a", EINVAL));
    CHECK_THROWS_AS(f.backend->attach(r, "/m/a", Fixture::deadline()), Error);
    CHECK_FALSE(f.mounter.is_mounted("/m/a"));
    CHECK(r.backend_data["fresh"] == true);  // still to do at the next successful mount
  }
}

TEST_CASE("lvm: unmount, lazily when busy, optional deactivation", "[lvm][backend]") {
  SECTION("plain") {
    Fixture f;
    VolumeRecord r = f.created("a");
    f.fs->devices.insert("/dev/vg0/hf-a");
    f.backend->attach(r, "/m/a", Fixture::deadline());
    f.backend->detach(r, "/m/a", Fixture::deadline());
    CHECK_FALSE(f.mounter.is_mounted("/m/a"));
    CHECK(f.runner.calls().empty());
    CHECK_NOTHROW(f.backend->detach(r, "/m/a", Fixture::deadline()));  // idempotent
  }
  SECTION("busy falls back to lazy") {
    Fixture f;
    VolumeRecord r = f.created("a");
    f.fs->devices.insert("/dev/vg0/hf-a");
    f.backend->attach(r, "/m/a", Fixture::deadline());
    f.mounter.fail_unmount("/m/a", holdfast::from_errno("umount /m/a", EBUSY), 1);
    f.backend->detach(r, "/m/a", Fixture::deadline());
    std::vector<UnmountMode> modes;
    for (const auto& c : f.mounter.calls()) {
      if (c.op == "unmount") {
        modes.push_back(c.mode);
      }
    }
    CHECK(modes == std::vector<UnmountMode>{UnmountMode::normal, UnmountMode::lazy});
  }
  SECTION("other unmount errors are reported") {
    Fixture f;
    VolumeRecord r = f.created("a");
    f.mounter.fail_unmount("/m/a", holdfast::from_errno("umount /m/a", EPERM), 1);
    CHECK(kind_of([&] { f.backend->detach(r, "/m/a", Fixture::deadline()); }) == ErrorKind::permission);
  }
  SECTION("deactivate_on_unmount") {
    Fixture f(k_thick_config + "deactivate_on_unmount: true\n");
    VolumeRecord r = f.created("a");
    f.fs->devices.insert("/dev/vg0/hf-a");
    f.backend->attach(r, "/m/a", Fixture::deadline());
    f.backend->detach(r, "/m/a", Fixture::deadline());
    CHECK(f.runner.argvs() == std::vector<Argv>{{"lvchange", "--activate", "n", "vg0/hf-a"}});
    // A failed deactivation does not fail the unmount.
    f.runner.on({"lvchange", "--activate", "n"}, 5, "", "  Logical volume vg0/hf-a in use.\n");
    f.backend->attach(r, "/m/a", Fixture::deadline());
    CHECK_NOTHROW(f.backend->detach(r, "/m/a", Fixture::deadline()));
  }
}

TEST_CASE("lvm: is_attached reads only the mount table", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.record("a");
  CHECK_FALSE(f.backend->is_attached(r));
  r.mountpoint = "/m/a";
  CHECK_FALSE(f.backend->is_attached(r));
  f.mounter.add_mount("/dev/vg0/hf-a", "/m/a", "ext4");
  CHECK(f.backend->is_attached(r));
  CHECK(f.runner.calls().empty());
}

// ---------------------------------------------------------------------------
// Status and refresh

TEST_CASE("lvm: status answers from the refreshed cache without running anything", "[lvm][backend]") {
  Fixture f(k_thin_config);
  VolumeRecord r = f.created("a", {{"size", "2G"}});
  r.mountpoint = "/m/a";
  f.mounter.add_mount("/dev/vg0/hf-a", "/m/a", "ext4");
  CHECK(f.backend->is_attached(r));

  // Before any report: what the record says.
  nlohmann::json before = f.backend->status(r);
  CHECK(before["size"] == "2 GiB");
  CHECK(before["type"] == "thin");
  CHECK_FALSE(before.contains("used"));

  f.fs->usages["/m/a"] = FsUsage{2 * k_gib_, 300 * k_mib, k_gib_};
  f.runner.on(k_lvs, 0,
              report({{"hf-a", 2 * k_gib_ + 4 * k_mib, "Vwi-aotz--", "holdfast,holdfast.volume=a,holdfast.fs=ext4",
                       "pool", "15.00"},
                      {"pool", 10 * k_gib_, "twi-aotz--", "", "", "42.123", "7.5"}}));
  f.backend->refresh(Fixture::deadline());
  f.runner.clear_calls();
  f.mounter.clear_calls();

  nlohmann::json s = f.backend->status(r);
  CHECK(s == nlohmann::json{{"volume_group", "vg0"},
                            {"logical_volume", "hf-a"},
                            {"fs", "ext4"},
                            {"type", "thin"},
                            {"size", "2 GiB"},
                            {"used", "300 MiB"},
                            {"available", "1 GiB"},
                            {"thin_pool", "vg0/pool"},
                            {"pool_data_percent", 42.12},
                            {"pool_metadata_percent", 7.5}});
  CHECK(f.runner.calls().empty());
  CHECK(f.mounter.calls().empty());
}

TEST_CASE("lvm: a thin pool above the threshold warns in Status", "[lvm][backend]") {
  Fixture f(k_thin_config);
  VolumeRecord r = f.created("a");
  f.runner.on(k_lvs, 0, report({{"pool", 10 * k_gib_, "twi-aotz--", "", "", "50.00", "81.25"}}));
  f.backend->refresh(Fixture::deadline());
  CHECK(f.backend->status(r)["warning"] ==
        "thin pool 50.0% full (data), 81.2% (metadata): at or above the 80% warning threshold");
  f.runner.on(k_lvs, 0, report({{"pool", 10 * k_gib_, "twi-aotz--", "", "", "50.00", "20.00"}}));
  f.backend->refresh(Fixture::deadline());
  CHECK_FALSE(f.backend->status(r).contains("warning"));
  f.runner.on(k_lvs, 0, report({}));
  f.backend->refresh(Fixture::deadline());
  CHECK(f.backend->status(r)["warning"] == "thin pool vg0/pool not found");
}

TEST_CASE("lvm: a failed refresh is an error and a Status warning", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.created("a");
  f.runner.on(k_lvs, 0, "garbage");
  CHECK(kind_of([&] { f.backend->refresh(Fixture::deadline()); }) == ErrorKind::internal);
  CHECK(f.backend->status(r)["warning"] == "LVM state not refreshed: unexpected lvs report: not JSON");
  f.runner.on(k_lvs, 0, report({}));
  f.backend->refresh(Fixture::deadline());
  CHECK_FALSE(f.backend->status(r).contains("warning"));
}

TEST_CASE("lvm: refresh removes half-made LVs of earlier processes only", "[lvm][backend]") {
  Fixture f;
  VolumeRecord mine = f.record("mine");
  // Learn this process's tag from a create.
  f.backend->provision(mine, Fixture::deadline());
  std::string own = f.incomplete_tag_used();
  f.runner.clear_calls();
  f.runner.on(k_lvs, 0,
              report({{"hf-old", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=old,holdfast.incomplete=1.dead"},
                      {"hf-new", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=new," + own},
                      {"other", k_gib_, "-wi-a-----", "holdfast.incomplete=1.dead"},
                      {"hf-done", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=done"}}));
  f.backend->refresh(Fixture::deadline());
  CHECK(f.runner.argvs() == std::vector<Argv>{k_lvs, {"lvremove", "-f", "vg0/hf-old"}});
}

// ---------------------------------------------------------------------------
// Resize

TEST_CASE("lvm: resize grows a mounted volume online", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.created("a", {{"size", "1G"}});
  r.mountpoint = "/m/a";
  f.mounter.add_mount("/dev/vg0/hf-a", "/m/a", "ext4");
  f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_, "-wi-ao----", "holdfast,holdfast.volume=a,holdfast.fs=ext4"}}));
  ResizeResult result = f.backend->resize(r, "2G", Fixture::deadline());
  CHECK(f.runner.argvs() == std::vector<Argv>{k_lvs,
                                              {"lvextend", "--size", "2048m", "vg0/hf-a"},
                                              {"resize2fs", "/dev/vg0/hf-a"}});
  CHECK(result.old_size == k_gib_);
  CHECK(result.new_size == 2 * k_gib_);
  CHECK(result.lv_extended);
  CHECK(result.fs_grown);
  CHECK_FALSE(result.fs_grow_pending);
  CHECK_FALSE(r.backend_data.contains("grow_fs"));
  CHECK(f.backend->status(r)["size"] == "2 GiB");
}

TEST_CASE("lvm: the operator verb resize answers what resize() did", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.created("a", {{"size", "1G"}});
  f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=a,holdfast.fs=ext4"}}));
  nlohmann::json result = f.backend->operator_action("resize", r, {{"size", "2G"}}, Fixture::deadline());
  CHECK(result == nlohmann::json{{"old_size", k_gib_},       {"new_size", 2 * k_gib_}, {"lv_extended", true},
                                 {"fs_grown", false},        {"fs_grow_pending", true}});
  CHECK(r.backend_data.value("grow_fs", false));  // not mounted: grows at the next mount
  CHECK(kind_of([&] { f.backend->operator_action("resize", r, nlohmann::json::object(), Fixture::deadline()); }) ==
        ErrorKind::invalid_argument);
  CHECK(kind_of([&] { f.backend->operator_action("release", r, nlohmann::json::object(), Fixture::deadline()); }) ==
        ErrorKind::invalid_argument);
}

TEST_CASE("lvm: backend_status reports the thin pool's fill and warning", "[lvm][backend]") {
  Fixture f(k_thin_config);
  CHECK(f.backend->backend_status().contains("note"));  // no report yet
  f.runner.on(k_lvs, 0, report({{"pool", 10 * k_gib_, "twi-aotz--", "", "", "85.00", "10.00"}}));
  f.backend->refresh(Fixture::deadline());
  nlohmann::json status = f.backend->backend_status();
  CHECK(status["thin_pool"] == "vg0/pool");
  CHECK(status["pool_data_percent"] == 85.0);
  CHECK(status["pool_warning_percent"] == 80);
  CHECK(status["warning"] == "thin pool 85.0% full (data), 10.0% (metadata): at or above the 80% warning threshold");
}

TEST_CASE("lvm: resize of xfs grows through the mountpoint", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.created("x", {{"size", "1G"}, {"fs", "xfs"}});
  r.mountpoint = "/m/x";
  f.mounter.add_mount("/dev/vg0/hf-x", "/m/x", "xfs");
  f.runner.on(k_lvs, 0, report({{"hf-x", k_gib_, "-wi-ao----", "holdfast,holdfast.volume=x,holdfast.fs=xfs"}}));
  f.backend->resize(r, "1.5g", Fixture::deadline());
  CHECK(f.runner.argvs() == std::vector<Argv>{k_lvs,
                                              {"lvextend", "--size", "1536m", "vg0/hf-x"},
                                              {"xfs_growfs", "/m/x"}});
}

TEST_CASE("lvm: resize refusals and edge cases", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.created("a", {{"size", "1G"}});
  f.runner.on(k_lvs, 0, report({{"hf-a", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=a,holdfast.fs=ext4"}}));

  SECTION("shrinking is refused") {
    std::string message;
    CHECK(kind_of([&] { f.backend->resize(r, "512M", Fixture::deadline()); }, &message) == ErrorKind::invalid_argument);
    CHECK_THAT(message, Catch::StartsWith("shrinking is refused: the volume is 1 GiB and 512M is smaller"));
    CHECK(f.runner.count({"lvextend"}) == 0);
  }
  SECTION("sizes that round to the current extent count change nothing") {
    ResizeResult result = f.backend->resize(r, "1021M", Fixture::deadline());
    CHECK_FALSE(result.lv_extended);
    CHECK(result.new_size == k_gib_);
    CHECK(f.runner.argvs() == std::vector<Argv>{k_lvs});
  }
  SECTION("not mounted: the filesystem grows at the next mount") {
    ResizeResult result = f.backend->resize(r, "3G", Fixture::deadline());
    CHECK(result.lv_extended);
    CHECK(result.fs_grow_pending);
    CHECK_FALSE(result.fs_grown);
    CHECK(r.backend_data["grow_fs"] == true);
    f.runner.clear_calls();
    f.fs->devices.insert("/dev/vg0/hf-a");
    f.backend->attach(r, "/m/a", Fixture::deadline());
    CHECK(f.runner.argvs() == std::vector<Argv>{{"resize2fs", "/dev/vg0/hf-a"}});
    CHECK_FALSE(r.backend_data.contains("grow_fs"));
  }
  SECTION("the same size on a mounted volume re-runs the (idempotent) grow") {
    r.mountpoint = "/m/a";
    f.mounter.add_mount("/dev/vg0/hf-a", "/m/a", "ext4");
    ResizeResult result = f.backend->resize(r, "1G", Fixture::deadline());
    CHECK_FALSE(result.lv_extended);
    CHECK(result.fs_grown);
    CHECK(f.runner.argvs() == std::vector<Argv>{k_lvs, {"resize2fs", "/dev/vg0/hf-a"}});
  }
  SECTION("lvextend failing (no space) is reported with LVM's words") {
    f.runner.on({"lvextend"}, 5, "", "  Insufficient free space: 2560 extents needed, but only 10 available\n");
    std::string message;
    CHECK(kind_of([&] { f.backend->resize(r, "11G", Fixture::deadline()); }, &message) == ErrorKind::unavailable);
    CHECK(message == "extend logical volume vg0/hf-a: lvextend exited with status 5: Insufficient free space: 2560 "
                     "extents needed, but only 10 available");
    CHECK_FALSE(r.backend_data.contains("grow_fs"));
  }
  SECTION("bad sizes, gone volumes") {
    CHECK(kind_of([&] { f.backend->resize(r, "lots", Fixture::deadline()); }) == ErrorKind::invalid_argument);
    CHECK(kind_of([&] { f.backend->resize(r, "17T", Fixture::deadline()); }) == ErrorKind::invalid_argument);
    f.runner.on(k_lvs, 0, report({}));
    CHECK(kind_of([&] { f.backend->resize(r, "2G", Fixture::deadline()); }) == ErrorKind::not_found);
  }
}

// ---------------------------------------------------------------------------
// Saved data

TEST_CASE("lvm: saved backend data is used, and checked like input", "[lvm][backend]") {
  Fixture f;
  VolumeRecord r = f.record("a");
  // Created under an older prefix: the saved LV name wins over the mapping.
  r.backend_data = {{"vg", "vg0"}, {"lv", "old-a"}, {"fs", "xfs"}};
  f.runner.on(k_lvs, 0, report({{"old-a", k_gib_, "-wi-a-----", "holdfast,holdfast.volume=a"}}));
  f.backend->deprovision(r, Fixture::deadline());
  CHECK(f.runner.argvs().back() == Argv{"lvremove", "-f", "vg0/old-a"});

  r.backend_data = {{"vg", "vg0"}, {"lv", "../../etc"}};
  CHECK(kind_of([&] { f.backend->deprovision(r, Fixture::deadline()); }) == ErrorKind::internal);
  r.backend_data = {{"vg", "othervg"}, {"lv", "hf-a"}};
  CHECK(kind_of([&] { f.backend->attach(r, "/m/a", Fixture::deadline()); }) == ErrorKind::conflict);
  CHECK(f.backend->status(r).contains("warning"));
}

TEST_CASE("lvm: the factory reads the config strictly", "[lvm][backend]") {
  FakeRunner runner;
  FakeMounter mounter;
  BackendEnv env{"disks", "host1", "/var/lib/holdfast", runner, mounter};
  ConfigReader good(YAML::Load("volume_group: vg0\nthin_pool: pool\n"), "f.yaml", "backends.disks");
  auto backend = make_backend(good, env);
  CHECK(backend->type() == "lvm");
  ConfigReader bad(YAML::Load("volume_group: vg0\nsize: 1G\n"), "f.yaml", "backends.disks");
  CHECK_THROWS_WITH(make_backend(bad, env), Catch::StartsWith("f.yaml:2: backends.disks: unknown key \"size\""));
  CHECK(runner.calls().empty());  // the factory runs nothing
}
