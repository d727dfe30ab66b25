#pragma once

#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "transport/acl.hpp"
#include "transport/connector.hpp"

namespace ferry {

/// -> peer_session. Local only (never crosses the network): a job asks
/// its agent for a session with the agent at `uri`.
struct get_peer_session {
  std::string uri;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_peer_session& x) {
  return f(caf::meta::type_name("ferry.get_peer_session"), x.uri);
}

/// An authenticated session with another agent, shared by jobs.
struct peer_session {
  session_remote session;
  std::string agent_name; ///< Proven name of the peer (certificate CN).
  std::vector<role> roles; ///< What the peer lets this agent do.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_session& x) {
  return f(caf::meta::type_name("ferry.peer_session"), x.session,
           x.agent_name, x.roles);
}

} // namespace ferry
