#include "actors/session.hpp"

#include <chrono>

#include <caf/result.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "transport/door/harden.hpp"
#include "messages/all.hpp"
#include "transport/acl.hpp"
#include "transport/door/interface.hpp"
#include "util/faults.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using namespace std::chrono_literals;

/// How long the session waits for its own node's actors. The client's
/// request has its own timeout; these only bound a local actor that never
/// answers, so they are as long as the slowest legitimate work.
constexpr auto quick = std::chrono::milliseconds{60s};
constexpr auto lifecycle = std::chrono::milliseconds{10min};
constexpr auto migration = std::chrono::milliseconds{7h};

/// Returns an error if the session's identity lacks `needed` (or, when
/// given, the alternative role `also`).
caf::error check(session_self self, role needed, const char* what,
                 role also = role::read, bool has_also = false) {
  ++self->state.requests;
  auto& b = self->state.bind;
  if (acl::has(b.roles, needed) || (has_also && acl::has(b.roles, also)))
    return caf::none;
  ++self->state.denied;
  FERRY_WARN("session", "denied " << what << " to '" << log::escape(b.identity)
                                  << "' (needs role " << to_string(needed)
                                  << ")");
  return make_error(errc::permission_denied,
                    "permission denied: '" + b.identity + "' may not " + what
                      + " (needs role " + to_string(needed) + ")");
}

