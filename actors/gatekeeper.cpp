#include "actors/gatekeeper.hpp"

#include <chrono>
#include <cstring>

#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>

#include "actors/fan_out.hpp"
#include "actors/session.hpp"
#include "actors/hardening.hpp"
#include "messages/all.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using self_ptr = caf::stateful_actor<gatekeeper_state>*;

constexpr size_t max_pending = 64;
constexpr size_t nonce_size = 32;

caf::error refuse(errc code, const std::string& why) {
  FERRY_WARN("gatekeeper", "refused a client: " << why);
  return make_error(code, why);
}

caf::result<challenge> on_hello(self_ptr self, hello& req) {
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
  if (st.pending.size() >= max_pending)
    return refuse(errc::limit_exceeded, "too many handshakes in progress");
  auto sender = caf::actor_cast<caf::actor>(self->current_sender());
  if (!sender)
    return refuse(errc::invalid_argument, "hello without a sender");
  pending_handshake hs;
  hs.server_nonce = crypto::random_bytes(nonce_size);
  hs.client = sender;
  challenge out;
  out.server_nonce = hs.server_nonce;
  if (st.id) {
    auto name = st.id->verify_cert(req.client_cert_pem);
    if (!name)
      return refuse(errc::auth_failed, error_text(name.error()));
    if (*name != req.client_name)
      return refuse(errc::auth_failed,
                    "client calls itself '" + req.client_name
                      + "' but its certificate says '" + *name + "'");
    hs.identity = *name;
    out.server_name = st.id->name();
    out.server_cert_pem = st.id->cert_pem();
    out.server_proof = st.id->sign(proof_message(
      "server", req.client_nonce, hs.server_nonce, req.client_name,
      st.id->name()));
  } else {
    // Plain TCP: nothing can be proven; the claimed name is only a label.
    hs.identity = req.client_name;
    out.server_name = st.settings.name;
  }
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

caf::result<welcome> on_proof(self_ptr self, const proof& req) {
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
      req.client_proof);
    if (!name)
      return refuse(errc::auth_failed, error_text(name.error()));
  }
  auto& limits = st.settings.limits;
  if (st.sessions.size() >= limits.max_sessions)
    return refuse(errc::limit_exceeded, "the agent has reached its limit of "
                                          + std::to_string(limits.max_sessions)
                                          + " sessions");
  if (st.per_identity[hs.identity] >= limits.max_sessions_per_peer)
    return refuse(errc::limit_exceeded,
                  "'" + hs.identity + "' already holds "
                    + std::to_string(limits.max_sessions_per_peer)
                    + " sessions");
  session_binding bind;
  bind.identity = hs.identity;
  bind.roles = st.rules.roles_for(hs.identity);
  bind.driver_name = hs.request.driver;
  bind.driver = st.drivers[hs.request.driver];
  bind.root = st.root;
  bind.jobs = st.jobs;
  bind.client = hs.client;
  auto roles = bind.roles;
  auto session = self->spawn<caf::linked>(session_actor, std::move(bind));
  self->monitor(session);
  st.sessions.emplace(session.address(), hs.identity);
  ++st.per_identity[hs.identity];
  return welcome{session, st.settings.name, hs.identity, roles};
}

} // namespace

caf::behavior gatekeeper_actor(caf::stateful_actor<gatekeeper_state>* self,
                               agent_settings settings, identity_ptr id,
                               std::map<std::string, caf::actor> drivers,
                               caf::actor root, caf::actor jobs) {
  harden(self, "gatekeeper");
  auto& st = self->state;
  st.rules = acl{settings.acl};
  st.settings = std::move(settings);
  st.id = std::move(id);
  st.drivers = std::move(drivers);
  st.root = std::move(root);
  st.jobs = std::move(jobs);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.sessions.find(msg.source);
    if (i == st.sessions.end())
      return;
    if (--st.per_identity[i->second] == 0)
      st.per_identity.erase(i->second);
    st.sessions.erase(i);
  });
  // A session that exits normally must not take the gatekeeper with it.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.source == self->state.root.address())
      self->quit(msg.reason);
  });
  return {
    [self](hello& req) { return on_hello(self, req); },
    [self](const proof& req) { return on_proof(self, req); },
    [self](const expire_ticket& msg) { self->state.pending.erase(msg.ticket); },
    [self](const get_node_info&) {
      return static_cast<uint32_t>(self->state.sessions.size());
    },
    [self](const introspect&) -> caf::result<std::vector<session_summary>> {
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
    },
  };
}

} // namespace ferry
