// holdfast::StateStore: the durable record of every volume, one JSON file per
// volume under <state_dir>/volumes/<name>.json.
//
// One file per volume keeps a write proportional to one volume (Create/Mount
// cost the same with 10 or 10,000 volumes) and confines a damaged file to
// one volume. Each write is atomic: temp file in the same directory, fsync,
// rename, fsync of the directory; a crash leaves either the old or the new
// file, never a torn one. Leftover temp files are removed at load.
//
// Thread-safety: save/erase of *different* names may run concurrently; the
// volume manager never writes one name from two threads at once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <holdfast/volume.hpp>

namespace holdfast {

struct LoadResult {
  std::vector<VolumeRecord> records;
  // Files that could not be parsed; they are renamed to <name>.json.corrupt-<time>
  // so that they are kept for the operator and not loaded again.
  std::vector<std::string> unreadable;
};

class StateStore {
 public:
  // Creates <state_dir>/volumes (0700) if needed. Throws holdfast::Error.
  explicit StateStore(std::string state_dir);
  virtual ~StateStore() = default;

  // Reads every <name>.json. Leftover temp files of interrupted writes are
  // deleted; a file that does not parse, or whose record names another
  // volume, is renamed <name>.json.corrupt-<unix time> and listed in
  // `unreadable` (its path before the rename); *.corrupt-* files and other
  // names are ignored. Throws only when the directory cannot be read.
  virtual LoadResult load();
  // Durably replaces the record for record.name. Throws holdfast::Error
  // (ENOSPC, EROFS... classified) and leaves the previous file intact.
  virtual void save(const VolumeRecord& record);
  // Durably removes the record; succeeds if absent.
  virtual void erase(const std::string& name);

  const std::string& directory() const { return m_dir; }

 private:
  std::string m_dir;
};

// Longest accepted mount ID (Docker sends 64 hex characters).
inline constexpr std::size_t k_max_mount_id = 256;

// Throws invalid_argument unless `id` is 1..k_max_mount_id printable ASCII
// characters without spaces. Used at the door (Mount/Unmount) and on load.
void validate_mount_id(std::string_view id);

// The on-disk JSON form of a record (also used by the fuzz target and tests).
// from_json throws invalid_argument on anything malformed.
std::string record_to_json(const VolumeRecord& record);
VolumeRecord record_from_json(const std::string& text);

}  // namespace holdfast
