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
// Format (version 1), parsed strictly - unknown keys, wrong types, a name
// that does not match the file, or another version are errors, so a record
// from a newer holdfast is skipped rather than half understood:
//   {"holdfast_volume": 1, "name": "db", "options": {"uid": "1000"},
//    "created_at": "2026-11-28T01:06:11Z", "created_by": "host-a"}
//
// Also: the layout of holdfast's directories inside the base path.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <holdfast/volume.hpp>

namespace holdfast::nfs {

inline constexpr int k_metadata_format = 1;
// Records are small; anything larger is not ours.
inline constexpr std::size_t k_max_metadata_bytes = 64 * 1024;

struct VolumeMetadata {
  std::string name;
  Options options;
  SystemTime created_at{};
  std::string created_by;
};

std::string serialize_metadata(const VolumeMetadata& metadata);

// Throws invalid_argument describing the first problem.
VolumeMetadata parse_metadata(std::string_view text, std::string_view expected_name);

// Paths inside the export. `base` is normalised: "/" or "/a/b" (no
// trailing slash).
struct ExportLayout {
  std::string base;

  std::string volume_dir(std::string_view name) const;     // <base>/<name>
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

// A string safe as part of a file name (host ids in temporary names):
// [A-Za-z0-9_.-] kept, everything else '_', at most 64 bytes.
std::string file_name_safe(std::string_view text);

// "20261128T010611Z" for names of archived volumes.
std::string compact_timestamp(SystemTime t);

}  // namespace holdfast::nfs
