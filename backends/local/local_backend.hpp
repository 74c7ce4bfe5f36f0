// The local backend: one directory per volume under a base directory on this
// host, handed to Docker as is (no mount), like Docker's own `local` driver.
// The zero-config default.
//
// Config keys (all optional):
//   base_dir   where volume directories live (default <state_dir>/local,
//              i.e. /var/lib/holdfast/local; deliberately not
//              <state_dir>/volumes, which holds the state files
//              <name>.json: a volume named "db1.json" would collide)
//   on_remove  delete | retain: what Remove does with the directory
//   uid, gid, mode  defaults for the per-volume options below
// Per-volume options: uid, gid (0..2147483646), mode (octal, <= 07777).
//
// Stateless after construction (configuration only), so concurrent calls
// on different volumes need no locking.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <holdfast/backend.hpp>

namespace holdfast::local {

enum class RemovePolicy { delete_directory, retain };

struct LocalSettings {
  std::string base_dir;
  RemovePolicy on_remove = RemovePolicy::delete_directory;
  std::optional<unsigned> uid;
  std::optional<unsigned> gid;
  std::optional<unsigned> mode;
};

// The backend for `settings` (for tests; the registry uses make_backend).
std::unique_ptr<Backend> make_local_backend(LocalSettings settings);

// Registry factory: reads the section through `config` (and finishes it).
std::unique_ptr<Backend> make_backend(ConfigReader& config, BackendEnv& env);

}  // namespace holdfast::local
