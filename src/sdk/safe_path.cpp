#include <holdfast/safe_path.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include <holdfast/error.hpp>
#include <holdfast/fd.hpp>

namespace holdfast {

namespace {

bool is_single_component(std::string_view c) {
  return !c.empty() && c != "." && c != ".." && c.find('/') == std::string_view::npos &&
         c.find('\0') == std::string_view::npos;
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// Names in the directory open at `dir_fd` (not "." and ".."). Read in full
// before anything is deleted so that deleting never races the iteration.
std::vector<std::string> list_entries(int dir_fd, const std::string& shown) {
  Fd copy(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 3));
  if (!copy) {
    throw from_errno("remove " + shown, errno);
  }
  DirPtr dir(::fdopendir(copy.get()));
  if (!dir) {
    throw from_errno("remove " + shown, errno);
  }
  copy.release();  // owned by `dir` now
  ::rewinddir(dir.get());
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* e = ::readdir(dir.get())) {
    std::string_view name(e->d_name);
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
    errno = 0;
  }
  if (errno != 0) {
    throw from_errno("remove " + shown + ": readdir", errno);
  }
  return names;
}

// True when `name` in `dir_fd` is the root of a mount. st_dev alone misses
// a bind mount from the same filesystem; statx reports those too.
bool is_mount_root(int dir_fd, const char* name) {
  struct statx stx {};
  if (::statx(dir_fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &stx) != 0) {
    return false;  // the caller's own checks report real errors
  }
  return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0 &&
         (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

// Empties the directory open at `dir_fd`, which lives on device `dev`.
void remove_contents(int dir_fd, dev_t dev, const std::string& shown) {
  // Loop until empty: entries created while we delete are caught by the
  // next pass, and the final rmdir reports ENOTEMPTY only if creation wins.
  for (int pass = 0; pass < 3; ++pass) {
    auto names = list_entries(dir_fd, shown);
    if (names.empty()) {
      return;
    }
    for (const auto& name : names) {
      std::string child_shown = shown + "/" + name;
      struct stat st {};
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
          continue;
        }
        throw from_errno("remove " + child_shown, errno);
      }
      if (!S_ISDIR(st.st_mode)) {
        // Files, symlinks (the link itself), devices, sockets, fifos.
        if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
          throw from_errno("remove " + child_shown, errno);
        }
        continue;
      }
      if (st.st_dev != dev || is_mount_root(dir_fd, name.c_str())) {
        throw busy("remove " + child_shown + ": a filesystem is mounted there");
      }
      Fd child(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child) {
        if (errno == ENOENT) {
          continue;
        }
        throw from_errno("remove " + child_shown, errno);
      }
      // What we opened must be what we looked at (no swap in between).
      struct stat opened {};
      if (::fstat(child.get(), &opened) != 0) {
        throw from_errno("remove " + child_shown, errno);
      }
      if (opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
        throw busy("remove " + child_shown + ": changed while being removed");
      }
      remove_contents(child.get(), dev, child_shown);
      child.reset();
      if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
        throw from_errno("remove " + child_shown, errno);
      }
    }
  }
}

}  // namespace

std::string join_under(const std::string& root, std::string_view component) {
  if (!is_single_component(component)) {
    std::string shown;
    for (char c : component) {
      shown += c == '\0' ? std::string("\\0") : std::string(1, c);
    }
    throw invalid_argument("\"" + shown + "\" is not a single path component (empty, \".\", \"..\", '/' or NUL)");
  }
  if (root.empty()) {
    throw invalid_argument("empty root directory");
  }
  std::string out = root;
  if (out.back() != '/') {
    out += '/';
  }
  out += component;
  return out;
}

