#pragma once

#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/session.hpp"

namespace ferry {

/// What a session is bound to when the gatekeeper creates it.
struct session_binding {
  std::string identity;       ///< Proven certificate name (or claimed, TCP).
  std::vector<role> roles;    ///< From the ACL.
  std::string driver_name;
  caf::actor driver;          ///< The driver actor this session talks to.
  caf::actor root;            ///< For node-wide requests.
  caf::actor jobs;            ///< The job manager (migrations).
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

struct session_state {
  session_binding bind;
  uint64_t requests = 0;
  uint64_t denied = 0;
  static inline const char* name = "ferry.session";
};

/// One actor per connected client or peer agent. It checks the ACL on every
/// request, logs denials, and forwards what is allowed to the driver actor
/// or the root (the reply goes straight back to the client). It monitors
/// the client's actor and ends when the client goes away.
caf::behavior session_actor(caf::stateful_actor<session_state>* self,
                            session_binding bind);

} // namespace ferry
