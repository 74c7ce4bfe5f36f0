// Fuzz target: the readers of what open-iscsi prints, which the iSCSI
// backend acts on (logout, device delete) and the doctor reports from:
// parse_sessions (backends/iscsi/kernel_initiator.cpp, `iscsiadm -m session
// -P 3`), parse_iscsi_sessions (src/admin/doctor_checks.cpp, `iscsiadm -m
// session`, the orphan-session check) and parse_initiator_file
// (backends/iscsi/iscsi_config.cpp, /etc/iscsi/initiatorname.iscsi).
//
// The input is fed as text to all three. The same bytes also describe a
// list of sessions (decode_sessions below: target, portal, iface, SID, host,
// LUNs and disks, from small realistic sets), which is printed the way
// iscsiadm prints it (portal lines only when the portal changes, so two
// sessions on one portal are told apart by their "Iface Name:" alone) and
// must parse back to exactly those sessions: the bug class of a second
// session on one portal merged into the first.
//
// Contract checked (kernel_initiator.hpp, doctor_checks.hpp,
// iscsi_config.hpp): parse_sessions never throws; no session appears
// without a line that starts one; every disk is a block device name (it
// becomes /sys/block/<disk>/device/delete and /dev/<disk>); printed sessions
// parse back unchanged, in both formats. parse_iscsi_sessions throws
// nothing but holdfast::Error and returns ids, portals and targets that are
// single non-empty words. parse_initiator_file returns one trimmed line's
// value, and a name validate_iscsi_name accepts has only the characters it
// documents.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <holdfast/error.hpp>

#include "admin/doctor_checks.hpp"
#include "fuzz_check.hpp"
#include "iscsi_config.hpp"
#include "kernel_initiator.hpp"

using holdfast::fuzz::fuzz_require;
namespace iscsi = holdfast::iscsi;

namespace {

std::string trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) {
    return {};
  }
  return std::string(s.substr(first, s.find_last_not_of(" \t\r") - first + 1));
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool is_single_word(const std::string& s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  });
}

// What the kernel names a SCSI disk (sdb, sdaa): a path component, never a path.
bool is_device_name(const std::string& s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// ---------------------------------------------------------------- raw text

void check_kernel_sessions(const std::string& text) {
  std::vector<iscsi::KernelSession> sessions;
  try {
    sessions = iscsi::parse_sessions(text);
  } catch (...) {
    fuzz_require(false, "parse_sessions threw (documented never to throw)");
  }
  std::size_t starts = 0;
  for (const auto& line : lines_of(text)) {
    const std::string t = trimmed(line);
    starts += t.rfind("Current Portal: ", 0) == 0 || t.rfind("Iface Name: ", 0) == 0 ? 1 : 0;
  }
  fuzz_require(sessions.size() <= starts, "more sessions than lines that start one");
  for (const auto& s : sessions) {
    for (const auto& [lun, disk] : s.disks) {
      fuzz_require(lun >= 0, "negative LUN");
      fuzz_require(is_device_name(disk), "a disk that is not a block device name");
    }
  }
}

void check_doctor_sessions(const std::string& text) {
  std::vector<holdfast::IscsiSession> sessions;
  try {
    sessions = holdfast::parse_iscsi_sessions(text);
  } catch (const holdfast::Error&) {
    return;
  }
  fuzz_require(sessions.size() <= lines_of(text).size(), "more sessions than lines");
  for (const auto& s : sessions) {
    fuzz_require(is_single_word(s.id) && is_single_word(s.portal) && is_single_word(s.target),
                 "session id, portal or target is not one non-empty word");
  }
}

void check_initiator_file(std::string_view text) {
  std::string name;
  try {
    name = iscsi::parse_initiator_file(text);
  } catch (const holdfast::Error&) {
    return;
  }
  if (name.empty()) {
    return;
  }
  fuzz_require(name.find('\n') == std::string::npos, "initiator name spans lines");
  fuzz_require(trimmed(name) == name && name.back() != '\n', "initiator name not trimmed");
  fuzz_require(text.find("InitiatorName=") != std::string_view::npos && text.find(name) != std::string_view::npos,
               "initiator name not from an InitiatorName= line");
  try {
    iscsi::validate_iscsi_name(name, "initiator name");
  } catch (const holdfast::Error&) {
    return;
  }
  fuzz_require(name.size() <= 223, "iSCSI name longer than 223 bytes accepted");
  fuzz_require(std::all_of(name.begin(), name.end(),
                           [](char c) {
                             return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                                    c == ':';
                           }),
               "iSCSI name with a character outside [a-z0-9.:-] accepted");
}

// ------------------------------------------------- sessions printed, parsed

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
  unsigned next() { return m_pos < m_size ? m_data[m_pos++] : 0U; }

 private:
  const std::uint8_t* m_data;
  std::size_t m_size;
  std::size_t m_pos = 0;
};

struct ModelSession {
  std::string target;
  std::string portal;  // as KernelSession::portal: "addr:port", IPv6 in brackets
  std::string iface;
  int sid = 0;
  int host = 0;
  std::map<int, std::optional<std::string>> luns;  // LUN -> disk (none: no disk, such as LUN 0)
};

constexpr const char* k_targets[] = {"iqn.2024-01.io.holdfast:e2e", "iqn.2024-01.io.holdfast:pool",
                                     "iqn.2003-01.org.example:disk1"};
constexpr const char* k_portals[] = {"127.0.0.1:3260", "127.0.0.1:3261", "10.0.0.2:3260", "[fd00::1]:3260"};
constexpr const char* k_ifaces[] = {"holdfast", "holdfast-b", "default"};
constexpr std::size_t k_max_sessions = 6;

