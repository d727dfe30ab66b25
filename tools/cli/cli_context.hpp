#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "config/client_settings.hpp"
#include "transport/connector.hpp"
#include "transport/identity.hpp"
#include "transport/rpc.hpp"

namespace ferry::cli {

/// What a command runs with: the actor system, the client's settings, its
/// identity, a lazily opened session with the agent at `-c URI`, and where
/// to print. Shared by `ferry` and `ferry-shell`.
class context {
public:
  context(caf::actor_system& sys, client_settings settings, std::ostream& out);
  ~context();

  /// The session with the default agent, connected on first use.
  caf::expected<agent_link*> link();

  /// A new session with another agent (the destination of a managed
  /// migration). The caller owns it.
  caf::expected<agent_link> connect(const std::string& uri);

  /// Sends a request on the default session and waits for the reply.
  template <class Result, class Request>
  caf::expected<Result> call(Request req) {
    auto l = link();
    if (!l)
      return l.error();
    return rpc::call<Result>(sys_, (*l)->session, std::move(req),
                             settings_.request_timeout);
  }

  /// The same on a given session.
  template <class Result, class Request>
  caf::expected<Result> call(const agent_link& target, Request req) {
    return rpc::call<Result>(sys_, target.session, std::move(req),
                             settings_.request_timeout);
  }

  caf::actor_system& system() {
    return sys_;
  }
  const client_settings& settings() const {
    return settings_;
  }
  std::ostream& out() {
    return out_;
  }
  bool json() const {
    return settings_.json;
  }
  /// Switches the default agent (the shell's `connect`).
  void set_uri(std::string uri);

private:
  caf::expected<identity_ptr> own_identity();

  caf::actor_system& sys_;
  client_settings settings_;
  std::ostream& out_;
  std::optional<agent_link> link_;
  identity_ptr id_;
};

} // namespace ferry::cli
