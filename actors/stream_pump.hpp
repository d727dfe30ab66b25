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

namespace ferry {

/// Tuning of a pump; the defaults follow FACTS.md (256 KiB-1 MiB chunks,
/// a window of 8: about 4 MiB in flight per direction, whatever the VM size).
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

struct stream_pump_state {
  chunk_pool_lease pool; ///< First member: released after the reader joined.
  std::string job_id;
  int fd = -1;
  caf::actor peer;
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
/// `pump_hello` first; the other waits for it. Either side's loss (monitor)
/// closes the descriptor, which the hypervisor sees as a failed stream.
caf::behavior stream_pump(caf::stateful_actor<stream_pump_state>* self,
                          std::string job_id, int fd, caf::actor peer,
                          pump_config cfg, std::shared_ptr<pump_shared> shared);

/// Creates a socketpair for a pump: `ours` for the pump, `theirs` for the
/// hypervisor; both blocking, with large buffers. False on failure.
bool make_pump_socketpair(int& ours, int& theirs);

} // namespace ferry
