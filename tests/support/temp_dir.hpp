// holdfast::test::TempDir: a fresh directory /tmp/holdfast-test-XXXXXX for one
// test, removed recursively (without following symlinks) in the destructor.
//
// Owns the directory tree it created. Not thread-safe to destroy while other
// threads still use the tree; path()/sub() are const and safe to share.
#pragma once

#include <string>
#include <string_view>

namespace holdfast::test {

class TempDir {
 public:
  // Creates the directory (mode 0700); throws std::runtime_error on failure.
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Absolute path of the directory, without a trailing slash.
  const std::string& path() const { return m_path; }

  // path() + "/" + name. Does not create anything.
  std::string sub(std::string_view name) const;

 private:
  std::string m_path;
};

}  // namespace holdfast::test
