// Running the LVM and filesystem tools (lvs, lvcreate, mkfs.ext4, dd...)
// through the CommandRunner, and turning their failures into classified
// holdfast::Errors that carry the tool's own words.
//
// Stateless functions; thread-safe as the CommandRunner is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <holdfast/deadline.hpp>
#include <holdfast/error.hpp>
#include <holdfast/host.hpp>

namespace holdfast::lvm {

// The tool's diagnostic in one line: stderr (stdout if stderr is empty)
// without LVM's fd-leak notices and, when there is anything else, without
// its WARNING lines; trimmed to 400 characters and redacted.
std::string tool_message(const CommandResult& result);

// True if stderr or stdout contains `text` (ASCII case-insensitive).
bool mentions(const CommandResult& result, std::string_view text);

// "<what>: <tool> exited with status N: <message>" of kind `kind`, or of kind
// timeout when the command was killed at its deadline.
Error tool_error(const CommandResult& result, const std::vector<std::string>& argv, std::string_view what,
                 ErrorKind kind = ErrorKind::unavailable);

// Runs argv; returns stdout when it exits 0, else throws tool_error().
std::string run_tool(CommandRunner& runner, const std::vector<std::string>& argv, Deadline deadline,
                     std::string_view what);

}  // namespace holdfast::lvm
