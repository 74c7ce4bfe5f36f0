#include "admin/prometheus_check.hpp"

#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>
#include <stdexcept>

namespace holdfast::test {

namespace {

bool valid_name(const std::string& name, bool allow_colon) {
  if (name.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return true;
}

double parse_value(const std::string& text) {
  if (text == "+Inf") {
    return INFINITY;
  }
  if (text == "-Inf") {
    return -INFINITY;
  }
  if (text == "NaN") {
    return NAN;
  }
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || text.find_first_of("xXpP") != std::string::npos) {
    throw std::runtime_error("not a number: \"" + text + "\"");
  }
  return v;
}

// Parses `name{a="x",b="y"} value` (no timestamp: holdfast sends none).
PromSample parse_sample(const std::string& line) {
  PromSample s;
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') {
    ++i;
  }
  s.name = line.substr(0, i);
  if (!valid_name(s.name, true)) {
    throw std::runtime_error("invalid metric name \"" + s.name + "\"");
  }
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      std::size_t eq = line.find('=', i);
      if (eq == std::string::npos) {
        throw std::runtime_error("label without '='");
      }
      std::string label = line.substr(i, eq - i);
      if (!valid_name(label, false) || label.starts_with("__")) {
        throw std::runtime_error("invalid label name \"" + label + "\"");
      }
      i = eq + 1;
      if (i >= line.size() || line[i] != '"') {
        throw std::runtime_error("label value of \"" + label + "\" is not quoted");
      }
      ++i;
      std::string value;
      for (;;) {
        if (i >= line.size()) {
          throw std::runtime_error("unterminated label value");
        }
        char c = line[i++];
        if (c == '"') {
          break;
        }
        if (c == '\\') {
          if (i >= line.size()) {
            throw std::runtime_error("dangling escape");
          }
          char e = line[i++];
          if (e == 'n') {
            value += '\n';
          } else if (e == '\\' || e == '"') {
            value += e;
          } else {
            throw std::runtime_error(std::string("invalid escape \\") + e);
          }
        } else {
          value += c;
        }
      }
      if (!s.labels.emplace(label, value).second) {
        throw std::runtime_error("label \"" + label + "\" repeated");
      }
      if (i < line.size() && line[i] == ',') {
        ++i;
      } else if (i >= line.size() || line[i] != '}') {
        throw std::runtime_error("expected ',' or '}' after a label");
      }
    }
    if (i >= line.size()) {
      throw std::runtime_error("unterminated label set");
    }
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') {
    throw std::runtime_error("expected one space before the value");
  }
  std::string value = line.substr(i + 1);
  if (value.find(' ') != std::string::npos) {
    throw std::runtime_error("unexpected text after the value (timestamps are not sent)");
  }
  s.value = parse_value(value);
  return s;
}

// The family a sample name belongs to, given the family's type.
bool belongs(const std::string& sample, const PromFamily& family) {
  if (family.type == "histogram") {
    return sample == family.name + "_bucket" || sample == family.name + "_sum" || sample == family.name + "_count";
  }
  return sample == family.name;
}

void check_histogram(const PromFamily& family) {
  struct Series {
    std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
    bool have_sum = false;
    bool have_count = false;
    double count = 0;
  };
  std::map<std::map<std::string, std::string>, Series> series;
  for (const auto& s : family.samples) {
    auto labels = s.labels;
    if (s.name == family.name + "_bucket") {
      auto le = labels.find("le");
      if (le == labels.end()) {
        throw std::runtime_error(family.name + ": a bucket without le");
      }
      double bound = parse_value(le->second);
      labels.erase(le);
      series[labels].buckets.emplace_back(bound, s.value);
    } else if (s.name == family.name + "_sum") {
      series[labels].have_sum = true;
    } else {
      series[labels].have_count = true;
      series[labels].count = s.value;
    }
  }
  for (const auto& [labels, h] : series) {
    if (h.buckets.empty() || !h.have_sum || !h.have_count) {
      throw std::runtime_error(family.name + ": a series lacks buckets, _sum or _count");
    }
    for (std::size_t i = 1; i < h.buckets.size(); ++i) {
      if (!(h.buckets[i].first > h.buckets[i - 1].first)) {
        throw std::runtime_error(family.name + ": le bounds not increasing");
      }
      if (h.buckets[i].second < h.buckets[i - 1].second) {
        throw std::runtime_error(family.name + ": bucket counts decrease");
      }
    }
    if (!std::isinf(h.buckets.back().first)) {
      throw std::runtime_error(family.name + ": the last bucket is not le=\"+Inf\"");
    }
    if (h.buckets.back().second != h.count) {
      throw std::runtime_error(family.name + ": +Inf bucket != _count");
    }
  }
}

}  // namespace

