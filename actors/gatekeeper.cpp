#include "actors/gatekeeper.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <caf/result.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "util/fan_out.hpp"
#include "transport/door/harden.hpp"
#include "actors/session.hpp"
#include "messages/all.hpp"
#include "transport/door/interface.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

constexpr size_t nonce_size = 32;

caf::error refuse(errc code, const std::string& why) {
  FERRY_WARN("gatekeeper", "refused a client: " << log::escape(why));
  return make_error(code, why);
}

/// Makes room for one more unfinished handshake of `identity` from `node`:
/// drops the oldest of the same identity, of the same node, then of all,
/// whichever limit is reached.
void make_room(gatekeeper_self self, const std::string& identity,
               const caf::node_id& node) {
  auto& st = self->state;
  auto drop_oldest = [&](auto matches, size_t limit) {
    for (;;) {
      size_t n = 0;
      auto oldest = st.pending.end();
      for (auto i = st.pending.begin(); i != st.pending.end(); ++i) {
        if (!matches(i->second))
          continue;
        ++n;
        if (oldest == st.pending.end()
            || i->second.started < oldest->second.started)
          oldest = i;
      }
      if (n < limit || oldest == st.pending.end())
        return;
      FERRY_INFO("gatekeeper", "dropped an unfinished handshake of '"
                                 << log::escape(oldest->second.identity)
                                 << "' to make room");
      st.pending.erase(oldest);
    }
  };
  drop_oldest([&](const pending_handshake& p) { return p.identity == identity; },
              st.limits.max_pending_per_identity);
  drop_oldest([&](const pending_handshake& p) {
    return p.client.node() == node;
  }, st.limits.max_pending_per_node);
  drop_oldest([](const pending_handshake&) { return true; },
              st.limits.max_pending);
}

/// Checks the hello's fields and certificate; fills in the challenge.
caf::error verify_hello(gatekeeper_self self, hello& req,
                        pending_handshake& hs, challenge& out) {
  auto& st = self->state;
  if (req.version != protocol_version)
    return refuse(errc::invalid_argument,
                  "protocol version " + std::to_string(req.version)
                    + " is not supported (agent speaks "
                    + std::to_string(protocol_version) + ")");
  if (req.client_nonce.size() != nonce_size || req.client_name.empty()
      || req.client_name.size() > 256 || req.driver.size() > 32)
    return refuse(errc::invalid_argument, "malformed hello");
  auto driver = req.driver.empty() ? st.settings.drivers.front() : req.driver;
  if (st.drivers.count(driver) == 0)
    return refuse(errc::invalid_argument,
                  "this agent has no driver '" + driver + "'");
  req.driver = driver;
  if (req.client_name == st.settings.name)
    return refuse(errc::auth_failed,
                  "a client may not use the agent's own name '"
                    + st.settings.name + "'");
  out.server_nonce = hs.server_nonce;
  if (!st.id) {
    // Plain TCP: nothing can be proven; the claimed name is only a label.
    hs.identity = req.client_name;
    out.server_name = st.settings.name;
    return caf::none;
  }
  auto name = st.id->verify_cert(req.client_cert_pem, cert_use::client);
  if (!name)
    return refuse(errc::auth_failed, error_text(name.error()));
  if (*name != req.client_name)
    return refuse(errc::auth_failed,
                  "client calls itself '" + req.client_name
                    + "' but its certificate says '" + *name + "'");
  if (*name == st.id->name())
    return refuse(errc::auth_failed,
                  "a client may not present the agent's own certificate "
                  "name '" + *name + "'");
  hs.identity = *name;
  out.server_name = st.id->name();
  out.server_cert_pem = st.id->cert_pem();
  out.server_proof = st.id->sign(proof_message(
    "server", req.client_nonce, hs.server_nonce, req.client_name,
    st.id->name()));
  return caf::none;
}

caf::result<challenge> on_hello(gatekeeper_self self, hello& req) {
  auto& st = self->state;
  auto sender = caf::actor_cast<caf::actor>(self->current_sender());
  if (!sender)
    return refuse(errc::invalid_argument, "hello without a sender");
  pending_handshake hs;
  hs.server_nonce = crypto::random_bytes(nonce_size);
  hs.client = sender;
  hs.started = std::chrono::steady_clock::now();
  challenge out;
  if (auto err = verify_hello(self, req, hs, out))
    return err;
  make_room(self, hs.identity, sender.node());
  uint64_t ticket = 0;
  do {
    auto bytes = crypto::random_bytes(sizeof(ticket));
    std::memcpy(&ticket, bytes.data(), sizeof(ticket));
  } while (ticket == 0 || st.pending.count(ticket) != 0);
  out.ticket = ticket;
  hs.request = std::move(req);
  st.pending.emplace(ticket, std::move(hs));
  self->delayed_send(self,
                     std::chrono::milliseconds{
                       st.settings.limits.handshake_timeout_ms},
                     expire_ticket{ticket});
  return out;
}

caf::error check_limits(gatekeeper_self self, const std::string& identity) {
  auto& st = self->state;
  auto& limits = st.settings.limits;
  if (st.sessions.size() >= limits.max_sessions)
    return refuse(errc::limit_exceeded, "the agent has reached its limit of "
                                          + std::to_string(limits.max_sessions)
                                          + " sessions");
  if (st.per_identity[identity] >= limits.max_sessions_per_peer)
    return refuse(errc::limit_exceeded,
                  "'" + identity + "' already holds "
                    + std::to_string(limits.max_sessions_per_peer)
                    + " sessions");
  return caf::none;
}

