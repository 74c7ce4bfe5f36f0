// holdfast::ConfigReader: strict, typed reading of one YAML mapping.
//
// Every config section (the daemon's own keys, each backend's keys) is read
// through a ConfigReader, so that every config error looks the same:
//   /etc/holdfast/holdfast.yaml:12: backends.filer.server: expected a string
//   /etc/holdfast/holdfast.yaml:14: backends.filer: unknown key "sever" (accepted: server, export, ...)
// Errors are holdfast::Error of kind invalid_argument.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace holdfast {

class ConfigReader {
 public:
  // `node` must be a mapping (or null/absent, read as empty); `path` is the
  // dotted location ("backends.filer") and `file` the config file name,
  // both used in messages.
  ConfigReader(YAML::Node node, std::string file, std::string path);

  // Typed getters. The optional form returns nullopt when the key is absent;
  // the defaulted form returns `fallback`. A present key of the wrong type
  // or out of range throws with the key's line number.
  std::optional<std::string> string(const std::string& key);
  std::string string(const std::string& key, const std::string& fallback);
  std::string required_string(const std::string& key);
  std::optional<long long> integer(const std::string& key, long long min, long long max);
  long long integer(const std::string& key, long long fallback, long long min, long long max);
  bool boolean(const std::string& key, bool fallback);
  // Durations are written "90s", "1500ms", "2m" (a bare number means seconds).
  std::chrono::milliseconds duration(const std::string& key, std::chrono::milliseconds fallback,
                                     std::chrono::milliseconds min, std::chrono::milliseconds max);
  // One of `choices`.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices);
  std::vector<std::string> string_list(const std::string& key);
  // File mode in octal ("0750" or 0750).
  std::optional<unsigned> mode(const std::string& key);
  // A nested mapping.
  ConfigReader child(const std::string& key);
  // Keys of this mapping, in file order (for maps of named things).
  std::vector<std::string> keys() const;
  bool has(const std::string& key) const;

  // Throws for the first key of the mapping that no getter asked for,
  // listing the accepted ones. Call once after reading every key.
  void finish() const;

  // An error located at `key` (or at this mapping when `key` is empty), for
  // checks the getters cannot express (cross-field rules).
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

  const std::string& file() const { return m_file; }
  const std::string& path() const { return m_path; }

 private:
  YAML::Node lookup(const std::string& key);
  std::string where(const YAML::Node& node) const;

  YAML::Node m_node;
  std::string m_file;
  std::string m_path;
  std::set<std::string> m_seen;
};

}  // namespace holdfast
