// Test helper: a strict parser of the Prometheus text exposition format
// (version 0.0.4), used by the admin tests to validate every line holdfast
// serves at /metrics: HELP/TYPE before a family's samples and at most once,
// metric and label names, quoted and escaped label values, numeric values,
// contiguous families, no duplicate series, counters >= 0, and for each
// histogram series: increasing `le` bounds ending with +Inf, cumulative
// bucket counts that never decrease, the +Inf bucket equal to _count, and a
// _sum. Throws std::runtime_error naming the line on the first problem.
//
// Test-only (compiled into the admin test executables).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace holdfast::test {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromFamily {
  std::string name;
  std::string type;
  std::string help;
  std::vector<PromSample> samples;
};

std::map<std::string, PromFamily> parse_prometheus(const std::string& text);

// The value of the one sample `name` with exactly `labels`; throws if absent.
double sample_value(const std::map<std::string, PromFamily>& families, const std::string& family,
                    const std::string& name, const std::map<std::string, std::string>& labels);

}  // namespace holdfast::test