std::vector<ModelSession> decode_sessions(ByteReader& in) {
  std::vector<ModelSession> out(1 + in.next() % k_max_sessions);
  for (auto& s : out) {
    s.target = k_targets[in.next() % std::size(k_targets)];
    s.portal = k_portals[in.next() % std::size(k_portals)];
    s.iface = k_ifaces[in.next() % std::size(k_ifaces)];
    s.sid = 1 + static_cast<int>(in.next());
    s.host = static_cast<int>(in.next());
    for (unsigned n = in.next() % 4; n > 0; --n) {
      const unsigned lun = in.next() % 32;
      const unsigned disk = in.next();
      std::optional<std::string> name;
      if (disk % 4 != 0) {
        name = std::string("sd") + static_cast<char>('a' + disk % 26) + (disk % 3 == 0 ? "a" : "");
      }
      s.luns[static_cast<int>(lun)] = name;
    }
  }
  return out;
}

// `iscsiadm -m session -P 3`, as open-iscsi 2.1 prints it.
std::string print_p3(const std::vector<ModelSession>& sessions) {
  std::string out = "iSCSI Transport Class version 2.0-870\nversion 2.1.8\n";
  const ModelSession* prev = nullptr;
  for (const auto& s : sessions) {
    if (prev == nullptr || prev->target != s.target) {
      out += "Target: " + s.target + " (non-flash)\n";
      prev = nullptr;
    }
    if (prev == nullptr || prev->portal != s.portal) {
      out += "\tCurrent Portal: " + s.portal + ",1\n\tPersistent Portal: " + s.portal + ",1\n";
    } else {
      out += "\n";
    }
    out += "\t\t**********\n\t\tInterface:\n\t\t**********\n\t\tIface Name: " + s.iface +
           "\n\t\tIface Transport: tcp\n\t\tIface Initiatorname: iqn.2024-01.io.holdfast:host-a\n"
           "\t\tIface IPaddress: 127.0.0.1\n\t\tIface HWaddress: default\n\t\tIface Netdev: default\n"
           "\t\tSID: " + std::to_string(s.sid) +
           "\n\t\tiSCSI Connection State: LOGGED IN\n\t\tiSCSI Session State: LOGGED_IN\n"
           "\t\tInternal iscsid Session State: NO CHANGE\n"
           "\t\t*********\n\t\tTimeouts:\n\t\t*********\n\t\tRecovery Timeout: 15\n"
           "\t\t*****\n\t\tCHAP:\n\t\t*****\n\t\tusername: hf\n\t\tpassword: ********\n"
           "\t\t************************\n\t\tNegotiated iSCSI params:\n\t\t************************\n"
           "\t\tHeaderDigest: None\n\t\tMaxRecvDataSegmentLength: 262144\n"
           "\t\t************************\n\t\tAttached SCSI devices:\n\t\t************************\n"
           "\t\tHost Number: " + std::to_string(s.host) + "\tState: running\n";
    for (const auto& [lun, disk] : s.luns) {
      out += "\t\tscsi" + std::to_string(s.host) + " Channel 00 Id 0 Lun: " + std::to_string(lun) + "\n";
      if (disk) {
        out += "\t\t\tAttached scsi disk " + *disk + "\t\tState: running\n";
      }
    }
    prev = &s;
  }
  return out;
}

// `iscsiadm -m session`.
std::string print_flat(const std::vector<ModelSession>& sessions) {
  std::string out;
  for (const auto& s : sessions) {
    out += "tcp: [" + std::to_string(s.sid) + "] " + s.portal + ",1 " + s.target + " (non-flash)\n";
  }
  return out;
}

void check_printed_sessions(ByteReader& in) {
  const std::vector<ModelSession> model = decode_sessions(in);

  const auto parsed = iscsi::parse_sessions(print_p3(model));
  fuzz_require(parsed.size() == model.size(), "printed sessions parse to another number of sessions");
  for (std::size_t i = 0; i < model.size(); ++i) {
    const auto& m = model[i];
    const auto& p = parsed[i];
    fuzz_require(p.target == m.target && p.portal == m.portal && p.iface == m.iface,
                 "a printed session parses with another target, portal or iface");
    fuzz_require(p.sid == m.sid && p.host == m.host, "a printed session parses with another SID or host");
    std::map<int, std::string> disks;
    for (const auto& [lun, disk] : m.luns) {
      if (disk) {
        disks[lun] = *disk;
      }
    }
    fuzz_require(p.disks == disks, "a printed session parses with other disks");
  }

  const auto flat = holdfast::parse_iscsi_sessions(print_flat(model));
  fuzz_require(flat.size() == model.size(), "`iscsiadm -m session` lines parse to another number of sessions");
  for (std::size_t i = 0; i < model.size(); ++i) {
    fuzz_require(flat[i].id == std::to_string(model[i].sid) && flat[i].portal == model[i].portal + ",1" &&
                     flat[i].target == model[i].target,
                 "an `iscsiadm -m session` line parses to another session");
  }

  const std::string file =
      "## DO NOT EDIT OR REMOVE THIS FILE!\n## If you remove this file, the iSCSI daemon will not start.\n"
      "InitiatorName=" + model.front().target + "\n";
  fuzz_require(iscsi::parse_initiator_file(file) == model.front().target, "initiatorname.iscsi misread");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(holdfast::fuzz::as_text(data, size));
  check_kernel_sessions(text);
  check_doctor_sessions(text);
  check_initiator_file(text);

  ByteReader in(data, size);
  check_printed_sessions(in);
  return 0;
}
