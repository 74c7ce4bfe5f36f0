#include "volume/state_store.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <limits>
#include <algorithm>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>
#include <holdfast/safe_path.hpp>

#include "sys/atomic_file.hpp"

namespace holdfast {

namespace {

constexpr std::string_view k_suffix = ".json";
constexpr std::string_view k_corrupt_marker = ".json.corrupt-";
// A record is a few hundred bytes; anything near this is not ours.
constexpr std::size_t k_max_state_file = 1 << 20;
constexpr int k_format_version = 1;

struct CloseDir {
  void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};
using DirHandle = std::unique_ptr<DIR, CloseDir>;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

[[noreturn]] void malformed(const std::string& field, const std::string& why) {
  throw invalid_argument("state record: " + field + ": " + why);
}

const nlohmann::json* member(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

std::string string_field(const nlohmann::json& obj, const char* key, bool required) {
  const auto* v = member(obj, key);
  if (v == nullptr) {
    if (required) {
      malformed(key, "missing");
    }
    return {};
  }
  if (!v->is_string()) {
    malformed(key, "expected a string");
  }
  return v->get<std::string>();
}

}  // namespace

void validate_mount_id(std::string_view id) {
  if (id.empty()) {
    throw invalid_argument("mount ID is empty");
  }
  if (id.size() > k_max_mount_id) {
    throw invalid_argument("mount ID is " + std::to_string(id.size()) + " characters long; the limit is " +
                           std::to_string(k_max_mount_id));
  }
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      throw invalid_argument("mount ID contains a space, a control or a non-ASCII character");
    }
  }
}

std::string record_to_json(const VolumeRecord& record) {
  nlohmann::json j;
  j["version"] = k_format_version;
  j["name"] = record.name;
  j["backend"] = record.backend;
  j["options"] = record.options;
  j["created_at"] = format_rfc3339(record.created_at);
  j["created_by"] = record.created_by;
  j["mounts"] = record.mounts;
  j["mountpoint"] = record.mountpoint;
  j["backend_data"] = record.backend_data.is_object() ? record.backend_data : nlohmann::json::object();
  try {
    return j.dump();
  } catch (const nlohmann::json::exception& e) {
    // Only invalid UTF-8 can make dump() fail; requests were decoded from
    // JSON, so this is a bug upstream.
    throw internal_error(std::string("state record: cannot encode: ") + e.what());
  }
}

VolumeRecord record_from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw invalid_argument(std::string("state record: not JSON: ") + e.what());
  }
  if (!j.is_object()) {
    throw invalid_argument("state record: expected a JSON object");
  }
  if (const auto* v = member(j, "version")) {
    if (!v->is_number_integer() || v->get<long long>() != k_format_version) {
      malformed("version", "unsupported format version " + v->dump() + " (this holdfast reads version " +
                               std::to_string(k_format_version) + ")");
    }
  }

  VolumeRecord r;
  r.name = string_field(j, "name", true);
  try {
    validate_volume_name(r.name);
  } catch (const Error& e) {
    malformed("name", e.what());
  }
  r.backend = string_field(j, "backend", true);
  if (r.backend.empty()) {
    malformed("backend", "empty");
  }

  if (const auto* v = member(j, "options")) {
    if (!v->is_object()) {
      malformed("options", "expected an object");
    }
    for (const auto& [key, value] : v->items()) {
      if (key.empty()) {
        malformed("options", "empty option name");
      }
      if (!value.is_string()) {
        malformed("options." + key, "expected a string");
      }
      r.options.emplace(key, value.get<std::string>());
    }
  }

  try {
    r.created_at = parse_rfc3339(string_field(j, "created_at", true));
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::invalid_argument) {
      throw;
    }
    malformed("created_at", e.what());
  }
  r.created_by = string_field(j, "created_by", false);

  if (const auto* v = member(j, "mounts")) {
    if (!v->is_object()) {
      malformed("mounts", "expected an object of mount ID -> count");
    }
    for (const auto& [id, count] : v->items()) {
      try {
        validate_mount_id(id);
      } catch (const Error& e) {
        malformed("mounts", e.what());
      }
      if (!count.is_number_unsigned() || count.get<std::uint64_t>() == 0 ||
          count.get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max()) {
        malformed("mounts." + id, "expected a positive count");
      }
      r.mounts.emplace(id, count.get<std::uint32_t>());
    }
  }

  r.mountpoint = string_field(j, "mountpoint", false);
  if (!r.mountpoint.empty() && r.mountpoint.front() != '/') {
    malformed("mountpoint", "not an absolute path");
  }

  if (const auto* v = member(j, "backend_data")) {
    if (!v->is_object()) {
      malformed("backend_data", "expected an object");
    }
    r.backend_data = *v;
  }
  return r;
}

StateStore::StateStore(std::string state_dir) : m_dir(std::move(state_dir) + "/volumes") {
  ensure_directory(m_dir, 0700);
}

