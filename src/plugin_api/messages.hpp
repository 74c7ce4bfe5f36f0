// The Docker volume plugin protocol's vocabulary: the nine endpoints and the
// request bodies they carry, decoded from JSON into plain structs.
//
// Decoding follows what the engine really sends
// (guides/docker-engine-contract.md 1.1, 1.3): bodies are JSON objects
// (Activate's is empty; List and Capabilities send `{}`), unknown fields are
// ignored, `Opts` may be absent, null or an object of strings, strings may
// hold any \uXXXX escape (nlohmann decodes surrogate pairs). Anything else is
// a malformed request: decode_* throw holdfast::Error (invalid_argument)
// whose message names the endpoint, which the handlers answer with HTTP 400.
// A retried call may arrive with an empty body (moby#39331): an empty body
// where a Name is needed is malformed, never an empty name.
//
// Stateless functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include <holdfast/volume.hpp>

namespace holdfast {

enum class Endpoint : std::size_t {
  activate,
  create,
  remove,
  mount,
  unmount,
  path,
  get,
  list,
  capabilities,
};
inline constexpr std::size_t k_endpoint_count = 9;

// "/VolumeDriver.Create"; the name without the slash is what the engine
// prints in front of our errors.
std::string_view endpoint_path(Endpoint endpoint);
std::string_view endpoint_name(Endpoint endpoint);
// Exact, case-sensitive match of an HTTP path.
std::optional<Endpoint> find_endpoint(std::string_view path);
// Create/Remove/Mount/Unmount change state (and are logged at info level).
bool is_mutating(Endpoint endpoint);

// Content type of every reply (the engine ignores it; moby's own test
// plugin sends this one).
inline constexpr std::string_view k_reply_content_type = "application/vnd.docker.plugins.v1.2+json";

// Nesting deeper than this is rejected before parsing: real requests are two
// levels deep, and a 1 MiB body of '[' would otherwise build a million
// nested values.
inline constexpr std::size_t k_max_json_depth = 32;

struct CreateRequest {
  std::string name;
  std::optional<Options> options;  // nullopt: Opts absent or null
};

struct NameRequest {
  std::string name;  // Remove, Path, Get
};

struct MountRequest {
  std::string name;
  std::string id;  // Mount/Unmount: the engine's mount ID
};

CreateRequest decode_create(std::string_view body);
NameRequest decode_name(Endpoint endpoint, std::string_view body);
MountRequest decode_mount(Endpoint endpoint, std::string_view body);
// Activate, List, Capabilities: the body is empty or a JSON object whose
// content is ignored.
void decode_no_arguments(Endpoint endpoint, std::string_view body);

// The depth of `text` as JSON (brackets outside strings); stops counting
// once `limit` is exceeded. Exposed for tests.
std::size_t json_depth(std::string_view text, std::size_t limit);

}  // namespace holdfast
