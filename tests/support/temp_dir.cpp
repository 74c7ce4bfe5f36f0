#include "support/temp_dir.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <holdfast/host.hpp>

namespace holdfast::test {

namespace {

// Mount points at or below `dir`, deepest first. A test that fails between
// mount and unmount must not make the destructor delete through a bind
// mount into a real directory, so they are detached before deleting.
std::vector<std::string> mounts_under(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> out;
  for (const auto& e : parse_mountinfo(text.str())) {
    if (e.mount_point == dir || e.mount_point.rfind(dir + "/", 0) == 0) {
      out.push_back(e.mount_point);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = "/tmp/holdfast-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  }
  m_path = pattern;
}

TempDir::~TempDir() {
  for (const auto& mp : mounts_under(m_path)) {
    ::umount2(mp.c_str(), MNT_DETACH);
  }
  std::error_code ec;
  // remove_all removes symlinks themselves, never their targets.
  std::filesystem::remove_all(m_path, ec);
}

std::string TempDir::sub(std::string_view name) const {
  std::string out = m_path;
  out += '/';
  out += name;
  return out;
}

}  // namespace holdfast::test
