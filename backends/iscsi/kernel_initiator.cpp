#include "kernel_initiator.hpp"

#include <algorithm>
#include <charconv>
#include <thread>

#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>

namespace holdfast::iscsi {

namespace {

// open-iscsi exit codes (iscsi_err.h) that matter here.
constexpr int k_err_sess_exists = 15;
constexpr int k_err_no_objs_found = 21;
constexpr int k_err_login_auth_failed = 24;
constexpr int k_err_fatal_login = 19;
constexpr int k_err_trans_timeout = 8;
constexpr int k_err_pdu_timeout = 11;
constexpr int k_err_access = 13;
constexpr int k_err_iscsid_notconn = 20;
constexpr int k_err_iscsid_comm = 18;

std::string trim(const std::string& s) {
  auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) {
    return {};
  }
  auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

bool starts(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

int to_int(const std::string& s) {
  int v = -1;
  auto t = trim(s);
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return ec == std::errc() ? v : -1;
}

std::string one_line(const CommandResult& r) {
  std::string text = r.err.empty() ? r.out : r.err;
  for (auto& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      c = ' ';
    }
  }
  text = trim(text);
  if (text.size() > 300) {
    text = text.substr(0, 300) + "...";
  }
  return redact(text);
}

ErrorKind login_error_kind(int code) {
  switch (code) {
    case k_err_login_auth_failed:
    case k_err_fatal_login:
    case k_err_access:
      return ErrorKind::permission;
    case k_err_trans_timeout:
    case k_err_pdu_timeout:
      return ErrorKind::timeout;
    default:
      return ErrorKind::unavailable;
  }
}

void sleep_within(Deadline deadline, std::chrono::milliseconds ms) {
  std::this_thread::sleep_for(std::min(ms, deadline.remaining()));
}

// A kernel disk name ("sdb"; at most 32 bytes, DISK_NAME_LEN). It becomes
// /dev/<disk> and /sys/block/<disk>/device/delete, so never a path.
bool is_disk_name(const std::string& name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// The kernel's iSCSI sessions are one per host, whatever the instance.
std::timed_mutex& session_mutex() {
  static std::timed_mutex mutex;
  return mutex;
}

}  // namespace

std::vector<KernelSession> parse_sessions(const std::string& text) {
  // iscsiadm prints the portal lines only when the portal changes: a second
  // session to the same target and portal (another iface: a second holdfastd
  // on this host, or the operator's own) follows with just an empty line. So
  // a session starts at "Current Portal:" or, without one, at the next
  // "Iface Name:" (printed once per session at -P 1 and above).
  std::vector<KernelSession> out;
  std::string target;
  std::string portal;  // the last persistent portal printed
  int current_lun = -1;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = trim(text.substr(start, end - start));
    start = end + 1;
    if (starts(line, "Target: ")) {
      std::string rest = line.substr(8);
      target = rest.substr(0, rest.find(' '));
      portal.clear();
    } else if (starts(line, "Current Portal: ")) {
      KernelSession s;
      s.target = target;
      out.push_back(s);
      current_lun = -1;
    } else if (starts(line, "Iface Name: ") && !out.empty() && !out.back().iface.empty()) {
      KernelSession s;  // the next session on the same portal
      s.target = target;
      s.portal = portal;
      s.iface = line.substr(12);
      out.push_back(s);
      current_lun = -1;
    } else if (out.empty()) {
      continue;
    } else if (starts(line, "Persistent Portal: ")) {
      std::string p = line.substr(19);
      portal = p.substr(0, p.rfind(','));
      out.back().portal = portal;
    } else if (starts(line, "Iface Name: ")) {
      out.back().iface = line.substr(12);
    } else if (starts(line, "SID: ")) {
      out.back().sid = to_int(line.substr(5));
    } else if (starts(line, "Host Number: ")) {
      std::string rest = line.substr(13);
      out.back().host = to_int(rest.substr(0, rest.find_first_of(" \t")));
    } else if (starts(line, "scsi") && line.find(" Lun: ") != std::string::npos) {
      current_lun = to_int(line.substr(line.find(" Lun: ") + 6));
    } else if (starts(line, "Attached scsi disk ") && current_lun >= 0) {
      std::string rest = line.substr(19);
      std::string disk = rest.substr(0, rest.find_first_of(" \t"));
      if (is_disk_name(disk)) {
        out.back().disks[current_lun] = disk;
      }
    }
  }
  return out;
}

KernelInitiator::KernelInitiator(const IscsiConfig& config, CommandRunner& runner, DeviceOps& devices)
    : m_config(config), m_runner(runner), m_devices(devices) {}

std::vector<std::string> KernelInitiator::node_argv(const std::string& target, const Portal& portal) const {
  return {"iscsiadm", "-m", "node", "-T", target, "-p", portal.text(), "-I", m_config.iface};
}

std::vector<KernelSession> KernelInitiator::sessions(Deadline deadline) {
  CommandResult r = m_runner.run({"iscsiadm", "-m", "session", "-P", "3"}, deadline);
  if (r.timed_out) {
    throw timeout("iscsiadm -m session did not finish within its deadline");
  }
  if (r.exit_code == k_err_no_objs_found) {
    return {};
  }
  if (r.exit_code != 0) {
    throw unavailable("listing iSCSI sessions: iscsiadm exited with status " + std::to_string(r.exit_code) +
                      ": " + one_line(r));
  }
  return parse_sessions(r.out);
}

std::vector<KernelSession> KernelInitiator::our_sessions(const std::string& target, Deadline deadline) {
  std::vector<KernelSession> out;
  for (auto& s : sessions(deadline)) {
    if (s.target == target && s.iface == m_config.iface) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

void KernelInitiator::ensure_iface(Deadline deadline) {
  if (m_iface_ready) {
    return;
  }
  CommandResult show = m_runner.run({"iscsiadm", "-m", "iface", "-I", m_config.iface}, deadline);
  if (show.timed_out) {
    throw timeout("iscsiadm -m iface did not finish within its deadline");
  }
  if (show.exit_code != 0) {
    run_checked(m_runner, {"iscsiadm", "-m", "iface", "-I", m_config.iface, "-o", "new"}, deadline,
                "creating iSCSI interface record \"" + m_config.iface + "\"");
  }
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"iface.transport_name", "tcp"}, {"iface.initiatorname", m_config.initiator_name}}) {
    run_checked(m_runner,
                {"iscsiadm", "-m", "iface", "-I", m_config.iface, "-o", "update", "-n", name, "-v", value},
                deadline, "setting " + name + " of iSCSI interface \"" + m_config.iface + "\"");
  }
  m_iface_ready = true;
}

