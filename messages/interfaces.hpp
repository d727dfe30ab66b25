#pragma once

// The typed interfaces that cross the network: what a remote node may ask
// of each actor it can reach at all. Senders are checked against them by
// the compiler; receivers' doors are built from them
// (transport/door/interface.hpp), so a type missing here is refused on the
// wire before CAF delivers it. Every other actor is reachable from its own
// node only (docs/security.md, "One door").
//
//   gatekeeper_remote        anyone who connected       messages/interfaces.hpp
//   session_remote           its client's node          messages/interfaces.hpp
//   source_participant       its job's coordinator      messages/migration.hpp
//   dest_participant         its job's coordinator      messages/migration.hpp
//   pump_greeting, pump_peer its peer pump              messages/migration.hpp
//   netcheck_sink_remote     the checking agent         messages/netcheck.hpp
//   event_subscriber_remote  (client) its session       messages/interfaces.hpp

#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/domain.hpp"
#include "messages/events.hpp"
#include "messages/introspection.hpp"
#include "messages/lifecycle.hpp"
#include "messages/migration.hpp"
#include "messages/netcheck.hpp"
#include "messages/session.hpp"
#include "messages/testing.hpp"

namespace ferry {

/// A client's (or peer agent's) session, after the handshake. The session
/// checks the identity's roles on every request and answers itself.
using session_remote = caf::typed_actor<
  caf::replies_to<list_domains>::with<std::vector<domain_info>>,
  caf::replies_to<get_domain_info>::with<domain_info>,
  caf::replies_to<get_domain_xml>::with<std::string>,
  caf::replies_to<get_domain_digest>::with<domain_digest>,
  caf::replies_to<get_node_info>::with<node_info>,
  caf::replies_to<define_domain>::with<domain_info>,
  caf::replies_to<domain_op>::with<domain_info>,
  caf::replies_to<subscribe_events>::with<bool>,
  caf::replies_to<introspect>::with<agent_snapshot>,
  caf::replies_to<arm_fault>::with<bool>,
  caf::replies_to<migrate_request>::with<migration_result>,
  caf::replies_to<mig_begin>::with<begin_cookie>,
  caf::replies_to<mig_prepare>::with<prepare_cookie>,
  caf::replies_to<mig_query_outcome>::with<mig_outcome>,
  caf::replies_to<job_control>::with<job_stats>,
  caf::replies_to<netcheck_request>::with<netcheck_result>,
  caf::replies_to<netcheck_prepare>::with<netcheck_cookie>>;

/// Step 4 of the handshake, gatekeeper to client: a session bound to the
/// proven identity.
struct welcome {
  session_remote session;
  std::string agent_name;
  std::string identity;
  std::vector<role> roles;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, welcome& x) {
  return f(caf::meta::type_name("ferry.welcome"), x.session, x.agent_name,
           x.identity, x.roles);
}

/// The agent's published actor, before a client has proven who it is:
/// the identity handshake and nothing else.
using gatekeeper_remote
  = caf::typed_actor<caf::replies_to<hello>::with<challenge>,
                     caf::replies_to<proof>::with<welcome>>;

/// A client's event subscriber, to its session only (agent to client).
using event_subscriber_remote
  = caf::typed_actor<caf::reacts_to<domain_event>>;

} // namespace ferry
