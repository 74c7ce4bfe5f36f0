#include "lvm_command.hpp"

#include <catch2/catch.hpp>

#include "support/fake_runner.hpp"

using holdfast::CommandResult;
using holdfast::Deadline;
using holdfast::Error;
using holdfast::ErrorKind;
using holdfast::test::FakeRunner;
using namespace holdfast::lvm;
using namespace std::chrono_literals;

namespace {

CommandResult failed(int code, std::string err, std::string out = {}) {
  CommandResult r;
  r.exit_code = code;
  r.err = std::move(err);
  r.out = std::move(out);
  return r;
}

}  // namespace

TEST_CASE("tool_message keeps the error lines of LVM's stderr", "[lvm][command]") {
  CHECK(tool_message(failed(5,
                            "  WARNING: Sum of all thin volume sizes (2 GiB) exceeds the size of thin pool.\n"
                            "  File descriptor 7 (/dev/null) leaked on lvcreate invocation. Parent PID 1: x\n"
                            "  Volume group \"vg0\" has insufficient free space (765 extents): 25600 required.\n")) ==
        "Volume group \"vg0\" has insufficient free space (765 extents): 25600 required.");
  CHECK(tool_message(failed(5, "  WARNING: only warnings here\n")) == "WARNING: only warnings here");
  CHECK(tool_message(failed(1, "", "mkfs said this on stdout\n")) == "mkfs said this on stdout");
  CHECK(tool_message(failed(1, "line one\nline two\n")) == "line one; line two");
  CHECK(tool_message(failed(1, std::string(1000, 'x'))).size() == 400);
  CHECK(tool_message(failed(1, "mount -o password=hunter2 failed")).find("hunter2") == std::string::npos);
}

TEST_CASE("tool_error classifies timeouts and carries the tool's words", "[lvm][command]") {
  CommandResult killed;
  killed.timed_out = true;
  Error t = tool_error(killed, {"lvs", "vg0"}, "list logical volumes");
  CHECK(t.kind() == ErrorKind::timeout);
  CHECK(std::string(t.what()) == "list logical volumes: lvs did not finish within its deadline and was killed");
  Error e = tool_error(failed(5, "  Logical volume vg0/a in use.\n"), {"lvremove"}, "remove", ErrorKind::busy);
  CHECK(e.kind() == ErrorKind::busy);
  CHECK(std::string(e.what()) == "remove: lvremove exited with status 5: Logical volume vg0/a in use.");
  CHECK(mentions(failed(5, "  Failed to find logical volume \"vg0/a\"\n"), "failed to find"));
  CHECK_FALSE(mentions(failed(5, "other"), "failed to find"));
}

TEST_CASE("run_tool returns stdout or throws", "[lvm][command]") {
  FakeRunner runner;
  runner.on({"ok"}, 0, "out\n");
  runner.on({"bad"}, 3, "", "no\n");
  CHECK(run_tool(runner, {"ok"}, Deadline::after(1s), "x") == "out\n");
  CHECK_THROWS_WITH(run_tool(runner, {"bad", "arg"}, Deadline::after(1s), "do x"),
                    "do x: bad exited with status 3: no");
}
