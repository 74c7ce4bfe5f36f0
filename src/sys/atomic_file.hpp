// Durable whole-file writes and bounded reads.
//
// write_file_atomically() writes a temp file in the same directory
// (".<base>.tmp-<pid>-<n>", created O_EXCL|O_CLOEXEC), fsyncs it, renames it
// over `path` and fsyncs the directory: after a crash `path` holds either
// the old or the new content, never a mix. On failure the temp file is
// removed, the old file is left intact, and holdfast::Error is thrown,
// classified from errno (ENOSPC/EIO -> unavailable, EROFS/EACCES ->
// permission, ...). Readers clean up stale temp files by that name pattern
// (k_temp_marker).
//
// Stateless and thread-safe (temp names are unique per process and call).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace holdfast {

// Appears in every temp file name: ".<base>" + k_temp_marker + "<pid>-<n>".
inline constexpr std::string_view k_temp_marker = ".tmp-";

void write_file_atomically(const std::string& path, std::string_view content, mode_t mode = 0600);

// The whole file, or nullopt when it does not exist. Throws
// invalid_argument when the file is larger than `max_bytes`, and
// holdfast::Error for other read failures.
std::optional<std::string> read_file(const std::string& path, std::size_t max_bytes);

// fsync(2) on a directory, so that a rename or unlink in it is durable.
void fsync_directory(const std::string& path);

// unlink + fsync of the directory; succeeds when `path` does not exist.
void remove_file_durably(const std::string& path);

}  // namespace holdfast
