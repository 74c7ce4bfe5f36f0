#include "local_backend.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>
#include <holdfast/safe_path.hpp>

namespace holdfast::local {

namespace {

// uid_t/gid_t are 32 bits; (uid_t)-1 means "unchanged" to chown and 2^31-1
// is the kernel's overflow id, so the range stops below them.
constexpr unsigned long long k_max_id = 2147483646ULL;
constexpr unsigned k_default_mode = 0755;
// The base directory can be traversed but not listed by other users.
constexpr mode_t k_base_dir_mode = 0711;

std::optional<unsigned> parse_id(const Options& options, const std::string& key) {
  auto it = options.find(key);
  if (it == options.end()) {
    return std::nullopt;
  }
  const std::string& text = it->second;
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > k_max_id) {
    throw invalid_argument("option " + key + ": expected a number from 0 to " + std::to_string(k_max_id) +
                           ", got \"" + text + "\"");
  }
  return static_cast<unsigned>(value);
}

std::optional<unsigned> parse_mode(const Options& options) {
  auto it = options.find("mode");
  if (it == options.end()) {
    return std::nullopt;
  }
  const std::string& text = it->second;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 8);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 07777) {
    throw invalid_argument("option mode: expected an octal file mode from 0 to 07777 such as 0750, got \"" + text +
                           "\"");
  }
  return value;
}

std::string octal(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(LocalSettings settings) : m_settings(std::move(settings)) {}

  std::string_view type() const override { return "local"; }
  Scope scope() const override { return Scope::local; }

  std::vector<OptionSpec> accepted_options() const override {
    return {
        {"uid", "numeric owner of the volume directory (0 to 2147483646)"},
        {"gid", "numeric group of the volume directory (0 to 2147483646)"},
        {"mode", "permissions of the volume directory, octal (for example 0750)"},
    };
  }

  void validate(const Options& options) const override {
    for (const auto& [key, value] : options) {
      if (key != "uid" && key != "gid" && key != "mode") {
        throw invalid_argument("unknown option \"" + key + "\" (accepted: uid, gid, mode)");
      }
    }
    parse_id(options, "uid");
    parse_id(options, "gid");
    parse_mode(options);
  }

  void provision(VolumeRecord& record, Deadline deadline) override {
    (void)deadline;  // local directory work only: bounded by the disk
    make_directory(record);
  }

  void deprovision(const VolumeRecord& record, Deadline deadline) override {
    (void)deadline;
    if (m_settings.on_remove == RemovePolicy::retain) {
      return;
    }
    // Never follows a symlink a container planted inside the volume.
    remove_tree_under(m_settings.base_dir, join_under(m_settings.base_dir, record.name));
  }

  std::string attach(VolumeRecord& record, const std::string& target, Deadline deadline) override {
    (void)target;  // no mount: Docker gets the directory itself
    (void)deadline;
    // Recreated if an operator deleted it, so that Mount does not hand
    // Docker a missing path.
    return make_directory(record);
  }

  void detach(VolumeRecord& record, const std::string& mountpoint, Deadline deadline) override {
    (void)record;
    (void)mountpoint;
    (void)deadline;
  }

  bool is_attached(const VolumeRecord& record) override {
    struct stat st {};
    return ::lstat(path_of(record).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }

  nlohmann::json status(const VolumeRecord& record) const override {
    nlohmann::json out = {{"backend", "local"}, {"path", path_of(record)}};
    auto wanted = effective(record.options);
    if (wanted.uid) {
      out["uid"] = *wanted.uid;
    }
    if (wanted.gid) {
      out["gid"] = *wanted.gid;
    }
    if (wanted.mode) {
      out["mode"] = octal(*wanted.mode);
    }
    return out;
  }

 private:
  struct Wanted {
    std::optional<unsigned> uid;
    std::optional<unsigned> gid;
    std::optional<unsigned> mode;
  };

  // The volume's options over the configured defaults.
  Wanted effective(const Options& options) const {
    Wanted w;
    w.uid = parse_id(options, "uid");
    w.gid = parse_id(options, "gid");
    w.mode = parse_mode(options);
    if (!w.uid) {
      w.uid = m_settings.uid;
    }
    if (!w.gid) {
      w.gid = m_settings.gid;
    }
    if (!w.mode) {
      w.mode = m_settings.mode;
    }
    return w;
  }

  std::string path_of(const VolumeRecord& record) const { return join_under(m_settings.base_dir, record.name); }

  // Creates the volume directory if needed and applies ownership and mode.
  // Works on an fd opened with O_NOFOLLOW, so a symlink put in place of the
  // directory is refused rather than followed. Returns the path.
  std::string make_directory(const VolumeRecord& record) const {
    auto wanted = effective(record.options);
    std::string path = path_of(record);
    // The operator may point base_dir through a symlink; only a missing
    // base directory is created.
    struct stat base {};
    if (::stat(m_settings.base_dir.c_str(), &base) != 0 || !S_ISDIR(base.st_mode)) {
      ensure_directory(m_settings.base_dir, k_base_dir_mode);
    }
    bool created = ::mkdir(path.c_str(), 0700) == 0;
    if (!created && errno != EEXIST) {
      throw from_errno("create directory " + path, errno);
    }
    Fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) {
      if (errno == ELOOP || errno == ENOTDIR) {
        throw conflict(path + " exists and is not a directory");
      }
      throw from_errno("open " + path, errno);
    }
    if (wanted.uid || wanted.gid) {
      auto uid = wanted.uid ? static_cast<uid_t>(*wanted.uid) : static_cast<uid_t>(-1);
      auto gid = wanted.gid ? static_cast<gid_t>(*wanted.gid) : static_cast<gid_t>(-1);
      if (::fchown(dir.get(), uid, gid) != 0) {
        throw from_errno("chown " + path, errno);
      }
    }
    // A new directory always gets its mode set (mkdir used 0700 so nobody
    // could use it before its owner was right); an existing one only when
    // a mode is asked for.
    if (created || wanted.mode) {
      if (::fchmod(dir.get(), wanted.mode.value_or(k_default_mode)) != 0) {
        throw from_errno("chmod " + path, errno);
      }
    }
    return path;
  }

  LocalSettings m_settings;
};

}  // namespace

std::unique_ptr<Backend> make_local_backend(LocalSettings settings) {
  return std::make_unique<LocalBackend>(std::move(settings));
}

std::unique_ptr<Backend> make_backend(ConfigReader& config, BackendEnv& env) {
  LocalSettings s;
  std::string state_dir = env.state_dir.empty() ? std::string("/var/lib/holdfast") : env.state_dir;
  s.base_dir = config.string("base_dir", state_dir + "/local");
  if (s.base_dir.empty() || s.base_dir.front() != '/') {
    config.fail("base_dir", "must be an absolute path, got \"" + s.base_dir + "\"");
  }
  while (s.base_dir.size() > 1 && s.base_dir.back() == '/') {
    s.base_dir.pop_back();
  }
  if (s.base_dir == "/") {
    config.fail("base_dir", "must not be /");
  }
  s.on_remove = config.choice("on_remove", "delete", {"delete", "retain"}) == "delete"
                    ? RemovePolicy::delete_directory
                    : RemovePolicy::retain;
  if (auto uid = config.integer("uid", 0, static_cast<long long>(k_max_id))) {
    s.uid = static_cast<unsigned>(*uid);
  }
  if (auto gid = config.integer("gid", 0, static_cast<long long>(k_max_id))) {
    s.gid = static_cast<unsigned>(*gid);
  }
  s.mode = config.mode("mode");
  config.finish();
  return make_local_backend(std::move(s));
}

}  // namespace holdfast::local
