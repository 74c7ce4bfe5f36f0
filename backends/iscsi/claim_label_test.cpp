// Unit tests of the claim label: layout, exact round trips, and that every
// kind of damage is classified (never decoded as a valid label).
#include "claim_label.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>

#include <nlohmann/json.hpp>

#include <holdfast/error.hpp>

using namespace holdfast;
using namespace holdfast::iscsi;

namespace {

ClaimLabel sample() {
  ClaimLabel l;
  l.sequence = 7;
  l.state = LabelState::claimed;
  l.volume = "db-data_1.x";
  l.options = {{"size", "10G"}, {"fs", "xfs"}};
  l.fs = "xfs";
  l.created_at = parse_rfc3339("2026-11-28T01:06:11Z");
  l.created_by = "node-a";
  l.claim_id = "0123456789abcdef";
  l.capacity = 10ULL << 30;
  return l;
}

// Rewrites the body of a valid block and fixes the checksum, so that the
// body checks (not the CRC) are what is exercised.
std::vector<unsigned char> with_body(const std::string& body) {
  auto block = encode_label(sample());
  std::memset(block.data() + 64, 0, block.size() - 64);
  std::memcpy(block.data() + 64, body.data(), body.size());
  std::uint32_t len = static_cast<std::uint32_t>(body.size());
  block[12] = static_cast<unsigned char>(len >> 24);
  block[13] = static_cast<unsigned char>(len >> 16);
  block[14] = static_cast<unsigned char>(len >> 8);
  block[15] = static_cast<unsigned char>(len);
  std::memset(block.data() + 24, 0, 4);
  std::uint32_t crc = crc32c(block.data(), block.size());
  block[24] = static_cast<unsigned char>(crc >> 24);
  block[25] = static_cast<unsigned char>(crc >> 16);
  block[26] = static_cast<unsigned char>(crc >> 8);
  block[27] = static_cast<unsigned char>(crc);
  return block;
}

nlohmann::json sample_body() {
  auto block = encode_label(sample());
  std::uint32_t len = (std::uint32_t{block[12]} << 24) | (std::uint32_t{block[13]} << 16) |
                      (std::uint32_t{block[14]} << 8) | block[15];
  return nlohmann::json::parse(std::string(reinterpret_cast<const char*>(block.data() + 64), len));
}

}  // namespace

TEST_CASE("crc32c matches the published check value", "[label]") {
  const char* text = "123456789";
  CHECK(crc32c(reinterpret_cast<const unsigned char*>(text), 9) == 0xE3069283U);
}

TEST_CASE("layout reserves the last MiB and aligns the filesystem to 1 MiB", "[label]") {
  auto l = LunLayout::for_capacity(64ULL << 20, 512);
  CHECK(l.fs_bytes == 63ULL << 20);
  CHECK(l.label_offset == l.fs_bytes);
  auto odd = LunLayout::for_capacity((100ULL << 20) + 12345 * 512, 512);
  CHECK(odd.fs_bytes == 105ULL << 20);  // 100 MiB + 6.03 MiB, minus the tail, floored
  CHECK(odd.capacity - odd.fs_bytes >= k_tail_reserve);
  CHECK(odd.fs_bytes % (1 << 20) == 0);
  CHECK(LunLayout::for_capacity(1ULL << 40, 4096).fs_bytes == (1ULL << 40) - (1 << 20));
  CHECK_THROWS_AS(LunLayout::for_capacity(16ULL << 20, 512), Error);
  CHECK_THROWS_AS(LunLayout::for_capacity(64ULL << 20, 520), Error);
}

TEST_CASE("a label round-trips exactly", "[label]") {
  ClaimLabel l = sample();
  SECTION("claimed, no holder") {}
  SECTION("with a holder") {
    Holder h;
    h.host = "node-b";
    h.key = 0xfedcba9876543210ULL;
    h.since = parse_rfc3339("2026-11-28T02:00:00Z");
    h.beat = 42;
    h.beat_at = parse_rfc3339("2026-11-28T02:10:00Z");
    l.holder = h;
  }
  SECTION("retained") {
    l.state = LabelState::retained;
    l.retained_at = parse_rfc3339("2026-12-01T00:00:00Z");
  }
  SECTION("no options, longest name") {
    l.options.clear();
    l.volume = std::string(k_max_volume_name, 'v');
  }
  auto block = encode_label(l);
  REQUIRE(block.size() == k_label_size);
  auto d = decode_label(block.data(), block.size());
  REQUIRE(d.kind == BlockKind::label);
  CHECK(*d.label == l);
}

TEST_CASE("blank, foreign, newer and wrongly sized blocks are classified", "[label]") {
  std::vector<unsigned char> zero(k_label_size, 0);
  CHECK(decode_label(zero.data(), zero.size()).kind == BlockKind::blank);

  auto foreign = zero;
  foreign[100] = 1;
  CHECK(decode_label(foreign.data(), foreign.size()).kind == BlockKind::foreign);

  auto newer = encode_label(sample());
  newer[11] = 2;  // version 2
  auto d = decode_label(newer.data(), newer.size());
  CHECK(d.kind == BlockKind::unsupported);
  CHECK_THAT(d.problem, Catch::Contains("version 2"));

  auto block = encode_label(sample());
  CHECK(decode_label(block.data(), 512).kind == BlockKind::corrupt);
  CHECK(decode_label(nullptr, 0).kind == BlockKind::corrupt);
}

