#include "iscsi_context.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <thread>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <holdfast/error.hpp>

namespace holdfast::iscsi {

namespace {

constexpr std::uint32_t k_max_transfer = 256 * 1024;
constexpr int k_max_scsi_attempts = 8;

struct TaskFree {
  void operator()(scsi_task* task) const noexcept {
    if (task != nullptr) {
      scsi_free_scsi_task(task);
    }
  }
};
using TaskPtr = std::unique_ptr<scsi_task, TaskFree>;

// Filled by libiscsi's callbacks. Lives in the waiting frame; the context is
// destroyed (running any pending callback) before that frame unwinds.
struct Completion {
  bool done = false;
  int status = 0;
};

void on_command(iscsi_context* /*ctx*/, int status, void* /*command_data*/, void* private_data) {
  auto* c = static_cast<Completion*>(private_data);
  c->status = status;
  c->done = true;
}

struct DiscoveryCompletion {
  bool done = false;
  int status = 0;
  std::vector<DiscoveredTarget> targets;
};

void on_discovery(iscsi_context* /*ctx*/, int status, void* command_data, void* private_data) {
  auto* c = static_cast<DiscoveryCompletion*>(private_data);
  c->status = status;
  // The list is only valid during the callback: copy it.
  if (status == SCSI_STATUS_GOOD) {
    for (auto* a = static_cast<iscsi_discovery_address*>(command_data); a != nullptr; a = a->next) {
      DiscoveredTarget t;
      t.name = a->target_name != nullptr ? a->target_name : "";
      for (auto* p = a->portals; p != nullptr; p = p->next) {
        t.portals.emplace_back(p->portal != nullptr ? p->portal : "");
      }
      c->targets.push_back(std::move(t));
    }
  }
  c->done = true;
}

// Login failures carry the target's status class in libiscsi's text.
ErrorKind classify_login(const std::string& text) {
  auto has = [&](const char* s) { return text.find(s) != std::string::npos; };
  if (has("Authentication failure") || has("Authorization failure") || has("CHAP") || has("chap") ||
      has("auth")) {
    return ErrorKind::permission;
  }
  if (has("Target not found") || has("Target removed") || has("not found")) {
    return ErrorKind::not_found;
  }
  if (has("timed out") || has("Timeout") || has("timeout")) {
    return ErrorKind::timeout;
  }
  return ErrorKind::unavailable;
}

}  // namespace

struct IscsiContext::ConnectState {
  bool done = false;
  int status = 0;
};

struct IscsiContext::ScsiResult {
  TaskPtr task;
  int status = 0;
};

void IscsiContext::Destroy::operator()(iscsi_context* ctx) const noexcept {
  if (ctx != nullptr) {
    iscsi_destroy_context(ctx);
  }
}

std::string describe_scsi_status(int status, int sense_key, int ascq) {
  switch (status) {
    case SCSI_STATUS_GOOD:
      return "GOOD";
    case SCSI_STATUS_RESERVATION_CONFLICT:
      return "RESERVATION CONFLICT";
    case SCSI_STATUS_BUSY:
      return "BUSY";
    case SCSI_STATUS_TASK_SET_FULL:
      return "TASK SET FULL";
    case SCSI_STATUS_TASK_ABORTED:
      return "TASK ABORTED";
    case SCSI_STATUS_CANCELLED:
      return "CANCELLED";
    case SCSI_STATUS_TIMEOUT:
      return "TIMEOUT";
    case SCSI_STATUS_ERROR:
      return "transport error";
    case SCSI_STATUS_CHECK_CONDITION: {
      char buf[96];
      const char* ascq_text = scsi_sense_ascq_str(ascq);
      std::snprintf(buf, sizeof buf, "CHECK CONDITION %s (ascq 0x%04x%s%s)", scsi_sense_key_str(sense_key),
                    static_cast<unsigned>(ascq), ascq_text != nullptr ? " " : "",
                    ascq_text != nullptr ? ascq_text : "");
      return buf;
    }
    default:
      return "SCSI status " + std::to_string(status);
  }
}

IscsiContext::IscsiContext(IscsiContext&& other) noexcept = default;

IscsiContext& IscsiContext::operator=(IscsiContext&& other) noexcept {
  if (this != &other) {
    kill();
    m_connect = std::move(other.m_connect);
    m_ctx = std::move(other.m_ctx);
    m_portal = std::move(other.m_portal);
    m_target = std::move(other.m_target);
  }
  return *this;
}

IscsiContext::~IscsiContext() {
  kill();
}

void IscsiContext::kill() noexcept {
  // Destroying the context runs pending callbacks (CANCELLED); the states
  // they write to are still alive here.
  m_ctx.reset();
}

iscsi_context* IscsiContext::live(const std::string& what) {
  if (!m_ctx) {
    throw unavailable(what + ": the iSCSI session to " + m_portal + " is closed after an earlier error");
  }
  return m_ctx.get();
}

void IscsiContext::fail(const std::string& what) {
  std::string text = m_ctx ? redact(iscsi_get_error(m_ctx.get())) : std::string("session closed");
  kill();
  throw unavailable(what + " (portal " + m_portal + "): " + text);
}

void IscsiContext::wait_until(const bool& done, Deadline deadline, const std::string& what) {
  while (!done) {
    if (!m_ctx) {
      throw unavailable(what + " (portal " + m_portal + "): the session was closed");
    }
    if (deadline.expired()) {
      kill();
      throw timeout(what + " (portal " + m_portal + ") did not finish within its deadline");
    }
    auto left = deadline.remaining();
    int wait_ms = static_cast<int>(std::clamp<long long>(left.count(), 1, 100));
    pollfd pfd{};
    pfd.fd = iscsi_get_fd(m_ctx.get());
    pfd.events = static_cast<short>(iscsi_which_events(m_ctx.get()));
    int ready = 0;
    if (pfd.fd < 0 || pfd.events == 0) {
      // libiscsi asks to be left alone for a while (reconnect back-off).
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    } else {
      ready = ::poll(&pfd, 1, wait_ms);
      if (ready < 0) {
        if (errno == EINTR) {
          continue;
        }
        int err = errno;
        kill();
        throw from_errno(what + ": poll", err);
      }
    }
    // revents 0 still lets libiscsi scan for PDU timeouts.
    if (iscsi_service(m_ctx.get(), ready > 0 ? pfd.revents : 0) < 0) {
      fail(what);
    }
  }
}

IscsiContext IscsiContext::open(const Portal& portal, const SessionParams& params, Deadline deadline) {
  IscsiContext self;
  self.m_portal = portal.text();
  self.m_target = params.target;
  self.m_connect = std::make_unique<ConnectState>();
  self.m_ctx.reset(iscsi_create_context(params.initiator_name.c_str()));
  if (!self.m_ctx) {
    throw internal_error("iscsi_create_context failed for initiator " + params.initiator_name);
  }
  iscsi_context* ctx = self.m_ctx.get();
  const std::string what =
      params.target.empty() ? "iSCSI discovery login" : "iSCSI login to " + params.target;
  auto check = [&](int rc, const char* step) {
    if (rc != 0) {
      throw internal_error(what + ": " + step + ": " + redact(iscsi_get_error(ctx)));
    }
  };
  iscsi_set_noautoreconnect(ctx, 1);
  iscsi_set_reconnect_max_retries(ctx, 0);
  auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(params.io_timeout + std::chrono::milliseconds(999));
  iscsi_set_timeout(ctx, static_cast<int>(std::max<long long>(1, secs.count())));
  check(iscsi_set_session_type(ctx, params.target.empty() ? ISCSI_SESSION_DISCOVERY : ISCSI_SESSION_NORMAL),
        "session type");
  if (!params.target.empty()) {
    check(iscsi_set_targetname(ctx, params.target.c_str()), "target name");
  }
  check(iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C), "header digest");
  if (params.isid) {
    check(iscsi_set_isid_random(ctx, params.isid->first & 0xffffffU, params.isid->second), "ISID");
  }
  if (params.chap.enabled()) {
    check(iscsi_set_initiator_username_pwd(ctx, params.chap.username.c_str(), params.chap.secret.c_str()),
          "CHAP");
    if (params.chap.mutual()) {
      check(iscsi_set_target_username_pwd(ctx, params.chap.mutual_username.c_str(),
                                          params.chap.mutual_secret.c_str()),
            "mutual CHAP");
    }
  }
  Deadline step = deadline.capped(params.io_timeout);

