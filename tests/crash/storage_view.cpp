#include "storage_view.hpp"

#include <sys/stat.h>

#include <filesystem>

namespace holdfast::crash {

namespace {

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::set<std::string> entries_of(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.insert(it->path().filename().string());
  }
  return out;
}

std::set<std::string> LocalStorage::volumes() const {
  return entries_of(m_base);
}

bool LocalStorage::has_data(const std::string& name) const {
  return is_directory(m_base + "/" + name);
}

std::map<std::string, std::size_t> LocalStorage::leftovers(const std::set<std::string>& existing) const {
  std::size_t orphans = 0;
  for (const auto& name : volumes()) {
    orphans += existing.count(name) == 0 ? 1 : 0;
  }
  return {{"orphan directories", orphans}};
}

std::set<std::string> NfsStorage::volumes() const {
  std::set<std::string> out;
  const std::string suffix = ".json";
  for (const auto& file : entries_of(m_root + "/.holdfast/volumes")) {
    if (file.size() > suffix.size() && file.ends_with(suffix) && file.front() != '.') {
      out.insert(file.substr(0, file.size() - suffix.size()));
    }
  }
  return out;
}

bool NfsStorage::has_data(const std::string& name) const {
  return is_directory(m_root + "/" + name);
}

std::map<std::string, std::size_t> NfsStorage::leftovers(const std::set<std::string>& existing) const {
  std::size_t orphans = 0;
  for (const auto& name : entries_of(m_root)) {
    orphans += name != ".holdfast" && existing.count(name) == 0 ? 1 : 0;
  }
  return {{"orphan directories", orphans},
          {"staging entries", entries_of(m_root + "/.holdfast/tmp").size()},
          {"trash entries", entries_of(m_root + "/.holdfast/trash").size()}};
}

}  // namespace holdfast::crash
