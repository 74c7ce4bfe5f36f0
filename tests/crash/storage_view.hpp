// holdfast::crash::StorageView: what a backend keeps on its storage, read
// directly from the files behind it (not through the daemon), so the crash
// torture can tell what really exists after a kill.
//
//  - LocalStorage: <base_dir>/<name> directories. The daemon's state files
//    are the truth about which volumes exist; a directory without one is an
//    orphan of a Create cut short (adopted by the next Create of the name).
//  - NfsStorage: the export directory behind nfs-ganesha. The on-export
//    records (<base>/.holdfast/volumes/<name>.json) are the truth (every host
//    sees them); the directory each record names (<base>/<name>@<generation>)
//    holds the data; .holdfast/tmp and
//    .holdfast/trash hold the leftovers of interrupted creates and removes.
//
// Read-only; not thread-safe against a daemon writing at the same time (the
// torture reads while no client runs).
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>

namespace holdfast::crash {

class StorageView {
 public:
  virtual ~StorageView() = default;
  // Shared storage: volumes() decides existence; otherwise the state files do.
  virtual bool authoritative() const = 0;
  // Names the storage holds a volume (or a volume's directory) for.
  virtual std::set<std::string> volumes() const = 0;
  // Whether the volume's data directory exists.
  virtual bool has_data(const std::string& name) const = 0;
  // Leftover entries of interrupted work, by kind ("orphan directories",
  // "staging entries", "trash entries").
  virtual std::map<std::string, std::size_t> leftovers(const std::set<std::string>& existing) const = 0;
};

class LocalStorage : public StorageView {
 public:
  explicit LocalStorage(std::string base_dir) : m_base(std::move(base_dir)) {}
  bool authoritative() const override { return false; }
  std::set<std::string> volumes() const override;
  bool has_data(const std::string& name) const override;
  std::map<std::string, std::size_t> leftovers(const std::set<std::string>& existing) const override;

 private:
  std::string m_base;
};

class NfsStorage : public StorageView {
 public:
  // `base` is the backend's base_path below the export directory.
  explicit NfsStorage(std::string export_dir, std::string base)
      : m_root(std::move(export_dir) + std::move(base)) {}
  bool authoritative() const override { return true; }
  std::set<std::string> volumes() const override;
  bool has_data(const std::string& name) const override;
  std::map<std::string, std::size_t> leftovers(const std::set<std::string>& existing) const override;

 private:
  // Volume name -> its directory inside the base path, from the records
  // ("" for a record that does not parse).
  std::map<std::string, std::string> records() const;
  std::string m_root;
};

// Entries of `dir` (none if it does not exist), names only.
std::set<std::string> entries_of(const std::string& dir);

}  // namespace holdfast::crash
