// LVM naming rules and the mapping from holdfast volume names to LV names
// and tags.
//
// A volume name ([A-Za-z0-9][A-Za-z0-9_.-]*, up to 128 bytes) becomes the LV
// name "<prefix><name>" when LVM accepts that: the full name "<vg>/<lv>" at
// most 127 characters (lvm2 2.03 refuses longer ones: "Full LV name ... is
// too long"), the device-mapper name "<vg>-<lv>" (every '-' doubled) at most
// 127 characters,
// no reserved prefix ("snapshot", "pvmove") and no reserved component string
// ("_tdata", "_tmeta", "_mimage", "_rimage", "_pmspare", ...). Otherwise the
// LV name is "<prefix><readable>.<16 hex digits>": the name with '_' turned
// into '.' (every reserved string starts with '_'), cut to fit, then a
// 64-bit FNV-1a hash of the full name. Distinct names map to distinct LV
// names in practice; the tag "holdfast.volume=<name>" on every LV is what
// proves which volume an LV belongs to, so a collision is detected and
// refused, never acted upon.
//
// Pure functions and an immutable class, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace holdfast::lvm {

// Tags holdfast puts on its LVs.
inline constexpr std::string_view k_tag_owner = "holdfast";
// "holdfast.incomplete=<token>" is present from lvcreate until the volume is
// complete (mkfs done, copy done): an LV carrying it is half-made and is
// removed, never adopted. The token identifies the creating process, so
// that leftovers of a crashed daemon can be told from creations in flight.
inline constexpr std::string_view k_incomplete_tag_prefix = "holdfast.incomplete=";
std::string incomplete_tag(std::string_view token);  // "holdfast.incomplete=<token>"
std::string volume_tag(std::string_view volume);     // "holdfast.volume=<volume>"
std::string fs_tag(std::string_view fs);             // "holdfast.fs=<fs>"
inline constexpr std::string_view k_fs_tag_prefix = "holdfast.fs=";

// The device-mapper spelling of a VG or LV name (each '-' doubled), as in
// /dev/mapper/<vg>-<lv>.
std::string dm_escape(std::string_view name);

// LVM's longest VG, LV or full "<vg>/<lv>" name (NAME_LEN 128 including the
// NUL), and the kernel's longest device-mapper name (DM_NAME_LEN 128
// including the NUL).
inline constexpr std::size_t k_max_lvm_name = 127;
inline constexpr std::size_t k_max_dm_name = 127;

// Characters LVM allows in VG and LV names, not starting with '-', not "."
// or "..", at most 127 characters. Does not check the LV reservations.
bool is_valid_vg_name(std::string_view name);
// is_valid_vg_name plus LVM's LV name reservations.
bool is_valid_lv_name(std::string_view name);

// Length of `name` in a device-mapper name (each '-' is doubled).
std::size_t dm_length(std::string_view name);

// 16 lowercase hex digits of the 64-bit FNV-1a hash of `text`.
std::string name_hash(std::string_view text);

class LvNamer {
 public:
  // Throws invalid_argument when `prefix` is not usable in LV names or the
  // VG name leaves too little room for LV names (messages name the key).
  LvNamer(std::string volume_group, std::string prefix);

  // The LV name for a (valid) volume name. Throws invalid_argument in the
  // pathological case where no LVM-acceptable name can be built.
  std::string lv_name(std::string_view volume) const;

  // Longest LV name allowed in this VG (counting each '-' twice).
  std::size_t max_lv_length() const { return m_budget; }

 private:
  bool fits(std::string_view lv) const;

  std::string m_vg;
  std::string m_prefix;
  std::size_t m_budget;  // max dm_length() of an LV name in this VG
};

}  // namespace holdfast::lvm
