#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/migration.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

/// Tuning of a pump; the defaults follow docs/caf-and-qemu.md (256 KiB-1 MiB
/// chunks, a window of 8: about 4 MiB in flight per direction, whatever the
/// VM size).
struct pump_config {
  size_t chunk_bytes = 512 * 1024;
  int window = 8;
  uint64_t bandwidth = 0; ///< Bytes/s for this pump's outgoing side; 0 = any.
};

/// What a pump shares with its reader thread and with whoever watches it.
struct pump_shared {
  std::mutex mtx;
  std::condition_variable cv;
  int credit = 0;
  bool stop = false;
  std::atomic<uint64_t> bandwidth{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<bool> finished{false};
};

/// Keeps `chunk_pool` recycling slabs while a pump lives.
struct chunk_pool_lease {
  chunk_pool_lease();
  ~chunk_pool_lease();
  chunk_pool_lease(const chunk_pool_lease&) = delete;
  chunk_pool_lease& operator=(const chunk_pool_lease&) = delete;
};

/// Local, to a pump: its outgoing side's bandwidth (migrate-setspeed),
/// bytes/s; 0 = unlimited.
struct pump_rate {
  uint64_t bytes_per_second = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pump_rate& x) {
  return f(caf::meta::type_name("ferry.pump_rate"), x.bytes_per_second);
}

struct stream_pump_state {
  chunk_pool_lease pool; ///< First member: released after the reader joined.
  std::string job_id;
  int fd = -1;
  caf::actor peer;
  caf::node_id greeter; ///< Before a peer: the node whose pump may greet.
  pump_config cfg;
  std::shared_ptr<pump_shared> shared;
  std::thread reader;
  uint64_t next_in = 0;  ///< Sequence number expected from the peer.
  bool eof_in = false;   ///< Peer's side ended (we half-closed ours).
  bool eof_out = false;  ///< Our descriptor ended (we told the peer).
  static inline const char* name = "ferry.stream_pump";
  ~stream_pump_state();
};

/// Moves migration bytes between a local descriptor (one end of a
/// socketpair whose other end the hypervisor holds) and the peer pump on the
/// other agent, in both directions (QEMU's return path needs that).
///
///     hypervisor fd ──reader thread──> pump_chunk ──network──> peer pump
///     peer pump ──pump_chunk──> this actor ──write──> hypervisor fd
///                               └──pump_ack (credit)──> peer
///
/// Flow control is a credit window: the reader sends a chunk only while it
/// holds credit, and each chunk returns one credit when the peer has written
/// it. Memory therefore stays bounded by window × chunk per direction. The
/// bandwidth limit applies in the reader. Spawn it `detached`: writes to the
/// descriptor block. The pump that knows its peer (the source) says
/// `pump_hello` first; the other waits for it, from a pump of `greeter`'s
/// node only (the job's coordinator's). A pump's door admits its peer
/// pump alone: before the hello, the greeter's node for the hello only;
/// after it, the pump that said it. Either side's loss (monitor) closes the
/// descriptor, which the hypervisor sees as a failed stream.
caf::behavior stream_pump(door_stateful<stream_pump_state>* self,
                          std::string job_id, int fd, caf::actor peer,
                          caf::node_id greeter, pump_config cfg,
                          std::shared_ptr<pump_shared> shared);

/// The door of a pump that waits for its peer's hello from a pump of
/// `greeter`'s node (its `actor` left 0 for the spawner to fill in); the
/// hello narrows it to the pump that said it.
door pump_greeting_door(caf::actor_system& sys, const caf::node_id& greeter,
                        const std::string& job_id);

/// Spawns a pump that waits for its peer (see `stream_pump`) with its door
/// open before the handle leaves this node.
caf::actor spawn_waiting_pump(caf::local_actor* spawner, std::string job_id,
                              int fd, caf::node_id greeter, pump_config cfg,
                              std::shared_ptr<pump_shared> shared);

/// Creates a socketpair for a pump: `ours` for the pump, `theirs` for the
/// hypervisor; both blocking, with large buffers. False on failure.
bool make_pump_socketpair(int& ours, int& theirs);

/// Adds a job's pump figures (bytes both ways, credit) to `s`; nothing
/// when `sh` is null (not tunnelled).
void add_pump_figures(const std::shared_ptr<pump_shared>& sh, job_stats& s);

} // namespace ferry