void KernelInitiator::update_node(const std::string& target, const Portal& portal, const std::string& name,
                                  const std::string& value, Deadline deadline) {
  auto argv = node_argv(target, portal);
  argv.insert(argv.end(), {"-o", "update", "-n", name, "-v", value});
  run_checked(m_runner, argv, deadline,
              "setting " + name + " of the iSCSI node " + target + " " + portal.text());
}

void KernelInitiator::setup_node(const std::string& target, const Portal& portal, Deadline deadline) {
  auto argv = node_argv(target, portal);
  argv.insert(argv.end(), {"-o", "new"});
  run_checked(m_runner, argv, deadline, "creating the iSCSI node record " + target + " " + portal.text());
  update_node(target, portal, "node.startup", "manual", deadline);
  update_node(target, portal, "node.session.scan", "manual", deadline);
  if (m_config.multipath == MultipathMode::on) {
    // Fail I/O over to the other paths quickly instead of queueing 120 s.
    update_node(target, portal, "node.session.timeo.replacement_timeout", "15", deadline);
  }
  if (m_config.chap.enabled()) {
    update_node(target, portal, "node.session.auth.authmethod", "CHAP", deadline);
    update_node(target, portal, "node.session.auth.username", m_config.chap.username, deadline);
    update_node(target, portal, "node.session.auth.password", m_config.chap.secret, deadline);
    if (m_config.chap.mutual()) {
      update_node(target, portal, "node.session.auth.username_in", m_config.chap.mutual_username, deadline);
      update_node(target, portal, "node.session.auth.password_in", m_config.chap.mutual_secret, deadline);
    }
  } else {
    update_node(target, portal, "node.session.auth.authmethod", "None", deadline);
  }
}

void KernelInitiator::login(const std::string& target, const Portal& portal, Deadline deadline) {
  auto argv = node_argv(target, portal);
  argv.push_back("--login");
  CommandResult r = m_runner.run(argv, deadline);
  if (r.timed_out) {
    throw timeout("iSCSI login to " + target + " via " + portal.text() +
                  " did not finish within its deadline");
  }
  if (r.exit_code == 0 || r.exit_code == k_err_sess_exists) {
    return;
  }
  std::string hint;
  if (r.exit_code == k_err_iscsid_notconn || r.exit_code == k_err_iscsid_comm) {
    hint = " (is iscsid running?)";
  } else if (r.exit_code == k_err_login_auth_failed) {
    hint = " (CHAP refused: check chap.username and the secret files)";
  }
  throw Error(login_error_kind(r.exit_code), "iSCSI login to " + target + " via " + portal.text() +
                                                 ": iscsiadm exited with status " +
                                                 std::to_string(r.exit_code) + hint + ": " + one_line(r));
}

