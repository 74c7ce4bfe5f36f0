// holdfast::BackendSet: the configured backend instances, built once at
// start-up from the config through the registry, looked up by instance name.
// Immutable after construction, so lookups need no lock.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <holdfast/backend.hpp>

#include "config/config.hpp"

namespace holdfast {

class BackendSet {
 public:
  // Builds every backend in `config.backends` with its registry factory.
  // Throws invalid_argument for an unknown type or a bad section (with the
  // config file and line).
  BackendSet(const Config& config, CommandRunner& runner, Mounter& mounter);
  // For tests: adopt ready-made backends.
  BackendSet(std::map<std::string, std::unique_ptr<Backend>> backends, std::string default_name);

  // nullptr if there is no such instance.
  Backend* find(const std::string& instance) const;
  const std::string& default_name() const { return m_default; }
  std::vector<std::string> names() const;
  // global iff every configured backend is global.
  Scope scope() const;

 private:
  std::map<std::string, std::unique_ptr<Backend>> m_backends;
  std::string m_default;
};

}  // namespace holdfast
