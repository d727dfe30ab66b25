#pragma once

#include <chrono>

#include <caf/fwd.hpp>

#include "transport/tls_settings.hpp"

namespace ferry {

/// Liveness settings every ferry process applies to CAF's network layer.
/// Heartbeats must be on at both ends for a frozen peer to be noticed, and
/// for `remote_actor` to a silent listener not to hang (docs/caf-and-qemu.md).
struct liveness {
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds connection_timeout{3000};
};

/// Prepares a CAF config for any ferry process: message types and error
/// category, the middleman, and heartbeats. Mutual TLS is not CAF's: start
/// a `net_layer` (transport/net/net_layer.hpp) once the actor system
/// exists. `tls` is unused here and kept for callers' convenience.
void configure_caf(caf::actor_system_config& cfg, const tls_settings& tls,
                   const liveness& live);

/// Lets a process's actors finish before its actor system goes away; call
/// it right before the end of `main`'s actor system scope.
///
/// CAF unregisters a terminating actor before it notifies its monitors.
/// One of those is the BASP broker whenever a remote node holds a proxy of
/// the actor (every actor that ever answered a remote request). If the
/// network layer stops in between, the broker never handles that down
/// message, the message keeps the actor alive, and the actor system's
/// destructor waits forever for it when it is detached (a driver actor).
/// This waits, at most `timeout`, until no more than `keep` actors run
/// (e.g. 1 for main's own scoped actor), then lets CAF's multiplexer run
/// what the brokers were sent meanwhile.
void settle_actors(caf::actor_system& sys, size_t keep,
                   std::chrono::milliseconds timeout
                   = std::chrono::milliseconds{3000});

} // namespace ferry
