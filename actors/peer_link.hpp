#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "transport/connector.hpp"
#include "transport/peer_session.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

/// Sent by a peer_link to its pool when it has been idle too long, and back
/// by the pool once no job can be handed the link any more.
struct peer_link_idle {};
struct peer_link_close {};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_link_idle&) {
  return f(caf::meta::type_name("ferry.peer_link_idle"));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_link_close&) {
  return f(caf::meta::type_name("ferry.peer_link_close"));
}

struct peer_link_state {
  connect_request req;
  caf::actor pool;
  std::chrono::milliseconds idle{60000};
  std::optional<peer_session> link;
  bool connecting = false;
  bool closing = false; ///< The pool forgot us: quit once unused.
  std::vector<caf::response_promise> waiters;
  std::set<caf::actor_addr> users; ///< Jobs holding the session.
  std::chrono::steady_clock::time_point unused_since;
  static inline const char* name = "ferry.peer_link";
};

/// One session with one other agent, opened with this agent's identity on
/// first use and shared by every job to that agent until it has been unused
/// for `idle`. The actor is the session's owner: the peer ends the session
/// when this actor goes. Users (the jobs that asked) are monitored, so a
/// session is never closed under a running job. It quits when the session
/// or its connection goes down; the pool then opens a new one on demand.
caf::behavior peer_link(door_stateful<peer_link_state>* self,
                        connect_request req, caf::actor pool,
                        std::chrono::milliseconds idle);

} // namespace ferry
