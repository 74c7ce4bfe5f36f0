#include "cli/admin_client.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace holdfast::cli {

namespace {

size_t collect(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

}  // namespace

AdminClient::AdminClient(std::string socket_path, std::chrono::seconds timeout)
    : m_socket_path(std::move(socket_path)), m_timeout(timeout) {
  // Single-threaded program: the global init may happen here.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  m_curl.reset(curl_easy_init());
  if (!m_curl) {
    throw CliError(k_exit_failed, "cannot initialise libcurl");
  }
}

AdminClient::~AdminClient() {
  m_curl.reset();
  curl_global_cleanup();
}

void AdminClient::check_socket() const {
  struct stat st {};
  if (::stat(m_socket_path.c_str(), &st) != 0) {
    int err = errno;
    if (err == EACCES) {
      throw CliError(k_exit_permission, "permission denied on " + m_socket_path + ": the admin socket is root only");
    }
    throw CliError(k_exit_unavailable,
                   "holdfastd is not running: no admin socket at " + m_socket_path + " (" + std::strerror(err) +
                       "). Start it (systemctl start holdfast.service), or give the socket of a managed plugin "
                       "with --admin-socket /run/docker/plugins/<plugin id>/admin.sock");
  }
  if (!S_ISSOCK(st.st_mode)) {
    throw CliError(k_exit_unavailable, m_socket_path + " is not a socket");
  }
  if (::access(m_socket_path.c_str(), R_OK | W_OK) != 0 && errno == EACCES) {
    throw CliError(k_exit_permission,
                   "permission denied on " + m_socket_path + ": the admin socket is root only (run holdfast as root)");
  }
}

AdminResponse AdminClient::perform(const std::string& method, const std::string& path, const std::string* body) {
  check_socket();
  CURL* curl = m_curl.get();
  AdminResponse response;
  const std::string url = "http://holdfast" + path;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, m_socket_path.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(m_timeout.count() * 1000));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  struct SlistFree {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
  };
  std::unique_ptr<curl_slist, SlistFree> headers;
  if (body != nullptr) {
    headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_COULDNT_CONNECT) {
    throw CliError(k_exit_unavailable, "holdfastd is not running: nobody listens on " + m_socket_path +
                                           " (a socket left by a crash?). Start it: systemctl start holdfast.service");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    throw CliError(k_exit_unavailable, method + " " + path + ": holdfastd did not answer within " +
                                           std::to_string(m_timeout.count()) + " s (--timeout)");
  }
  if (rc != CURLE_OK) {
    throw CliError(k_exit_unavailable, method + " " + path + " on " + m_socket_path + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

AdminResponse AdminClient::get(const std::string& path) { return perform("GET", path, nullptr); }

AdminResponse AdminClient::post(const std::string& path, const std::string& json_body) {
  return perform("POST", path, &json_body);
}

}  // namespace holdfast::cli
