#include "transport/caf_setup.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <thread>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/timespan.hpp>

#include "messages/types.hpp"

namespace ferry {

void configure_caf(caf::actor_system_config& cfg, const tls_settings&,
                   const liveness& live) {
  add_message_types(cfg);
  cfg.load<caf::io::middleman>();
  // Work sharing: one queue, and an idle worker is woken the moment a job
  // arrives. CAF's default work stealing lets an idle worker fall into a
  // 10 ms sleep from which it only steals, so on a quiet 2-core host each
  // hop between actors could wait for it: a p2p migration of a 1 MiB
  // domain took a median 46-47 ms of agent time with stealing and 20-21 ms
  // with sharing, a trivial CLI call 79 ms and 44 ms (ferry-bench
  // control_latency, interleaved runs, docs/benchmarks.md). ferry's actors
  // do little work each; the heavy lifting is in detached actors.
  // FERRY_CAF_SCHEDULER=stealing restores CAF's default for comparison.
  auto policy = caf::atom("sharing");
  if (const char* pol = std::getenv("FERRY_CAF_SCHEDULER")) {
    if (std::strcmp(pol, "stealing") == 0)
      policy = caf::atom("stealing");
    else if (std::strcmp(pol, "sharing") != 0)
      std::fprintf(stderr, "ferry: ignoring FERRY_CAF_SCHEDULER=%s (sharing "
                           "or stealing)\n", pol);
  }
  cfg.set("scheduler.policy", policy);
  cfg.set("middleman.heartbeat-interval", caf::timespan{live.heartbeat});
  cfg.set("middleman.connection-timeout",
          caf::timespan{live.connection_timeout});
}

void settle_actors(caf::actor_system& sys, size_t keep,
                   std::chrono::milliseconds timeout) {
  using clock_type = std::chrono::steady_clock;
  auto deadline = clock_type::now() + timeout;
  while (sys.registry().running() > keep && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  // The last actors to unregister may still be notifying their monitors:
  // give them a moment, then run the multiplexer past everything queued
  // for the brokers so far (twice: a broker may reschedule itself).
  std::this_thread::sleep_for(std::chrono::milliseconds{20});
  for (int round = 0; round < 2; ++round) {
    auto passed = std::make_shared<std::promise<void>>();
    auto done = passed->get_future();
    sys.middleman().backend().post([passed] { passed->set_value(); });
    auto left = deadline - clock_type::now();
    if (left < std::chrono::milliseconds{100})
      left = std::chrono::milliseconds{100};
    if (done.wait_for(left) != std::future_status::ready)
      return;
  }
}

} // namespace ferry
