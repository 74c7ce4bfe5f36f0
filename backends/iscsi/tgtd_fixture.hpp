// holdfast::iscsi::test::Tgtd: a private tgtd (Linux SCSI target daemon,
// package tgt) started by a test on 127.0.0.1 with its own iSCSI port and
// its own management socket, configured through tgtadm (argv, bounded), and
// killed with its process group in the destructor. File-backed LUNs live in
// a TempDir.
//
// Test-only. Not thread-safe: one test thread drives it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace holdfast::iscsi::test {

class Tgtd {
 public:
  // Whether tgtd and tgtadm are installed (the test skips otherwise).
  static bool available();

  // Starts tgtd and waits until it answers tgtadm (throws std::runtime_error).
  Tgtd();
  ~Tgtd();
  Tgtd(const Tgtd&) = delete;
  Tgtd& operator=(const Tgtd&) = delete;

  int port() const { return m_port; }
  std::string portal() const { return "127.0.0.1:" + std::to_string(m_port); }

  // tgtadm --lld iscsi <args>; throws with its stderr on failure.
  std::string tgtadm(const std::vector<std::string>& args);

  // A target (open to every initiator) and a sparse file-backed LUN.
  void add_target(int tid, const std::string& iqn);
  std::string add_lun(int tid, int lun, std::uint64_t size);
  void add_account(const std::string& user, const std::string& password);
  void bind_account(int tid, const std::string& user, bool outgoing);
  // Restricts a target to one initiator address (instead of ALL).
  void unbind_all(int tid);

  // The backing file of a LUN, to inspect or damage what the target serves.
  std::string backing(int tid, int lun) const;
  void write_backing(int tid, int lun, std::uint64_t offset, const std::vector<unsigned char>& data);
  std::vector<unsigned char> read_backing(int tid, int lun, std::uint64_t offset, std::size_t length);

  // Freeze (SIGSTOP) / thaw (SIGCONT): a target that accepts nothing and
  // answers nothing. kill(): gone; connections refused.
  void freeze();
  void thaw();
  void kill();

  const holdfast::test::TempDir& dir() const { return m_dir; }

 private:
  holdfast::test::TempDir m_dir;
  int m_port = 0;
  int m_control_port = 0;
  pid_t m_pid = -1;
};

}  // namespace holdfast::iscsi::test
