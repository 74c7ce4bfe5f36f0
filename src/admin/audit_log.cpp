#include "admin/audit_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>
#include <holdfast/safe_path.hpp>

namespace holdfast {

namespace {

// RFC 3339 in UTC with milliseconds: the order of lines is the order of calls.
std::string timestamp(std::chrono::system_clock::time_point now) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}

}  // namespace

AuditLog::AuditLog(const std::string& path) : m_path(path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    ensure_directory(parent.string(), 0700);
  }
  m_fd.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!m_fd) {
    throw from_errno("open the audit log " + path, errno);
  }
}

std::string AuditLog::line(const AuditEntry& entry, std::chrono::system_clock::time_point now) {
  nlohmann::json j = nlohmann::json::object();
  j["time"] = timestamp(now);
  j["source"] = entry.source;
  j["call"] = entry.call;
  j["volume"] = entry.volume;
  if (!entry.mount_id.empty()) {
    j["mount_id"] = entry.mount_id;
  }
  j["outcome"] = entry.error.empty() ? "ok" : "error";
  if (!entry.error.empty()) {
    j["error"] = redact(entry.error);
  }
  j["duration_ms"] = static_cast<double>(entry.duration.count()) / 1000.0;
  if (entry.details.is_object() && !entry.details.empty()) {
    j["details"] = entry.details;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void AuditLog::write(const AuditEntry& entry) noexcept {
  if (!m_fd) {
    return;
  }
  // Cleanup-style path: the call it records has already been answered.
  try {
    std::string text = line(entry, std::chrono::system_clock::now());
    ssize_t n = 0;
    do {
      n = ::write(m_fd.get(), text.data(), text.size());
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(text.size())) {
      m_failing.store(false, std::memory_order_relaxed);
      return;
    }
    const int err = n < 0 ? errno : ENOSPC;  // a short write: the disk is full
    if (!m_failing.exchange(true, std::memory_order_relaxed)) {
      spdlog::error("audit log {}: write failed: {}; calls are not audited until a write succeeds", m_path,
                    std::strerror(err));
    }
  } catch (const std::exception& e) {
    spdlog::error("audit log {}: {}", m_path, e.what());
  }
}

}  // namespace holdfast
