#include "admin/metrics_text.hpp"

#include <map>

#include <fmt/format.h>

#include <holdfast/error.hpp>

namespace holdfast {

namespace {

constexpr ErrorKind k_kinds[] = {ErrorKind::invalid_argument, ErrorKind::not_found, ErrorKind::conflict,
                                 ErrorKind::busy,             ErrorKind::unavailable, ErrorKind::timeout,
                                 ErrorKind::permission,       ErrorKind::internal};
static_assert(std::size(k_kinds) == k_error_kind_count);

// Label values: backend instance names are identifiers already, but a
// volume record may name an instance that is no longer configured; escape
// as the format requires.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

struct VolumeCounts {
  std::uint64_t volumes = 0;
  std::uint64_t mounted = 0;
  std::uint64_t mounts = 0;
};

}  // namespace

std::string render_metrics(const MetricsSources& sources) {
  std::string out = sources.plugin.render();
  const auto instances = sources.backends.instances();

  header(out, "holdfast_backend_calls_total", "counter", "Backend calls made by the volume manager.");
  for (const auto& name : instances) {
    out += fmt::format("holdfast_backend_calls_total{{backend=\"{}\"}} {}\n", label(name),
                       sources.backends.counters(name).calls);
  }
  header(out, "holdfast_backend_errors_total", "counter",
         "Backend calls that failed, by error kind (kind=\"timeout\": a deadline was hit).");
  for (const auto& name : instances) {
    const BackendCounters c = sources.backends.counters(name);
    for (ErrorKind kind : k_kinds) {
      out += fmt::format("holdfast_backend_errors_total{{backend=\"{}\",kind=\"{}\"}} {}\n", label(name),
                         error_kind_label(kind), c.errors.at(static_cast<std::size_t>(kind)));
    }
  }
  header(out, "holdfast_backend_deadline_overruns_total", "counter",
         "Backend calls abandoned because they did not return by their deadline.");
  for (const auto& name : instances) {
    out += fmt::format("holdfast_backend_deadline_overruns_total{{backend=\"{}\"}} {}\n", label(name),
                       sources.backends.counters(name).overruns);
  }

  std::map<std::string, VolumeCounts> counts;
  for (const auto& name : instances) {
    counts[name];  // configured backends appear with 0
  }
  for (const auto& record : sources.volumes) {
    VolumeCounts& c = counts[record.backend];
    ++c.volumes;
    const std::uint64_t n = record.mount_count();
    c.mounted += n > 0 ? 1 : 0;
    c.mounts += n;
  }
  auto gauge = [&](const char* name, const char* help, std::uint64_t VolumeCounts::*field) {
    header(out, name, "gauge", help);
    for (const auto& [backend, c] : counts) {
      out += fmt::format("{}{{backend=\"{}\"}} {}\n", name, label(backend), c.*field);
    }
  };
  gauge("holdfast_volumes", "Volumes known to this daemon.", &VolumeCounts::volumes);
  gauge("holdfast_volumes_mounted", "Volumes mounted on this host (at least one Mount not yet unmounted).",
        &VolumeCounts::mounted);
  gauge("holdfast_mounts", "Mount references on this host (Mount calls not yet matched by an Unmount).",
        &VolumeCounts::mounts);

  header(out, "holdfast_build_info", "gauge", "The running holdfastd's version.");
  out += fmt::format("holdfast_build_info{{version=\"{}\"}} 1\n", label(HOLDFAST_VERSION));
  header(out, "holdfast_start_time_seconds", "gauge", "When holdfastd started, in seconds since the epoch.");
  out += fmt::format("holdfast_start_time_seconds {}\n",
                     std::chrono::duration_cast<std::chrono::seconds>(sources.started.time_since_epoch()).count());
  return out;
}

}  // namespace holdfast
