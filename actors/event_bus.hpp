#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/events.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

/// Default bound on an agent's event subscribers.
constexpr size_t default_max_event_subscribers = 64;

/// One subscriber of the bus.
struct event_subscriber {
  caf::actor hdl;
  std::string domain; ///< Filter; empty: every domain.
};

struct event_bus_state {
  std::string agent_name;
  size_t max_subscribers = default_max_event_subscribers;
  std::vector<event_subscriber> subscribers;
  uint64_t published = 0;
  static inline const char* name = "ferry.event_bus";
};

/// The agent's event bus: one per agent, spawned by the root.
///
///     job / driver actor ──domain_event──> bus ──domain_event──> session
///                                           ^                     │
///     client ─subscribe_events─> session ───┘      client <──relay┘
///
/// Subscribers are the sessions of this agent (each relays to its client):
/// the sender of `subscribe_events` is the subscriber. It keeps at most
/// `max_subscribers` (more are refused with `limit_exceeded`), monitors
/// each and drops it when it terminates, and logs one line per event. Its
/// handle never leaves the agent: it is not registered by name, the root
/// hands it to the actors that publish, and only actors of this node may
/// send to it (its door is closed).
caf::behavior event_bus(door_stateful<event_bus_state>* self,
                        std::string agent_name,
                        size_t max_subscribers = default_max_event_subscribers);

} // namespace ferry
