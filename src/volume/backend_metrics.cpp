#include "volume/backend_metrics.hpp"

namespace holdfast {

std::string_view error_kind_label(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_argument: return "invalid_argument";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::busy: return "busy";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::permission: return "permission";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

BackendMetrics::BackendMetrics(const std::vector<std::string>& instances) {
  for (const auto& name : instances) {
    m_slots.emplace(name, std::make_unique<Slot>());
  }
}

void BackendMetrics::record(const std::string& instance, std::optional<ErrorKind> error, bool overran) {
  auto it = m_slots.find(instance);
  if (it == m_slots.end()) {
    return;
  }
  Slot& slot = *it->second;
  slot.calls.fetch_add(1, std::memory_order_relaxed);
  if (error) {
    slot.errors.at(static_cast<std::size_t>(*error)).fetch_add(1, std::memory_order_relaxed);
  }
  if (overran) {
    slot.overruns.fetch_add(1, std::memory_order_relaxed);
  }
}

std::vector<std::string> BackendMetrics::instances() const {
  std::vector<std::string> out;
  out.reserve(m_slots.size());
  for (const auto& [name, slot] : m_slots) {
    out.push_back(name);
  }
  return out;
}

BackendCounters BackendMetrics::counters(const std::string& instance) const {
  BackendCounters out;
  auto it = m_slots.find(instance);
  if (it == m_slots.end()) {
    return out;
  }
  const Slot& slot = *it->second;
  out.calls = slot.calls.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < k_error_kind_count; ++i) {
    out.errors.at(i) = slot.errors.at(i).load(std::memory_order_relaxed);
  }
  out.overruns = slot.overruns.load(std::memory_order_relaxed);
  return out;
}

}  // namespace holdfast