  ConnectState* cs = self.m_connect.get();
  if (iscsi_connect_async(
          ctx, self.m_portal.c_str(),
          [](iscsi_context*, int status, void*, void* priv) {
            auto* state = static_cast<ConnectState*>(priv);
            if (!state->done) {
              state->status = status;
              state->done = true;
            }
          },
          cs) != 0) {
    std::string text = redact(iscsi_get_error(ctx));
    throw unavailable(what + ": cannot connect to " + self.m_portal + ": " + text);
  }
  self.wait_until(cs->done, step, what + ": connect");
  if (cs->status != SCSI_STATUS_GOOD) {
    std::string text = self.m_ctx ? redact(iscsi_get_error(ctx)) : std::string();
    throw unavailable(what + ": cannot connect to " + self.m_portal + (text.empty() ? "" : ": " + text));
  }

  Completion login;
  if (iscsi_login_async(ctx, on_command, &login) != 0) {
    std::string text = redact(iscsi_get_error(ctx));
    throw Error(classify_login(text), what + " via " + self.m_portal + " failed: " + text);
  }
  self.wait_until(login.done, step, what);
  if (login.status != SCSI_STATUS_GOOD) {
    std::string text = self.m_ctx ? redact(iscsi_get_error(ctx)) : std::string("connection lost");
    throw Error(classify_login(text), what + " via " + self.m_portal + " failed: " + text);
  }
  return self;
}

