#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "migration/stream_pump.hpp"
#include "messages/netcheck.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

/// The netcheck stream's integrity marks: every `stamp_every` bytes of
/// the stream start with their own offset (8 bytes, host order), so a
/// lost, repeated or reordered chunk moves some stamp.
namespace netcheck_stamps {

constexpr size_t stamp_every = 4096;

/// Writes the stamps that fall in `buf`, which holds the stream's bytes
/// from `offset` on (offset a multiple of stamp_every).
void write(char* buf, size_t len, uint64_t offset);

/// Checks a stream read in pieces of any size (a stamp may be split
/// between two reads).
struct checker {
  uint64_t offset = 0; ///< Bytes seen.
  uint64_t stamps = 0; ///< Stamps checked.
  bool intact = true;
  char partial[sizeof(uint64_t)] = {};
  void feed(const char* data, size_t len);
};

} // namespace netcheck_stamps

/// Counts an agent's running netchecks. A check gives its slot back
/// before it answers, so a client's next check never finds it taken.
using netcheck_slots = std::shared_ptr<std::atomic<int>>;

/// Gives `slots` back once (and forgets it).
inline void release_slot(netcheck_slots& slots) {
  if (slots)
    --*slots;
  slots.reset();
}

/// What a netcheck's source half needs from its agent.
struct netcheck_args {
  std::string check_id;
  caf::actor peer_links; ///< The agent's sessions with other agents.
  /// The job manager: when it ends (the agent stops), the check ends.
  caf::actor manager;
  netcheck_slots slots; ///< Taken by the job manager; released here.
  bool agents_tls = true;
  std::chrono::milliseconds connect_timeout{25000};
  /// Give up when no byte moved for this long (a stuck peer).
  std::chrono::milliseconds stall_limit{30000};
};

/// What the drain thread reports, read by the sink.
struct netcheck_counters {
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> stamps{0};
  std::atomic<bool> intact{true};
  std::atomic<bool> done{false};
};

struct netcheck_source_state {
  netcheck_args args;
  netcheck_request req;
  caf::typed_response_promise<netcheck_result> rp;
  std::string peer_name;
  netcheck_cookie dest;
  caf::actor pump;
  std::shared_ptr<pump_shared> pump_stats;
  int feed_fd = -1; ///< The feeder's end of the pump's socketpair.
  std::thread feeder;
  std::chrono::steady_clock::time_point started;
  uint64_t elapsed_us = 0;
  uint64_t last_bytes = 0;
  std::chrono::steady_clock::time_point last_progress;
  static inline const char* name = "ferry.netcheck_source";
  ~netcheck_source_state();
};

/// The source half of `ferry netcheck`: opens (or reuses) the agent's
/// session with the destination agent, has it set up a sink, and pushes
/// `bytes` of position-stamped data through a stream pump to it — the
/// same pump, chunking, credit window and agent-to-agent connection a
/// `--p2p --tunnelled` migration uses, with a feeder thread in place of
/// the source hypervisor. The result is the tunnel's throughput, after
/// the sink confirmed that every byte arrived in order. Spawn detached
/// (its destructor joins the feeder thread); answers one netcheck_request.
caf::behavior netcheck_source(door_stateful<netcheck_source_state>* self,
                              netcheck_args args);

struct netcheck_sink_state {
  std::string check_id;
  uint64_t expected = 0;
  caf::actor pump;
  std::shared_ptr<pump_shared> pump_stats;
  int drain_fd = -1; ///< The drain thread's end of the pump's socketpair.
  std::thread drain;
  std::shared_ptr<netcheck_counters> got;
  uint64_t last_bytes = 0;
  std::chrono::steady_clock::time_point last_progress;
  std::chrono::milliseconds stall_limit{30000};
  netcheck_slots slots;
  static inline const char* name = "ferry.netcheck_sink";
  ~netcheck_sink_state();
};

/// The destination half: a stream pump that waits for the source's, and
/// a drain thread (in place of the destination hypervisor) that reads
/// what the pump writes and checks each position stamp. Answers one
/// netcheck_prepare (with its cookie) and one netcheck_collect; quits when
/// nothing moved for `stall_limit` or `manager` ends. Spawn detached.
caf::behavior netcheck_sink(door_stateful<netcheck_sink_state>* self,
                            caf::actor manager, netcheck_slots slots,
                            std::chrono::milliseconds stall_limit);

} // namespace ferry