TEST_CASE("every single-bit flip of a label is detected", "[label]") {
  auto block = encode_label(sample());
  std::mt19937 rng(12345);
  // All header bits, and a sample of body/padding bits.
  std::vector<std::size_t> bits;
  for (std::size_t b = 0; b < 64 * 8; ++b) {
    bits.push_back(b);
  }
  std::uniform_int_distribution<std::size_t> pick(64 * 8, k_label_size * 8 - 1);
  for (int i = 0; i < 2000; ++i) {
    bits.push_back(pick(rng));
  }
  for (std::size_t bit : bits) {
    auto copy = block;
    copy[bit / 8] ^= static_cast<unsigned char>(1U << (bit % 8));
    auto d = decode_label(copy.data(), copy.size());
    INFO("bit " << bit);
    CHECK(d.kind != BlockKind::label);
    CHECK(d.kind != BlockKind::blank);
  }
}

TEST_CASE("random garbage never decodes as a label", "[label]") {
  std::mt19937 rng(777);
  std::uniform_int_distribution<int> byte(0, 255);
  auto valid = encode_label(sample());
  for (int i = 0; i < 500; ++i) {
    std::vector<unsigned char> junk(k_label_size);
    for (auto& b : junk) {
      b = static_cast<unsigned char>(byte(rng));
    }
    if (i % 2 == 0) {
      std::memcpy(junk.data(), valid.data(), 16);  // our magic and version, garbage after
    }
    auto d = decode_label(junk.data(), junk.size());
    CHECK(d.kind != BlockKind::label);
  }
  // Truncations of the body with a fixed checksum.
  auto body = sample_body().dump();
  for (std::size_t cut = 1; cut < body.size(); cut += 7) {
    auto block = with_body(body.substr(0, cut));
    CHECK(decode_label(block.data(), block.size()).kind == BlockKind::corrupt);
  }
}

TEST_CASE("the body is checked strictly even with a valid checksum", "[label]") {
  auto body = sample_body();
  auto check_corrupt = [](const nlohmann::json& b, const std::string& why) {
    auto block = with_body(b.dump());
    auto d = decode_label(block.data(), block.size());
    INFO(b.dump());
    CHECK(d.kind == BlockKind::corrupt);
    CHECK_THAT(d.problem, Catch::Contains(why));
  };
  {
    auto b = body;
    b["extra"] = 1;
    check_corrupt(b, "unknown field");
  }
  for (const char* key :
       {"state", "volume", "options", "fs", "created_at", "created_by", "claim_id", "capacity"}) {
    auto b = body;
    b.erase(key);
    check_corrupt(b, "missing field");
  }
  {
    auto b = body;
    b["volume"] = "../etc";
    check_corrupt(b, "volume name");
  }
  {
    auto b = body;
    b["state"] = "gone";
    check_corrupt(b, "unknown state");
  }
  {
    auto b = body;
    b["capacity"] = -1;
    check_corrupt(b, "wrong type");
  }
  {
    auto b = body;
    b["claim_id"] = "xyz";
    check_corrupt(b, "claim_id");
  }
  {
    auto b = body;
    b["created_at"] = "yesterday";
    check_corrupt(b, "RFC 3339");
  }
  {
    auto b = body;
    b["options"]["Bad Key"] = "1";
    check_corrupt(b, "option");
  }
  {
    auto b = body;
    b["holder"] = {{"host", "a"},
                   {"key", "00"},
                   {"since", "2026-01-01T00:00:00Z"},
                   {"beat", 1},
                   {"beat_at", "2026-01-01T00:00:00Z"}};
    check_corrupt(b, "holder.key");
  }
  {
    auto b = body;
    b["state"] = "retained";  // without retained_at
    check_corrupt(b, "retained_at");
  }
  {
    auto block = with_body("[1,2,3]");
    CHECK(decode_label(block.data(), block.size()).kind == BlockKind::corrupt);
  }
  {
    auto block = with_body("{not json");
    auto d = decode_label(block.data(), block.size());
    CHECK(d.kind == BlockKind::corrupt);
    CHECK_THAT(d.problem, Catch::Contains("JSON"));
  }
}

TEST_CASE("non-zero reserved bytes are rejected even with a valid checksum", "[label]") {
  auto block = encode_label(sample());
  block[40] = 1;
  std::memset(block.data() + 24, 0, 4);
  std::uint32_t crc = crc32c(block.data(), block.size());
  for (int i = 0; i < 4; ++i) {
    block[24 + i] = static_cast<unsigned char>(crc >> (24 - 8 * i));
  }
  auto d = decode_label(block.data(), block.size());
  CHECK(d.kind == BlockKind::corrupt);
  CHECK_THAT(d.problem, Catch::Contains("reserved"));
}

TEST_CASE("labels that cannot be stored are refused at encode time", "[label]") {
  auto l = sample();
  l.volume = "bad name";
  CHECK_THROWS_AS(encode_label(l), Error);
  l = sample();
  l.options["huge"] = std::string(300, 'x');
  CHECK_THROWS_AS(encode_label(l), Error);
  l = sample();
  for (int i = 0; i < 40; ++i) {
    l.options["opt" + std::to_string(i)] = std::string(200, 'x');
  }
  CHECK_THROWS_WITH(encode_label(l), Catch::Contains("do not fit"));
  l = sample();
  l.state = LabelState::retained;
  CHECK_THROWS_AS(encode_label(l), Error);
  l = sample();
  l.fs = "btrfs";
  CHECK_THROWS_AS(encode_label(l), Error);
}