std::vector<DiscoveredTarget> IscsiContext::send_targets(Deadline deadline) {
  const std::string what = "iSCSI SendTargets discovery";
  iscsi_context* ctx = live(what);
  DiscoveryCompletion c;
  if (iscsi_discovery_async(ctx, on_discovery, &c) != 0) {
    fail(what);
  }
  wait_until(c.done, deadline, what);
  if (c.status != SCSI_STATUS_GOOD) {
    fail(what);
  }
  return c.targets;
}

template <typename MakeTask>
IscsiContext::ScsiResult IscsiContext::execute(int lun, const std::string& what, Deadline deadline,
                                               MakeTask make_task) {
  for (int attempt = 1;; ++attempt) {
    iscsi_context* ctx = live(what);
    Completion c;
    TaskPtr task(make_task(ctx, &c));
    if (!task) {
      fail(what);
    }
    wait_until(c.done, deadline, what);
    int status = c.status;
    bool retry = false;
    if (status == SCSI_STATUS_CHECK_CONDITION && task->sense.key == SCSI_SENSE_UNIT_ATTENTION) {
      retry = true;  // a reset, a login, or a PREEMPT by another host: the command did not run
    } else if (status == SCSI_STATUS_BUSY || status == SCSI_STATUS_TASK_SET_FULL) {
      retry = true;
      std::this_thread::sleep_for(
          std::min<std::chrono::milliseconds>(std::chrono::milliseconds(50 * attempt), deadline.remaining()));
    } else if (status == SCSI_STATUS_CHECK_CONDITION && task->sense.key == SCSI_SENSE_NOT_READY &&
               (task->sense.ascq & 0xff00) == 0x0400) {
      retry = true;  // LOGICAL UNIT NOT READY, becoming ready
      std::this_thread::sleep_for(
          std::min<std::chrono::milliseconds>(std::chrono::milliseconds(100), deadline.remaining()));
    }
    if (retry && attempt < k_max_scsi_attempts) {
      continue;
    }
    if (status == SCSI_STATUS_CANCELLED || status == SCSI_STATUS_ERROR || status == SCSI_STATUS_TIMEOUT) {
      if (status == SCSI_STATUS_TIMEOUT) {
        kill();
        throw timeout(what + " on LUN " + std::to_string(lun) + " (portal " + m_portal + ") timed out");
      }
      fail(what + " on LUN " + std::to_string(lun));
    }
    ScsiResult r;
    r.status = status;
    r.task = std::move(task);
    return r;
  }
}

namespace {

[[noreturn]] void throw_scsi(const std::string& what, int lun, const std::string& portal, scsi_task* task) {
  std::string text = describe_scsi_status(task->status, task->sense.key, task->sense.ascq);
  std::string msg = what + " on LUN " + std::to_string(lun) + " (portal " + portal + "): " + text;
  if (task->status == SCSI_STATUS_RESERVATION_CONFLICT) {
    throw conflict(msg);
  }
  if (task->status == SCSI_STATUS_CHECK_CONDITION && task->sense.key == SCSI_SENSE_ILLEGAL_REQUEST &&
      task->sense.ascq == 0x2500) {
    throw not_found(msg);
  }
  if (task->status == SCSI_STATUS_CHECK_CONDITION && task->sense.key == SCSI_SENSE_DATA_PROTECTION) {
    throw permission_denied(msg);
  }
  throw unavailable(msg);
}

}  // namespace

