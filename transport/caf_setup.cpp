#include "transport/caf_setup.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
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

} // namespace ferry
