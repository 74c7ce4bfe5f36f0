// The iSCSI backend's configuration: one `backends.<name>` section of type
// iscsi read into typed values, plus the small parsers it needs (portals,
// LUN pools "1-8,10", sizes "10G", takeover policies "grace:90s").
//
// Secrets (CHAP) are read from files named in the config, never from the
// config text or volume options; each is registered with
// holdfast::register_secret() so that redact() masks it in every message.
// Plain values, no shared state: thread-safe to read once built.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <holdfast/backend.hpp>
#include <holdfast/config_reader.hpp>

namespace holdfast::iscsi {

struct Portal {
  std::string host;  // name, IPv4, or IPv6 without brackets
  std::uint16_t port = 3260;

  // "host:port", IPv6 as "[addr]:port": the form libiscsi and iscsiadm take.
  std::string text() const;
  bool operator==(const Portal&) const = default;
};

struct Chap {
  std::string username;  // empty: no CHAP
  std::string secret;
  std::string mutual_username;  // empty: no mutual CHAP
  std::string mutual_secret;

  bool enabled() const { return !username.empty(); }
  bool mutual() const { return !mutual_username.empty(); }
};

enum class TakeoverMode {
  never,     // a LUN held by another host is never taken over
  grace,     // taken over once its holder's heartbeat stood still for `grace`
  operator_  // taken over when an operator drops a takeover file
};

struct TakeoverPolicy {
  TakeoverMode mode = TakeoverMode::never;
  std::chrono::milliseconds grace{0};

  // "never", "operator", "grace:90s".
  std::string text() const;
};

enum class RemovePolicy {
  keep,  // the data stays; the LUN is retained for the same volume name
  wipe   // filesystem signatures and the claim are zeroed; the LUN is free again
};

enum class MultipathMode { off, on };

struct IscsiConfig {
  std::string instance;
  std::vector<Portal> portals;
  // Target IQN; empty: found through SendTargets discovery on the portals
  // (which must then offer exactly one target).
  std::string target;
  std::string initiator_name;
  Chap chap;
  std::vector<int> luns;  // the pool, sorted, unique
  std::string fs = "ext4";
  std::vector<std::string> mkfs_options;  // extra mkfs arguments, before the device
  std::string mount_options;              // comma-separated, as mount(8) -o
  TakeoverPolicy takeover;
  RemovePolicy remove = RemovePolicy::keep;
  MultipathMode multipath = MultipathMode::off;
  // Upper bound for one network step (connect+login, one SCSI command) so a
  // dead portal leaves time to try the next one; the operation's Deadline
  // still bounds the whole call.
  std::chrono::milliseconds io_timeout{10'000};
  // Name of the iscsiadm interface record holdfast logs in through (it pins
  // the initiator name for the kernel sessions).
  std::string iface = "holdfast";
  // Where operators drop takeover files: <state_dir>/backends/<instance>/takeover.
  std::string takeover_dir;
  std::string host_id;
};

// Builds the config from the backend's section. Reads every key through
// `reader` and calls reader.finish(). Reads the secret files and, when no
// initiator_name is configured, `initiator_name_file` (default
// /etc/iscsi/initiatorname.iscsi); those are small local files, not network
// I/O. Throws invalid_argument with file:line for every bad value.
IscsiConfig parse_config(ConfigReader& reader, const BackendEnv& env);

// "1-8,10,12-13" -> {1..8, 10, 12, 13}. LUN numbers 0..16383 (flat space
// addressing); ranges ascending; duplicates rejected. Throws invalid_argument.
std::vector<int> parse_lun_pool(std::string_view text);

// "host", "host:port", "[v6]", "[v6]:port". Throws invalid_argument.
Portal parse_portal(std::string_view text);

// Bytes from "1073741824", "512M", "10G", "10GiB", "1T" (binary units,
// K/M/G/T with an optional "i"/"iB"/"B"). Throws invalid_argument.
std::uint64_t parse_size(std::string_view text);

// "never", "operator", "grace:<duration>" (ms, s, m, h; at least 10 s).
TakeoverPolicy parse_takeover(std::string_view text);

// Checks an iSCSI qualified name (iqn./eui./naa.): lowercase letters,
// digits, '.', '-', ':'; at most 223 bytes. Throws invalid_argument naming `what`.
void validate_iscsi_name(std::string_view name, std::string_view what);

// The name holdfast uses when the host has none: iqn.2024-01.io.holdfast:<host>.
std::string generated_initiator_name(std::string_view host_id);

// The InitiatorName= value of an open-iscsi initiatorname.iscsi text, or ""
// when it has none.
std::string parse_initiator_file(std::string_view text);

}  // namespace holdfast::iscsi