/// Asks `dest` (an actor of this node) and answers the client with what
/// comes back: the answer's sender is always this session.
template <class T, class Request>
caf::result<T> relay(session_self self, const caf::actor& dest,
                     std::chrono::milliseconds timeout, Request&& req) {
  auto rp = self->make_response_promise<T>();
  self->request(dest, timeout, std::forward<Request>(req))
    .then([rp](T& x) mutable { rp.deliver(std::move(x)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// `relay` for a client whose roles include `needed`; the error of `check`
/// otherwise.
template <class T, class Request>
caf::result<T> checked_relay(session_self self, role needed, const char* what,
                             const caf::actor& dest,
                             std::chrono::milliseconds timeout, Request&& req) {
  if (auto err = check(self, needed, what))
    return err;
  return relay<T>(self, dest, timeout, std::forward<Request>(req));
}

/// The client's actor that sent the current request.
caf::actor sender_of(session_self self) {
  return caf::actor_cast<caf::actor>(self->current_sender());
}

const std::string& who(session_self self) {
  return self->state.bind.identity;
}

caf::result<bool> on_subscribe(session_self self, subscribe_events& req) {
  if (auto err = check(self, role::read, "subscribe to events"))
    return err;
  if (auto err = check_subscription(req))
    return err;
  auto subscriber = sender_of(self);
  if (!subscriber)
    return make_error(errc::invalid_argument, "no subscriber");
  FERRY_INFO("session", "'" << log::escape(who(self))
                            << "' subscribes to events"
                            << (req.domain.empty()
                                  ? ""
                                  : " of " + log::escape(req.domain)));
  auto rp = self->make_response_promise<bool>();
  self->request(self->state.bind.events, quick, std::move(req))
    .then(
      [self, rp, subscriber](bool ok) mutable {
        self->state.subscriber
          = caf::actor_cast<event_subscriber_remote>(subscriber);
        rp.deliver(ok);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

session_summary summary(session_self self) {
  auto& b = self->state.bind;
  session_summary out;
  out.identity = b.identity;
  out.driver = b.driver_name;
  for (auto r : b.roles)
    out.roles += (out.roles.empty() ? "" : ",") + std::string{to_string(r)};
  out.requests = self->state.requests;
  out.denied = self->state.denied;
  return out;
}

caf::result<bool> on_arm_fault(session_self self, const arm_fault& req) {
  if (auto err = check(self, role::admin, "inject faults"))
    return err;
  if (req.action > static_cast<uint8_t>(faults::action::freeze))
    return make_error(errc::invalid_argument, "unknown fault action");
  if (auto err = faults::arm(req.point, static_cast<faults::action>(req.action),
                             req.count))
    return err;
  return true;
}

void on_roles_update(session_self self, roles_update& up) {
  auto& b = self->state.bind;
  if (up.roles.empty()) {
    FERRY_INFO("session", "'" << log::escape(b.identity)
                              << "' no longer holds a role (ACL "
                                 "reloaded): session ended");
    self->quit();
    return;
  }
  b.roles = std::move(up.roles);
}

caf::result<migration_result> on_migrate(session_self self,
                                         migrate_request& req) {
  if (auto err = check(self, role::admin, "migrate domains"))
    return err;
  req.driver = self->state.bind.driver_name;
  FERRY_INFO("session", "'" << log::escape(who(self)) << "' migrates "
                            << log::escape(req.domain) << " to "
                            << log::escape(req.flags.dest_uri));
  return relay<migration_result>(self, self->state.bind.jobs, migration,
                                 std::move(req));
}

caf::result<begin_cookie> on_begin(session_self self, mig_begin& req) {
  if (auto err = check(self, role::admin, "migrate domains"))
    return err;
  req.driver = self->state.bind.driver_name;
  req.coordinator = sender_of(self);
  return relay<begin_cookie>(self, self->state.bind.jobs, lifecycle,
                             std::move(req));
}

caf::result<prepare_cookie> on_prepare(session_self self, mig_prepare& req) {
  // Managed: the client (admin) prepares; peer-to-peer: the source agent
  // does, with role peer.
  if (auto err = check(self, role::peer, "migrate domains into this host",
                       role::admin, true))
    return err;
  req.driver = self->state.bind.driver_name;
  req.coordinator = sender_of(self);
  return relay<prepare_cookie>(self, self->state.bind.jobs, lifecycle,
                               std::move(req));
}

caf::result<netcheck_result> on_netcheck(session_self self,
                                         netcheck_request& req) {
  if (auto err = check(self, role::admin, "run netchecks"))
    return err;
  FERRY_INFO("session", "'" << log::escape(who(self))
                            << "' checks the tunnel to "
                            << log::escape(req.dest_uri));
  return relay<netcheck_result>(self, self->state.bind.jobs, migration,
                                std::move(req));
}

caf::result<netcheck_cookie> on_netcheck_prepare(session_self self,
                                                 netcheck_prepare& req) {
  // The source agent of a netcheck, with the role a p2p migration needs
  // here (admin may too, as for prepare).
  if (auto err = check(self, role::peer, "receive netchecks", role::admin,
                       true))
    return err;
  req.requester = sender_of(self);
  return relay<netcheck_cookie>(self, self->state.bind.jobs, quick,
                                std::move(req));
}

caf::result<mig_outcome> on_query_outcome(session_self self,
                                          const mig_query_outcome& req) {
  if (auto err = check(self, role::peer, "query migration outcomes",
                       role::admin, true))
    return err;
  return relay<mig_outcome>(self, self->state.bind.jobs, quick, req);
}

caf::result<job_stats> on_job_control(session_self self, job_control& req) {
  auto needed = req.verb == job_verb::info ? role::read : role::admin;
  if (auto err = check(self, needed, "control migration jobs"))
    return err;
  if (req.verb != job_verb::info)
    FERRY_INFO("session", "'" << log::escape(who(self)) << "' "
                              << to_string(req.verb) << " job of "
                              << log::escape(req.domain));
  req.driver = self->state.bind.driver_name;
  return relay<job_stats>(self, self->state.bind.jobs, lifecycle,
                          std::move(req));
}

caf::result<domain_info> on_define(session_self self, define_domain& req) {
  if (auto err = check(self, role::admin, "define domains"))
    return err;
  FERRY_INFO("session", "'" << log::escape(who(self)) << "' defines a domain");
  return relay<domain_info>(self, self->state.bind.driver, lifecycle,
                            std::move(req));
}

caf::result<domain_info> on_domain_op(session_self self, domain_op& req) {
  std::string what = std::string{to_string(req.verb)} + " domains";
  if (auto err = check(self, role::admin, what.c_str()))
    return err;
  FERRY_INFO("session", "'" << log::escape(who(self)) << "' "
                            << to_string(req.verb) << " "
                            << log::escape(req.name));
  return relay<domain_info>(self, self->state.bind.driver, lifecycle,
                            std::move(req));
}

/// Opens the session's door, watches its client, logs the login.
void bind_session(session_self self, session_binding bind) {
  self->state.bind = std::move(bind);
  auto& b = self->state.bind;
  auto door = session_door(self->system(), b);
  door.actor = self->id();
  self->open_door(std::move(door));
  self->monitor(b.client);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.bind.client.address()) {
      FERRY_INFO("session", "'" << log::escape(who(self))
                                << "' disconnected after "
                                << self->state.requests << " requests");
      self->quit();
    }
  });
  FERRY_INFO("session", "'" << log::escape(b.identity)
                            << "' connected to driver " << b.driver_name);
}


} // namespace

door session_door(caf::actor_system& sys, const session_binding& bind) {
  // The one door a client has after the handshake: its session, from the
  // client's node only.
  return {0, bind.client.node(), 0, accepted_types<session_remote>(sys), true,
          "session of '" + bind.identity + "'"};
}

session_actor_type::behavior_type session_actor(session_self self,
                                                session_binding bind) {
  harden(self, "session");
  bind_session(self, std::move(bind));
  auto driver = self->state.bind.driver;
  auto root = self->state.bind.root;
  return {
    [self, root](const introspect& req) {
      return checked_relay<agent_snapshot>(
        self, role::admin, "inspect the agent's actors", root, quick, req);
    },
    [self](const get_session_summary&) -> session_summary {
      return summary(self); // from the gatekeeper (local)
    },
    [self](roles_update& up) { on_roles_update(self, up); },
    [self](domain_event& ev) {
      // From the bus (local): on to the client that subscribed.
      if (self->state.subscriber)
        self->send(self->state.subscriber, std::move(ev));
    },
    [self](const arm_fault& req) { return on_arm_fault(self, req); },
    [self](migrate_request& req) { return on_migrate(self, req); },
    [self](mig_begin& req) { return on_begin(self, req); },
    [self](mig_prepare& req) { return on_prepare(self, req); },
    [self](netcheck_request& req) { return on_netcheck(self, req); },
    [self](netcheck_prepare& req) { return on_netcheck_prepare(self, req); },
    [self](const mig_query_outcome& req) {
      return on_query_outcome(self, req);
    },
    [self](job_control& req) { return on_job_control(self, req); },
    [self, driver](list_domains& req) {
      return checked_relay<std::vector<domain_info>>(
        self, role::read, "list domains", driver, quick, std::move(req));
    },
    [self, driver](get_domain_info& req) {
      return checked_relay<domain_info>(self, role::read, "read domain info",
                                        driver, quick, std::move(req));
    },
    [self, driver](get_domain_xml& req) {
      return checked_relay<std::string>(self, role::read, "read domain XML",
                                        driver, quick, std::move(req));
    },
    [self, driver](get_domain_digest& req) {
      return checked_relay<domain_digest>(self, role::read,
                                          "read domain digests", driver,
                                          lifecycle, std::move(req));
    },
    [self](subscribe_events& req) { return on_subscribe(self, req); },
    [self, root](get_node_info& req) {
      return checked_relay<node_info>(self, role::read, "read node info",
                                      root, quick, std::move(req));
    },
    [self](define_domain& req) { return on_define(self, req); },
    [self](domain_op& req) { return on_domain_op(self, req); },
  };
}

} // namespace ferry