std::string KernelInitiator::disk_of(int host, int lun) {
  std::string dir =
      "/sys/class/scsi_device/" + std::to_string(host) + ":0:0:" + std::to_string(lun) + "/device/block";
  auto names = m_devices.list(dir);
  return names.empty() ? std::string() : names.front();
}

std::string KernelInitiator::holder_of(const std::string& disk) {
  for (const auto& h : m_devices.list("/sys/block/" + disk + "/holders")) {
    if (starts(h, "dm-")) {
      return h;
    }
  }
  return {};
}

AttachedLun KernelInitiator::attach(const std::string& target, int lun, std::uint64_t key,
                                    Deadline deadline) {
  std::unique_lock lock(session_mutex(), std::defer_lock);
  if (!lock.try_lock_until(deadline.when())) {
    throw timeout("another iSCSI attach or detach on this host did not finish within this call's deadline");
  }
  ensure_iface(deadline);
  auto existing = our_sessions(target, deadline);
  std::string login_errors;
  std::optional<Error> first_error;
  int logged_in = 0;
  for (const auto& portal : m_config.portals) {
    bool have = std::any_of(existing.begin(), existing.end(),
                            [&](const KernelSession& s) { return s.portal == portal.text(); });
    try {
      if (!have) {
        setup_node(target, portal, deadline);
        login(target, portal, deadline);
      }
      ++logged_in;
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::timeout && deadline.expired()) {
        throw;
      }
      if (!first_error) {
        first_error = e;
      }
      spdlog::warn("iscsi {}: {}", m_config.instance, e.what());
    }
    if (m_config.multipath == MultipathMode::off && logged_in > 0) {
      break;  // one path is all a single-path attach needs; later portals are fail-over
    }
  }
  if (logged_in == 0) {
    throw *first_error;
  }

  auto listed = sessions(deadline);
  std::vector<KernelSession> ours;
  std::string seen;
  for (const auto& s : listed) {
    seen += (seen.empty() ? "" : "; ") + s.target + " via " + s.portal + " iface " + s.iface;
    if (s.target == target && s.iface == m_config.iface) {
      ours.push_back(s);
    }
  }
  if (ours.empty()) {
    throw unavailable("iscsiadm reported a login to " + target + " but no session through interface \"" +
                      m_config.iface + "\" exists (sessions: " + (seen.empty() ? "none" : seen) + ")");
  }
  if (m_config.multipath == MultipathMode::off && ours.size() > 1) {
    ours.resize(1);
  }
  std::string lun_text = std::to_string(lun);
  auto scan = [&](const KernelSession& s) {
    m_devices.write("/sys/class/scsi_host/host" + std::to_string(s.host) + "/scan", "0 0 " + lun_text);
  };
  for (const auto& s : ours) {
    if (s.host < 0) {
      throw unavailable("iSCSI session " + std::to_string(s.sid) + " to " + target + " has no SCSI host yet");
    }
    scan(s);
  }
  AttachedLun out;
  auto started = Deadline::Clock::now();
  auto last_scan = started;
  while (true) {
    out.paths.clear();
    for (const auto& s : ours) {
      std::string disk = disk_of(s.host, lun);
      if (!disk.empty() && m_devices.exists("/dev/" + disk)) {
        out.paths.push_back(disk);
      }
    }
    if (out.paths.size() == ours.size()) {
      break;
    }
    if (deadline.expired()) {
      throw timeout("LUN " + lun_text + " of " + target + " did not appear as a block device (" +
                    std::to_string(out.paths.size()) + " of " + std::to_string(ours.size()) +
                    " paths) within the deadline");
    }
    if (Deadline::Clock::now() - last_scan > std::chrono::seconds(2)) {
      for (const auto& s : ours) {
        scan(s);  // the first scan can race the session coming up: ask again
      }
      last_scan = Deadline::Clock::now();
    }
    sleep_within(deadline, std::chrono::milliseconds(100));
  }

  if (m_config.multipath == MultipathMode::on) {
    while (true) {
      std::string dm = holder_of(out.paths.front());
      bool all = !dm.empty() && std::all_of(out.paths.begin(), out.paths.end(),
                                            [&](const std::string& p) { return holder_of(p) == dm; });
      if (all) {
        std::string name = m_devices.read("/sys/block/" + dm + "/dm/name");
        if (!name.empty() && m_devices.exists("/dev/mapper/" + name)) {
          out.multipath = dm;
          out.device = "/dev/mapper/" + name;
          break;
        }
      }
      if (deadline.expired()) {
        std::string list;
        for (const auto& p : out.paths) {
          list += (list.empty() ? "" : ", ") + p;
        }
        throw timeout("no multipath map over " + list +
                      " appeared within the deadline (is multipathd running, "
                      "and does its configuration accept these paths?)");
      }
      sleep_within(deadline, std::chrono::milliseconds(100));
    }
  } else {
    out.device = "/dev/" + out.paths.front();
  }
  for (const auto& p : out.paths) {
    m_devices.register_key("/dev/" + p, key, deadline);
  }
  return out;
}

