#include "iscsi_config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

namespace holdfast::iscsi {

namespace {

constexpr int k_max_lun = 16383;
constexpr std::size_t k_max_secret_file = 4096;

std::string trim(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

bool parse_int(std::string_view text, long long& value) {
  if (text.empty()) {
    return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// Reads a small local file (a secret or initiatorname.iscsi). Secret files
// must not be readable by "other": a CHAP secret in a world-readable file is
// a configuration mistake worth refusing rather than logging about.
std::string read_small_file(const std::string& path, bool secret) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    throw from_errno("cannot open " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw from_errno("cannot stat " + path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    throw invalid_argument(path + " is not a regular file");
  }
  if (secret && (st.st_mode & S_IRWXO) != 0) {
    char mode[8];
    auto r = std::to_chars(mode, mode + sizeof mode, st.st_mode & 07777, 8);
    throw invalid_argument(path + " is accessible by other users (mode 0" + std::string(mode, r.ptr) +
                           "); chmod o-rwx it");
  }
  if (st.st_size > static_cast<off_t>(k_max_secret_file)) {
    throw invalid_argument(path + " is larger than " + std::to_string(k_max_secret_file) + " bytes");
  }
  std::string out = read_bounded(fd, k_max_secret_file + 1, "cannot read " + path);
  return out;
}

std::string read_secret(ConfigReader& chap, const std::string& key) {
  auto path = chap.string(key);
  if (!path) {
    return {};
  }
  std::string value;
  try {
    value = trim(read_small_file(*path, true));
  } catch (const Error& e) {
    chap.fail(key, e.what());
  }
  if (value.empty()) {
    chap.fail(key, *path + " is empty");
  }
  if (value.size() > 255 || value.find('\0') != std::string::npos || value.find('\n') != std::string::npos) {
    chap.fail(key, *path + " must hold one line of at most 255 bytes");
  }
  register_secret(value);
  return value;
}

void validate_chap_user(ConfigReader& chap, const std::string& key, const std::string& value) {
  if (value.empty() || value.size() > 255) {
    chap.fail(key, "must be 1 to 255 bytes");
  }
  for (char c : value) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == '_' || c == ':' || c == '@';
    if (!ok) {
      chap.fail(key, "may contain only letters, digits and . - _ : @");
    }
  }
}

std::chrono::milliseconds parse_duration_text(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  long long value = 0;
  if (digits == 0 || digits > 9 || !parse_int(text.substr(0, digits), value)) {
    throw invalid_argument("expected a duration such as 90s, 1500ms, 5m or 1h, got \"" + std::string(text) +
                           "\"");
  }
  std::string_view unit = text.substr(digits);
  long long ms = 0;
  if (unit == "ms") {
    ms = value;
  } else if (unit == "s" || unit.empty()) {
    ms = value * 1000;
  } else if (unit == "m") {
    ms = value * 60'000;
  } else if (unit == "h") {
    ms = value * 3'600'000;
  } else {
    throw invalid_argument("expected a duration such as 90s, 1500ms, 5m or 1h, got \"" + std::string(text) +
                           "\"");
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

std::string Portal::text() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string TakeoverPolicy::text() const {
  switch (mode) {
    case TakeoverMode::never:
      return "never";
    case TakeoverMode::operator_:
      return "operator";
    case TakeoverMode::grace: {
      auto ms = grace.count();
      if (ms % 1000 == 0) {
        return "grace:" + std::to_string(ms / 1000) + "s";
      }
      return "grace:" + std::to_string(ms) + "ms";
    }
  }
  return "never";
}

std::vector<int> parse_lun_pool(std::string_view text) {
  std::set<int> seen;
  std::vector<int> out;
  std::string t = trim(text);
  if (t.empty()) {
    throw invalid_argument("the LUN pool is empty (expected numbers and ranges such as \"1-8,10\")");
  }
  std::string_view rest(t);
  while (true) {
    auto comma = rest.find(',');
    std::string item = trim(rest.substr(0, comma));
    auto dash = item.find('-');
    long long lo = 0;
    long long hi = 0;
    bool ok = dash == std::string::npos ? parse_int(item, lo) && (hi = lo, true)
                                        : parse_int(trim(std::string_view(item).substr(0, dash)), lo) &&
                                              parse_int(trim(std::string_view(item).substr(dash + 1)), hi);
    if (!ok) {
      throw invalid_argument("bad LUN pool item \"" + item + "\" (expected N or N-M)");
    }
    if (lo < 0 || hi > k_max_lun || lo > hi) {
      throw invalid_argument("bad LUN pool item \"" + item + "\" (LUNs are 0.." + std::to_string(k_max_lun) +
                             ", ranges ascending)");
    }
    if (hi - lo > k_max_lun) {
      throw invalid_argument("bad LUN pool item \"" + item + "\"");
    }
    for (long long lun = lo; lun <= hi; ++lun) {
      if (!seen.insert(static_cast<int>(lun)).second) {
        throw invalid_argument("LUN " + std::to_string(lun) + " appears twice in the pool");
      }
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest = rest.substr(comma + 1);
  }
  out.assign(seen.begin(), seen.end());
  return out;
}

Portal parse_portal(std::string_view text) {
  Portal p;
  std::string t(text);
  std::string port_text;
  if (!t.empty() && t[0] == '[') {
    auto close = t.find(']');
    if (close == std::string::npos) {
      throw invalid_argument("bad portal \"" + t + "\": missing ']'");
    }
    p.host = t.substr(1, close - 1);
    std::string after = t.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        throw invalid_argument("bad portal \"" + t + "\"");
      }
      port_text = after.substr(1);
    }
    for (char c : p.host) {
      bool ok =
          (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
      if (!ok) {
        throw invalid_argument("bad portal \"" + t + "\": not an IPv6 address");
      }
    }
  } else {
    auto colon = t.find(':');
    if (colon != std::string::npos && t.find(':', colon + 1) != std::string::npos) {
      throw invalid_argument("bad portal \"" + t + "\": write IPv6 addresses as [addr]:port");
    }
    p.host = t.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = t.substr(colon + 1);
    }
    for (char c : p.host) {
      bool ok =
          (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-';
      if (!ok) {
        throw invalid_argument("bad portal \"" + t +
                               "\": host may contain only letters, digits, '.' and '-'");
      }
    }
  }
  if (p.host.empty() || p.host.size() > 253) {
    throw invalid_argument("bad portal \"" + t + "\": empty or too long host");
  }
  if (!port_text.empty() || (t.size() > 0 && t.back() == ':')) {
    long long port = 0;
    if (!parse_int(port_text, port) || port < 1 || port > 65535) {
      throw invalid_argument("bad portal \"" + t + "\": port must be 1..65535");
    }
    p.port = static_cast<std::uint16_t>(port);
  }
  return p;
}

std::uint64_t parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  long long value = 0;
  if (digits == 0 || digits > 18 || !parse_int(text.substr(0, digits), value) || value <= 0) {
    throw invalid_argument("bad size \"" + std::string(text) +
                           "\" (expected a positive number of bytes or K/M/G/T, such as 10G)");
  }
  std::string unit(text.substr(digits));
  for (auto& c : unit) {
    c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  int shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else {
    static const std::string k_letters = "KMGTP";
    auto pos = k_letters.find(unit[0]);
    std::string tail = unit.substr(1);
    if (pos == std::string::npos || !(tail.empty() || tail == "B" || tail == "I" || tail == "IB")) {
      throw invalid_argument("bad size \"" + std::string(text) +
                             "\" (expected a positive number of bytes or K/M/G/T, such as 10G)");
    }
    shift = 10 * static_cast<int>(pos + 1);
  }
  auto v = static_cast<std::uint64_t>(value);
  if (shift > 0 && v > (UINT64_MAX >> shift)) {
    throw invalid_argument("size \"" + std::string(text) + "\" is too large");
  }
  return v << shift;
}

TakeoverPolicy parse_takeover(std::string_view text) {
  TakeoverPolicy p;
  if (text == "never") {
    p.mode = TakeoverMode::never;
  } else if (text == "operator") {
    p.mode = TakeoverMode::operator_;
  } else if (text.substr(0, 6) == "grace:") {
    p.mode = TakeoverMode::grace;
    p.grace = parse_duration_text(text.substr(6));
    if (p.grace < std::chrono::seconds(10) || p.grace > std::chrono::hours(24 * 7)) {
      throw invalid_argument("takeover grace must be between 10s and 168h, got \"" +
                             std::string(text.substr(6)) + "\"");
    }
  } else {
    throw invalid_argument("\"" + std::string(text) + "\" is not one of: never, operator, grace:<duration>");
  }
  return p;
}

void validate_iscsi_name(std::string_view name, std::string_view what) {
  bool prefix = name.substr(0, 4) == "iqn." || name.substr(0, 4) == "eui." || name.substr(0, 4) == "naa.";
  if (!prefix || name.size() < 5 || name.size() > 223) {
    throw invalid_argument(std::string(what) + " \"" + std::string(name.substr(0, 80)) +
                           "\" is not an iSCSI name (iqn.*, eui.* or naa.*, at most 223 bytes)");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':';
    if (!ok) {
      throw invalid_argument(std::string(what) + " \"" + std::string(name.substr(0, 80)) +
                             "\" may contain only lowercase letters, digits, '.', '-' and ':'");
    }
  }
}

std::string generated_initiator_name(std::string_view host_id) {
  std::string out = "iqn.2024-01.io.holdfast:";
  for (char c : host_id) {
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-') {
      out += c;
    } else {
      out += '-';
    }
  }
  if (out.size() > 223) {
    out.resize(223);
  }
  return out;
}

std::string parse_initiator_file(std::string_view text) {
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string line = trim(text.substr(start, end - start));
    start = end + 1;
    if (line.rfind("InitiatorName=", 0) == 0) {
      return trim(line.substr(14));
    }
  }
  return {};
}

IscsiConfig parse_config(ConfigReader& reader, const BackendEnv& env) {
  IscsiConfig c;
  c.instance = env.instance_name;
  c.host_id = env.host_id;
  (void)reader.string("type");  // consumed by the daemon; accepted here

  auto portal_texts = reader.string_list("portals");
  if (portal_texts.empty()) {
    reader.fail("portals", "is required (a list of host:port)");
  }
  for (const auto& text : portal_texts) {
    Portal p;
    try {
      p = parse_portal(text);
    } catch (const Error& e) {
      reader.fail("portals", e.what());
    }
    if (std::find(c.portals.begin(), c.portals.end(), p) != c.portals.end()) {
      reader.fail("portals", "portal " + p.text() + " is listed twice");
    }
    c.portals.push_back(p);
  }

  c.target = reader.string("target", "");
  if (!c.target.empty()) {
    try {
      validate_iscsi_name(c.target, "target");
    } catch (const Error& e) {
      reader.fail("target", e.what());
    }
  }

  auto initiator = reader.string("initiator_name");
  std::string initiator_file = reader.string("initiator_name_file", "/etc/iscsi/initiatorname.iscsi");
  if (initiator) {
    c.initiator_name = *initiator;
  } else if (::access(initiator_file.c_str(), F_OK) == 0) {
    try {
      c.initiator_name = parse_initiator_file(read_small_file(initiator_file, false));
    } catch (const Error& e) {
      reader.fail("initiator_name_file", e.what());
    }
    if (c.initiator_name.empty()) {
      reader.fail("initiator_name_file", initiator_file + " has no InitiatorName= line");
    }
  } else {
    c.initiator_name = generated_initiator_name(env.host_id);
  }
  try {
    validate_iscsi_name(c.initiator_name, "initiator name");
  } catch (const Error& e) {
    reader.fail(initiator ? "initiator_name" : "initiator_name_file", e.what());
  }

  if (reader.has("chap")) {
    ConfigReader chap = reader.child("chap");
    c.chap.username = chap.required_string("username");
    validate_chap_user(chap, "username", c.chap.username);
    if (!chap.has("secret_file")) {
      chap.fail("secret_file", "is required with username (the CHAP secret is read from this file)");
    }
    c.chap.secret = read_secret(chap, "secret_file");
    auto mutual_user = chap.string("mutual_username");
    if (mutual_user) {
      c.chap.mutual_username = *mutual_user;
      validate_chap_user(chap, "mutual_username", c.chap.mutual_username);
      if (!chap.has("mutual_secret_file")) {
        chap.fail("mutual_secret_file", "is required with mutual_username");
      }
      c.chap.mutual_secret = read_secret(chap, "mutual_secret_file");
      if (c.chap.mutual_secret == c.chap.secret) {
        chap.fail("mutual_secret_file", "the mutual secret must differ from the initiator secret (RFC 7143)");
      }
    } else if (chap.has("mutual_secret_file")) {
      chap.fail("mutual_secret_file", "needs mutual_username");
    }
    chap.finish();
  }

  auto luns = reader.string("luns");
  if (!luns) {
    reader.fail("luns", "is required (the LUN pool, such as \"1-8,10\")");
  }
  try {
    c.luns = parse_lun_pool(*luns);
  } catch (const Error& e) {
    reader.fail("luns", e.what());
  }

  c.fs = reader.choice("fs", "ext4", {"ext4", "xfs"});
  c.mkfs_options = reader.string_list("mkfs_options");
  for (const auto& opt : c.mkfs_options) {
    if (opt.empty() || opt.find('\0') != std::string::npos || opt.size() > 256) {
      reader.fail("mkfs_options", "items must be non-empty arguments of at most 256 bytes");
    }
  }
  c.mount_options = reader.string("mount_options", "");
  for (char ch : c.mount_options) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == ',' ||
              ch == '=' || ch == '_' || ch == '-' || ch == '.' || ch == ':' || ch == '/';
    if (!ok) {
      reader.fail("mount_options", "may contain only letters, digits and , = _ - . : /");
    }
  }

  try {
    c.takeover = parse_takeover(reader.string("takeover", "never"));
  } catch (const Error& e) {
    reader.fail("takeover", e.what());
  }
  c.remove =
      reader.choice("remove", "keep", {"keep", "wipe"}) == "wipe" ? RemovePolicy::wipe : RemovePolicy::keep;
  std::string mp = reader.choice("multipath", "auto", {"auto", "on", "off"});
  if (mp == "on" || (mp == "auto" && c.portals.size() > 1)) {
    c.multipath = MultipathMode::on;
  }
  if (mp == "on" && c.portals.size() < 2) {
    reader.fail("multipath", "\"on\" needs at least two portals");
  }
  c.io_timeout = reader.duration("io_timeout", std::chrono::seconds(10), std::chrono::milliseconds(500),
                                 std::chrono::minutes(2));
  c.iface = reader.string("iface", "holdfast");
  if (c.iface.empty() || c.iface.size() > 64 ||
      c.iface.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
          std::string::npos) {
    reader.fail("iface", "must be 1 to 64 letters, digits, '_', '.' or '-'");
  }
  c.takeover_dir = env.state_dir + "/backends/" + env.instance_name + "/takeover";
  reader.finish();
  return c;
}

}  // namespace holdfast::iscsi
