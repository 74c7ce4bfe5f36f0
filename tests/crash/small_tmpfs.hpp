// holdfast::crash::SmallTmpfs: a size-limited tmpfs mounted on a directory
// for one test (the state directory of a daemon whose disk fills up), and
// Filler, which fills such a filesystem to the last page.
//
// SmallTmpfs mounts in the constructor (mount(2), needs root) and unmounts
// in the destructor (lazily if still busy); declare it after the TempDir
// holding its directory and before anything that runs inside it, so that
// it goes away after its users and before the directory is removed.
// Neither is thread-safe.
#pragma once

#include <cstddef>
#include <string>

namespace holdfast::crash {

class SmallTmpfs {
 public:
  // Creates `path` if needed and mounts a tmpfs of `bytes` on it. Throws
  // std::runtime_error when the mount fails.
  SmallTmpfs(std::string path, std::size_t bytes);
  ~SmallTmpfs();
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

class Filler {
 public:
  explicit Filler(std::string path) : m_path(std::move(path)) {}
  ~Filler() { release(); }
  Filler(const Filler&) = delete;
  Filler& operator=(const Filler&) = delete;

  // Appends to the file until the filesystem says ENOSPC; returns the bytes
  // added. Throws std::runtime_error on any other error.
  std::size_t fill();
  // Deletes the file, freeing everything it took.
  void release();

 private:
  std::string m_path;
};

}  // namespace holdfast::crash