AttachedLun KernelInitiator::find(const std::string& target, int lun, Deadline deadline) {
  AttachedLun out;
  for (const auto& s : our_sessions(target, deadline)) {
    auto it = s.disks.find(lun);
    if (it != s.disks.end()) {
      out.paths.push_back(it->second);
    }
  }
  if (!out.paths.empty()) {
    out.multipath = holder_of(out.paths.front());
    if (!out.multipath.empty()) {
      std::string name = m_devices.read("/sys/block/" + out.multipath + "/dm/name");
      out.device = "/dev/mapper/" + name;
    } else {
      out.device = "/dev/" + out.paths.front();
    }
  }
  return out;
}

void KernelInitiator::detach(const std::string& target, int lun, Deadline deadline) {
  std::unique_lock lock(session_mutex(), std::defer_lock);
  if (!lock.try_lock_until(deadline.when())) {
    throw timeout("another iSCSI attach or detach on this host did not finish within this call's deadline");
  }
  AttachedLun attached = find(target, lun, deadline);
  if (!attached.multipath.empty()) {
    std::string name = attached.device.substr(std::string("/dev/mapper/").size());
    run_checked(m_runner, {"multipath", "-f", name}, deadline, "flushing multipath map " + name);
  }
  for (const auto& p : attached.paths) {
    std::string dev = "/dev/" + p;
    CommandResult flush = m_runner.run({"blockdev", "--flushbufs", dev}, deadline);
    if (flush.exit_code != 0) {
      spdlog::warn("iscsi {}: blockdev --flushbufs {} failed: {}", m_config.instance, dev, one_line(flush));
    }
    // The path stays registered while the kernel deletes the device (its
    // final SYNCHRONIZE CACHE must not meet a reservation conflict); the
    // control plane's release drops every registration of this host's key.
    m_devices.write("/sys/block/" + p + "/device/delete", "1");
  }
  for (const auto& p : attached.paths) {
    while (m_devices.exists("/sys/block/" + p)) {
      if (deadline.expired()) {
        throw timeout("SCSI device " + p + " was not removed within the deadline");
      }
      sleep_within(deadline, std::chrono::milliseconds(50));
    }
  }
  for (const auto& s : our_sessions(target, deadline)) {
    if (!s.disks.empty()) {
      continue;  // other volumes (or other users) still use this session
    }
    Portal portal;
    try {
      portal = parse_portal(s.portal);
    } catch (const Error&) {
      continue;
    }
    auto argv = node_argv(target, portal);
    argv.push_back("--logout");
    CommandResult r = m_runner.run(argv, deadline);
    if (r.timed_out) {
      throw timeout("iSCSI logout from " + target + " via " + s.portal +
                    " did not finish within its deadline");
    }
    if (r.exit_code != 0 && r.exit_code != k_err_no_objs_found) {
      throw unavailable("iSCSI logout from " + target + " via " + s.portal +
                        ": iscsiadm exited with status " + std::to_string(r.exit_code) + ": " + one_line(r));
    }
    // The node record holds the CHAP secret: do not leave it behind.
    auto del = node_argv(target, portal);
    del.insert(del.end(), {"-o", "delete"});
    CommandResult d = m_runner.run(del, deadline);
    if (d.exit_code != 0 && d.exit_code != k_err_no_objs_found) {
      spdlog::warn("iscsi {}: deleting node record {} {}: {}", m_config.instance, target, s.portal,
                   one_line(d));
    }
  }
}

}  // namespace holdfast::iscsi
