// The claim label: a 4 KiB record holdfast keeps on each LUN it uses, so that
// every host can tell which LUN holds which volume by reading the LUN itself
// (no host-local catalogue).
//
// Where it lives. The last 1 MiB of a LUN (rounded so that the filesystem
// area ends on a 1 MiB boundary) is reserved; the filesystem is made exactly
// `fs_bytes` long and the label is the first 4 KiB of the reserved tail:
//
//   0                         fs_bytes            fs_bytes+4K        capacity
//   | filesystem (mkfs size=fs_bytes) | label | zero ............... |
//
// Why the tail and 1 MiB: the head of a LUN belongs to the filesystem
// (xfs's superblock is sector 0), mkfs.ext4 only touches its own size, and
// mkfs.xfs zeroes the last 128 KiB of the *device* to erase old MD/GPT
// metadata; 1 MiB keeps the label clear of all of these. The layout depends
// on the capacity, so a LUN must not be resized in place (docs/backends/iscsi.md).
//
// Format (all integers big-endian):
//   0   8  magic "HOLDFAST"
//   8   4  format version (1)
//   12  4  body length L (1..4032)
//   16  8  sequence: +1 on every rewrite
//   24  4  CRC-32C of the whole 4096-byte block with this field zeroed
//   28 36  zero
//   64  L  body: a JSON object (fields below), no unknown keys
//   64+L   zero up to 4096
// Decoding is strict: anything that is not exactly this is "corrupt" (our
// magic) or "foreign" (not our magic, not all zeros), and neither is ever
// claimed or overwritten automatically.
//
// Pure functions, no state: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <holdfast/volume.hpp>

namespace holdfast::iscsi {

inline constexpr std::uint64_t k_label_size = 4096;
inline constexpr std::uint64_t k_tail_reserve = 1024 * 1024;
// A LUN without a label counts as blank (claimable) only when this many
// bytes at its head are zero, so a LUN carrying someone else's data is
// never taken into the pool.
inline constexpr std::uint64_t k_head_check = 1024 * 1024;
inline constexpr std::uint64_t k_min_capacity = 32 * 1024 * 1024;
inline constexpr std::uint32_t k_label_version = 1;

struct LunLayout {
  std::uint64_t capacity = 0;  // bytes
  std::uint32_t block_size = 0;
  std::uint64_t fs_bytes = 0;  // the filesystem area is [0, fs_bytes)
  std::uint64_t label_offset = 0;

  // Throws invalid_argument for a block size other than 512/4096 or a
  // capacity below k_min_capacity.
  static LunLayout for_capacity(std::uint64_t capacity, std::uint32_t block_size);
};

// The host whose reservation currently fences the LUN for an attach.
struct Holder {
  std::string host;
  std::uint64_t key = 0;  // its SCSI-3 reservation key
  SystemTime since{};
  // Heartbeat: the holder bumps `beat` from its periodic refresh; another
  // host that sees it stand still for the grace period may take over.
  std::uint64_t beat = 0;
  SystemTime beat_at{};
};

// Declared before ClaimLabel, whose defaulted == compares an
// optional<Holder> (clang needs it visible there).
bool operator==(const Holder& a, const Holder& b);

enum class LabelState {
  claimed,  // the LUN is volume `volume`
  retained  // the volume was removed with remove: keep; data kept for the same name
};

struct ClaimLabel {
  std::uint64_t sequence = 0;
  LabelState state = LabelState::claimed;
  std::string volume;
  Options options;
  std::string fs;  // ext4 | xfs: what is (or will be) on the LUN
  SystemTime created_at{};
  std::string created_by;
  std::string claim_id;        // 16 hex digits, random per claim
  std::uint64_t capacity = 0;  // LUN capacity when claimed
  std::optional<Holder> holder;
  std::optional<SystemTime> retained_at;

  bool operator==(const ClaimLabel&) const = default;
};

enum class BlockKind {
  blank,        // all zeros: no label
  label,        // a valid label
  foreign,      // not our magic and not zeros: someone else's data
  unsupported,  // our magic, a newer format version
  corrupt       // our magic, but the checksum or the body is wrong
};

struct DecodedLabel {
  BlockKind kind = BlockKind::blank;
  std::optional<ClaimLabel> label;  // set iff kind == label
  std::string problem;              // why it is corrupt / unsupported
};

// Exactly k_label_size bytes. Throws invalid_argument when the label cannot
// be encoded (body too large, bad volume name, empty fields).
std::vector<unsigned char> encode_label(const ClaimLabel& label);

// Never throws: every malformed input is classified.
DecodedLabel decode_label(const unsigned char* data, std::size_t size);

std::string to_string(LabelState state);
std::string to_string(BlockKind kind);

// CRC-32C (Castagnoli), as iSCSI digests use.
std::uint32_t crc32c(const unsigned char* data, std::size_t size);

// True when every byte is zero.
bool all_zero(const unsigned char* data, std::size_t size);

// 16 lowercase hex digits.
std::string key_hex(std::uint64_t key);

}  // namespace holdfast::iscsi
