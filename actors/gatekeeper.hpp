#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>

#include "config/agent_settings.hpp"
#include "messages/interfaces.hpp"
#include "transport/acl.hpp"
#include "transport/door/door_actor.hpp"
#include "transport/identity.hpp"

namespace ferry {

/// A handshake between `hello` and `proof`.
struct pending_handshake {
  hello request;
  std::string server_nonce;
  caf::actor client;
  std::string identity; ///< Name from the client's verified certificate.
  std::chrono::steady_clock::time_point started;
};

/// Expires a handshake that was never completed.
struct expire_ticket {
  uint64_t ticket = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, expire_ticket& x) {
  return f(caf::meta::type_name("ferry.expire_ticket"), x.ticket);
}

/// ferryd to the gatekeeper (local, via the root), on SIGHUP: the ACL as
/// the configuration now reads.
struct acl_update {
  std::vector<acl_rule> rules;
  std::vector<std::string> default_roles;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, acl_update& x) {
  return f(caf::meta::type_name("ferry.acl_update"), x.rules,
           x.default_roles);
}

/// The gatekeeper's whole interface: the handshake (`gatekeeper_remote`,
/// the only part another node reaches) and its own node's messages.
using gatekeeper_actor_type = gatekeeper_remote::extend<
  caf::replies_to<get_node_info>::with<uint32_t>,
  caf::replies_to<introspect>::with<std::vector<session_summary>>,
  caf::reacts_to<expire_ticket>, caf::reacts_to<acl_update>>;

/// Bounds on unfinished handshakes (hello without proof): as many as the
/// sessions an identity (and one node) may hold, and as many as the agent
/// holds in all. When one is reached the oldest such handshake is dropped
/// to make room: a flood of hellos from one identity displaces only its
/// own, and delays nobody else's login.
struct handshake_limits {
  size_t max_pending = 256;
  size_t max_pending_per_identity = 64;
  size_t max_pending_per_node = 64;
};

struct gatekeeper_state {
  agent_settings settings;
  identity_ptr id; ///< Null over plain TCP (no identity proof possible).
  acl rules{{}};
  std::map<std::string, caf::actor> drivers;
  caf::actor root;
  caf::actor jobs;
  caf::actor events;
  handshake_limits limits;
  std::map<uint64_t, pending_handshake> pending;
  std::map<caf::actor_addr, std::string> sessions; ///< session -> identity
  std::map<std::string, uint32_t> per_identity;
  static inline const char* name = "ferry.gatekeeper";
};

using gatekeeper_self = door_typed<gatekeeper_actor_type, gatekeeper_state>*;

/// The one actor an agent publishes, and the only one a node that has not
/// logged in can address (its door admits every node, for `hello` and
/// `proof` only). Clients and peer agents run the identity handshake with
/// it and receive a session actor bound to their proven identity and ACL
/// roles; an identity the ACL gives no role gets no session. It enforces
/// the session limits and expires half-finished handshakes.
///
///     client                    gatekeeper
///       | hello(name, nonce, cert) |
///       |------------------------->|  verify cert, sign both nonces+names
///       |  challenge(proof, nonce) |
///       |<-------------------------|
///       |  proof(signature)        |  verify signature, look up roles
///       |------------------------->|  spawn session(identity, roles)
///       |  welcome(session)        |
///       |<-------------------------|
/// The gatekeeper's door: every node, the handshake only.
door gatekeeper_door(caf::actor_system& sys, uint64_t gatekeeper);

gatekeeper_actor_type::behavior_type
gatekeeper_actor(gatekeeper_self self, agent_settings settings,
                 identity_ptr id, std::map<std::string, caf::actor> drivers,
                 caf::actor root, caf::actor jobs, caf::actor events);

} // namespace ferry