void ensure_directory(const std::string& path, mode_t mode) {
  std::string final_path = path;
  while (final_path.size() > 1 && final_path.back() == '/') {
    final_path.pop_back();
  }
  if (final_path.empty()) {
    throw invalid_argument("empty directory path");
  }
  // Parents first (like mkdir -p), each existing one left as it is.
  for (std::size_t p = final_path.find('/', 1); p != std::string::npos; p = final_path.find('/', p + 1)) {
    if (final_path[p - 1] == '/') {
      continue;
    }
    std::string prefix = final_path.substr(0, p);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      throw from_errno("mkdir " + prefix, errno);
    }
  }
  if (::mkdir(final_path.c_str(), mode) == 0) {
    // mkdir's mode is reduced by the umask; the caller asked for `mode`.
    if (::chmod(final_path.c_str(), mode) != 0) {
      throw from_errno("chmod " + final_path, errno);
    }
  } else if (errno != EEXIST) {
    throw from_errno("mkdir " + final_path, errno);
  }
  struct stat st {};
  if (::lstat(final_path.c_str(), &st) != 0) {
    throw from_errno("stat " + final_path, errno);
  }
  if (S_ISLNK(st.st_mode)) {
    throw invalid_argument(final_path + " is a symbolic link, expected a directory");
  }
  if (!S_ISDIR(st.st_mode)) {
    throw invalid_argument(final_path + " exists and is not a directory");
  }
}

void remove_tree_under(const std::string& root, const std::string& dir) {
  if (root.empty()) {
    throw invalid_argument("remove: empty root directory");
  }
  // The part of `dir` below `root`, as components.
  std::string rel = dir;
  std::string root_slash = root.back() == '/' ? root : root + "/";
  if (!rel.empty() && rel.front() == '/') {
    if (rel.rfind(root_slash, 0) != 0) {
      throw invalid_argument("remove: " + dir + " is not inside " + root);
    }
    rel = rel.substr(root_slash.size());
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= rel.size()) {
    auto end = rel.find('/', start);
    if (end == std::string::npos) {
      end = rel.size();
    }
    std::string part = rel.substr(start, end - start);
    if (!part.empty()) {
      if (!is_single_component(part)) {
        throw invalid_argument("remove: " + dir + " contains a \".\" or \"..\" component");
      }
      parts.push_back(part);
    }
    start = end + 1;
  }
  if (parts.empty()) {
    throw invalid_argument("remove: refusing to delete the root " + root + " itself");
  }

  // The root is the operator's configured directory and may be reached
  // through a symlink; everything below it is walked without following any.
  Fd parent(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent) {
    if (errno == ENOENT) {
      return;
    }
    throw from_errno("remove: open " + root, errno);
  }
  std::string shown = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    Fd next(::openat(parent.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    shown += "/" + parts[i];
    if (!next) {
      if (errno == ENOENT) {
        return;
      }
      if (errno == ELOOP || errno == ENOTDIR) {
        throw invalid_argument("remove: " + shown + " is not a directory (or is a symlink)");
      }
      throw from_errno("remove: open " + shown, errno);
    }
    parent = std::move(next);
  }
  const std::string& leaf = parts.back();
  shown += "/" + leaf;

  struct stat st {};
  if (::fstatat(parent.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      return;
    }
    throw from_errno("remove " + shown, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(parent.get(), leaf.c_str(), 0) != 0 && errno != ENOENT) {
      throw from_errno("remove " + shown, errno);
    }
    return;
  }
  struct stat parent_st {};
  if (::fstat(parent.get(), &parent_st) != 0) {
    throw from_errno("remove " + shown, errno);
  }
  if (st.st_dev != parent_st.st_dev || is_mount_root(parent.get(), leaf.c_str())) {
    throw busy("remove " + shown + ": a filesystem is mounted there");
  }
  Fd target(::openat(parent.get(), leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!target) {
    if (errno == ENOENT) {
      return;
    }
    throw from_errno("remove " + shown, errno);
  }
  remove_contents(target.get(), st.st_dev, shown);
  target.reset();
  if (::unlinkat(parent.get(), leaf.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    throw from_errno("remove " + shown, errno);
  }
}

}  // namespace holdfast