namespace {

// Reads and parses one <stem>.json; throws holdfast::Error when unreadable.
VolumeRecord load_one(const std::string& path, const std::string& stem) {
  validate_volume_name(stem);
  auto text = read_file(path, k_max_state_file);
  if (!text) {
    throw not_found("removed while loading");
  }
  VolumeRecord record = record_from_json(*text);
  if (record.name != stem) {
    throw invalid_argument("state record: name \"" + record.name + "\" does not match the file name");
  }
  return record;
}

}  // namespace

LoadResult StateStore::load() {
  // Pass 1 (one thread): list the directory, clean up temp files.
  std::vector<std::string> stems;
  bool changed = false;
  {
    DirHandle dir(::opendir(m_dir.c_str()));
    if (!dir) {
      throw from_errno("read state directory " + m_dir, errno);
    }
    while (true) {
      errno = 0;
      const dirent* entry = ::readdir(dir.get());
      if (entry == nullptr) {
        if (errno != 0) {
          throw from_errno("read state directory " + m_dir, errno);
        }
        break;
      }
      std::string file = entry->d_name;
      if (file == "." || file == ".." || entry->d_type == DT_DIR) {
        continue;
      }
      // ".<base>.tmp-<pid>-<n>": a write interrupted by a crash. The old
      // file (if any) is intact, so the temp file is garbage.
      if (file.front() == '.' && file.find(k_temp_marker) != std::string::npos) {
        const std::string path = m_dir + "/" + file;
        if (::unlink(path.c_str()) == 0) {
          changed = true;
          spdlog::info("state: removed leftover temp file {}", path);
        } else if (errno != ENOENT) {
          spdlog::warn("state: cannot remove leftover temp file {}: {}", path, from_errno("unlink", errno).what());
        }
        continue;
      }
      if (file.find(k_corrupt_marker) != std::string::npos || !ends_with(file, k_suffix)) {
        continue;
      }
      stems.push_back(file.substr(0, file.size() - k_suffix.size()));
    }
  }

  // Pass 2: read and parse. Cold start time is dominated by this (10,000
  // volumes: ~10 ms of syscalls and ~40 ms of JSON per core), so large
  // directories are split over a few threads; each file is independent.
  struct Part {
    std::vector<VolumeRecord> records;
    std::vector<std::string> unreadable;
    bool changed = false;
    std::exception_ptr error;
  };
  const auto now = static_cast<long long>(std::time(nullptr));
  auto work = [&](std::size_t begin, std::size_t end, Part& part) {
    try {
      for (std::size_t i = begin; i < end; ++i) {
        const std::string path = m_dir + "/" + stems[i] + std::string(k_suffix);
        try {
          part.records.push_back(load_one(path, stems[i]));
        } catch (const Error& e) {
          if (e.kind() == ErrorKind::not_found) {
            continue;
          }
          // Keep the file for the operator, out of the way of the next load.
          const std::string aside = path + ".corrupt-" + std::to_string(now);
          part.unreadable.push_back(path);
          if (::rename(path.c_str(), aside.c_str()) == 0) {
            part.changed = true;
            spdlog::error("state: unreadable state file {} ({}); moved to {}", path, e.what(), aside);
          } else {
            spdlog::error("state: unreadable state file {} ({}); cannot move it aside: {}", path, e.what(),
                          from_errno("rename", errno).what());
          }
        }
      }
    } catch (...) {
      // Carried to the calling thread and rethrown there (bad_alloc...).
      part.error = std::current_exception();
    }
  };
  const std::size_t k_per_thread = 1024;
  const std::size_t hw = std::max(1U, std::thread::hardware_concurrency());
  const std::size_t parts = std::clamp<std::size_t>(stems.size() / k_per_thread, 1, std::min<std::size_t>(hw, 4));
  std::vector<Part> results(parts);
  {
    std::vector<std::thread> threads;
    const std::size_t chunk = (stems.size() + parts - 1) / parts;
    for (std::size_t p = 1; p < parts; ++p) {
      std::size_t begin = std::min(stems.size(), p * chunk);
      std::size_t end = std::min(stems.size(), begin + chunk);
      try {
        threads.emplace_back(work, begin, end, std::ref(results[p]));
      } catch (const std::system_error&) {
        work(begin, end, results[p]);  // no thread to spare: do it here
      }
    }
    work(0, std::min(stems.size(), chunk), results[0]);
    for (auto& t : threads) {
      t.join();
    }
  }

  LoadResult result;
  result.records.reserve(stems.size());
  for (auto& part : results) {
    if (part.error) {
      std::rethrow_exception(part.error);
    }
    std::move(part.records.begin(), part.records.end(), std::back_inserter(result.records));
    std::move(part.unreadable.begin(), part.unreadable.end(), std::back_inserter(result.unreadable));
    changed = changed || part.changed;
  }
  if (changed) {
    fsync_directory(m_dir);
  }
  return result;
}

void StateStore::save(const VolumeRecord& record) {
  write_file_atomically(join_under(m_dir, record.name + std::string(k_suffix)), record_to_json(record), 0600);
}

void StateStore::erase(const std::string& name) {
  remove_file_durably(join_under(m_dir, name + std::string(k_suffix)));
}

}  // namespace holdfast
