#include "admin/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
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

int open_for_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

// <path>.<n>: the n-th newest rotated file.
std::string rotated_name(const std::string& path, unsigned n) { return path + "." + std::to_string(n); }

// Current size of the open file, or -1 when fstat fails.
off_t size_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_size : -1;
}

}  // namespace

AuditLog::AuditLog(const std::string& path, AuditRotation rotation) : m_path(path), m_rotation(rotation) {
  if (m_rotation.max_bytes > 0 && m_rotation.keep == 0) {
    throw invalid_argument("audit log " + path + ": a size cap needs at least one rotated file (keep >= 1)");
  }
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    ensure_directory(parent.string(), 0700);
  }
  m_fd.reset(open_for_append(path));
  if (!m_fd) {
    throw from_errno("open the audit log " + path, errno);
  }
  m_enabled = true;
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
  if (!m_enabled) {
    return;
  }
  // Cleanup-style path: the call it records has already been answered.
  try {
    const std::string text = line(entry, std::chrono::system_clock::now());
    std::lock_guard lock(m_mutex);
    off_t size = size_of(m_fd.get());
    if (rotate_if_needed(size, text.size())) {
      size = size_of(m_fd.get());  // a fresh file now
    }
    append(text, size);
  } catch (const std::exception& e) {
    spdlog::error("audit log {}: {}", m_path, e.what());
  }
}

std::string AuditLog::trouble() const {
  std::lock_guard lock(m_mutex);
  if (!m_write_trouble.empty()) {
    return m_write_trouble;
  }
  return m_rotate_trouble;
}

bool AuditLog::rotate_if_needed(off_t size, std::size_t incoming) {
  if (m_rotation.max_bytes == 0) {
    return false;
  }
  if (m_reopen_pending) {
    // Renamed already: only the fresh file is missing.
    return reopen();
  }
  // An empty file is never rotated: a line longer than the cap gets a file
  // of its own instead of an endless rotation.
  if (size <= 0 || static_cast<std::uint64_t>(size) + incoming <= m_rotation.max_bytes) {
    return false;
  }
  return rotate();
}

void AuditLog::rotation_failed(const std::string& what, int err, const std::string& meanwhile) {
  const bool first = m_rotate_trouble.empty();
  m_rotate_trouble = "rotation failed: " + what + ": " + std::strerror(err) + "; " + meanwhile;
  if (first) {
    spdlog::warn("audit log {}: {} (retried at each write)", m_path, m_rotate_trouble);
  }
}

bool AuditLog::rotate() {
  // Oldest first, so that every rename lands on a free or droppable name.
  // A failure stops the shift before audit.log.1 is overwritten.
  const std::string past_cap = "appending past the cap of " + std::to_string(m_rotation.max_bytes) + " bytes";
  for (unsigned n = m_rotation.keep; n > 1; --n) {
    const std::string from = rotated_name(m_path, n - 1);
    if (::rename(from.c_str(), rotated_name(m_path, n).c_str()) != 0 && errno != ENOENT) {
      rotation_failed("rename " + from, errno, past_cap);
      return false;
    }
  }
  const std::string newest = rotated_name(m_path, 1);
  if (::rename(m_path.c_str(), newest.c_str()) != 0) {
    rotation_failed("rename " + m_path + " to " + newest, errno, past_cap);
    return false;
  }
  m_reopen_pending = true;
  return reopen();
}

bool AuditLog::reopen() {
  Fd fresh(open_for_append(m_path));
  if (!fresh) {
    rotation_failed("open a fresh " + m_path, errno, "appending to " + rotated_name(m_path, 1) + " meanwhile");
    return false;
  }
  m_fd = std::move(fresh);
  m_reopen_pending = false;
  if (!m_rotate_trouble.empty()) {
    spdlog::info("audit log {}: rotation works again", m_path);
    m_rotate_trouble.clear();
  }
  spdlog::debug("audit log {}: rotated ({} kept)", m_path, m_rotation.keep);
  return true;
}

void AuditLog::append(const std::string& text, off_t before) {
  ssize_t n = 0;
  do {
    n = ::write(m_fd.get(), text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(text.size())) {
    if (!m_write_trouble.empty()) {
      spdlog::info("audit log {}: writes work again", m_path);
      m_write_trouble.clear();
    }
    return;
  }
  const int err = n < 0 ? errno : ENOSPC;  // a short write: the disk is full
  if (n > 0 && before >= 0 && size_of(m_fd.get()) == before + n) {
    // Cut the partial line off again (nobody else wrote meanwhile), so that
    // the next line does not continue it into invalid JSON.
    if (::ftruncate(m_fd.get(), before) != 0) {
      spdlog::debug("audit log {}: cutting off a partial line failed: {}", m_path, std::strerror(errno));
    }
  }
  if (m_write_trouble.empty()) {
    m_write_trouble = fmt::format("write failed: {}; calls are not audited until a write succeeds", std::strerror(err));
    spdlog::error("audit log {}: {}", m_path, m_write_trouble);
  }
}

}  // namespace holdfast
