#pragma once

#include <functional>
#include <map>
#include <string>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "config/agent_settings.hpp"
#include "drivers/job_journal.hpp"
#include "transport/identity.hpp"

namespace ferry {

/// Called once: `none` when the agent serves, or why it cannot.
using ready_callback = std::function<void(const caf::error&, uint16_t port)>;

struct agent_root_state {
  agent_settings settings;
  identity_ptr id;
  std::shared_ptr<job_journal> journal;
  std::map<std::string, caf::actor> drivers;
  caf::actor gatekeeper;
  caf::actor jobs;
  caf::actor events; ///< The event bus (actors/event_bus.hpp).
  size_t drivers_pending = 0;
  ready_callback on_ready;
  bool serving = false;
  static inline const char* name = "ferry.root";
};

/// The agent's root actor. Startup:
///
///     spawn driver actors ──(each opens its hypervisor)──> all ready?
///        └─ no: report the error and quit
///        └─ yes: spawn gatekeeper, publish it (TLS or TCP) ──> ready
///
/// Afterwards it answers node-wide requests (nodeinfo, event
/// subscriptions for the event bus) and takes every child down with it on
/// shutdown: it sends each its exit itself before it quits (the links
/// alone can arrive after a child was already destroyed as unreachable).
caf::behavior agent_root(caf::stateful_actor<agent_root_state>* self,
                         agent_settings settings, identity_ptr id,
                         std::shared_ptr<job_journal> journal,
                         ready_callback on_ready);

} // namespace ferry
