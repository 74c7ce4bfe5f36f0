// holdfast::cli::AdminClient: HTTP over the admin unix socket with libcurl
// (CURLOPT_UNIX_SOCKET_PATH), one request per call.
//
// Failures to reach the daemon become a CliError with a message that says
// what to do (start holdfastd, run as root, pass --admin-socket) and the
// exit code k_exit_unavailable or k_exit_permission; HTTP error statuses are
// returned to the caller as they are.
//
// Not thread-safe (one client per thread).
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <curl/curl.h>

namespace holdfast::cli {

// Exit codes of the holdfast CLI (docs/operations.md, "Operator CLI").
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failed = 1;        // the daemon refused or failed the operation
inline constexpr int k_exit_doctor_fail = 2;   // doctor: at least one check failed
inline constexpr int k_exit_usage = 64;        // bad command line (EX_USAGE)
inline constexpr int k_exit_unavailable = 69;  // the daemon cannot be reached (EX_UNAVAILABLE)
inline constexpr int k_exit_permission = 77;   // the admin socket is root only (EX_NOPERM)

class CliError : public std::runtime_error {
 public:
  CliError(int exit_code, const std::string& message) : std::runtime_error(message), m_exit_code(exit_code) {}
  int exit_code() const { return m_exit_code; }

 private:
  int m_exit_code;
};

struct AdminResponse {
  long status = 0;
  std::string body;
};

class AdminClient {
 public:
  AdminClient(std::string socket_path, std::chrono::seconds timeout);
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  AdminResponse get(const std::string& path);
  AdminResponse post(const std::string& path, const std::string& json_body);

 private:
  AdminResponse perform(const std::string& method, const std::string& path, const std::string* body);
  void check_socket() const;

  std::string m_socket_path;
  std::chrono::seconds m_timeout;
  struct CurlCleanup {
    void operator()(CURL* curl) const noexcept { curl_easy_cleanup(curl); }
  };
  std::unique_ptr<CURL, CurlCleanup> m_curl;
};

}  // namespace holdfast::cli
