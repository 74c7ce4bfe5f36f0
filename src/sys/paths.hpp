// Safe path helpers for the daemon: join_under, ensure_directory and
// remove_tree_under. They live in the SDK (include/holdfast/safe_path.hpp,
// src/sdk/safe_path.cpp) so that backends, which may link only holdfast_sdk,
// can use them too; this header is the daemon-side name for them.
#pragma once

#include <holdfast/safe_path.hpp>
