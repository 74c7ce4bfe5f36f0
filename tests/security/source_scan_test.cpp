// No external command may run through a shell: every program holdfast runs
// goes through CommandRunner as an argv vector (include/holdfast/host.hpp),
// so nothing a user writes in a name or an option can become shell syntax.
// This scan fails the build's unit layer when production code under src/,
// backends/ or include/ calls system() or popen(), or names a shell as a
// program ("/bin/sh", "sh -c", execl("/bin/sh", ...)). Comments are ignored
// (they may explain the rule); tests (*_test.cpp) are not production code.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// `text` with // and /* */ comments blanked out (string literals kept, so
// a shell named in a string is still found; a "//" inside a string is kept).
std::string without_comments(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  enum { code, line_comment, block_comment, string_literal, char_literal } state = code;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    switch (state) {
      case code:
        if (c == '/' && next == '/') {
          state = line_comment;
          ++i;
          continue;
        }
        if (c == '/' && next == '*') {
          state = block_comment;
          ++i;
          continue;
        }
        if (c == '"') {
          state = string_literal;
        } else if (c == '\'') {
          state = char_literal;
        }
        out += c;
        break;
      case line_comment:
        if (c == '\n') {
          state = code;
          out += c;
        }
        break;
      case block_comment:
        if (c == '*' && next == '/') {
          state = code;
          ++i;
        } else if (c == '\n') {
          out += c;
        }
        break;
      case string_literal:
      case char_literal:
        out += c;
        if (c == '\\' && next != '\0') {
          out += next;
          ++i;
        } else if ((state == string_literal && c == '"') || (state == char_literal && c == '\'')) {
          state = code;
        }
        break;
    }
  }
  return out;
}

struct Finding {
  std::string where;
  std::string what;
};

// The forbidden constructs found in one file's text.
std::vector<Finding> scan_text(const std::string& name, const std::string& text) {
  static const std::vector<std::pair<std::regex, std::string>> rules = {
      {std::regex(R"((^|[^A-Za-z0-9_])system\s*\()"), "system()"},
      {std::regex(R"((^|[^A-Za-z0-9_])popen\s*\()"), "popen()"},
      {std::regex(R"(\"/(usr/)?bin/(ba|da|z|k)?sh\")"), "a shell as a program"},
      {std::regex(R"(\"(ba|da|z|k)?sh -c)"), "sh -c"},
      {std::regex(R"(\"(ba|da|z|k)?sh\"\s*,\s*\"-c\")"), "sh -c as argv"},
      {std::regex(R"((^|[^A-Za-z0-9_])exec[lv]p?e?\s*\(\s*\"/(usr/)?bin/(ba|da|z|k)?sh)"), "exec of a shell"},
      {std::regex(R"((^|[^A-Za-z0-9_])wordexp\s*\()"), "wordexp()"},
  };
  std::vector<Finding> out;
  std::istringstream lines(without_comments(text));
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    for (const auto& [pattern, what] : rules) {
      if (std::regex_search(line, pattern)) {
        out.push_back({name + ":" + std::to_string(number), what + ": " + line});
      }
    }
  }
  return out;
}

bool is_production_source(const fs::path& path) {
  const std::string ext = path.extension().string();
  const std::string name = path.filename().string();
  if (ext != ".cpp" && ext != ".hpp" && ext != ".h" && ext != ".cc") {
    return false;
  }
  return name.size() < 9 || name.substr(name.size() - 9) != "_test.cpp";
}

}  // namespace

TEST_CASE("the scanner finds every forbidden construct and ignores comments", "[unit][security]") {
  const std::vector<std::string> bad = {
      "int r = system(\"ls\");",
      "std::system(cmd.c_str());",
      "::popen(cmd, \"r\");",
      "argv = {\"/bin/sh\", \"-c\", script};",
      "argv = {\"/usr/bin/bash\", script};",
      "run(\"sh -c 'mount -a'\");",
      "argv = {\"sh\", \"-c\", script};",
      "execl(\"/bin/sh\", \"sh\", \"-c\", cmd, nullptr);",
      "wordexp(pattern, &result, 0);",
  };
  for (const auto& line : bad) {
    INFO(line);
    CHECK(scan_text("x.cpp", line).size() >= 1);
  }
  const std::vector<std::string> fine = {
      "// never system() or popen(): see host.hpp",
      "/* \"/bin/sh\" is never run */ int x = 1;",
      "void grow_filesystem(int);",
      "file_system(x); my_popen(y);",
      "auto s = \"a // not a comment\"; int y = 2;",
      "runner.run({\"mount\", \"-t\", \"nfs\", source, target}, deadline);",
  };
  for (const auto& line : fine) {
    INFO(line);
    CHECK(scan_text("x.cpp", line).empty());
  }
}

TEST_CASE("no production source runs a command through a shell", "[unit][security]") {
  const fs::path root = HOLDFAST_SOURCE_DIR;
  std::vector<Finding> findings;
  std::size_t files = 0;
  for (const char* top : {"src", "backends", "include"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      if (!entry.is_regular_file() || !is_production_source(entry.path())) {
        continue;
      }
      ++files;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      auto found = scan_text(fs::relative(entry.path(), root).string(), text.str());
      findings.insert(findings.end(), found.begin(), found.end());
    }
  }
  CHECK(files > 50);  // the walk did find the sources
  for (const auto& f : findings) {
    UNSCOPED_INFO(f.where << ": " << f.what);
  }
  CHECK(findings.empty());
}
