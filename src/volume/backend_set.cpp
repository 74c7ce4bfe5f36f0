#include "volume/backend_set.hpp"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <utility>

#include <holdfast/config_reader.hpp>
#include <holdfast/error.hpp>

#include "volume/snapshot_mounter.hpp"

namespace holdfast {

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += out.empty() ? "" : ", ";
    out += n;
  }
  return out.empty() ? "(none)" : out;
}

std::string registry_types() {
  std::vector<std::string> types;
  for (const auto& d : backend_registry()) {
    types.emplace_back(d.type);
  }
  return joined(types);
}

}  // namespace

std::string effective_host_id(const Config& config) {
  if (!config.host_id.empty()) {
    return config.host_id;
  }
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) {
    throw from_errno("gethostname", errno);
  }
  return buf;
}

BackendSet::BackendSet(const Config& config, CommandRunner& runner, Mounter& mounter)
    : m_mounter(std::make_unique<SnapshotMounter>(mounter)), m_default(config.default_backend) {
  const std::string host_id = effective_host_id(config);
  for (const auto& bc : config.backends) {
    ConfigReader reader(bc.section, config.file, "backends." + bc.name);
    // Consumed here, not by the factory, so that finish() accepts it.
    std::string type = reader.string("type").value_or(bc.type);
    const BackendDescriptor* descriptor = find_backend_type(type);
    if (descriptor == nullptr) {
      reader.fail("type", "unknown backend type \"" + type + "\" (available: " + registry_types() + ")");
    }
    BackendEnv env{bc.name, host_id, config.state_dir, runner, *m_mounter};
    m_backends.emplace(bc.name, descriptor->create(reader, env));
  }
  if (m_backends.count(m_default) == 0) {
    throw invalid_argument((config.file.empty() ? std::string("config") : config.file) +
                           ": default_backend \"" + m_default + "\" is not configured (configured: " +
                           joined(names()) + ")");
  }
}

BackendSet::BackendSet(std::map<std::string, std::unique_ptr<Backend>> backends, std::string default_name)
    : m_backends(std::move(backends)), m_default(std::move(default_name)) {
  if (m_backends.count(m_default) == 0) {
    throw invalid_argument("default backend \"" + m_default + "\" is not configured (configured: " +
                           joined(names()) + ")");
  }
}

BackendSet::~BackendSet() = default;

Backend* BackendSet::find(const std::string& instance) const {
  auto it = m_backends.find(instance);
  return it == m_backends.end() ? nullptr : it->second.get();
}

std::vector<std::string> BackendSet::names() const {
  std::vector<std::string> out;
  out.reserve(m_backends.size());
  for (const auto& [name, backend] : m_backends) {
    out.push_back(name);
  }
  return out;
}

Scope BackendSet::scope() const {
  for (const auto& [name, backend] : m_backends) {
    if (backend->scope() != Scope::global) {
      return Scope::local;
    }
  }
  return m_backends.empty() ? Scope::local : Scope::global;
}

bool BackendSet::any_global() const {
  for (const auto& [name, backend] : m_backends) {
    if (backend->scope() == Scope::global) {
      return true;
    }
  }
  return false;
}

void BackendSet::begin_mount_snapshot(std::vector<MountEntry> table) {
  if (m_mounter) {
    m_mounter->begin_snapshot(std::move(table));
  }
}

void BackendSet::end_mount_snapshot() {
  if (m_mounter) {
    m_mounter->end_snapshot();
  }
}

}  // namespace holdfast
