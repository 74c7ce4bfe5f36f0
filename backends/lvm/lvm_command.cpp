#include "lvm_command.hpp"

#include <algorithm>
#include <cctype>

namespace holdfast::lvm {

namespace {

std::string trim(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) {
    return {};
  }
  auto last = text.find_last_not_of(" \t\r");
  return std::string(text.substr(first, last - first + 1));
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string tool_message(const CommandResult& result) {
  const std::string& text = result.err.empty() ? result.out : result.err;
  std::vector<std::string> lines;
  std::vector<std::string> warnings;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = trim(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (line.empty() || line.find("leaked on") != std::string::npos) {
      continue;
    }
    (starts_with(line, "WARNING:") ? warnings : lines).push_back(line);
  }
  if (lines.empty()) {
    lines = std::move(warnings);
  }
  std::string joined;
  for (const auto& line : lines) {
    joined += (joined.empty() ? "" : "; ") + line;
  }
  if (joined.size() > 400) {
    joined = joined.substr(0, 397) + "...";
  }
  return redact(joined);
}

bool mentions(const CommandResult& result, std::string_view text) {
  std::string needle = lower(text);
  return lower(result.err).find(needle) != std::string::npos ||
         lower(result.out).find(needle) != std::string::npos;
}

Error tool_error(const CommandResult& result, const std::vector<std::string>& argv, std::string_view what,
                 ErrorKind kind) {
  std::string tool = argv.empty() ? std::string("command") : argv[0];
  if (result.timed_out) {
    return Error(ErrorKind::timeout,
                 std::string(what) + ": " + tool + " did not finish within its deadline and was killed");
  }
  std::string message = tool_message(result);
  return Error(kind, std::string(what) + ": " + tool + " exited with status " + std::to_string(result.exit_code) +
                         (message.empty() ? "" : ": " + message));
}

std::string run_tool(CommandRunner& runner, const std::vector<std::string>& argv, Deadline deadline,
                     std::string_view what) {
  CommandResult result = runner.run(argv, deadline);
  if (result.timed_out || result.exit_code != 0) {
    throw tool_error(result, argv, what);
  }
  return result.out;
}

}  // namespace holdfast::lvm
