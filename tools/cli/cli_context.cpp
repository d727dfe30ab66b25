#include "tools/cli/cli_context.hpp"

#include <cstdlib>

#include <unistd.h>

#include "util/error.hpp"

namespace ferry::cli {

context::context(caf::actor_system& sys, client_settings settings,
                 std::ostream& out)
  : sys_(sys), settings_(std::move(settings)), out_(out) {
}

context::~context() {
  if (link_)
    disconnect(*link_);
}

void context::set_uri(std::string uri) {
  if (link_)
    disconnect(*link_);
  link_.reset();
  settings_.uri = std::move(uri);
}

caf::expected<identity_ptr> context::own_identity() {
  if (id_)
    return id_;
  auto tls = settings_.tls;
  if (auto err = resolve_client_tls(tls))
    return err;
  if (tls.empty())
    return make_error(errc::config_error,
                      "ferry+tls needs a client certificate: give --tls-cert, "
                      "--tls-key and --tls-ca, or put client-cert.pem, "
                      "client-key.pem and ca-cert.pem in "
                        + default_pki_dir());
  auto id = identity::load(tls);
  if (!id)
    return id.error();
  id_ = *id;
  return id_;
}

caf::expected<agent_link> context::connect(const std::string& uri_text) {
  auto uri = parse_agent_uri(uri_text);
  if (!uri)
    return uri.error();
  connect_request req;
  req.uri = *uri;
  req.timeout = settings_.connect_timeout;
  if (uri->tls) {
    auto id = own_identity();
    if (!id)
      return id.error();
    req.id = *id;
  } else {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    auto* user = std::getenv("USER");
    req.client_name = std::string{user != nullptr ? user : "user"} + "@" + host;
  }
  return connect_agent(sys_, std::move(req));
}

caf::expected<agent_link*> context::link() {
  if (link_)
    return &*link_;
  if (settings_.uri.empty())
    return make_error(errc::invalid_argument,
                      "no agent given: use -c URI or set FERRY_URI "
                      "(e.g. ferry+tls://host:7700/test)");
  auto l = connect(settings_.uri);
  if (!l)
    return l.error();
  link_ = std::move(*l);
  return &*link_;
}

} // namespace ferry::cli
