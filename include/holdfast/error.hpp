// holdfast::Error: the one error type of holdfast.
//
// Every failure is classified where it arises (a C library call, a command,
// a validation) into a small closed set of kinds, and carries a one-line
// message that names what was being done and why it failed. Layers above add
// context with `with_context()`; the protocol layer is the only place that
// turns an Error into Docker's `Err` (src/plugin_api/handlers.cpp).
//
// Messages must never contain secrets (CHAP secrets, passwords): code that
// builds a message from external text runs it through `redact()` first.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace holdfast {

enum class ErrorKind {
  invalid_argument,  // bad name, option, config value: the caller must change the request
  not_found,         // no such volume (or backend object)
  conflict,          // exists with other options, held by another host
  busy,              // in use (mounted), or another operation holds the volume
  unavailable,       // server/target unreachable, refused, I/O failed
  timeout,           // a deadline passed
  permission,        // refused by the server or the OS (root_squash, EACCES)
  internal,          // a bug or an unexpected local failure
};

std::string_view to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);

  ErrorKind kind() const noexcept { return m_kind; }

  // Returns a copy whose message is "<context>: <message>", same kind.
  Error with_context(std::string_view context) const;

 private:
  ErrorKind m_kind;
};

// Convenience constructors, so call sites read as the classification.
Error invalid_argument(const std::string& message);
Error not_found(const std::string& message);
Error conflict(const std::string& message);
Error busy(const std::string& message);
Error unavailable(const std::string& message);
Error timeout(const std::string& message);
Error permission_denied(const std::string& message);
Error internal_error(const std::string& message);

// Maps an errno value to an ErrorKind (ETIMEDOUT -> timeout, EACCES/EPERM ->
// permission, ENOENT -> not_found, EBUSY -> busy, ECONNREFUSED etc. ->
// unavailable, everything else -> internal).
ErrorKind kind_from_errno(int err);

// "<what>: <strerror(err)>" classified with kind_from_errno.
Error from_errno(std::string_view what, int err);

// Replaces the value of every secret-looking `key=value` pair
// (password, secret, passwd, chap...) with "***", and every literal
// occurrence of a registered secret with "***". Used on any external text
// (stderr of commands, library messages) before it enters a message.
std::string redact(std::string_view text);

// Registers a secret value (for example a CHAP secret read from a file) so
// that redact() masks it wherever it appears. Thread-safe.
void register_secret(const std::string& secret);

}  // namespace holdfast
