// Volume sizes as Docker users write them, for the LVM backend.
//
// `parse_size` reads "500M", "10G", "1.5G", "1T", "2GiB", "750mb",
// "1048576": a decimal number (at most 3 decimals) and an optional
// case-insensitive suffix K, M, G, T or P, optionally followed by "B" or
// "iB". Every suffix is binary (1G = 1 GiB = 2^30 bytes) as in lvcreate -L and
// Docker's own size options; a bare number (or "B") means bytes. Anything
// else (signs, spaces, exponents, hex, empty, more than 16 EiB) is refused
// with invalid_argument. Range checks (minimum, the backend's maximum) are the
// caller's.
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace holdfast::lvm {

inline constexpr std::uint64_t k_kib = 1024;
inline constexpr std::uint64_t k_mib = 1024 * k_kib;
inline constexpr std::uint64_t k_gib = 1024 * k_mib;
inline constexpr std::uint64_t k_tib = 1024 * k_gib;
inline constexpr std::uint64_t k_pib = 1024 * k_tib;

// Bytes, rounded up to a whole byte. `what` names the option in messages
// ("size"). Throws invalid_argument.
std::uint64_t parse_size(std::string_view text, std::string_view what = "size");

// "10 GiB", "1.5 GiB", "512 MiB", "100 B": at most two decimals, trailing
// zeros dropped, rounded down (so a shown size is never more than the real one).
std::string format_size(std::uint64_t bytes);

// `value` rounded up to a multiple of `unit` (unit > 0). Throws
// invalid_argument if the result does not fit in 64 bits.
std::uint64_t round_up(std::uint64_t value, std::uint64_t unit);

}  // namespace holdfast::lvm
