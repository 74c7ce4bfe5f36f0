#include "block_filesystem.hpp"

#include <sys/mount.h>

#include <map>

#include <holdfast/error.hpp>

namespace holdfast::iscsi {

ProbeResult probe_device(CommandRunner& runner, const std::string& device, Deadline deadline) {
  CommandResult r = runner.run({"blkid", "-p", "-o", "export", device}, deadline);
  if (r.timed_out) {
    throw timeout("blkid " + device + " did not finish within its deadline");
  }
  ProbeResult out;
  if (r.exit_code == 2) {
    return out;  // nothing detected
  }
  if (r.exit_code != 0) {
    std::string detail = r.err.empty() ? r.out : r.err;
    // Exit 8: ambivalent (several signatures). Anything else: could not
    // read. Either way: not provably empty, so never formatted.
    throw unavailable("blkid " + device + " exited with status " + std::to_string(r.exit_code) +
                      (r.exit_code == 8 ? " (ambivalent: several signatures)" : "") +
                      (detail.empty() ? "" : ": " + redact(detail.substr(0, 300))));
  }
  std::map<std::string, std::string> kv;
  std::size_t start = 0;
  while (start < r.out.size()) {
    auto end = r.out.find('\n', start);
    if (end == std::string::npos) {
      end = r.out.size();
    }
    std::string line = r.out.substr(start, end - start);
    start = end + 1;
    auto eq = line.find('=');
    if (eq != std::string::npos) {
      kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  if (auto it = kv.find("TYPE"); it != kv.end() && !it->second.empty()) {
    out.fs_type = it->second;
    out.content = it->second;
  } else if (auto pt = kv.find("PTTYPE"); pt != kv.end()) {
    out.content = "partition table " + pt->second;
  } else {
    out.content = "an unrecognised signature";
  }
  return out;
}

std::vector<std::string> mkfs_argv(const std::string& fs, const std::string& device, std::uint64_t fs_bytes,
                                   const std::vector<std::string>& extra) {
  std::vector<std::string> argv;
  if (fs == "ext4") {
    // -F: the target is a whole disk, which mke2fs would otherwise ask
    // about; the caller has proven with blkid that it carries nothing.
    // Lazy init + nodiscard keep a large LUN's mkfs to seconds: inode tables
    // and the journal are zeroed later by the kernel, and no TRIM of the
    // whole LUN is sent.
    argv = {"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(device);
    argv.push_back(std::to_string(fs_bytes / 1024) + "k");
  } else if (fs == "xfs") {
    // -K: no discard. No -f: mkfs.xfs refuses a device that has a signature,
    // a second guard behind the blkid check.
    argv = {"mkfs.xfs", "-q", "-K", "-d", "size=" + std::to_string(fs_bytes)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(device);
  } else {
    throw invalid_argument("unsupported filesystem \"" + fs + "\"");
  }
  return argv;
}

MountFlags parse_mount_options(const std::string& options) {
  static const std::map<std::string, std::pair<unsigned long, bool>> k_flags = {
      {"ro", {MS_RDONLY, true}},         {"rw", {MS_RDONLY, false}},
      {"noatime", {MS_NOATIME, true}},   {"nodiratime", {MS_NODIRATIME, true}},
      {"relatime", {MS_RELATIME, true}}, {"strictatime", {MS_STRICTATIME, true}},
      {"lazytime", {MS_LAZYTIME, true}}, {"nodev", {MS_NODEV, true}},
      {"nosuid", {MS_NOSUID, true}},     {"noexec", {MS_NOEXEC, true}},
      {"sync", {MS_SYNCHRONOUS, true}},  {"dirsync", {MS_DIRSYNC, true}},
      {"defaults", {0, true}},
  };
  MountFlags out;
  std::size_t start = 0;
  while (start <= options.size()) {
    auto end = options.find(',', start);
    if (end == std::string::npos) {
      end = options.size();
    }
    std::string item = options.substr(start, end - start);
    start = end + 1;
    if (item.empty()) {
      if (end == options.size()) {
        break;
      }
      continue;
    }
    auto it = k_flags.find(item);
    if (it != k_flags.end()) {
      if (it->second.second) {
        out.flags |= it->second.first;
      } else {
        out.flags &= ~it->second.first;
      }
    } else {
      out.data += (out.data.empty() ? "" : ",") + item;
    }
    if (end == options.size()) {
      break;
    }
  }
  return out;
}

}  // namespace holdfast::iscsi
