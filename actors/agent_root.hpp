#pragma once

#include <functional>
#include <map>
#include <string>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "config/agent_settings.hpp"
#include "actors/gatekeeper.hpp"
#include "drivers/job_journal.hpp"
#include "transport/identity.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

/// Called once: `none` when the agent serves, or why it cannot.
using ready_callback = std::function<void(const caf::error&, uint16_t port)>;

struct agent_root_state {
  agent_settings settings;
  identity_ptr id;
  std::shared_ptr<job_journal> journal;
  std::map<std::string, caf::actor> drivers;
  gatekeeper_actor_type gatekeeper;
  caf::actor jobs;
  caf::actor events; ///< The event bus (actors/event_bus.hpp).
  size_t drivers_pending = 0;
  ready_callback on_ready;
  bool serving = false;
  bool stopping = false;
  static inline const char* name = "ferry.root";
};

/// The agent's root actor. Startup:
///
///     spawn event bus, driver actors ──(each opens its hypervisor)──> ready?
///        └─ no: report the error and quit
///        └─ yes: spawn job manager, gatekeeper; publish the gatekeeper
///                (TLS or TCP) ──> ready
///
/// Afterwards it answers node-wide requests (nodeinfo, introspection) from
/// sessions of its own node; no other node can reach it. Its children are
/// monitored, not linked: no exit travels between them on its own. On
/// shutdown (an exit from ferryd's main) the root tells each child itself.
/// If a child ends while the agent serves, which no remote peer can cause
/// (docs/security.md), the root logs why and stops the agent in the same
/// order: jobs are journalled, and the service manager restarts ferryd.
caf::behavior agent_root(door_stateful<agent_root_state>* self,
                         agent_settings settings, identity_ptr id,
                         std::shared_ptr<job_journal> journal,
                         ready_callback on_ready);

} // namespace ferry
