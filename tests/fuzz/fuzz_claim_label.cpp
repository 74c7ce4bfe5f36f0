// Fuzz target: the iSCSI claim label (backends/iscsi/claim_label.cpp,
// decode_label), the 4 KiB block holdfast reads from every LUN of the pool,
// LUNs that other hosts (or other software) write.
//
// The input is the block (cut or zero-padded to 4096 bytes). It is decoded
// as it is, and once more with a correct CRC-32C patched in, so that the
// fuzzer reaches the body parser behind the checksum.
//
// Contract checked (claim_label.hpp): decode_label never throws; `label` is
// set exactly when the kind is `label`; a decoded label encodes again (it
// can be rewritten: holder heartbeats, release) and decodes to the same
// label (times with whole seconds, as encode writes them).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "claim_label.hpp"
#include "fuzz_check.hpp"

using holdfast::fuzz::fuzz_require;
namespace iscsi = holdfast::iscsi;

namespace {

constexpr std::size_t k_crc_offset = 24;

holdfast::SystemTime whole_seconds(holdfast::SystemTime t) {
  return std::chrono::time_point_cast<std::chrono::seconds>(t);
}

iscsi::ClaimLabel as_stored(iscsi::ClaimLabel label) {
  label.created_at = whole_seconds(label.created_at);
  if (label.holder) {
    label.holder->since = whole_seconds(label.holder->since);
    label.holder->beat_at = whole_seconds(label.holder->beat_at);
  }
  if (label.retained_at) {
    label.retained_at = whole_seconds(*label.retained_at);
  }
  return label;
}

void check(const std::vector<unsigned char>& block) {
  const iscsi::DecodedLabel decoded = iscsi::decode_label(block.data(), block.size());
  (void)iscsi::to_string(decoded.kind);
  fuzz_require(decoded.label.has_value() == (decoded.kind == iscsi::BlockKind::label),
               "label set for a non-label block (or missing for a label)");
  if (!decoded.label) {
    fuzz_require(decoded.kind == iscsi::BlockKind::blank || decoded.kind == iscsi::BlockKind::foreign ||
                     !decoded.problem.empty(),
                 "corrupt or unsupported block without a reason");
    return;
  }
  const std::vector<unsigned char> encoded = iscsi::encode_label(*decoded.label);  // must not throw
  const iscsi::DecodedLabel again = iscsi::decode_label(encoded.data(), encoded.size());
  fuzz_require(again.kind == iscsi::BlockKind::label && again.label.has_value(), "re-encoded label does not decode");
  fuzz_require(*again.label == as_stored(*decoded.label), "label changed in an encode/decode round trip");
}

void put_u32(unsigned char* p, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) {
    p[i] = static_cast<unsigned char>(v & 0xffU);
    v >>= 8U;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Blocks of another size are rejected up front; decode them once too.
  (void)iscsi::decode_label(data, size);

  std::vector<unsigned char> block(iscsi::k_label_size, 0);
  if (size > 0) {
    std::memcpy(block.data(), data, std::min<std::size_t>(size, block.size()));
  }
  check(block);

  std::memset(block.data() + k_crc_offset, 0, 4);
  put_u32(block.data() + k_crc_offset, iscsi::crc32c(block.data(), block.size()));
  check(block);
  return 0;
}
