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
///     job / driver actor ──domain_event──> bus ──anon domain_event──> each
///                                           ^                subscriber
///     client ─subscribe_events─> session ─> root ─┘ (answered by the root)
///
/// It keeps at most `max_subscribers` subscribers (more are refused with
/// `limit_exceeded`), monitors each and drops it when it terminates or its
/// node goes away, and logs one line per event. Only local actors publish:
/// the bus's handle never leaves the agent (events reach subscribers
/// without a sender, the root answers subscriptions itself).
caf::behavior event_bus(caf::stateful_actor<event_bus_state>* self,
                        std::string agent_name,
                        size_t max_subscribers = default_max_event_subscribers);

/// Makes `bus` the event bus that `event_bus_of(sys)` finds (the job
/// manager and the driver actors look it up there). The entry goes when
/// the bus terminates.
void register_event_bus(caf::actor_system& sys, const caf::actor& bus);

/// The event bus registered in `sys`, or an invalid handle.
caf::actor event_bus_of(caf::actor_system& sys);

/// Publishes one event on `bus`, stamped with the current time; does
/// nothing if `bus` is invalid (unit tests, tools without a bus).
void publish_event(const caf::actor& bus, std::string domain,
                   lifecycle_event kind, std::string job_id,
                   std::string detail = {});

} // namespace ferry
