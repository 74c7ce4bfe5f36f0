#include <holdfast/volume.hpp>

#include <chrono>
#include <ctime>
#include <cstdio>

#include <holdfast/error.hpp>

namespace holdfast {

namespace {

bool is_name_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return !first && (c == '_' || c == '.' || c == '-');
}

// Shows a rejected name safely in a one-line message: printable ASCII kept,
// everything else as \xNN, cut after 64 characters.
std::string printable(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size() && i < 64; ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (name.size() > 64) {
    out += "...";
  }
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// True when `text` from `pos` on has a digit wherever `pattern` has 'd' and
// the pattern's own character elsewhere. (sscanf's %2d would also take a
// sign or a space: " 1", "-5".)
bool matches(std::string_view text, std::size_t pos, std::string_view pattern) {
  if (text.size() < pos + pattern.size()) {
    return false;
  }
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = text[pos + i];
    if (pattern[i] == 'd' ? !is_digit(c) : c != pattern[i]) {
      return false;
    }
  }
  return true;
}

// The decimal number of `length` digits at `pos` (checked by matches()).
int number(std::string_view text, std::size_t pos, std::size_t length) {
  int value = 0;
  for (std::size_t i = pos; i < pos + length; ++i) {
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

void validate_volume_name(std::string_view name) {
  if (name.empty()) {
    throw invalid_argument("volume name is empty");
  }
  if (name.size() > k_max_volume_name) {
    throw invalid_argument("volume name \"" + printable(name) + "\" is " + std::to_string(name.size()) +
                           " characters long; the limit is " + std::to_string(k_max_volume_name));
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0)) {
      throw invalid_argument("volume name \"" + printable(name) +
                             "\" is not allowed: use letters, digits, '_', '.' and '-', "
                             "starting with a letter or digit");
    }
  }
}

std::string format_rfc3339(SystemTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

SystemTime parse_rfc3339(std::string_view text) {
  auto bad = [&] { return invalid_argument("not an RFC 3339 time: \"" + printable(text) + "\""); };
  if (!matches(text, 0, "dddd-dd-ddTdd:dd:dd")) {
    throw bad();
  }
  std::tm tm{};
  tm.tm_year = number(text, 0, 4);
  tm.tm_mon = number(text, 5, 2);
  tm.tm_mday = number(text, 8, 2);
  tm.tm_hour = number(text, 11, 2);
  tm.tm_min = number(text, 14, 2);
  tm.tm_sec = number(text, 17, 2);
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    throw bad();
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::size_t pos = 19;
  std::chrono::nanoseconds frac{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    long long scale = 100'000'000;
    std::size_t digits = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (scale > 0) {
        frac += std::chrono::nanoseconds((text[pos] - '0') * scale);
        scale /= 10;
      }
      ++pos;
      ++digits;
    }
    if (digits == 0) {
      throw bad();
    }
  }
  long offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    if (pos + 6 != text.size() || !matches(text, pos + 1, "dd:dd")) {
      throw bad();
    }
    int oh = number(text, pos + 1, 2);
    int om = number(text, pos + 4, 2);
    if (oh > 23 || om > 59) {
      throw bad();
    }
    offset_seconds = (oh * 3600 + om * 60) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    throw bad();
  }
  if (pos != text.size()) {
    throw bad();
  }
  // system_clock counts nanoseconds in 64 bits: about the years 1678 to
  // 2261. Converting a time outside would overflow (undefined behaviour,
  // found with the state file's fuzz target); such a time is not a real one.
  constexpr auto k_limit = std::chrono::duration_cast<std::chrono::seconds>(SystemTime::duration::max()).count() - 1;
  std::time_t secs = timegm(&tm) - offset_seconds;
  if (secs <= -k_limit || secs >= k_limit) {
    throw invalid_argument("time out of range (years 1678 to 2261): \"" + printable(text) + "\"");
  }
  return std::chrono::system_clock::from_time_t(secs) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(frac);
}

}  // namespace holdfast
