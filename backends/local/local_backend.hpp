// The local backend: one directory per volume under a base directory on this
// host (default /var/lib/holdfast/volumes). The zero-config default.
#pragma once

#include <memory>

#include <holdfast/backend.hpp>

namespace holdfast::local {

std::unique_ptr<Backend> make_backend(ConfigReader& config, BackendEnv& env);

}  // namespace holdfast::local
