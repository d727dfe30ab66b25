#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "config/agent_settings.hpp"
#include "messages/session.hpp"
#include "transport/acl.hpp"
#include "transport/identity.hpp"

namespace ferry {

/// A handshake between `hello` and `proof`.
struct pending_handshake {
  hello request;
  std::string server_nonce;
  caf::actor client;
  std::string identity; ///< Name from the client's verified certificate.
};

/// Expires a handshake that was never completed.
struct expire_ticket {
  uint64_t ticket = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, expire_ticket& x) {
  return f(caf::meta::type_name("ferry.expire_ticket"), x.ticket);
}

struct gatekeeper_state {
  agent_settings settings;
  identity_ptr id; ///< Null over plain TCP (no identity proof possible).
  acl rules{{}};
  std::map<std::string, caf::actor> drivers;
  caf::actor root;
  caf::actor jobs;
  std::map<uint64_t, pending_handshake> pending;
  std::map<caf::actor_addr, std::string> sessions; ///< session -> identity
  std::map<std::string, uint32_t> per_identity;
  static inline const char* name = "ferry.gatekeeper";
};

/// The one actor an agent publishes. Clients and peer agents run the
/// identity handshake with it (hello, challenge, proof) and receive a
/// session actor bound to their proven identity and ACL roles. It enforces
/// the session limits and expires half-finished handshakes.
///
///     client                    gatekeeper
///       | hello(name, nonce, cert) |
///       |------------------------->|  verify cert, sign both nonces+names
///       |  challenge(proof, nonce) |
///       |<-------------------------|
///       |  proof(signature)        |  verify signature
///       |------------------------->|  spawn session(identity, roles)
///       |  welcome(session)        |
///       |<-------------------------|
caf::behavior gatekeeper_actor(caf::stateful_actor<gatekeeper_state>* self,
                               agent_settings settings, identity_ptr id,
                               std::map<std::string, caf::actor> drivers,
                               caf::actor root, caf::actor jobs);

} // namespace ferry
