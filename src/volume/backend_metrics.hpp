// holdfast::BackendMetrics: per backend instance, how many backend calls the
// volume manager made, how many failed (by ErrorKind, timeouts included),
// and how many it abandoned because the backend overran its deadline.
//
// The instances are fixed at construction, so lookups need no lock and
// recording is a few relaxed atomic adds. Unknown instance names are
// ignored. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <holdfast/error.hpp>

namespace holdfast {

inline constexpr std::size_t k_error_kind_count = static_cast<std::size_t>(ErrorKind::internal) + 1;

// The kind as an identifier for machine-read output (metric labels, the
// admin API's "kind"): "invalid_argument", "not_found", ..., "internal".
std::string_view error_kind_label(ErrorKind kind);

struct BackendCounters {
  std::uint64_t calls = 0;
  std::array<std::uint64_t, k_error_kind_count> errors{};  // indexed by ErrorKind
  std::uint64_t overruns = 0;  // abandoned past the deadline (also counted as timeout errors)
};

class BackendMetrics {
 public:
  explicit BackendMetrics(const std::vector<std::string>& instances);

  // One finished (or abandoned) backend call; `error` is nullopt on success.
  void record(const std::string& instance, std::optional<ErrorKind> error, bool overran = false);

  // Sorted instance names.
  std::vector<std::string> instances() const;
  BackendCounters counters(const std::string& instance) const;

 private:
  struct Slot {
    std::atomic<std::uint64_t> calls{0};
    std::array<std::atomic<std::uint64_t>, k_error_kind_count> errors{};
    std::atomic<std::uint64_t> overruns{0};
  };
  std::map<std::string, std::unique_ptr<Slot>> m_slots;  // keys immutable after construction
};

}  // namespace holdfast
