#include "transport/connector.hpp"

#include <future>
#include <memory>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/node_id.hpp>
#include <caf/send.hpp>

#include "messages/all.hpp"
#include "transport/net/net_layer.hpp"
#include "util/crypto.hpp"

namespace ferry {

namespace {

caf::error connect_error(const connect_request& req, const caf::error& err) {
  auto where = req.uri.address.to_string();
  auto code = code_of(err);
  std::string hint;
  if (req.uri.tls)
    hint = " (is it running, with TLS and a certificate from your CA?)";
  else
    hint = " (is it running with --insecure-tcp?)";
  if (code == errc::timeout)
    return make_error(errc::timeout, "no answer from agent at " + where
                                       + " within "
                                       + std::to_string(req.timeout.count())
                                       + " ms (" + error_text(err) + ")"
                                       + hint);
  return make_error(errc::disconnected, "cannot connect to agent at " + where
                                          + ": " + error_text(err) + hint);
}

struct handshake {
  connect_request req;
  connect_callback done;
  caf::actor gatekeeper;
  std::string client_nonce;
  std::string client_name;
};

void send_proof(caf::event_based_actor* self, std::shared_ptr<handshake> hs,
                challenge ch) {
  auto& req = hs->req;
  proof p;
  p.ticket = ch.ticket;
  std::string server_name = ch.server_name;
  if (req.uri.tls) {
    auto verified = req.id->verify(
      ch.server_cert_pem,
      proof_message("server", hs->client_nonce, ch.server_nonce,
                    hs->client_name, ch.server_name),
      ch.server_proof, cert_use::server);
    if (!verified) {
      hs->done(make_error(errc::auth_failed,
                          "the agent at " + req.uri.address.to_string()
                            + " failed to prove its identity: "
                            + error_text(verified.error())));
      return;
    }
    if (*verified != ch.server_name) {
      hs->done(make_error(errc::auth_failed,
                          "the agent's certificate says '" + *verified
                            + "' but it calls itself '" + ch.server_name
                            + "'"));
      return;
    }
    p.client_proof = req.id->sign(proof_message(
      "client", ch.server_nonce, hs->client_nonce, ch.server_name,
      hs->client_name));
  }
  self->request(hs->gatekeeper, req.timeout, std::move(p))
    .then(
      [self, hs, server_name](welcome& w) {
        // The session must live where we connected: a handle to an actor
        // of another node (or of ours) is not an answer an agent gives.
        if (!w.session || w.session.node() != hs->gatekeeper.node()) {
          hs->done(make_error(errc::auth_failed,
                              "the agent answered with a session that is "
                              "not its own"));
          return;
        }
        agent_link link;
        link.owner = caf::actor_cast<caf::actor>(self);
        link.session = std::move(w.session);
        link.agent_name = server_name;
        link.identity = std::move(w.identity);
        link.roles = std::move(w.roles);
        link.uri = hs->req.uri;
        hs->done(std::move(link));
      },
      [hs](caf::error& err) { hs->done(std::move(err)); });
}

/// CAF 0.17.6 creates a client connection's BASP context with
/// `last_seen` at the epoch, so a heartbeat tick that runs before the
/// agent's first message drops a healthy new connection with
/// `connection_timeout`. Such a connection never carried a message; trying
/// again is safe, and a second loss in that window is rare.
constexpr int max_connect_attempts = 4;

void open_connection(caf::event_based_actor* self, caf::io::middleman_actor mm,
                     std::shared_ptr<handshake> hs, int attempt) {
  self
    ->request(mm, hs->req.timeout, caf::connect_atom::value,
              hs->req.uri.address.host, hs->req.uri.address.port)
    .then(
      [self, hs](const caf::node_id&, caf::strong_actor_ptr& ptr,
                 const std::set<std::string>&) {
        hs->gatekeeper = caf::actor_cast<caf::actor>(std::move(ptr));
        if (!hs->gatekeeper) {
          hs->done(make_error(errc::disconnected,
                              "no ferry agent listens at "
                                + hs->req.uri.address.to_string()));
          return;
        }
        hello h;
        h.client_name = hs->client_name;
        h.driver = hs->req.uri.driver;
        h.client_nonce = hs->client_nonce;
        if (hs->req.uri.tls)
          h.client_cert_pem = hs->req.id->cert_pem();
        self->request(hs->gatekeeper, hs->req.timeout, std::move(h))
          .then([self, hs](challenge& ch) { send_proof(self, hs, std::move(ch)); },
                [hs](caf::error& err) { hs->done(std::move(err)); });
      },
      [self, mm, hs, attempt](caf::error& err) {
        if (err == caf::sec::connection_timeout
            && attempt < max_connect_attempts) {
          open_connection(self, mm, hs, attempt + 1);
          return;
        }
        hs->done(connect_error(hs->req, err));
      });
}

} // namespace

void connect_agent(caf::event_based_actor* self, connect_request req,
                   connect_callback done) {
  if (req.uri.tls && !req.id) {
    done(make_error(errc::config_error,
                    "ferry+tls needs a client certificate: give --tls-cert, "
                    "--tls-key and --tls-ca (or put them in the default "
                    "location)"));
    return;
  }
  auto hs = std::make_shared<handshake>();
  hs->req = std::move(req);
  hs->done = std::move(done);
  hs->client_nonce = crypto::random_bytes(32);
  hs->client_name = hs->req.uri.tls ? hs->req.id->name()
                                    : hs->req.client_name;
  auto& sys = self->system();
  auto* net = net_layer::of(sys);
  if (net == nullptr) {
    hs->done(make_error(errc::internal,
                        "this process did not start ferry's network layer"));
    return;
  }
  auto mm = net->actor_for(hs->req.uri.tls);
  if (!mm) {
    hs->done(mm.error());
    return;
  }
  open_connection(self, *mm, hs, 1);
}

caf::expected<agent_link> connect_agent(caf::actor_system& sys,
                                        connect_request req) {
  auto result = std::make_shared<std::promise<caf::expected<agent_link>>>();
  auto future = result->get_future();
  sys.spawn([req = std::move(req),
             result](caf::event_based_actor* self) -> caf::behavior {
    connect_agent(self, req, [self, result](caf::expected<agent_link> link) {
      auto failed = !link;
      result->set_value(std::move(link));
      if (failed)
        self->quit();
    });
    // Stay alive after the handshake: this actor's lifetime is the session's.
    self->set_default_handler(caf::drop);
    return {[](caf::unit_t) {}};
  });
  return future.get();
}

void disconnect(agent_link& link) {
  if (link.owner)
    caf::anon_send_exit(link.owner, caf::exit_reason::user_shutdown);
  link = agent_link{};
}

} // namespace ferry
