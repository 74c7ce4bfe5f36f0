#include <holdfast/config_reader.hpp>

#include <algorithm>
#include <charconv>

#include <holdfast/error.hpp>

namespace holdfast {

ConfigReader::ConfigReader(YAML::Node node, std::string file, std::string path)
    : m_node(std::move(node)), m_file(std::move(file)), m_path(std::move(path)) {
  if (m_node && !m_node.IsNull() && !m_node.IsMap()) {
    throw invalid_argument(where(m_node) + (m_path.empty() ? "top level" : m_path) + ": expected a mapping");
  }
}

namespace {

// YAML allows any node as a key; config keys must be plain scalars (a
// `? [a, b]: 1` key used to escape as YAML::TypedBadConversion).
// `location` is "<file>:<line>: <path>" for the message.
std::string key_text(const YAML::Node& key, const std::string& location) {
  if (!key.IsScalar()) {
    throw invalid_argument(location + ": keys must be plain strings");
  }
  return key.Scalar();
}

}  // namespace

std::string ConfigReader::where(const YAML::Node& node) const {
  std::string prefix = m_file.empty() ? "config" : m_file;
  if (node && node.Mark().line >= 0) {
    prefix += ":" + std::to_string(node.Mark().line + 1);
  }
  return prefix + ": ";
}

void ConfigReader::fail(const std::string& key, const std::string& message) const {
  YAML::Node at = m_node;
  std::string name = m_path;
  if (!key.empty()) {
    if (m_node && m_node.IsMap() && m_node[key]) {
      at = m_node[key];
    }
    name = m_path.empty() ? key : m_path + "." + key;
  }
  throw invalid_argument(where(at) + (name.empty() ? "top level" : name) + ": " + message);
}

YAML::Node ConfigReader::lookup(const std::string& key) {
  m_seen.insert(key);
  // "Absent" must be an *undefined* node: a default-constructed YAML::Node
  // is a defined null and tests true, which made every getter on an absent
  // key of an absent section throw "expected a string".
  YAML::Node absent(YAML::NodeType::Undefined);
  if (!m_node || !m_node.IsMap()) {
    return absent;
  }
  // The const operator[] never inserts into the caller's document.
  const YAML::Node& map = m_node;
  YAML::Node value = map[key];
  if (!value || value.IsNull()) {
    return absent;  // "key:" with no value reads as absent
  }
  return value;
}

bool ConfigReader::has(const std::string& key) const {
  return m_node && m_node.IsMap() && m_node[key] && !m_node[key].IsNull();
}

std::vector<std::string> ConfigReader::keys() const {
  std::vector<std::string> out;
  if (m_node && m_node.IsMap()) {
    for (const auto& kv : m_node) {
      out.push_back(key_text(kv.first, where(kv.first) + (m_path.empty() ? "top level" : m_path)));
    }
  }
  return out;
}

std::optional<std::string> ConfigReader::string(const std::string& key) {
  YAML::Node v = lookup(key);
  if (!v) {
    return std::nullopt;
  }
  if (!v.IsScalar()) {
    fail(key, "expected a string");
  }
  return v.Scalar();
}

std::string ConfigReader::string(const std::string& key, const std::string& fallback) {
  return string(key).value_or(fallback);
}

std::string ConfigReader::required_string(const std::string& key) {
  auto v = string(key);
  if (!v || v->empty()) {
    fail(key, "is required");
  }
  return *v;
}

std::optional<long long> ConfigReader::integer(const std::string& key, long long min, long long max) {
  auto text = string(key);
  if (!text) {
    return std::nullopt;
  }
  long long value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) {
    fail(key, "expected an integer, got \"" + *text + "\"");
  }
  if (value < min || value > max) {
    fail(key, std::to_string(value) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value;
}

long long ConfigReader::integer(const std::string& key, long long fallback, long long min, long long max) {
  return integer(key, min, max).value_or(fallback);
}

bool ConfigReader::boolean(const std::string& key, bool fallback) {
  auto text = string(key);
  if (!text) {
    return fallback;
  }
  std::string lower;
  for (char c : *text) {
    lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  if (lower == "true" || lower == "yes" || lower == "on") {
    return true;
  }
  if (lower == "false" || lower == "no" || lower == "off") {
    return false;
  }
  fail(key, "expected true or false, got \"" + *text + "\"");
}

std::chrono::milliseconds ConfigReader::duration(const std::string& key, std::chrono::milliseconds fallback,
                                                 std::chrono::milliseconds min, std::chrono::milliseconds max) {
  auto text = string(key);
  if (!text) {
    return fallback;
  }
  long long value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  std::string unit(end, static_cast<const char*>(text->data() + text->size()));
  long long ms = 0;
  // The bound keeps value * 60'000 far from overflow; no duration in a
  // config is anywhere near a year.
  if (ec != std::errc() || value < 0 || value > 1'000'000'000LL) {
    fail(key, "expected a duration such as 30s, 1500ms or 2m, got \"" + *text + "\"");
  }
  if (unit.empty() || unit == "s") {
    ms = value * 1000;
  } else if (unit == "ms") {
    ms = value;
  } else if (unit == "m") {
    ms = value * 60'000;
  } else {
    fail(key, "expected a duration such as 30s, 1500ms or 2m, got \"" + *text + "\"");
  }
  std::chrono::milliseconds result(ms);
  if (result < min || result > max) {
    fail(key, "\"" + *text + "\" is out of range [" + std::to_string(min.count()) + "ms, " +
                  std::to_string(max.count()) + "ms]");
  }
  return result;
}

std::string ConfigReader::choice(const std::string& key, const std::string& fallback,
                                 const std::vector<std::string>& choices) {
  auto text = string(key);
  if (!text) {
    return fallback;
  }
  if (std::find(choices.begin(), choices.end(), *text) == choices.end()) {
    std::string list;
    for (const auto& c : choices) {
      list += (list.empty() ? "" : ", ") + c;
    }
    fail(key, "\"" + *text + "\" is not one of: " + list);
  }
  return *text;
}

std::vector<std::string> ConfigReader::string_list(const std::string& key) {
  YAML::Node v = lookup(key);
  std::vector<std::string> out;
  if (!v) {
    return out;
  }
  if (v.IsScalar()) {
    out.push_back(v.Scalar());
    return out;
  }
  if (!v.IsSequence()) {
    fail(key, "expected a list of strings");
  }
  for (const auto& item : v) {
    if (!item.IsScalar()) {
      fail(key, "expected a list of strings");
    }
    out.push_back(item.Scalar());
  }
  return out;
}

std::optional<unsigned> ConfigReader::mode(const std::string& key) {
  auto text = string(key);
  if (!text) {
    return std::nullopt;
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value, 8);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size() || value > 07777) {
    fail(key, "expected an octal file mode such as 0750, got \"" + *text + "\"");
  }
  return value;
}

ConfigReader ConfigReader::child(const std::string& key) {
  YAML::Node v = lookup(key);
  if (v && !v.IsMap()) {
    fail(key, "expected a mapping");
  }
  return ConfigReader(v, m_file, m_path.empty() ? key : m_path + "." + key);
}

void ConfigReader::finish() const {
  if (!m_node || !m_node.IsMap()) {
    return;
  }
  std::set<std::string> present;
  for (const auto& kv : m_node) {
    std::string name = m_path.empty() ? "top level" : m_path;
    auto key = key_text(kv.first, where(kv.first) + name);
    // yaml-cpp keeps both copies of a repeated key and lookups see only the
    // first, so a repeated key would silently ignore the later value.
    if (!present.insert(key).second) {
      throw invalid_argument(where(kv.first) + name + ": key \"" + key + "\" is repeated");
    }
    if (m_seen.count(key) == 0) {
      std::string accepted;
      for (const auto& s : m_seen) {
        accepted += (accepted.empty() ? "" : ", ") + s;
      }
      throw invalid_argument(where(kv.first) + name + ": unknown key \"" + key + "\"" +
                             (accepted.empty() ? "" : " (accepted: " + accepted + ")"));
    }
  }
}

}  // namespace holdfast
