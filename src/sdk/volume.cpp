#include <holdfast/volume.hpp>

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
  std::string s(text);
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    throw invalid_argument("not an RFC 3339 time: \"" + printable(text) + "\"");
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    throw invalid_argument("not an RFC 3339 time: \"" + printable(text) + "\"");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::size_t pos = 19;
  std::chrono::nanoseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    long long scale = 100'000'000;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 0) {
        frac += std::chrono::nanoseconds((s[pos] - '0') * scale);
        scale /= 10;
      }
      ++pos;
      ++digits;
    }
    if (digits == 0) {
      throw invalid_argument("not an RFC 3339 time: \"" + printable(text) + "\"");
    }
  }
  long offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0;
    int om = 0;
    if (pos + 6 != s.size() || std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 ||
        om > 59) {
      throw invalid_argument("not an RFC 3339 time: \"" + printable(text) + "\"");
    }
    offset_seconds = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    throw invalid_argument("not an RFC 3339 time: \"" + printable(text) + "\"");
  }
  if (pos != s.size()) {
    throw invalid_argument("not an RFC 3339 time: \"" + printable(text) + "\"");
  }
  std::time_t secs = timegm(&tm) - offset_seconds;
  return std::chrono::system_clock::from_time_t(secs) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(frac);
}

}  // namespace holdfast
