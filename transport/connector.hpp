#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "messages/interfaces.hpp"
#include "transport/identity.hpp"
#include "transport/uri.hpp"

namespace ferry {

/// An authenticated session with an agent.
struct agent_link {
  session_remote session;
  std::string agent_name; ///< Proven name of the agent (its certificate CN).
  std::string identity;   ///< Our identity as the agent sees it.
  std::vector<role> roles;
  agent_uri uri;
  /// The actor that said hello: the agent ends the session when it goes.
  /// The blocking `connect_agent` creates one; `disconnect` ends it.
  caf::actor owner;
};

/// Ends a session made by the blocking `connect_agent`.
void disconnect(agent_link& link);

/// How to reach and prove ourselves to an agent.
struct connect_request {
  agent_uri uri;
  identity_ptr id;         ///< Required for ferry+tls; ignored for ferry+tcp.
  std::string client_name; ///< Used over plain TCP (unauthenticated label).
  std::chrono::milliseconds timeout{5000};
};

using connect_callback = std::function<void(caf::expected<agent_link>)>;

/// Connects, runs the identity handshake and calls `done` once, from
/// `self`'s context. Every step has a timeout. For actors (a p2p coordinator
/// connecting to the destination with its agent's identity).
void connect_agent(caf::event_based_actor* self, connect_request req,
                   connect_callback done);

/// Blocking variant for non-actor threads (the CLI). The session lives
/// until `disconnect` or the end of the process.
caf::expected<agent_link> connect_agent(caf::actor_system& sys,
                                        connect_request req);

} // namespace ferry
