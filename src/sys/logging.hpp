// Logging setup for holdfastd: spdlog's default logger writing to stderr.
// Under systemd stderr goes to the journal, which adds its own timestamps,
// so when stderr is not a terminal each line is "<N>message" with the
// syslog priority prefix journald understands, and no colour; on a terminal
// lines carry a timestamp and a coloured level. Call once at start-up,
// before other threads log.
#pragma once

#include <string>

namespace holdfast {

// The accepted level names, for config validation and --help.
inline constexpr const char* k_log_levels[] = {"trace", "debug", "info", "warn", "error"};

// Installs the logger at `level`; throws invalid_argument for an unknown
// level name (accepted: trace, debug, info, warn, error).
void setup_logging(const std::string& level);

}  // namespace holdfast
