// The volume record kept ON THE EXPORT, next to the volumes, so that every
// host pointed at the same export sees the same volumes with the same
// options: <base>/.holdfast/volumes/<name>.json.
//
// A record is written once, complete, under a temporary name and then
// hard-linked into place (the link is the cross-host claim: it fails with
// EEXIST for the loser, and nobody ever sees a half-written record). It is
// never rewritten; Remove unlinks it (or, for on_remove=archive, moves it
// into the trash beside the archived data).
//
// Format 2, parsed strictly - unknown keys, wrong types, a name that does
// not match the file, or another version are errors, so a record from a
// newer holdfast is skipped rather than half understood:
//   {"holdfast_volume": 2, "name": "db", "dir": "db@20261128T010611Z.9f3a61c2",
//    "options": {"uid": "1000"}, "created_at": "2026-11-28T01:06:11Z",
//    "created_by": "host-a"}
// "dir" is the volume's directory inside the base path. Each creation of a
// name gets a directory of its own ("<name>@<stamp>.<random>"), so that a
// Remove of an earlier generation of the name that the server carries out
// late (sent by a holdfastd killed mid-Remove, executed after the name was
// removed and created again) can never touch the new volume's data: NFS
// operations name paths, and no path of one generation is ever another's.
// An adopted directory (adopt_existing) keeps its own name, "dir": "<name>".
// Format 1 (no "dir") is read as "dir": "<name>".
//
// Also: the layout of holdfast's directories inside the base path.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <holdfast/volume.hpp>

namespace holdfast::nfs {

inline constexpr int k_metadata_format = 2;
// Records are small; anything larger is not ours.
inline constexpr std::size_t k_max_metadata_bytes = 64 * 1024;

struct VolumeMetadata {
  std::string name;
  std::string dir;  // directory inside the base path: "<name>" or "<name>@<generation>"
  Options options;
  SystemTime created_at{};
  std::string created_by;
};

std::string serialize_metadata(const VolumeMetadata& metadata);

// Throws invalid_argument describing the first problem.
VolumeMetadata parse_metadata(std::string_view text, std::string_view expected_name);
// The same for a record whose file name says nothing (one moved into the
// trash): any valid volume name is accepted.
VolumeMetadata parse_metadata_any_name(std::string_view text);

// A fresh directory name for a new generation of volume `name`:
// "<name>@<UTC stamp>.<8 hex>". '@' never occurs in volume names, so a
// generation directory can never be mistaken for another volume's.
std::string generation_dir(std::string_view name, SystemTime now, std::uint32_t random);
// Whether `dir` may be the directory of volume `name`: `name` itself or
// `name@` followed by 1 to 48 of [A-Za-z0-9.-] (a single safe component).
bool valid_volume_dir(std::string_view name, std::string_view dir);

// Paths inside the export. `base` is normalised: "/" or "/a/b" (no
// trailing slash).
struct ExportLayout {
  std::string base;

  std::string volume_dir(std::string_view dir) const;      // <base>/<dir> (VolumeMetadata::dir)
  std::string admin_dir() const;                            // <base>/.holdfast
  std::string records_dir() const;                          // <base>/.holdfast/volumes
  std::string record_path(std::string_view name) const;    // <base>/.holdfast/volumes/<name>.json
  std::string staging_dir() const;                          // <base>/.holdfast/tmp
  std::string trash_dir() const;                            // <base>/.holdfast/trash

  // The volume name of a record file name ("db.json" -> "db"); empty when
  // the file is not a record (temporary files, other names).
  static std::string name_of_record(std::string_view file_name);
};

// Prefix of trash entries awaiting deletion (on_remove=delete); archived
// entries (on_remove=archive) never carry it.
inline constexpr std::string_view k_delete_prefix = ".delete-";
// Prefix of records being removed: Remove moves a record into the trash
// under a unique name before deleting (or archiving) it. One found there
// whose directory is still live was moved by a late Remove of an earlier
// generation, and discover() puts it back.
inline constexpr std::string_view k_record_prefix = ".record-";
// Prefix of markers "<prefix><dir>" left by on_remove=retain: that
// generation's directory stays live although its record is gone.
inline constexpr std::string_view k_retained_prefix = ".retained-";

// A string safe as part of a file name (host ids in temporary names):
// [A-Za-z0-9_.-] kept, everything else '_', at most 64 bytes.
std::string file_name_safe(std::string_view text);

// "20261128T010611Z" for names of archived volumes.
std::string compact_timestamp(SystemTime t);

}  // namespace holdfast::nfs
