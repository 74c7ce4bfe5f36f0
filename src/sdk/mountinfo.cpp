#include <holdfast/host.hpp>

#include <string>
#include <vector>

namespace holdfast {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo (octal).
std::string unescape(const std::string& field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    bool octal = field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3' &&
                 field[i + 2] >= '0' && field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7';
    if (octal) {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

bool parse_int(const std::string& s, int& value) {
  if (s.empty() || s.size() > 9) {
    return false;
  }
  value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + (c - '0');
  }
  return true;
}

bool parse_line(const std::string& line, MountEntry& e) {
  // Fields are separated by exactly one space (the kernel escapes spaces
  // inside fields). Splitting on runs of whitespace would lose an empty
  // field, such as the source of `mount -t tmpfs "" /x`, and shift the rest.
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    auto space = line.find(' ', start);
    fields.push_back(line.substr(start, space == std::string::npos ? std::string::npos : space - start));
    if (space == std::string::npos) {
      break;
    }
    start = space + 1;
  }
  for (std::size_t i = 0; i < 6 && i < fields.size(); ++i) {
    if (fields[i].empty()) {
      return false;
    }
  }
  // 0:id 1:parent 2:maj:min 3:root 4:mount point 5:options [optional...] "-" fstype source super
  if (fields.size() < 9 || fields[4].front() != '/') {
    return false;
  }
  std::size_t sep = 6;
  while (sep < fields.size() && fields[sep] != "-") {
    ++sep;
  }
  if (sep + 2 >= fields.size() || fields[sep + 1].empty()) {
    return false;
  }
  int major = 0;
  int minor = 0;
  auto colon = fields[2].find(':');
  if (colon == std::string::npos || !parse_int(fields[0], e.mount_id) || !parse_int(fields[1], e.parent_id) ||
      !parse_int(fields[2].substr(0, colon), major) || !parse_int(fields[2].substr(colon + 1), minor)) {
    return false;
  }
  e.major = static_cast<unsigned>(major);
  e.minor = static_cast<unsigned>(minor);
  e.root = unescape(fields[3]);
  e.mount_point = unescape(fields[4]);
  e.mount_options = fields[5];
  e.fs_type = unescape(fields[sep + 1]);
  e.source = unescape(fields[sep + 2]);
  e.super_options = sep + 3 < fields.size() ? fields[sep + 3] : std::string();
  return true;
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(const std::string& text, std::size_t* skipped) {
  std::vector<MountEntry> entries;
  std::size_t bad = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) {
      continue;
    }
    MountEntry e;
    if (parse_line(line, e)) {
      entries.push_back(std::move(e));
    } else {
      ++bad;
    }
  }
  if (skipped != nullptr) {
    *skipped = bad;
  }
  return entries;
}

}  // namespace holdfast
