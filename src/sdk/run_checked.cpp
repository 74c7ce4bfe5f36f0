#include <holdfast/error.hpp>
#include <holdfast/host.hpp>

namespace holdfast {

namespace {

// Last non-empty line(s) of a program's stderr, bounded, for a one-line error.
std::string summarize(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  auto first = out.find_first_not_of(' ');
  auto last = out.find_last_not_of(' ');
  out = first == std::string::npos ? std::string() : out.substr(first, last - first + 1);
  if (out.size() > 400) {
    out = "..." + out.substr(out.size() - 400);
  }
  return redact(out);
}

}  // namespace

std::string run_checked(CommandRunner& runner, const std::vector<std::string>& argv, Deadline deadline,
                        const std::string& what) {
  CommandResult result = runner.run(argv, deadline);
  if (result.timed_out) {
    throw timeout(what + ": " + (argv.empty() ? std::string("command") : argv[0]) +
                  " did not finish within its deadline and was killed");
  }
  if (result.exit_code != 0) {
    std::string detail = summarize(result.err.empty() ? result.out : result.err);
    throw Error(ErrorKind::unavailable, what + ": " + (argv.empty() ? std::string("command") : argv[0]) +
                                            " exited with status " + std::to_string(result.exit_code) +
                                            (detail.empty() ? "" : ": " + detail));
  }
  return result.out;
}

}  // namespace holdfast
