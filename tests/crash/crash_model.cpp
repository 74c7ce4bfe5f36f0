#include "crash_model.hpp"

#include <chrono>
#include <ctime>
#include <initializer_list>
#include <iomanip>
#include <sstream>

namespace holdfast::crash {

std::uint64_t total(const Counts& counts) {
  std::uint64_t sum = 0;
  for (const auto& [id, n] : counts) {
    sum += n;
  }
  return sum;
}

std::string describe(const Counts& counts) {
  std::ostringstream out;
  out << "{";
  for (const auto& [id, n] : counts) {
    out << " " << id << ":" << n;
  }
  out << " }";
  return out.str();
}

namespace {

std::uint32_t count_of(const Counts& counts, const std::string& id) {
  auto it = counts.find(id);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace

std::vector<std::string> reconcile(const std::string& name, VolumeModel& model, const ObservedVolume& seen,
                                   LostTally& tally) {
  std::vector<std::string> problems;
  if (model.maybe_exists) {
    if (seen.exists == *model.maybe_exists && seen.exists != model.exists) {
      ++tally.applied;
    } else if (seen.exists == model.exists) {
      ++tally.not_applied;
    }
  }
  const bool exists_ok =
      seen.exists == model.exists || (model.maybe_exists && seen.exists == *model.maybe_exists);
  if (!exists_ok) {
    problems.push_back(name + (seen.exists ? " exists" : " is gone") + ", the clients hold it " +
                       (model.exists ? "created" : "removed"));
  }

  std::set<std::string> ids;
  for (const Counts* counts :
       std::initializer_list<const Counts*>{&model.mounts, &seen.mounts, &model.maybe_mounts}) {
    for (const auto& [id, n] : *counts) {
      ids.insert(id);
    }
  }
  for (const auto& id : ids) {
    const std::uint32_t actual = count_of(seen.mounts, id);
    const std::uint32_t known = count_of(model.mounts, id);
    auto maybe = model.maybe_mounts.find(id);
    if (maybe != model.maybe_mounts.end() && maybe->second != known) {
      ++(actual == maybe->second ? tally.applied : tally.not_applied);
    }
    // A volume found removed by a lost Remove had no counts to lose.
    if (actual == known || (maybe != model.maybe_mounts.end() && actual == maybe->second)) {
      continue;
    }
    std::ostringstream out;
    out << name << " mount ID " << id << " has count " << actual << ", its client holds " << known;
    if (maybe != model.maybe_mounts.end()) {
      out << " (or " << maybe->second << " after the call lost in the kill)";
    }
    problems.push_back(out.str());
  }

  // A lost Create may have left the volume half made, a lost Remove may have
  // taken its data and not yet its record: only a Create acknowledged from
  // here on promises the data again.
  if (model.exists != seen.exists || model.maybe_exists) {
    model.created = false;
  }
  model.exists = seen.exists;
  model.mounts = seen.mounts;
  model.maybe_exists.reset();
  model.maybe_mounts.clear();
  return problems;
}

void VolumeSlot::note(const std::string& event) {
  // Local time with milliseconds, as the daemon's log has it, so the two
  // can be read side by side.
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm local{};
  ::localtime_r(&seconds, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &local);
  std::ostringstream line;
  line << stamp << "." << std::setw(3) << std::setfill('0') << ms << " " << event;
  history.push_back(line.str());
}

Model::Model(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    auto slot = std::make_unique<VolumeSlot>();
    slot->name = name;
    m_slots.push_back(std::move(slot));
  }
}

VolumeSlot* Model::find(const std::string& name) {
  for (auto& slot : m_slots) {
    if (slot->name == name) {
      return slot.get();
    }
  }
  return nullptr;
}

std::set<std::string> Model::names() const {
  std::set<std::string> out;
  for (const auto& slot : m_slots) {
    out.insert(slot->name);
  }
  return out;
}

}  // namespace holdfast::crash