Capacity IscsiContext::read_capacity(int lun, Deadline deadline) {
  const std::string what = "READ CAPACITY";
  auto r = execute(lun, what, deadline, [&](iscsi_context* ctx, Completion* c) {
    return iscsi_readcapacity16_task(ctx, lun, on_command, c);
  });
  if (r.status != SCSI_STATUS_GOOD) {
    throw_scsi(what, lun, m_portal, r.task.get());
  }
  auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(r.task.get()));
  if (rc == nullptr) {
    throw unavailable(what + " on LUN " + std::to_string(lun) + ": malformed reply");
  }
  Capacity cap;
  cap.blocks = rc->returned_lba + 1;
  cap.block_size = rc->block_length;
  return cap;
}

std::vector<unsigned char> IscsiContext::read(int lun, std::uint64_t offset, std::uint32_t length,
                                              std::uint32_t block_size, Deadline deadline) {
  if (block_size == 0 || offset % block_size != 0 || length % block_size != 0) {
    throw internal_error("read: unaligned offset or length");
  }
  std::vector<unsigned char> out;
  out.reserve(length);
  const std::string what = "READ";
  for (std::uint32_t done = 0; done < length;) {
    std::uint32_t chunk = std::min(length - done, k_max_transfer);
    std::uint64_t lba = (offset + done) / block_size;
    auto r = execute(lun, what, deadline, [&](iscsi_context* ctx, Completion* c) {
      return iscsi_read16_task(ctx, lun, lba, chunk, static_cast<int>(block_size), 0, 0, 0, 0, 0, on_command,
                               c);
    });
    if (r.status != SCSI_STATUS_GOOD) {
      throw_scsi(what, lun, m_portal, r.task.get());
    }
    if (r.task->datain.size < 0 || static_cast<std::uint32_t>(r.task->datain.size) != chunk) {
      throw unavailable(what + " on LUN " + std::to_string(lun) + ": short read (" +
                        std::to_string(r.task->datain.size) + " of " + std::to_string(chunk) + " bytes)");
    }
    out.insert(out.end(), r.task->datain.data, r.task->datain.data + chunk);
    done += chunk;
  }
  return out;
}

void IscsiContext::write(int lun, std::uint64_t offset, const std::vector<unsigned char>& data,
                         std::uint32_t block_size, Deadline deadline) {
  if (block_size == 0 || offset % block_size != 0 || data.size() % block_size != 0) {
    throw internal_error("write: unaligned offset or length");
  }
  const std::string what = "WRITE";
  for (std::size_t done = 0; done < data.size();) {
    auto chunk = static_cast<std::uint32_t>(std::min<std::size_t>(data.size() - done, k_max_transfer));
    std::uint64_t lba = (offset + done) / block_size;
    // libiscsi keeps a pointer to the buffer until completion; `data`
    // outlives the wait (or the context is destroyed first on timeout).
    auto* buf = const_cast<unsigned char*>(data.data() + done);
    auto r = execute(lun, what, deadline, [&](iscsi_context* ctx, Completion* c) {
      // FUA: the label must be on stable storage before we report success.
      return iscsi_write16_task(ctx, lun, lba, buf, chunk, static_cast<int>(block_size), 0, 0, 1, 0, 0,
                                on_command, c);
    });
    if (r.status != SCSI_STATUS_GOOD) {
      throw_scsi(what, lun, m_portal, r.task.get());
    }
    done += chunk;
  }
}

void IscsiContext::synchronize_cache(int lun, Deadline deadline) {
  const std::string what = "SYNCHRONIZE CACHE";
  auto r = execute(lun, what, deadline, [&](iscsi_context* ctx, Completion* c) {
    return iscsi_synchronizecache10_task(ctx, lun, 0, 0, 0, 0, on_command, c);
  });
  if (r.status != SCSI_STATUS_GOOD) {
    throw_scsi(what, lun, m_portal, r.task.get());
  }
}

