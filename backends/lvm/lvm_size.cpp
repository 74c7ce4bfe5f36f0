#include "lvm_size.hpp"

#include <array>
#include <cctype>
#include <limits>

#include <holdfast/error.hpp>

namespace holdfast::lvm {

namespace {

constexpr std::size_t k_max_decimals = 3;

[[noreturn]] void refuse(std::string_view text, std::string_view what, std::string_view why) {
  std::string shown(text.substr(0, 40));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      c = '?';
    }
  }
  throw invalid_argument(std::string(what) + " \"" + shown + (text.size() > 40 ? "..." : "") + "\" " +
                         std::string(why) +
                         " (write a number with an optional K, M, G, T or P suffix, e.g. 500M, 10G, 1.5T)");
}

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// The multiplier of a suffix ("", "b", "k", "kb", "kib", ... case-insensitive),
// or 0 when it is not one.
std::uint64_t suffix_unit(std::string_view suffix) {
  std::string s;
  for (char c : suffix) {
    s += lower(c);
  }
  if (s.empty() || s == "b") {
    return 1;
  }
  static constexpr std::array<std::pair<char, std::uint64_t>, 5> k_units = {
      {{'k', k_kib}, {'m', k_mib}, {'g', k_gib}, {'t', k_tib}, {'p', k_pib}}};
  for (const auto& [letter, unit] : k_units) {
    if (s[0] == letter && (s.size() == 1 || s.substr(1) == "b" || s.substr(1) == "ib")) {
      return unit;
    }
  }
  return 0;
}

}  // namespace

std::uint64_t parse_size(std::string_view text, std::string_view what) {
  if (text.empty()) {
    refuse(text, what, "is empty");
  }
  std::size_t i = 0;
  std::uint64_t whole = 0;
  bool overflow = false;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
    auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (whole > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      overflow = true;
    } else {
      whole = whole * 10 + digit;
    }
    ++i;
  }
  if (i == 0) {
    refuse(text, what, "is not a size");
  }
  std::uint64_t fraction = 0;
  std::uint64_t scale = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
      if (i - start >= k_max_decimals) {
        refuse(text, what, "has more than 3 decimals");
      }
      fraction = fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
      scale *= 10;
      ++i;
    }
    if (i == start) {
      refuse(text, what, "is not a size");
    }
  }
  std::uint64_t unit = suffix_unit(text.substr(i));
  if (unit == 0) {
    refuse(text, what, "has an unknown unit");
  }
  if (unit == 1 && fraction != 0) {
    refuse(text, what, "is a fraction of a byte");
  }
  constexpr auto k_max = std::numeric_limits<std::uint64_t>::max();
  if (overflow || whole > k_max / unit) {
    refuse(text, what, "is too large");
  }
  std::uint64_t bytes = whole * unit;
  // fraction < 1000 and unit <= 2^50, so the product fits in 64 bits.
  std::uint64_t part = (fraction * unit + scale - 1) / scale;
  if (bytes > k_max - part) {
    refuse(text, what, "is too large");
  }
  return bytes + part;
}

std::string format_size(std::uint64_t bytes) {
  static constexpr std::array<std::pair<std::uint64_t, const char*>, 5> k_units = {
      {{k_pib, "PiB"}, {k_tib, "TiB"}, {k_gib, "GiB"}, {k_mib, "MiB"}, {k_kib, "KiB"}}};
  for (const auto& [unit, name] : k_units) {
    if (bytes >= unit) {
      std::uint64_t whole = bytes / unit;
      // Hundredths, rounded down; the remainder is < unit <= 2^50 so *100 fits.
      std::uint64_t hundredths = (bytes % unit) * 100 / unit;
      std::string out = std::to_string(whole);
      if (hundredths != 0) {
        out += '.';
        out += static_cast<char>('0' + hundredths / 10);
        if (hundredths % 10 != 0) {
          out += static_cast<char>('0' + hundredths % 10);
        }
      }
      return out + " " + name;
    }
  }
  return std::to_string(bytes) + " B";
}

std::uint64_t round_up(std::uint64_t value, std::uint64_t unit) {
  std::uint64_t rest = value % unit;
  if (rest == 0) {
    return value;
  }
  if (value > std::numeric_limits<std::uint64_t>::max() - (unit - rest)) {
    throw invalid_argument("size " + std::to_string(value) + " is too large");
  }
  return value + (unit - rest);
}

}  // namespace holdfast::lvm
