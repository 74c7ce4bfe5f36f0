// RemoveJournal: this host's Removes of nfs volumes that reached the server
// and are not known to be finished, kept in the daemon's state directory
// (<state_dir>/backends/<instance>/removing/<volume>).
//
// Why: NFS operations name paths, and a server may carry out a request from
// a client that has died (the crash torture saw nfs-ganesha run a killed
// holdfastd's RENAME a second after the kill). A Remove cut off by a crash
// or a timeout can therefore take the volume's directory after the next
// holdfastd has acknowledged a Create or Mount of that same volume. A
// directory per creation makes this harmless for a volume created again
// (nfs_metadata.hpp); for the same volume, the journal lets the backend
// finish such a Remove before the name is used again, so it resolves as
// applied, before anything later, never after.
//
// An entry is written durably (atomic file, fsync) before the first
// destructive request and removed when the Remove has finished. Entries
// name the generation directory the Remove was for, and the process that
// wrote them, so that the background refresh leaves a running Remove alone.
// Thread-safe for different names; calls for one name are serialised by
// the caller.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace holdfast::nfs {

struct PendingRemove {
  std::string dir;  // VolumeMetadata::dir of the generation being removed
  long pid = 0;     // holdfastd process that started it
};

// An entry's text: {"dir": "<VolumeMetadata::dir of volume name>",
// "pid": <integer>}. Throws invalid_argument naming the problem.
PendingRemove parse_pending_remove(std::string_view name, std::string_view text);
std::string serialize_pending_remove(const PendingRemove& entry);

class RemoveJournal {
 public:
  // `directory` is created (0700) on the first write.
  explicit RemoveJournal(std::string directory) : m_dir(std::move(directory)) {}

  // Throws holdfast::Error when the entry cannot be made durable: the
  // Remove must then not start.
  void begin(const std::string& name, const std::string& dir) const;
  void finish(const std::string& name) const;
  std::optional<PendingRemove> pending(const std::string& name) const;
  // Every entry; unreadable ones are logged and skipped.
  std::map<std::string, PendingRemove> all() const;

 private:
  std::string m_dir;
};

}  // namespace holdfast::nfs
