#pragma once

#include <chrono>

#include <caf/fwd.hpp>

#include "transport/tls_settings.hpp"

namespace ferry {

/// Liveness settings every ferry process applies to CAF's network layer.
/// Heartbeats must be on at both ends for a frozen peer to be noticed, and
/// for `remote_actor` to a silent listener not to hang (FACTS.md).
struct liveness {
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds connection_timeout{3000};
};

/// Prepares a CAF config for any ferry process: message types and error
/// category, the middleman, and heartbeats. Mutual TLS is not CAF's: start
/// a `tls_layer` (transport/tls/tls_layer.hpp) once the actor system
/// exists. `tls` is unused here and kept for callers' convenience.
void configure_caf(caf::actor_system_config& cfg, const tls_settings& tls,
                   const liveness& live);

} // namespace ferry
