#include "remove_journal.hpp"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>
#include <holdfast/safe_path.hpp>
#include <holdfast/volume.hpp>

#include "nfs_metadata.hpp"
#include "sys/atomic_file.hpp"

namespace holdfast::nfs {

namespace {

constexpr std::size_t k_max_entry_bytes = 4096;

}  // namespace

PendingRemove parse_pending_remove(std::string_view name, std::string_view text) {
  if (text.size() > k_max_entry_bytes) {
    throw invalid_argument(fmt::format("larger than {} bytes", k_max_entry_bytes));
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw invalid_argument(fmt::format("not valid JSON: {}", e.what()));
  }
  if (!doc.is_object() || !doc.contains("dir") || !doc["dir"].is_string() || !doc.contains("pid") ||
      !doc["pid"].is_number_integer()) {
    throw invalid_argument("expected {\"dir\": <string>, \"pid\": <integer>}");
  }
  validate_volume_name(name);
  PendingRemove out{doc["dir"].get<std::string>(), doc["pid"].get<long>()};
  if (!valid_volume_dir(name, out.dir)) {
    throw invalid_argument(fmt::format("\"{}\" is not a directory of volume \"{}\"", out.dir, name));
  }
  return out;
}

std::string serialize_pending_remove(const PendingRemove& entry) {
  return nlohmann::json{{"dir", entry.dir}, {"pid", entry.pid}}.dump() + "\n";
}

void RemoveJournal::begin(const std::string& name, const std::string& dir) const {
  validate_volume_name(name);
  ensure_directory(m_dir, 0700);
  write_file_atomically(m_dir + "/" + name, serialize_pending_remove({dir, static_cast<long>(::getpid())}));
}

void RemoveJournal::finish(const std::string& name) const { remove_file_durably(m_dir + "/" + name); }

std::optional<PendingRemove> RemoveJournal::pending(const std::string& name) const {
  auto text = read_file(m_dir + "/" + name, k_max_entry_bytes);
  if (!text) {
    return std::nullopt;
  }
  try {
    return parse_pending_remove(name, *text);
  } catch (const Error& e) {
    spdlog::warn("nfs: ignoring the unreadable pending remove {}/{}: {}", m_dir, name, e.what());
    return std::nullopt;
  }
}

std::map<std::string, PendingRemove> RemoveJournal::all() const {
  std::map<std::string, PendingRemove> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.front() == '.') {
      continue;  // temporary files of write_file_atomically
    }
    try {
      validate_volume_name(name);
    } catch (const Error&) {
      continue;
    }
    if (auto entry = pending(name)) {
      out.emplace(name, *entry);
    }
  }
  return out;
}

}  // namespace holdfast::nfs
