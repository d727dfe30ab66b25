#pragma once

#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>

#include "messages/interfaces.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

/// What a session is bound to when the gatekeeper creates it.
struct session_binding {
  std::string identity;       ///< Proven certificate name (or claimed, TCP).
  std::vector<role> roles;    ///< From the ACL.
  std::string driver_name;
  caf::actor driver;          ///< The driver actor this session talks to.
  caf::actor root;            ///< For node-wide requests.
  caf::actor jobs;            ///< The job manager (migrations).
  caf::actor events;          ///< The event bus (subscriptions).
  caf::actor client;          ///< The peer's actor; its loss ends the session.
};

/// Gatekeeper to session (local): describe yourself (introspection).
struct get_session_summary {
  bool unused = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_session_summary& x) {
  return f(caf::meta::type_name("ferry.get_session_summary"), x.unused);
}

/// Gatekeeper to session (local): the identity's roles after an ACL
/// reload; none ends the session.
struct roles_update {
  std::vector<role> roles;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, roles_update& x) {
  return f(caf::meta::type_name("ferry.roles_update"), x.roles);
}

/// The session's whole interface: what clients may ask (`session_remote`),
/// plus its own node's messages: the gatekeeper's introspection and ACL
/// reloads, and the events it relays from the bus.
using session_actor_type = session_remote::extend<
  caf::replies_to<get_session_summary>::with<session_summary>,
  caf::reacts_to<roles_update>, caf::reacts_to<domain_event>>;

struct session_state {
  session_binding bind;
  uint64_t requests = 0;
  uint64_t denied = 0;
  /// The client's actor that subscribed to events (relayed by us).
  event_subscriber_remote subscriber;
  static inline const char* name = "ferry.session";
};

using session_self = door_typed<session_actor_type, session_state>*;

/// One actor per connected client or peer agent, and the only actor of the
/// agent that client may address after the handshake (its door admits the
/// client's node only). It checks the ACL on every request, logs what is
/// allowed and what is denied, asks the driver actor, the job manager or
/// the root, and answers the client itself: no other actor's handle ever
/// reaches the client. Fields a request carries about its sender (the
/// coordinator of a job, the checking agent of a netcheck) are set here
/// from the actual sender, never taken from the wire. It relays the
/// agent's lifecycle events to the client's subscriber, and ends when the
/// client's actor goes away.
/// The door of a session bound to `bind` (its `actor` left 0 for the
/// spawner to fill in): its client's node, the session interface, and the
/// larger message limit of a logged-in peer.
door session_door(caf::actor_system& sys, const session_binding& bind);

session_actor_type::behavior_type session_actor(session_self self,
                                                session_binding bind);

} // namespace ferry
