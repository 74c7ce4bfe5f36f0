// holdfast::iscsi::IscsiContext: one libiscsi session (struct iscsi_context)
// owned for the length of one operation, with every call bounded by a
// Deadline.
//
// libiscsi's synchronous calls block without a bound, so this wrapper uses
// the asynchronous API and its own poll(2) loop: each call waits at most
// until its Deadline; when the deadline passes, the libiscsi context is
// destroyed (cancelling everything in flight, whose callbacks then run while
// their state is still alive) and the call throws ErrorKind::timeout. After
// that, or after a transport error, the object is dead and every further
// call throws `unavailable`. Automatic reconnection is switched off so a
// lost connection surfaces as an error instead of a hidden retry loop.
//
// SCSI commands are retried on UNIT ATTENTION (reported after a login, a
// reset, or when another host's PREEMPT changed the reservation) and on BUSY,
// within the deadline. Errors carry libiscsi's own text (iscsi_get_error),
// redacted, and are classified: login refused for CHAP -> permission, no
// such target/LUN -> not_found, RESERVATION CONFLICT -> conflict, connection
// problems -> unavailable. CHAP secrets never enter a message.
//
// Not thread-safe: one operation, one thread, one context (libiscsi contexts
// are single-threaded). Move-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <holdfast/deadline.hpp>

#include "iscsi_config.hpp"

struct iscsi_context;

namespace holdfast::iscsi {

struct SessionParams {
  std::string initiator_name;
  std::string target;  // empty: a discovery session
  Chap chap;
  // A fixed ISID (24-bit random-type value, 16-bit qualifier); nullopt:
  // libiscsi picks a random one, which holdfast always does (its protocol
  // relies on the reservation key, never on the nexus; see fencing.hpp).
  std::optional<std::pair<std::uint32_t, std::uint16_t>> isid;
  std::chrono::milliseconds io_timeout{10'000};
};

struct DiscoveredTarget {
  std::string name;
  std::vector<std::string> portals;  // "addr:port,tpgt" as the target reports them
};

struct Capacity {
  std::uint64_t blocks = 0;
  std::uint32_t block_size = 0;
  std::uint64_t bytes() const { return blocks * block_size; }
};

struct RegisteredKeys {
  std::uint32_t generation = 0;
  std::vector<std::uint64_t> keys;  // one entry per registered I_T nexus
};

struct ReservationInfo {
  bool reserved = false;
  std::uint64_t key = 0;  // the holder's key (0 for all-registrants types)
  int type = 0;           // SCSI-3 PR type (5 = write exclusive, registrants only)
};

// PERSISTENT RESERVE OUT service actions and types used by holdfast.
enum class PrAction { register_ignore = 6, reserve = 1, release = 2, preempt = 4, clear = 3 };
inline constexpr int k_pr_write_exclusive_registrants_only = 5;

class IscsiContext {
 public:
  // Connects to `portal` and logs in (a normal session to params.target, or
  // a discovery session when it is empty), within `deadline` capped by
  // params.io_timeout. Throws holdfast::Error.
  static IscsiContext open(const Portal& portal, const SessionParams& params, Deadline deadline);

  IscsiContext(IscsiContext&& other) noexcept;
  IscsiContext& operator=(IscsiContext&& other) noexcept;
  IscsiContext(const IscsiContext&) = delete;
  IscsiContext& operator=(const IscsiContext&) = delete;
  ~IscsiContext();

  const std::string& portal() const { return m_portal; }
  // False once a timeout or a transport error destroyed the session.
  bool alive() const { return m_ctx != nullptr; }

  // SendTargets=All on a discovery session.
  std::vector<DiscoveredTarget> send_targets(Deadline deadline);

  // READ CAPACITY (16). not_found when the LUN does not exist.
  Capacity read_capacity(int lun, Deadline deadline);

  // Reads/writes whole logical blocks; `offset` and the length must be
  // multiples of `block_size`. Large transfers are split.
  std::vector<unsigned char> read(int lun, std::uint64_t offset, std::uint32_t length,
                                  std::uint32_t block_size, Deadline deadline);
  // Throws conflict on RESERVATION CONFLICT (another host holds the LUN).
  void write(int lun, std::uint64_t offset, const std::vector<unsigned char>& data, std::uint32_t block_size,
             Deadline deadline);
  // SYNCHRONIZE CACHE (10) for the whole LUN.
  void synchronize_cache(int lun, Deadline deadline);

  RegisteredKeys read_keys(int lun, Deadline deadline);
  ReservationInfo read_reservation(int lun, Deadline deadline);

  // PERSISTENT RESERVE OUT. Returns false on RESERVATION CONFLICT (the
  // normal answer when another nexus holds the reservation), throws for
  // every other failure.
  bool reserve_out(int lun, PrAction action, int type, std::uint64_t key, std::uint64_t sa_key,
                   Deadline deadline);

  // Logs out politely (bounded by a short cap of `deadline`) and drops the
  // connection. Never throws; the object is dead afterwards.
  void close(Deadline deadline) noexcept;

 private:
  struct Destroy {
    void operator()(iscsi_context* ctx) const noexcept;
  };
  struct ConnectState;
  struct ScsiResult;

  IscsiContext() = default;
  void wait_until(const bool& done, Deadline deadline, const std::string& what);
  void kill() noexcept;
  iscsi_context* live(const std::string& what);
  [[noreturn]] void fail(const std::string& what);
  template <typename MakeTask>
  ScsiResult execute(int lun, const std::string& what, Deadline deadline, MakeTask make_task);

  // Outlives m_ctx (declared first, destroyed last): libiscsi may call the
  // connect callback until the context is destroyed.
  std::unique_ptr<ConnectState> m_connect;
  std::unique_ptr<iscsi_context, Destroy> m_ctx;
  std::string m_portal;
  std::string m_target;
};

// Short description of a SCSI failure ("RESERVATION CONFLICT",
// "CHECK CONDITION ILLEGAL_REQUEST ascq 0x2500") for messages.
std::string describe_scsi_status(int status, int sense_key, int ascq);

}  // namespace holdfast::iscsi