caf::result<welcome> on_proof(gatekeeper_self self, const proof& req) {
  auto& st = self->state;
  auto i = st.pending.find(req.ticket);
  if (i == st.pending.end())
    return refuse(errc::auth_failed, "unknown or expired handshake");
  auto hs = std::move(i->second);
  st.pending.erase(i);
  if (caf::actor_cast<caf::actor>(self->current_sender()) != hs.client)
    return refuse(errc::auth_failed, "proof from another actor than hello");
  if (st.id) {
    auto name = st.id->verify(
      hs.request.client_cert_pem,
      proof_message("client", hs.server_nonce, hs.request.client_nonce,
                    st.id->name(), hs.request.client_name),
      req.client_proof, cert_use::client);
    if (!name)
      return refuse(errc::auth_failed, error_text(name.error()));
  }
  auto roles = st.rules.roles_for(hs.identity);
  if (roles.empty())
    return refuse(errc::permission_denied,
                  "permission denied: '" + hs.identity
                    + "' holds no role on agent '" + st.settings.name
                    + "' (no ACL rule names it)");
  if (auto err = check_limits(self, hs.identity))
    return err;
  session_binding bind;
  bind.identity = hs.identity;
  bind.roles = roles;
  bind.driver_name = hs.request.driver;
  bind.driver = st.drivers[hs.request.driver];
  bind.root = st.root;
  bind.jobs = st.jobs;
  bind.events = st.events;
  bind.client = hs.client;
  // Monitored, not linked: a session that ends, however it ends, takes
  // nothing else with it.
  auto door = session_door(self->system(), bind);
  auto session = self->spawn(session_actor, std::move(bind));
  door.actor = session.id();
  open_door_early(self->system(), std::move(door));
  self->monitor(session);
  st.sessions.emplace(session.address(), hs.identity);
  ++st.per_identity[hs.identity];
  return welcome{caf::actor_cast<session_remote>(session), st.settings.name,
                 hs.identity, roles};
}

caf::result<std::vector<session_summary>> on_introspect(gatekeeper_self self) {
  std::vector<caf::actor> sessions;
  for (auto& [addr, identity] : self->state.sessions)
    if (auto a = caf::actor_cast<caf::actor>(addr))
      sessions.push_back(a);
  auto rp = self->make_response_promise<std::vector<session_summary>>();
  fan_out<session_summary>(self, sessions, get_session_summary{},
                           std::chrono::seconds{2},
                           [rp](std::vector<session_summary> xs) mutable {
                             rp.deliver(std::move(xs));
                           });
  return rp;
}

/// A new ACL (SIGHUP): new logins use it, and every session learns its
/// identity's roles now; one left without any ends.
void on_acl_update(gatekeeper_self self, acl_update& up) {
  auto& st = self->state;
  st.rules = acl{std::move(up.rules), std::move(up.default_roles)};
  size_t ended = 0;
  for (auto& [addr, identity] : st.sessions) {
    auto roles = st.rules.roles_for(identity);
    ended += roles.empty() ? 1 : 0;
    if (auto s = caf::actor_cast<session_actor_type>(addr))
      self->send(s, roles_update{std::move(roles)});
  }
  FERRY_INFO("gatekeeper", "ACL reloaded: " << st.sessions.size()
                                            << " session(s) told their roles, "
                                            << ended << " of them end");
}

} // namespace

door gatekeeper_door(caf::actor_system& sys, uint64_t gatekeeper) {
  // Published: open to every node, for the handshake only.
  return {gatekeeper, caf::node_id{}, 0, accepted_types<gatekeeper_remote>(sys),
          false, "gatekeeper"};
}

gatekeeper_actor_type::behavior_type
gatekeeper_actor(gatekeeper_self self, agent_settings settings,
                 identity_ptr id, std::map<std::string, caf::actor> drivers,
                 caf::actor root, caf::actor jobs, caf::actor events) {
  harden(self, "gatekeeper");
  auto& st = self->state;
  st.rules = acl{settings.acl, settings.acl_default};
  st.limits.max_pending = settings.limits.max_sessions;
  st.limits.max_pending_per_identity = settings.limits.max_sessions_per_peer;
  st.limits.max_pending_per_node = settings.limits.max_sessions_per_peer;
  st.settings = std::move(settings);
  st.id = std::move(id);
  st.drivers = std::move(drivers);
  st.root = std::move(root);
  st.jobs = std::move(jobs);
  st.events = std::move(events);
  self->open_door(gatekeeper_door(self->system(), self->id()));
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.sessions.find(msg.source);
    if (i == st.sessions.end())
      return;
    if (--st.per_identity[i->second] == 0)
      st.per_identity.erase(i->second);
    st.sessions.erase(i);
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Only the root stops the gatekeeper (and, with it, every session).
    if (msg.source != self->state.root.address())
      return;
    for (auto& [addr, identity] : self->state.sessions)
      if (auto s = caf::actor_cast<caf::actor>(addr))
        self->send_exit(s, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [self](hello& req) { return on_hello(self, req); },
    [self](const proof& req) { return on_proof(self, req); },
    [self](const expire_ticket& msg) { self->state.pending.erase(msg.ticket); },
    [self](const get_node_info&) -> uint32_t {
      return static_cast<uint32_t>(self->state.sessions.size());
    },
    [self](const introspect&) { return on_introspect(self); },
    [self](acl_update& up) { on_acl_update(self, up); },
  };
}

} // namespace ferry
