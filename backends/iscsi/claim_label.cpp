#include "claim_label.hpp"

#include <array>
#include <cstring>

#include <nlohmann/json.hpp>

#include <holdfast/error.hpp>

namespace holdfast::iscsi {

namespace {

constexpr char k_magic[8] = {'H', 'O', 'L', 'D', 'F', 'A', 'S', 'T'};
constexpr std::size_t k_header = 64;
constexpr std::size_t k_max_body = k_label_size - k_header;
constexpr std::size_t k_crc_offset = 24;
constexpr std::size_t k_max_option_text = 256;

std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1U) != 0 ? 0x82F63B78U ^ (c >> 1) : c >> 1;
    }
    table[i] = c;
  }
  return table;
}

void put_u32(unsigned char* p, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) {
    p[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}

void put_u64(unsigned char* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}

std::uint32_t get_u32(const unsigned char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

std::uint64_t get_u64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

std::uint32_t block_crc(const unsigned char* block) {
  std::vector<unsigned char> copy(block, block + k_label_size);
  std::memset(copy.data() + k_crc_offset, 0, 4);
  return crc32c(copy.data(), copy.size());
}

bool is_hex16(const std::string& s) {
  if (s.size() != 16) {
    return false;
  }
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::uint64_t parse_hex16(const std::string& s) {
  std::uint64_t v = 0;
  for (char c : s) {
    v = (v << 4) | static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return v;
}

bool printable_text(const std::string& s, std::size_t max) {
  if (s.size() > max) {
    return false;
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      return false;
    }
  }
  return true;
}

bool option_key_ok(const std::string& key) {
  if (key.empty() || key.size() > 64) {
    return false;
  }
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

// Throws std::invalid_argument-like Error on the first problem; the caller
// turns it into `corrupt`.
struct Corrupt {
  std::string why;
};

const nlohmann::json& need(const nlohmann::json& body, const char* key, nlohmann::json::value_t type) {
  auto it = body.find(key);
  if (it == body.end()) {
    throw Corrupt{std::string("missing field \"") + key + "\""};
  }
  bool ok = it->type() == type ||
            (type == nlohmann::json::value_t::number_unsigned &&
             it->type() == nlohmann::json::value_t::number_integer && it->get<long long>() >= 0);
  if (!ok) {
    throw Corrupt{std::string("field \"") + key + "\" has the wrong type"};
  }
  return *it;
}

SystemTime need_time(const nlohmann::json& obj, const char* key) {
  const auto& v = need(obj, key, nlohmann::json::value_t::string);
  try {
    return parse_rfc3339(v.get<std::string>());
  } catch (const Error&) {
    throw Corrupt{std::string("field \"") + key + "\" is not an RFC 3339 time"};
  }
}

void only_keys(const nlohmann::json& obj, std::initializer_list<const char*> allowed, const char* where) {
  for (const auto& [k, v] : obj.items()) {
    bool known = false;
    for (const char* a : allowed) {
      known = known || k == a;
    }
    if (!known) {
      throw Corrupt{std::string("unknown field \"") + k.substr(0, 32) + "\" in " + where};
    }
  }
}

ClaimLabel body_to_label(const nlohmann::json& body) {
  if (!body.is_object()) {
    throw Corrupt{"the body is not a JSON object"};
  }
  only_keys(body,
            {"state", "volume", "options", "fs", "created_at", "created_by", "claim_id", "capacity", "holder",
             "retained_at"},
            "the label");
  ClaimLabel l;
  std::string state = need(body, "state", nlohmann::json::value_t::string).get<std::string>();
  if (state == "claimed") {
    l.state = LabelState::claimed;
  } else if (state == "retained") {
    l.state = LabelState::retained;
  } else {
    throw Corrupt{"unknown state \"" + state.substr(0, 32) + "\""};
  }
  l.volume = need(body, "volume", nlohmann::json::value_t::string).get<std::string>();
  try {
    validate_volume_name(l.volume);
  } catch (const Error&) {
    throw Corrupt{"the volume name is not valid"};
  }
  const auto& opts = need(body, "options", nlohmann::json::value_t::object);
  for (const auto& [k, v] : opts.items()) {
    if (!option_key_ok(k) || !v.is_string() || !printable_text(v.get<std::string>(), k_max_option_text)) {
      throw Corrupt{"option \"" + k.substr(0, 32) + "\" is not valid"};
    }
    l.options[k] = v.get<std::string>();
  }
  l.fs = need(body, "fs", nlohmann::json::value_t::string).get<std::string>();
  if (l.fs != "ext4" && l.fs != "xfs") {
    throw Corrupt{"unknown filesystem \"" + l.fs.substr(0, 16) + "\""};
  }
  l.created_at = need_time(body, "created_at");
  l.created_by = need(body, "created_by", nlohmann::json::value_t::string).get<std::string>();
  if (l.created_by.empty() || !printable_text(l.created_by, 255)) {
    throw Corrupt{"created_by is not valid"};
  }
  l.claim_id = need(body, "claim_id", nlohmann::json::value_t::string).get<std::string>();
  if (!is_hex16(l.claim_id)) {
    throw Corrupt{"claim_id is not 16 hex digits"};
  }
  l.capacity = need(body, "capacity", nlohmann::json::value_t::number_unsigned).get<std::uint64_t>();
  if (auto it = body.find("holder"); it != body.end()) {
    if (!it->is_object()) {
      throw Corrupt{"holder is not an object"};
    }
    only_keys(*it, {"host", "key", "since", "beat", "beat_at"}, "holder");
    Holder h;
    h.host = need(*it, "host", nlohmann::json::value_t::string).get<std::string>();
    if (h.host.empty() || !printable_text(h.host, 255)) {
      throw Corrupt{"holder.host is not valid"};
    }
    std::string key = need(*it, "key", nlohmann::json::value_t::string).get<std::string>();
    if (!is_hex16(key)) {
      throw Corrupt{"holder.key is not 16 hex digits"};
    }
    h.key = parse_hex16(key);
    h.since = need_time(*it, "since");
    h.beat = need(*it, "beat", nlohmann::json::value_t::number_unsigned).get<std::uint64_t>();
    h.beat_at = need_time(*it, "beat_at");
    l.holder = h;
  }
  if (body.contains("retained_at")) {
    l.retained_at = need_time(body, "retained_at");
  }
  if ((l.state == LabelState::retained) != l.retained_at.has_value()) {
    throw Corrupt{"retained_at must be present exactly when the state is retained"};
  }
  return l;
}

}  // namespace

bool operator==(const Holder& a, const Holder& b) {
  return a.host == b.host && a.key == b.key && a.since == b.since && a.beat == b.beat &&
         a.beat_at == b.beat_at;
}

LunLayout LunLayout::for_capacity(std::uint64_t capacity, std::uint32_t block_size) {
  if (block_size != 512 && block_size != 4096) {
    throw invalid_argument("logical block size " + std::to_string(block_size) +
                           " is not supported (512 or 4096 bytes)");
  }
  if (capacity < k_min_capacity) {
    throw invalid_argument("capacity " + std::to_string(capacity) + " bytes is below the minimum of " +
                           std::to_string(k_min_capacity) + " bytes");
  }
  LunLayout l;
  l.capacity = capacity;
  l.block_size = block_size;
  l.fs_bytes = (capacity - k_tail_reserve) / k_tail_reserve * k_tail_reserve;
  l.label_offset = l.fs_bytes;
  return l;
}

std::uint32_t crc32c(const unsigned char* data, std::size_t size) {
  static const auto table = make_crc_table();
  std::uint32_t crc = 0xFFFFFFFFU;
  for (std::size_t i = 0; i < size; ++i) {
    crc = table[(crc ^ data[i]) & 0xffU] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFU;
}

bool all_zero(const unsigned char* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != 0) {
      return false;
    }
  }
  return true;
}

std::string key_hex(std::uint64_t key) {
  static const char* k_digits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = k_digits[key & 0xf];
    key >>= 4;
  }
  return out;
}

std::string to_string(LabelState state) {
  return state == LabelState::claimed ? "claimed" : "retained";
}

std::string to_string(BlockKind kind) {
  switch (kind) {
    case BlockKind::blank:
      return "blank";
    case BlockKind::label:
      return "label";
    case BlockKind::foreign:
      return "foreign data";
    case BlockKind::unsupported:
      return "unsupported label";
    case BlockKind::corrupt:
      return "corrupt label";
  }
  return "unknown";
}

std::vector<unsigned char> encode_label(const ClaimLabel& label) {
  validate_volume_name(label.volume);
  if (label.fs != "ext4" && label.fs != "xfs") {
    throw invalid_argument("label: unknown filesystem \"" + label.fs + "\"");
  }
  if (label.created_by.empty() || !printable_text(label.created_by, 255) || !is_hex16(label.claim_id)) {
    throw invalid_argument("label: created_by and claim_id are required");
  }
  if ((label.state == LabelState::retained) != label.retained_at.has_value()) {
    throw invalid_argument("label: retained_at must be set exactly when the state is retained");
  }
  nlohmann::json body = nlohmann::json::object();
  body["state"] = to_string(label.state);
  body["volume"] = label.volume;
  nlohmann::json opts = nlohmann::json::object();
  for (const auto& [k, v] : label.options) {
    if (!option_key_ok(k) || !printable_text(v, k_max_option_text)) {
      throw invalid_argument("label: option \"" + k + "\" cannot be stored");
    }
    opts[k] = v;
  }
  body["options"] = opts;
  body["fs"] = label.fs;
  body["created_at"] = format_rfc3339(label.created_at);
  body["created_by"] = label.created_by;
  body["claim_id"] = label.claim_id;
  body["capacity"] = label.capacity;
  if (label.holder) {
    if (label.holder->host.empty() || !printable_text(label.holder->host, 255)) {
      throw invalid_argument("label: holder host is not valid");
    }
    body["holder"] = {{"host", label.holder->host},
                      {"key", key_hex(label.holder->key)},
                      {"since", format_rfc3339(label.holder->since)},
                      {"beat", label.holder->beat},
                      {"beat_at", format_rfc3339(label.holder->beat_at)}};
  }
  if (label.retained_at) {
    body["retained_at"] = format_rfc3339(*label.retained_at);
  }
  std::string text = body.dump();
  if (text.size() > k_max_body) {
    throw invalid_argument("label: " + std::to_string(text.size()) + " bytes do not fit in " +
                           std::to_string(k_max_body) + " (too many or too long options)");
  }
  std::vector<unsigned char> block(k_label_size, 0);
  std::memcpy(block.data(), k_magic, sizeof k_magic);
  put_u32(block.data() + 8, k_label_version);
  put_u32(block.data() + 12, static_cast<std::uint32_t>(text.size()));
  put_u64(block.data() + 16, label.sequence);
  std::memcpy(block.data() + k_header, text.data(), text.size());
  put_u32(block.data() + k_crc_offset, block_crc(block.data()));
  return block;
}

DecodedLabel decode_label(const unsigned char* data, std::size_t size) {
  DecodedLabel out;
  if (data == nullptr || size != k_label_size) {
    out.kind = BlockKind::corrupt;
    out.problem =
        "the label block is " + std::to_string(size) + " bytes, not " + std::to_string(k_label_size);
    return out;
  }
  if (std::memcmp(data, k_magic, sizeof k_magic) != 0) {
    out.kind = all_zero(data, size) ? BlockKind::blank : BlockKind::foreign;
    return out;
  }
  std::uint32_t version = get_u32(data + 8);
  if (version != k_label_version) {
    out.kind = version > k_label_version ? BlockKind::unsupported : BlockKind::corrupt;
    out.problem = "label format version " + std::to_string(version) + " (this holdfast reads version " +
                  std::to_string(k_label_version) + ")";
    return out;
  }
  out.kind = BlockKind::corrupt;
  if (get_u32(data + k_crc_offset) != block_crc(data)) {
    out.problem = "checksum mismatch";
    return out;
  }
  std::uint32_t length = get_u32(data + 12);
  if (length == 0 || length > k_max_body) {
    out.problem = "body length " + std::to_string(length) + " out of range";
    return out;
  }
  if (!all_zero(data + 28, k_header - 28) || !all_zero(data + k_header + length, k_max_body - length)) {
    out.problem = "non-zero reserved bytes";
    return out;
  }
  std::string text(reinterpret_cast<const char*>(data + k_header), length);
  try {
    auto body = nlohmann::json::parse(text);
    ClaimLabel label = body_to_label(body);
    label.sequence = get_u64(data + 16);
    out.kind = BlockKind::label;
    out.label = std::move(label);
  } catch (const nlohmann::json::exception&) {
    out.problem = "the body is not valid JSON";
  } catch (const Corrupt& c) {
    out.problem = c.why;
  }
  return out;
}

}  // namespace holdfast::iscsi
