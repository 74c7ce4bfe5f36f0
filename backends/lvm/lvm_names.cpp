#include "lvm_names.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>

#include <holdfast/error.hpp>

namespace holdfast::lvm {

namespace {

// lvm2 lib/misc/lvm-string.c: names LV names may not start with...
constexpr std::array<std::string_view, 2> k_reserved_prefixes = {"pvmove", "snapshot"};
// ...and strings they may not contain (component LV suffixes and a few more;
// a superset of what lvm2 2.03 refuses, so that newer LVM refuses none of ours).
constexpr std::array<std::string_view, 18> k_reserved_strings = {
    "_cdata", "_cmeta", "_corig", "_cpool", "_cvol",    "_wcorig", "_mimage", "_mlog", "_rimage",
    "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin", "_pmspare", "_imeta", "_iorig", "_vdo"};

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '_' || c == '.' ||
         c == '-';
}

}  // namespace

std::string incomplete_tag(std::string_view token) {
  return std::string(k_incomplete_tag_prefix) + std::string(token);
}

std::string dm_escape(std::string_view name) {
  std::string out;
  for (char c : name) {
    out += c;
    if (c == '-') {
      out += '-';
    }
  }
  return out;
}

std::string volume_tag(std::string_view volume) {
  return "holdfast.volume=" + std::string(volume);
}

std::string fs_tag(std::string_view fs) {
  return std::string(k_fs_tag_prefix) + std::string(fs);
}

bool is_valid_vg_name(std::string_view name) {
  if (name.empty() || name.size() > k_max_lvm_name || name[0] == '-' || name == "." || name == "..") {
    return false;
  }
  return std::all_of(name.begin(), name.end(), is_name_char);
}

bool is_valid_lv_name(std::string_view name) {
  if (!is_valid_vg_name(name)) {
    return false;
  }
  for (auto prefix : k_reserved_prefixes) {
    if (name.substr(0, prefix.size()) == prefix) {
      return false;
    }
  }
  for (auto s : k_reserved_strings) {
    if (name.find(s) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::size_t dm_length(std::string_view name) {
  return name.size() + static_cast<std::size_t>(std::count(name.begin(), name.end(), '-'));
}

std::string name_hash(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

LvNamer::LvNamer(std::string volume_group, std::string prefix)
    : m_vg(std::move(volume_group)), m_prefix(std::move(prefix)), m_budget(0) {
  if (!is_valid_vg_name(m_vg)) {
    throw invalid_argument("volume_group \"" + m_vg +
                           "\" is not a valid LVM name (letters, digits, '+', '_', '.', '-', "
                           "not starting with '-', at most 127 characters)");
  }
  // An empty prefix would let volume names such as "snapshot1" hit LVM's
  // reserved prefixes, and makes holdfast's LVs hard to tell apart.
  if (m_prefix.empty() || std::isalnum(static_cast<unsigned char>(m_prefix[0])) == 0 ||
      m_prefix.size() > 32 || !is_valid_lv_name(m_prefix + "x")) {
    throw invalid_argument("lv_prefix \"" + m_prefix +
                           "\" is not usable: 1 to 32 characters, letters, digits, '+', '_', '.', "
                           "'-', starting with a letter or digit, no LVM reserved name");
  }
  // "<vg>-<lv>" must fit the device-mapper name limit, with room for the
  // prefix, a few readable characters and ".<hash>".
  std::size_t needed = dm_length(m_prefix) + 8 + 17;
  if (dm_length(m_vg) + 1 + needed > k_max_dm_name) {
    throw invalid_argument("volume_group \"" + m_vg + "\" with lv_prefix \"" + m_prefix +
                           "\" leaves too little room for LV names (device-mapper names are "
                           "limited to 127 characters): use a shorter name");
  }
  m_budget = std::min(k_max_lvm_name - m_vg.size() - 1, k_max_dm_name - dm_length(m_vg) - 1);
}

bool LvNamer::fits(std::string_view lv) const {
  return dm_length(lv) <= m_budget && is_valid_lv_name(lv);
}

std::string LvNamer::lv_name(std::string_view volume) const {
  std::string direct = m_prefix + std::string(volume);
  if (fits(direct)) {
    return direct;
  }
  std::string suffix = "." + name_hash(volume);
  std::string readable;
  for (char c : volume) {
    readable += c == '_' ? '.' : c;
  }
  std::string lv = m_prefix + readable;
  while (!lv.empty() && dm_length(lv) + suffix.size() > m_budget) {
    lv.pop_back();
  }
  lv += suffix;
  if (!fits(lv)) {
    throw invalid_argument("cannot build an LVM name for this volume with lv_prefix \"" + m_prefix +
                           "\"");
  }
  return lv;
}

}  // namespace holdfast::lvm
