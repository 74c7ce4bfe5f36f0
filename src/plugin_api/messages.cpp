#include "plugin_api/messages.hpp"

#include <nlohmann/json.hpp>

#include <holdfast/error.hpp>

namespace holdfast {

namespace {

constexpr std::array<std::string_view, k_endpoint_count> k_paths = {
    "/Plugin.Activate",      "/VolumeDriver.Create", "/VolumeDriver.Remove",
    "/VolumeDriver.Mount",   "/VolumeDriver.Unmount", "/VolumeDriver.Path",
    "/VolumeDriver.Get",     "/VolumeDriver.List",   "/VolumeDriver.Capabilities",
};

Error malformed(Endpoint endpoint, const std::string& what) {
  std::string text = "malformed ";
  text += endpoint_name(endpoint);
  text += " request: ";
  text += what;
  return invalid_argument(text);
}

std::string type_name(const nlohmann::json& value) {
  return value.type_name();
}

// Parses `body` as a JSON object. An empty body is returned as nullopt
// when `allow_empty`.
std::optional<nlohmann::json> parse_object(Endpoint endpoint, std::string_view body, bool allow_empty) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (allow_empty) {
      return std::nullopt;
    }
    throw malformed(endpoint, "empty body (expected a JSON object)");
  }
  if (json_depth(body, k_max_json_depth) > k_max_json_depth) {
    throw malformed(endpoint, "JSON nested deeper than " + std::to_string(k_max_json_depth) + " levels");
  }
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    // parse_error for bad syntax, but also out_of_range for a number that
    // overflows a double (1e999999): both are the client's fault.
    // The parser's own text (position and reason), without nlohmann's
    // "[json.exception.parse_error.101] " tag.
    std::string what = e.what();
    if (auto close = what.find("] "); what.starts_with("[json.exception") && close != std::string::npos) {
      what.erase(0, close + 2);
    }
    throw malformed(endpoint, "invalid JSON: " + what);
  }
  if (!value.is_object()) {
    throw malformed(endpoint, "body must be a JSON object, got " + type_name(value));
  }
  return value;
}

std::string required_string(Endpoint endpoint, const nlohmann::json& request, const char* field) {
  auto it = request.find(field);
  if (it == request.end() || it->is_null()) {
    throw malformed(endpoint, std::string("\"") + field + "\" is missing");
  }
  if (!it->is_string()) {
    throw malformed(endpoint, std::string("\"") + field + "\" must be a string, got " + type_name(*it));
  }
  std::string value = it->get<std::string>();
  if (value.empty()) {
    throw malformed(endpoint, std::string("\"") + field + "\" is empty");
  }
  return value;
}

}  // namespace

std::string_view endpoint_path(Endpoint endpoint) {
  return k_paths.at(static_cast<std::size_t>(endpoint));
}

std::string_view endpoint_name(Endpoint endpoint) {
  return endpoint_path(endpoint).substr(1);
}

std::optional<Endpoint> find_endpoint(std::string_view path) {
  for (std::size_t i = 0; i < k_paths.size(); ++i) {
    if (k_paths[i] == path) {
      return static_cast<Endpoint>(i);
    }
  }
  return std::nullopt;
}

bool is_mutating(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::create:
    case Endpoint::remove:
    case Endpoint::mount:
    case Endpoint::unmount:
      return true;
    case Endpoint::activate:
    case Endpoint::path:
    case Endpoint::get:
    case Endpoint::list:
    case Endpoint::capabilities:
      return false;
  }
  return false;
}

std::size_t json_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) {
          return deepest;
        }
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

CreateRequest decode_create(std::string_view body) {
  const Endpoint endpoint = Endpoint::create;
  nlohmann::json request = *parse_object(endpoint, body, false);
  CreateRequest out;
  out.name = required_string(endpoint, request, "Name");
  auto opts = request.find("Opts");
  if (opts == request.end() || opts->is_null()) {
    return out;
  }
  if (!opts->is_object()) {
    throw malformed(endpoint, "\"Opts\" must be an object of strings, got " + type_name(*opts));
  }
  Options options;
  for (const auto& [key, value] : opts->items()) {
    if (!value.is_string()) {
      throw malformed(endpoint, "option \"" + key + "\" must be a string, got " + type_name(value));
    }
    options.emplace(key, value.get<std::string>());
  }
  out.options = std::move(options);
  return out;
}

NameRequest decode_name(Endpoint endpoint, std::string_view body) {
  nlohmann::json request = *parse_object(endpoint, body, false);
  return NameRequest{required_string(endpoint, request, "Name")};
}

MountRequest decode_mount(Endpoint endpoint, std::string_view body) {
  nlohmann::json request = *parse_object(endpoint, body, false);
  MountRequest out;
  out.name = required_string(endpoint, request, "Name");
  // Every engine since 1.13 sends the mount ID; without it mount counts
  // could not be matched to Unmounts.
  out.id = required_string(endpoint, request, "ID");
  return out;
}

void decode_no_arguments(Endpoint endpoint, std::string_view body) {
  (void)parse_object(endpoint, body, true);
}

}  // namespace holdfast
