#include <holdfast/error.hpp>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <regex>
#include <set>

namespace holdfast {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_argument: return "invalid argument";
    case ErrorKind::not_found: return "not found";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::busy: return "busy";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::permission: return "permission denied";
    case ErrorKind::internal: return "internal error";
  }
  return "internal error";
}

Error::Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), m_kind(kind) {}

Error Error::with_context(std::string_view context) const {
  std::string text(context);
  text += ": ";
  text += what();
  return Error(m_kind, text);
}

Error invalid_argument(const std::string& message) { return Error(ErrorKind::invalid_argument, message); }
Error not_found(const std::string& message) { return Error(ErrorKind::not_found, message); }
Error conflict(const std::string& message) { return Error(ErrorKind::conflict, message); }
Error busy(const std::string& message) { return Error(ErrorKind::busy, message); }
Error unavailable(const std::string& message) { return Error(ErrorKind::unavailable, message); }
Error timeout(const std::string& message) { return Error(ErrorKind::timeout, message); }
Error permission_denied(const std::string& message) { return Error(ErrorKind::permission, message); }
Error internal_error(const std::string& message) { return Error(ErrorKind::internal, message); }

ErrorKind kind_from_errno(int err) {
  switch (err) {
    case ETIMEDOUT: return ErrorKind::timeout;
    case EACCES:
    case EPERM:
    case EROFS: return ErrorKind::permission;
    case ENOENT: return ErrorKind::not_found;
    case EBUSY: return ErrorKind::busy;
    case EEXIST: return ErrorKind::conflict;
    case EINVAL:
    case ENAMETOOLONG: return ErrorKind::invalid_argument;
    case ECONNREFUSED:
    case ECONNRESET:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EIO:
    case ENOSPC:
    case EDQUOT:
    case ESTALE: return ErrorKind::unavailable;
    default: return ErrorKind::internal;
  }
}

Error from_errno(std::string_view what, int err) {
  std::string text(what);
  text += ": ";
  text += std::strerror(err);
  return Error(kind_from_errno(err), text);
}

namespace {

std::mutex g_secrets_mutex;
std::set<std::string>& secrets() {
  static std::set<std::string> values;
  return values;
}

}  // namespace

void register_secret(const std::string& secret) {
  if (secret.empty()) {
    return;
  }
  std::lock_guard lock(g_secrets_mutex);
  secrets().insert(secret);
}

std::string redact(std::string_view text) {
  // key=value and key: value pairs whose key looks like a credential.
  static const std::regex pair(
      R"(((?:password|passwd|secret|chap[_a-z.]*|pass|token|key)\s*[=:]\s*)([^,\s;"']+))",
      std::regex::icase);
  std::string out = std::regex_replace(std::string(text), pair, "$1***");
  std::lock_guard lock(g_secrets_mutex);
  for (const auto& s : secrets()) {
    for (auto pos = out.find(s); pos != std::string::npos; pos = out.find(s, pos + 3)) {
      out.replace(pos, s.size(), "***");
    }
  }
  return out;
}

}  // namespace holdfast
