#include "support/footprint.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include <holdfast/host.hpp>

namespace holdfast::test {

namespace {

char type_of(mode_t mode) {
  if (S_ISDIR(mode)) {
    return 'd';
  }
  if (S_ISLNK(mode)) {
    return 'l';
  }
  if (S_ISREG(mode)) {
    return 'f';
  }
  if (S_ISSOCK(mode)) {
    return 's';
  }
  return '?';
}

std::string describe(const std::string& path, const std::string& shown) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return shown + " (vanished)";
  }
  // A directory's size and mtime change with its entries, which are listed
  // themselves; its identity and permissions are what matter here.
  const bool dir = S_ISDIR(st.st_mode);
  return fmt::format("{} {} {:04o} {}:{} ino={} size={} mtime={}.{:09}", shown, type_of(st.st_mode),
                     st.st_mode & 07777, st.st_uid, st.st_gid, st.st_ino, dir ? 0 : st.st_size,
                     dir ? 0 : st.st_mtim.tv_sec, dir ? 0 : st.st_mtim.tv_nsec);
}

}  // namespace

std::vector<std::string> mount_points_under(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> out;
  for (const auto& entry : parse_mountinfo(text.str())) {
    if (entry.mount_point == dir || entry.mount_point.rfind(dir + "/", 0) == 0) {
      out.push_back(entry.mount_point);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Footprint capture_footprint(const std::vector<std::string>& dirs, const std::string& mount_scope,
                            const std::vector<std::string>& ignored_prefixes) {
  auto ignored = [&](const std::filesystem::path& path) {
    const std::string name = path.filename().string();
    return std::any_of(ignored_prefixes.begin(), ignored_prefixes.end(),
                       [&](const std::string& prefix) { return name.rfind(prefix, 0) == 0; });
  };
  namespace fs = std::filesystem;
  Footprint out;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(dir, ec))) {
      out.entries.push_back(dir + " (absent)");
      continue;
    }
    out.entries.push_back(describe(dir, dir));
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ignored(it->path())) {
        continue;
      }
      const std::string path = it->path().string();
      out.entries.push_back(describe(path, path));
    }
    if (ec) {
      out.entries.push_back(dir + " (walk failed: " + ec.message() + ")");
    }
  }
  std::sort(out.entries.begin(), out.entries.end());
  out.mounts = mount_points_under(mount_scope);
  return out;
}

std::string Footprint::diff(const Footprint& after) const {
  std::string out;
  auto compare = [&](const std::vector<std::string>& a, const std::vector<std::string>& b, const char* what) {
    std::set<std::string> left(a.begin(), a.end());
    std::set<std::string> right(b.begin(), b.end());
    for (const auto& x : left) {
      if (right.count(x) == 0) {
        out += fmt::format("- {} {}\n", what, x);
      }
    }
    for (const auto& x : right) {
      if (left.count(x) == 0) {
        out += fmt::format("+ {} {}\n", what, x);
      }
    }
  };
  compare(entries, after.entries, "file");
  compare(mounts, after.mounts, "mount");
  return out;
}

}  // namespace holdfast::test
