#pragma once

#include <chrono>
#include <map>
#include <string>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/peer_link.hpp"
#include "transport/identity.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

struct peer_links_config {
  identity_ptr id;        ///< The agent's own identity.
  std::string agent_name; ///< Label over plain TCP.
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle{60000}; ///< Unused sessions close after it.
};

struct peer_links_state {
  peer_links_config cfg;
  std::map<std::string, caf::actor> links; ///< By destination agent URI.
  static inline const char* name = "ferry.peer_links";
};

/// The sessions this agent keeps with other agents for its peer-to-peer
/// jobs (`get_peer_session` -> `peer_session`). Opening a session costs a
/// hello, a challenge and two signatures, a fifth of a small migration's
/// time; CAF already keeps the connection itself. One `peer_link` per
/// destination URI serves every job to that agent; a link that fails or
/// whose session ends is forgotten, and the next job opens a new one.
caf::behavior peer_links(door_stateful<peer_links_state>* self,
                         peer_links_config cfg);

} // namespace ferry
