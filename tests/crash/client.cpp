#include "client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <nlohmann/json.hpp>

#include <holdfast/fd.hpp>

#include "support/socket_client.hpp"

namespace holdfast::crash {

namespace {

using Json = nlohmann::json;
using holdfast::Fd;
using namespace std::chrono_literals;

constexpr int k_ids_per_client = 3;

enum class Expect { success, failure, either };

// One call and what it does to the model if the daemon applies it.
struct Plan {
  std::string path;
  std::string body;
  Expect expect = Expect::success;
  std::optional<bool> exists_after;          // Create / Remove
  std::string id;                            // Mount / Unmount: the client's own mount ID
  std::optional<std::uint32_t> count_after;  // Mount / Unmount
};

std::uint32_t count_of(const VolumeModel& model, const std::string& id) {
  auto it = model.mounts.find(id);
  return it == model.mounts.end() ? 0 : it->second;
}

void apply(VolumeModel& model, const Plan& plan) {
  if (plan.exists_after) {
    model.exists = *plan.exists_after;
    model.created = model.exists;
    if (!model.exists) {
      model.mounts.clear();
    }
  }
  if (plan.count_after) {
    if (*plan.count_after == 0) {
      model.mounts.erase(plan.id);
    } else {
      model.mounts[plan.id] = *plan.count_after;
    }
  }
}

void note_lost(VolumeModel& model, const Plan& plan) {
  if (plan.exists_after && *plan.exists_after != model.exists) {
    model.maybe_exists = plan.exists_after;
  }
  if (plan.count_after && *plan.count_after != count_of(model, plan.id)) {
    model.maybe_mounts[plan.id] = *plan.count_after;
  }
}

std::string request(const std::string& name, const std::string& id = "") {
  Json body{{"Name", name}};
  if (!id.empty()) {
    body["ID"] = id;
  }
  return body.dump();
}

enum class Op { create, remove, mount, unmount, get };

Op pick_op(std::mt19937& rng) {
  const int roll = std::uniform_int_distribution<int>(0, 99)(rng);
  if (roll < 16) {
    return Op::create;
  }
  if (roll < 28) {
    return Op::remove;
  }
  if (roll < 62) {
    return Op::mount;
  }
  if (roll < 92) {
    return Op::unmount;
  }
  return Op::get;
}

// What to send for `op` on a volume in state `model`, and what it would do.
Plan plan_for(Op op, const std::string& name, const VolumeModel& model, const std::vector<std::string>& ids,
              const ClientRules& rules, std::mt19937& rng) {
  Plan plan;
  std::string id = ids[std::uniform_int_distribution<std::size_t>(0, ids.size() - 1)(rng)];
  switch (op) {
    case Op::create:
      plan.path = "/VolumeDriver.Create";
      // Docker sends null Opts for implicit creation, {} for `volume create`.
      plan.body =
          Json{{"Name", name},
               {"Opts", std::uniform_int_distribution<int>(0, 1)(rng) == 0 ? Json(nullptr) : Json::object()}}
              .dump();
      plan.expect = rules.disk_full && !model.exists ? Expect::either : Expect::success;
      plan.exists_after = true;
      break;
    case Op::remove:
      plan.path = "/VolumeDriver.Remove";
      plan.body = request(name);
      if (model.exists && total(model.mounts) == 0) {
        plan.expect = Expect::success;
        plan.exists_after = false;
      } else {
        plan.expect = Expect::failure;  // absent, or in use
      }
      break;
    case Op::mount:
      plan.path = "/VolumeDriver.Mount";
      plan.body = request(name, id);
      plan.id = id;
      if (!model.exists || !rules.mount_works) {
        plan.expect = Expect::failure;
      } else {
        plan.expect = rules.disk_full ? Expect::either : Expect::success;
        plan.count_after = count_of(model, id) + 1;
      }
      break;
    case Op::unmount: {
      // Mostly an ID this client holds on the volume, so counts go back down.
      std::vector<std::string> held;
      for (const auto& own : ids) {
        if (count_of(model, own) > 0) {
          held.push_back(own);
        }
      }
      if (!held.empty() && std::uniform_int_distribution<int>(0, 99)(rng) < 85) {
        id = held[std::uniform_int_distribution<std::size_t>(0, held.size() - 1)(rng)];
      }
      plan.path = "/VolumeDriver.Unmount";
      plan.body = request(name, id);
      plan.id = id;
      if (!model.exists) {
        plan.expect = Expect::failure;
      } else {
        const std::uint32_t now = count_of(model, id);
        plan.expect = rules.disk_full && now > 0 ? Expect::either : Expect::success;
        plan.count_after = now > 0 ? now - 1 : 0;
      }
      break;
    }
    case Op::get:
      plan.path = "/VolumeDriver.Get";
      plan.body = request(name);
      plan.expect = model.exists ? Expect::success : Expect::failure;
      break;
  }
  return plan;
}

std::string error_of(const std::string& body) {
  try {
    return Json::parse(body).value("Err", "");
  } catch (const std::exception&) {
    return "(not JSON: " + body + ")";
  }
}

// Writes `n` small files into <mountpoint>/<id>/ (the same names each
// time: a volume holds at most a few hundred files however long it lives).
void write_files(const std::string& mountpoint, const std::string& id, int n) {
  const std::string dir = mountpoint + "/" + id;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return;
  }
  const std::string content(1024, 'd');
  for (int i = 0; i < n; ++i) {
    Fd fd(::open((dir + "/" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (fd) {
      (void)!::write(fd.get(), content.data(), content.size());
    }
  }
}

enum class Outcome { applied, not_applied, unknown };

// Checks one reply; returns what it did to the model.
Outcome judge(const Plan& plan, const std::string& name, const test::HttpReply& reply, ClientTally& tally) {
  const bool ok = reply.status == 200;
  const std::string err = ok ? "" : error_of(reply.body);
  auto fail = [&](const std::string& why) {
    tally.failures.push_back(plan.path + " " + plan.body + ": " + why + " (" + std::to_string(reply.status) +
                             " " + reply.body + ")");
  };
  if (ok) {
    ++tally.acknowledged;
    if (plan.expect == Expect::failure) {
      fail("succeeded, expected an error");
    }
    if (plan.path == "/VolumeDriver.Mount") {
      const std::string mountpoint = Json::parse(reply.body).value("Mountpoint", "");
      if (mountpoint.empty() || ::access(mountpoint.c_str(), F_OK) != 0) {
        fail("acknowledged with a Mountpoint that does not exist");
      }
    }
    return plan.expect != Expect::failure ? Outcome::applied : Outcome::not_applied;
  }
  ++tally.refused;
  if (plan.expect == Expect::success) {
    fail("failed, expected success");
  }
  // Every error names its operation's volume.
  if (err.empty() || err.find("\"" + name + "\"") == std::string::npos) {
    fail("error does not name the volume");
  }
  // An Unmount that could not save released its mount ID in memory (it says
  // so); the disk has it once a refresh saves it, so a kill before that
  // may count the ID again.
  if (plan.path == "/VolumeDriver.Unmount" && err.find("the mount ID was released") != std::string::npos) {
    return Outcome::unknown;
  }
  return Outcome::not_applied;
}

}  // namespace

void run_client(int index, const std::string& socket_path, Model& model, const ClientRules& rules,
                std::mt19937& rng, const std::atomic<bool>& killing, ClientTally& tally) {
  std::vector<std::string> ids;
  for (int k = 0; k < k_ids_per_client; ++k) {
    ids.push_back("c" + std::to_string(index) + "-m" + std::to_string(k));
  }
  test::SocketClient client(socket_path, 10s);
  std::uniform_int_distribution<std::size_t> pick_volume(0, model.size() - 1);
  while (!killing) {
    VolumeSlot& slot = model.slot(pick_volume(rng));
    const Op op = pick_op(rng);
    const bool exclusive = op == Op::create || op == Op::remove;
    std::unique_lock<std::shared_mutex> writer(slot.order, std::defer_lock);
    std::shared_lock<std::shared_mutex> reader(slot.order, std::defer_lock);
    exclusive ? writer.lock() : reader.lock();

    Plan plan;
    {
      std::lock_guard lock(slot.data);
      if (slot.model.pending()) {
        continue;  // its state is unknown until the restart
      }
      plan = plan_for(op, slot.name, slot.model, ids, rules, rng);
    }
    ++tally.calls;
    const auto sent = std::chrono::steady_clock::now();
    auto reply = client.try_post(plan.path, plan.body);
    std::lock_guard lock(slot.data);
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent);
    slot.note("c" + std::to_string(index) + " " + plan.path + " " + plan.body + " -> " +
              (reply ? std::to_string(reply->status) + " " + reply->body : std::string("cut off")) + " (" +
              std::to_string(took.count()) + " ms)");
    if (!reply) {
      ++tally.lost;
      if (!killing) {
        tally.failures.push_back(plan.path + " " + plan.body + ": no reply while the daemon was running");
      }
      if (plan.expect != Expect::failure) {
        note_lost(slot.model, plan);
      }
      return;
    }
    const Outcome outcome = judge(plan, slot.name, *reply, tally);
    if (outcome == Outcome::unknown) {
      note_lost(slot.model, plan);
    } else if (outcome == Outcome::applied) {
      apply(slot.model, plan);
      if (rules.files_per_mount > 0 && op == Op::mount && reply->status == 200) {
        write_files(nlohmann::json::parse(reply->body).value("Mountpoint", ""), plan.id,
                    rules.files_per_mount);
      }
    }
  }
}

}  // namespace holdfast::crash