RegisteredKeys IscsiContext::read_keys(int lun, Deadline deadline) {
  const std::string what = "PERSISTENT RESERVE IN (READ KEYS)";
  auto r = execute(lun, what, deadline, [&](iscsi_context* ctx, Completion* c) {
    return iscsi_persistent_reserve_in_task(ctx, lun, SCSI_PERSISTENT_RESERVE_READ_KEYS, 16384, on_command,
                                            c);
  });
  if (r.status != SCSI_STATUS_GOOD) {
    throw_scsi(what, lun, m_portal, r.task.get());
  }
  auto* k = static_cast<scsi_persistent_reserve_in_read_keys*>(scsi_datain_unmarshall(r.task.get()));
  if (k == nullptr) {
    throw unavailable(what + " on LUN " + std::to_string(lun) + ": malformed reply");
  }
  RegisteredKeys out;
  out.generation = k->prgeneration;
  for (int i = 0; i < k->num_keys; ++i) {
    out.keys.push_back(k->keys[i]);
  }
  return out;
}

ReservationInfo IscsiContext::read_reservation(int lun, Deadline deadline) {
  const std::string what = "PERSISTENT RESERVE IN (READ RESERVATION)";
  auto r = execute(lun, what, deadline, [&](iscsi_context* ctx, Completion* c) {
    return iscsi_persistent_reserve_in_task(ctx, lun, SCSI_PERSISTENT_RESERVE_READ_RESERVATION, 16384,
                                            on_command, c);
  });
  if (r.status != SCSI_STATUS_GOOD) {
    throw_scsi(what, lun, m_portal, r.task.get());
  }
  auto* rr = static_cast<scsi_persistent_reserve_in_read_reservation*>(scsi_datain_unmarshall(r.task.get()));
  if (rr == nullptr) {
    throw unavailable(what + " on LUN " + std::to_string(lun) + ": malformed reply");
  }
  ReservationInfo info;
  info.reserved = rr->reserved != 0;
  info.key = rr->reservation_key;
  info.type = rr->pr_type;
  return info;
}

bool IscsiContext::reserve_out(int lun, PrAction action, int type, std::uint64_t key, std::uint64_t sa_key,
                               Deadline deadline) {
  const std::string what =
      "PERSISTENT RESERVE OUT (" +
      std::string(action == PrAction::register_ignore ? "REGISTER AND IGNORE EXISTING KEY"
                  : action == PrAction::reserve       ? "RESERVE"
                  : action == PrAction::release       ? "RELEASE"
                  : action == PrAction::preempt       ? "PREEMPT"
                                                      : "CLEAR") +
      ")";
  scsi_persistent_reserve_out_basic params{};
  params.reservation_key = key;
  params.service_action_reservation_key = sa_key;
  auto r = execute(lun, what, deadline, [&](iscsi_context* ctx, Completion* c) {
    return iscsi_persistent_reserve_out_task(ctx, lun, static_cast<int>(action),
                                             SCSI_PERSISTENT_RESERVE_SCOPE_LU, type, &params, on_command, c);
  });
  if (r.status == SCSI_STATUS_RESERVATION_CONFLICT) {
    return false;
  }
  if (r.status != SCSI_STATUS_GOOD) {
    if (r.status == SCSI_STATUS_CHECK_CONDITION && r.task->sense.key == SCSI_SENSE_ILLEGAL_REQUEST &&
        (r.task->sense.ascq == 0x2000 || r.task->sense.ascq == 0x2400)) {
      throw invalid_argument(what + " on LUN " + std::to_string(lun) + " (portal " + m_portal +
                             "): the target does not support SCSI-3 persistent reservations (" +
                             describe_scsi_status(r.status, r.task->sense.key, r.task->sense.ascq) + ")");
    }
    throw_scsi(what, lun, m_portal, r.task.get());
  }
  return true;
}

void IscsiContext::close(Deadline deadline) noexcept {
  if (m_ctx && iscsi_is_logged_in(m_ctx.get()) != 0 && !m_target.empty()) {
    Completion c;
    if (iscsi_logout_async(m_ctx.get(), on_command, &c) == 0) {
      try {
        wait_until(c.done, deadline.capped(std::chrono::milliseconds(1000)), "iSCSI logout");
      } catch (const Error&) {
        // Best effort: the connection is dropped below either way.
      }
    }
  }
  kill();
}

}  // namespace holdfast::iscsi