std::map<std::string, PromFamily> parse_prometheus(const std::string& text) {
  if (text.empty() || text.back() != '\n') {
    throw std::runtime_error("the exposition must end with a newline");
  }
  std::map<std::string, PromFamily> families;
  std::set<std::string> closed;  // families whose samples ended (must not reappear)
  std::set<std::string> series;
  PromFamily* current = nullptr;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    try {
      if (line.empty()) {
        throw std::runtime_error("empty line");
      }
      if (line[0] == '#') {
        std::istringstream words(line);
        std::string hash;
        std::string keyword;
        std::string name;
        words >> hash >> keyword >> name;
        if (hash != "#" || (keyword != "HELP" && keyword != "TYPE") || !valid_name(name, true)) {
          throw std::runtime_error("a comment that is neither HELP nor TYPE");
        }
        std::string rest;
        std::getline(words, rest);
        if (!rest.empty() && rest[0] == ' ') {
          rest.erase(0, 1);
        }
        if (current != nullptr && current->name != name) {
          closed.insert(current->name);
        }
        if (closed.count(name) != 0) {
          throw std::runtime_error("family " + name + " is not contiguous");
        }
        PromFamily& family = families[name];
        family.name = name;
        if (keyword == "HELP") {
          if (!family.help.empty() || !family.samples.empty()) {
            throw std::runtime_error("HELP repeated or after samples");
          }
          family.help = rest;
        } else {
          static const std::set<std::string> types = {"counter", "gauge", "histogram", "summary", "untyped"};
          if (!family.type.empty() || !family.samples.empty() || types.count(rest) == 0) {
            throw std::runtime_error("TYPE repeated, after samples, or unknown: \"" + rest + "\"");
          }
          family.type = rest;
        }
        current = &family;
        continue;
      }
      PromSample sample = parse_sample(line);
      if (current == nullptr || current->type.empty() || !belongs(sample.name, *current)) {
        throw std::runtime_error("sample " + sample.name + " outside its family's TYPE block");
      }
      std::string key = sample.name;
      for (const auto& [k, v] : sample.labels) {
        key += "|" + k + "=" + v;
      }
      if (!series.insert(key).second) {
        throw std::runtime_error("duplicate series");
      }
      if (current->type == "counter" && !(sample.value >= 0)) {
        throw std::runtime_error("a negative counter");
      }
      current->samples.push_back(std::move(sample));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("metrics line " + std::to_string(number) + " (" + line + "): " + e.what());
    }
  }
  for (const auto& [name, family] : families) {
    if (family.type.empty() || family.help.empty()) {
      throw std::runtime_error("family " + name + " lacks HELP or TYPE");
    }
    if (family.type == "histogram") {
      check_histogram(family);
    }
  }
  return families;
}

double sample_value(const std::map<std::string, PromFamily>& families, const std::string& family,
                    const std::string& name, const std::map<std::string, std::string>& labels) {
  auto it = families.find(family);
  if (it == families.end()) {
    throw std::runtime_error("no metric family " + family);
  }
  for (const auto& s : it->second.samples) {
    if (s.name == name && s.labels == labels) {
      return s.value;
    }
  }
  throw std::runtime_error("no sample " + name + " with the given labels");
}

}  // namespace holdfast::test
