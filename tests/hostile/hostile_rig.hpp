// HostileRig: the real holdfastd, started on a temp root with a local
// backend, an nfs backend whose server is a BlackHole on 127.0.0.1 (so any
// request that reaches the network shows up as an accepted connection) and
// an lvm backend on a volume group that does not exist (its options are
// validated without running a command). One volume, "keep", exists and is
// mounted, so hostile requests have something to damage.
//
// Every hostile request goes through refuse_api() / refuse_raw(), which
// check the reply and then that nothing changed: the state directory, the
// local base directory and the mount root (entries, inodes, mtimes), the
// mount table under the root, and that the daemon runs and answers List.
//
// Not thread-safe except where noted: one test thread drives a rig.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "support/black_hole.hpp"
#include "support/daemon_process.hpp"
#include "support/footprint.hpp"
#include "support/socket_client.hpp"
#include "support/temp_dir.hpp"

namespace holdfast::test {

struct ApiCase {
  std::string label;
  std::string endpoint;  // "/VolumeDriver.Create"
  std::string body;      // sent as is
  // Words the Err must contain (case-insensitive): that it is informative.
  std::vector<std::string> mentions;
};

class HostileRig {
 public:
  HostileRig();

  DaemonProcess& daemon() { return m_daemon; }
  const BlackHole& hole() const { return m_hole; }
  // Connections to the black hole made by the cases (not by the start-up refresh).
  int hole_contacts() const { return static_cast<int>(m_hole.accepted()) - m_hole_baseline; }
  std::string volumes_dir() const { return m_dir.sub("volumes"); }

  Footprint footprint() const;

  // Sends one API request; checks that it is refused with an HTTP error and
  // a JSON Err that mentions every word of `c.mentions`, holds no raw
  // control character and is at most 2 KiB; then that nothing changed.
  void refuse_api(const ApiCase& c);

  // Sends raw bytes on a fresh connection, half-closes, and checks that the
  // daemon answers an HTTP error (any 4xx/5xx, after any 1xx interim
  // reply) or closes the connection, then that nothing changed. With
  // `tolerated`, a normal answer (2xx with a JSON Err "") is accepted too:
  // for requests HTTP allows a server to take leniently; nothing may change
  // all the same.
  void refuse_raw(const std::string& label, std::string_view bytes, bool tolerated = false);

  // The daemon still runs, answers List with Err "", and the footprint is
  // `before`. Thread-safe enough for a test thread while others only read.
  void expect_unharmed(const std::string& label, const Footprint& before);

  // Number of cases checked so far.
  std::size_t cases() const { return m_cases; }

 private:
  TempDir m_dir;
  BlackHole m_hole;
  int m_hole_baseline = 0;
  DaemonProcess m_daemon;
  std::size_t m_cases = 0;
};

// A JSON string literal for `text` with every byte kept as is except '"'
// and '\\' (so raw control bytes and invalid UTF-8 reach the parser).
std::string raw_json_string(std::string_view text);

}  // namespace holdfast::test
