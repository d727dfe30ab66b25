#include "actors/session.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>

#include "actors/hardening.hpp"
#include "messages/all.hpp"
#include "transport/acl.hpp"
#include "util/faults.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using self_ptr = caf::stateful_actor<session_state>*;

/// Returns an error if the session's identity lacks `needed` (or, when
/// given, the alternative role `also`).
caf::error check(self_ptr self, role needed, const char* what,
                 role also = role::read, bool has_also = false) {
  ++self->state.requests;
  auto& b = self->state.bind;
  if (acl::has(b.roles, needed) || (has_also && acl::has(b.roles, also)))
    return caf::none;
  ++self->state.denied;
  FERRY_WARN("session", "denied " << what << " to '" << b.identity
                                  << "' (needs role " << to_string(needed)
                                  << ")");
  return make_error(errc::permission_denied,
                    "permission denied: '" + b.identity + "' may not " + what
                      + " (needs role " + to_string(needed) + ")");
}

/// Hands `req` to `dest`; the reply goes straight to the original sender.
template <class T, class Request>
caf::result<T> forward(self_ptr self, const caf::actor& dest, Request&& req) {
  self->delegate(dest, std::forward<Request>(req));
  return caf::delegated<T>{};
}

} // namespace

caf::behavior session_actor(caf::stateful_actor<session_state>* self,
                            session_binding bind) {
  harden(self, "session");
  self->state.bind = std::move(bind);
  auto& b = self->state.bind;
  self->monitor(b.client);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.bind.client.address()) {
      FERRY_INFO("session", "'" << self->state.bind.identity
                                << "' disconnected after "
                                << self->state.requests << " requests");
      self->quit();
    }
  });
  FERRY_INFO("session", "'" << b.identity << "' connected to driver "
                            << b.driver_name);
  auto driver = b.driver;
  auto root = b.root;
  auto jobs = b.jobs;
  auto drv_name = b.driver_name;
  return {
    [self, root](const introspect& req) -> caf::result<agent_snapshot> {
      if (auto err = check(self, role::admin, "inspect the agent's actors"))
        return err;
      return forward<agent_snapshot>(self, root, req);
    },
    [self](const get_session_summary&) -> session_summary {
      // From the gatekeeper (local): this session's own counters.
      auto& b = self->state.bind;
      session_summary out;
      out.identity = b.identity;
      out.driver = b.driver_name;
      for (auto r : b.roles)
        out.roles += (out.roles.empty() ? "" : ",") + std::string{to_string(r)};
      out.requests = self->state.requests;
      out.denied = self->state.denied;
      return out;
    },
    [self](const arm_fault& req) -> caf::result<bool> {
      if (auto err = check(self, role::admin, "inject faults"))
        return err;
      faults::action act;
      if (req.action > static_cast<uint8_t>(faults::action::freeze))
        return make_error(errc::invalid_argument, "unknown fault action");
      act = static_cast<faults::action>(req.action);
      if (auto err = faults::arm(req.point, act, req.count))
        return err;
      return true;
    },
    [self, jobs, drv_name](migrate_request& req)
      -> caf::result<migration_result> {
      if (auto err = check(self, role::admin, "migrate domains"))
        return err;
      req.driver = drv_name;
      FERRY_INFO("session", "'" << self->state.bind.identity << "' migrates "
                                << req.domain << " to " << req.flags.dest_uri);
      return forward<migration_result>(self, jobs, std::move(req));
    },
    [self, jobs, drv_name](mig_begin& req) -> caf::result<begin_cookie> {
      if (auto err = check(self, role::admin, "migrate domains"))
        return err;
      req.driver = drv_name;
      return forward<begin_cookie>(self, jobs, std::move(req));
    },
    [self, jobs, drv_name](mig_prepare& req) -> caf::result<prepare_cookie> {
      // Managed: the client (admin) prepares; peer-to-peer: the source
      // agent does, with role peer.
      if (auto err = check(self, role::peer, "migrate domains into this host",
                           role::admin, true))
        return err;
      req.driver = drv_name;
      return forward<prepare_cookie>(self, jobs, std::move(req));
    },
    [self, jobs](netcheck_request& req) -> caf::result<netcheck_result> {
      if (auto err = check(self, role::admin, "run netchecks"))
        return err;
      FERRY_INFO("session", "'" << self->state.bind.identity
                                << "' checks the tunnel to " << req.dest_uri);
      return forward<netcheck_result>(self, jobs, std::move(req));
    },
    [self, jobs](netcheck_prepare& req) -> caf::result<netcheck_cookie> {
      // The source agent of a netcheck, with the role a p2p migration
      // needs here (admin may too, as for prepare).
      if (auto err = check(self, role::peer, "receive netchecks", role::admin,
                           true))
        return err;
      return forward<netcheck_cookie>(self, jobs, std::move(req));
    },
    [self, jobs](const mig_query_outcome& req) -> caf::result<mig_outcome> {
      if (auto err = check(self, role::peer, "query migration outcomes",
                           role::admin, true))
        return err;
      return forward<mig_outcome>(self, jobs, req);
    },
    [self, jobs, drv_name](job_control& req) -> caf::result<job_stats> {
      auto needed = req.verb == job_verb::info ? role::read : role::admin;
      if (auto err = check(self, needed, "control migration jobs"))
        return err;
      req.driver = drv_name;
      return forward<job_stats>(self, jobs, std::move(req));
    },
    [self, driver](list_domains& req) -> caf::result<std::vector<domain_info>> {
      if (auto err = check(self, role::read, "list domains"))
        return err;
      return forward<std::vector<domain_info>>(self, driver, std::move(req));
    },
    [self, driver](get_domain_info& req) -> caf::result<domain_info> {
      if (auto err = check(self, role::read, "read domain info"))
        return err;
      return forward<domain_info>(self, driver, std::move(req));
    },
    [self, driver](get_domain_xml& req) -> caf::result<std::string> {
      if (auto err = check(self, role::read, "read domain XML"))
        return err;
      return forward<std::string>(self, driver, std::move(req));
    },
    [self, driver](get_domain_digest& req) -> caf::result<domain_digest> {
      if (auto err = check(self, role::read, "read domain digests"))
        return err;
      return forward<domain_digest>(self, driver, std::move(req));
    },
    [self, root](subscribe_events& req) -> caf::result<bool> {
      if (auto err = check(self, role::read, "subscribe to events"))
        return err;
      FERRY_INFO("session", "'" << self->state.bind.identity
                                << "' subscribes to events"
                                << (req.domain.empty() ? ""
                                                       : " of " + req.domain));
      return forward<bool>(self, root, std::move(req));
    },
    [self, root](get_node_info& req) -> caf::result<node_info> {
      if (auto err = check(self, role::read, "read node info"))
        return err;
      return forward<node_info>(self, root, std::move(req));
    },
    [self, driver](define_domain& req) -> caf::result<domain_info> {
      if (auto err = check(self, role::admin, "define domains"))
        return err;
      return forward<domain_info>(self, driver, std::move(req));
    },
    [self, driver](domain_op& req) -> caf::result<domain_info> {
      std::string what = std::string{to_string(req.verb)} + " domains";
      if (auto err = check(self, role::admin, what.c_str()))
        return err;
      FERRY_INFO("session", "'" << self->state.bind.identity << "' "
                                << to_string(req.verb) << " " << req.name);
      return forward<domain_info>(self, driver, std::move(req));
    },
  };
}

} // namespace ferry
