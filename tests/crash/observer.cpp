#include "observer.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include <holdfast/host.hpp>

#include "support/socket_client.hpp"
#include "volume/state_store.hpp"

namespace holdfast::crash {

namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// How long a shared backend may take to list what its storage holds after
// a start (the daemon merges the storage at its first refresh).
constexpr auto k_convergence_bound = 10s;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string shown(const std::set<std::string>& names) {
  std::string out;
  std::size_t n = 0;
  for (const auto& name : names) {
    if (++n > 8) {
      out += " ...";
      break;
    }
    out += (out.empty() ? "" : " ") + name;
  }
  return "[" + out + "]";
}

std::set<std::string> minus(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  for (const auto& x : a) {
    if (b.count(x) == 0) {
      out.insert(x);
    }
  }
  return out;
}

// Reads <state_dir>/volumes: counts per volume that has a state file.
std::map<std::string, Counts> read_state_files(const std::string& dir, std::vector<std::string>& problems) {
  std::map<std::string, Counts> out;
  const std::string suffix = ".json";
  for (const auto& file : entries_of(dir)) {
    if (file.front() == '.' && file.find(".tmp-") != std::string::npos) {
      problems.push_back("temp file left in the state directory after the start: " + file);
      continue;
    }
    if (file.find(".corrupt-") != std::string::npos) {
      problems.push_back("state file set aside as corrupt: " + file);
      continue;
    }
    if (!file.ends_with(suffix)) {
      problems.push_back("unexpected file in the state directory: " + file);
      continue;
    }
    const std::string stem = file.substr(0, file.size() - suffix.size());
    try {
      VolumeRecord record = record_from_json(read_text(dir + "/" + file));
      if (record.name != stem) {
        problems.push_back("state file " + file + " names volume " + record.name);
        continue;
      }
      Counts counts;
      for (const auto& [id, n] : record.mounts) {
        if (n > 0) {
          counts[id] = n;
        }
      }
      out[stem] = counts;
    } catch (const std::exception& e) {
      problems.push_back("state file " + file + " does not parse: " + e.what());
    }
  }
  return out;
}

std::optional<std::set<std::string>> list_names(test::SocketClient& client,
                                                std::vector<std::string>& problems) {
  auto reply = client.try_post("/VolumeDriver.List", "{}");
  if (!reply || reply->status != 200) {
    problems.push_back("List failed: " + (reply ? reply->body : std::string("no reply")));
    return std::nullopt;
  }
  std::set<std::string> names;
  const Json body = Json::parse(reply->body);  // named: a range-for over a temporary's member dangles
  for (const auto& volume : body.at("Volumes")) {
    names.insert(volume.at("Name").get<std::string>());
  }
  return names;
}

void check_get(test::SocketClient& client, const std::string& name, const ObservedVolume* volume,
               std::vector<std::string>& problems) {
  auto reply = client.try_post("/VolumeDriver.Get", Json{{"Name", name}}.dump());
  if (!reply) {
    problems.push_back("Get " + name + ": no reply");
    return;
  }
  if (volume == nullptr) {
    if (reply->status == 200) {
      problems.push_back("Get " + name + " answers for a volume that does not exist: " + reply->body);
    }
    return;
  }
  if (reply->status != 200) {
    problems.push_back("Get " + name + " fails for an existing volume: " + reply->body);
    return;
  }
  const Json body = Json::parse(reply->body);
  const std::string mountpoint = body.at("Volume").value("Mountpoint", "");
  if (mountpoint.empty() != (total(volume->mounts) == 0)) {
    problems.push_back("Get " + name + " shows Mountpoint \"" + mountpoint + "\" with mount counts " +
                       describe(volume->mounts));
  }
}

void check_mount_table(const std::string& mount_root, const Observation& seen, bool mounts_in_kernel,
                       std::vector<std::string>& problems) {
  const std::string prefix = mount_root + "/";
  std::set<std::string> mounted;
  for (const auto& entry : parse_mountinfo(read_text("/proc/self/mountinfo"))) {
    if (!entry.mount_point.starts_with(prefix)) {
      continue;
    }
    const std::string rest = entry.mount_point.substr(prefix.size());
    const std::string name = rest.substr(0, rest.find('/'));
    mounted.insert(name);
    auto it = seen.volumes.find(name);
    if (it == seen.volumes.end() || total(it->second.mounts) == 0) {
      problems.push_back("mount leaked: " + entry.mount_point + " (" + entry.fs_type +
                         ") belongs to no volume with a positive mount count");
    }
  }
  if (!mounts_in_kernel) {
    return;
  }
  for (const auto& [name, volume] : seen.volumes) {
    if (total(volume.mounts) > 0 && mounted.count(name) == 0) {
      problems.push_back(name + " has mount counts " + describe(volume.mounts) + " but is not mounted");
    }
  }
}

}  // namespace

Observation observe(const test::DaemonProcess& daemon, const StorageView& storage,
                    const ObserveOptions& options) {
  Observation out;
  auto& problems = out.problems;
  test::SocketClient client(daemon.socket_path(), 10s);
  std::set<std::string> existing;
  std::map<std::string, Counts> state;
  std::set<std::string> stated;
  auto read_state = [&] {
    state = read_state_files(daemon.state_dir() + "/volumes", problems);
    for (const auto& [name, counts] : state) {
      stated.insert(name);
    }
  };
  if (storage.authoritative()) {
    // The daemon lists what the storage holds once it has refreshed.
    const auto until = std::chrono::steady_clock::now() + k_convergence_bound;
    std::set<std::string> truth;
    std::optional<std::set<std::string>> listed;
    for (;;) {
      truth = storage.volumes();
      listed = list_names(client, problems);
      if (!listed || *listed == truth || std::chrono::steady_clock::now() >= until) {
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    if (listed && *listed != truth) {
      problems.push_back("List still differs from the storage " +
                         std::to_string(k_convergence_bound.count()) + " s after the start: listed only " +
                         shown(minus(*listed, truth)) + ", stored only " + shown(minus(truth, *listed)));
    }
    read_state();  // after the merge, which may drop state files of vanished volumes
    for (const auto& name : minus(stated, truth)) {
      problems.push_back("state file of " + name + " outlives its volume on the storage");
    }
    existing = truth;
  } else {
    read_state();
    auto listed = list_names(client, problems);
    if (listed && *listed != stated) {
      problems.push_back("List differs from the state files: listed only " + shown(minus(*listed, stated)) +
                         ", state files only " + shown(minus(stated, *listed)));
    }
    existing = stated;
  }
  for (const auto& name : existing) {
    auto it = state.find(name);
    out.volumes[name] = ObservedVolume{true, it == state.end() ? Counts{} : it->second};
  }

  std::set<std::string> names = options.names;
  names.insert(existing.begin(), existing.end());
  for (const auto& name : names) {
    auto it = out.volumes.find(name);
    check_get(client, name, it == out.volumes.end() ? nullptr : &it->second, problems);
  }
  check_mount_table(daemon.mount_root(), out, options.mounts_in_kernel, problems);

  out.leftovers = storage.leftovers(existing);
  std::size_t idle_dirs = 0;
  for (const auto& name : entries_of(daemon.mount_root())) {
    auto it = out.volumes.find(name);
    idle_dirs += it == out.volumes.end() || total(it->second.mounts) == 0 ? 1 : 0;
  }
  out.leftovers["idle mount root directories"] = idle_dirs;
  return out;
}

}  // namespace holdfast::crash
