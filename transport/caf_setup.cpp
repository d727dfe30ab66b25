#include "transport/caf_setup.hpp"

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
