#include "storage_view.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <holdfast/error.hpp>

#include "nfs_metadata.hpp"

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

std::map<std::string, std::string> NfsStorage::records() const {
  std::map<std::string, std::string> out;
  const std::string dir = m_root + "/.holdfast/volumes";
  for (const auto& file : entries_of(dir)) {
    const std::string name = nfs::ExportLayout::name_of_record(file);
    if (name.empty()) {
      continue;
    }
    std::ifstream in(dir + "/" + file);
    std::stringstream text;
    text << in.rdbuf();
    try {
      out[name] = nfs::parse_metadata(text.str(), name).dir;
    } catch (const Error&) {
      out[name] = "";  // unreadable: a volume without a directory the torture can find
    }
  }
  return out;
}

std::set<std::string> NfsStorage::volumes() const {
  std::set<std::string> out;
  for (const auto& [name, dir] : records()) {
    out.insert(name);
  }
  return out;
}

bool NfsStorage::has_data(const std::string& name) const {
  const auto all = records();
  auto it = all.find(name);
  return it != all.end() && !it->second.empty() && is_directory(m_root + "/" + it->second);
}

std::map<std::string, std::size_t> NfsStorage::leftovers(const std::set<std::string>& existing) const {
  std::set<std::string> owned;
  for (const auto& [name, dir] : records()) {
    if (existing.count(name) != 0) {
      owned.insert(dir);
    }
  }
  std::size_t orphans = 0;
  for (const auto& entry : entries_of(m_root)) {
    orphans += entry != ".holdfast" && owned.count(entry) == 0 ? 1 : 0;
  }
  return {{"orphan directories", orphans},
          {"staging entries", entries_of(m_root + "/.holdfast/tmp").size()},
          {"trash entries", entries_of(m_root + "/.holdfast/trash").size()}};
}

}  // namespace holdfast::crash
