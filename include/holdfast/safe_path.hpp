// Path helpers that cannot be tricked into leaving a directory: joining a
// single untrusted component under a root, creating directories, and a
// recursive delete that never follows symlinks and never crosses into
// another filesystem (a mount inside the tree).
//
// They are in the SDK (not src/sys) because backends, which may link only
// holdfast_sdk, need them (the local backend's delete policy). Stateless and
// thread-safe; errors are holdfast::Error classified from errno.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace holdfast {

// root + "/" + component. Throws invalid_argument when `component` is
// empty, ".", "..", or contains '/' or a NUL byte: it must name exactly one
// entry directly inside `root`.
std::string join_under(const std::string& root, std::string_view component);

// mkdir -p: creates `path` and missing parents. Directories created get
// exactly `mode` (not reduced by the umask); existing ones are left as they
// are. Throws unless `path` ends up a directory that is not itself a symlink
// (symlinks among the parents, such as /var/run, are followed).
void ensure_directory(const std::string& path, mode_t mode);

// Deletes `dir` and everything below it. `dir` is either relative to `root`
// or an absolute path inside `root`; it may not be `root` itself or contain
// "." / ".." components. The walk is fd-relative (openat/unlinkat with
// O_NOFOLLOW|O_DIRECTORY): a symlink anywhere in the tree, or as `dir`
// itself, is unlinked as a link and its target is untouched, so a link
// planted by a container cannot make the delete escape `root`. A directory
// on another filesystem (something mounted inside the tree) stops the delete
// with a `busy` error rather than emptying the mounted filesystem. Succeeds
// when `dir` does not exist (idempotent).
void remove_tree_under(const std::string& root, const std::string& dir);

}  // namespace holdfast
