#include "util/error.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace ferry {

const char* to_string(errc code) {
  switch (code) {
    case errc::ok: return "ok";
    case errc::invalid_argument: return "invalid-argument";
    case errc::invalid_uri: return "invalid-uri";
    case errc::invalid_xml: return "invalid-xml";
    case errc::no_such_domain: return "no-such-domain";
    case errc::domain_exists: return "domain-exists";
    case errc::invalid_state: return "invalid-state";
    case errc::hypervisor_error: return "hypervisor-error";
    case errc::unsupported: return "unsupported";
    case errc::permission_denied: return "permission-denied";
    case errc::auth_failed: return "auth-failed";
    case errc::timeout: return "timeout";
    case errc::disconnected: return "disconnected";
    case errc::migration_failed: return "migration-failed";
    case errc::migration_aborted: return "migration-aborted";
    case errc::outcome_unknown: return "outcome-unknown";
    case errc::not_secure: return "not-secure";
    case errc::limit_exceeded: return "limit-exceeded";
    case errc::io_error: return "io-error";
    case errc::config_error: return "config-error";
    case errc::stale_message: return "stale-message";
    case errc::internal: return "internal";
  }
  return "unknown";
}

caf::error make_error(errc code, std::string text) {
  return caf::error{static_cast<uint8_t>(code), caf::atom("ferry"),
                    caf::make_message(std::move(text))};
}

namespace {

std::string context_text(const caf::message& ctx) {
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return to_string(ctx);
}

std::string sec_text(caf::sec code, const caf::message& ctx) {
  switch (code) {
    case caf::sec::request_timeout:
      return "request timed out (the agent did not answer)";
    case caf::sec::request_receiver_down:
      return "the agent's actor is gone (agent restarted or disconnected)";
    case caf::sec::cannot_connect_to_node:
      return "cannot connect to the agent";
    case caf::sec::connection_timeout:
      return "connection timed out (no heartbeat from the peer)";
    case caf::sec::unexpected_actor_messaging_interface:
      return "the peer speaks another protocol version";
    case caf::sec::no_actor_published_at_port:
      return "no ferry agent listens at that address";
    case caf::sec::disconnect_during_handshake:
      return "the agent closed the connection during the handshake (wrong "
             "transport, or a certificate it does not trust)";
    case caf::sec::unexpected_message:
      return "the peer did not understand the request";
    default:
      break;
  }
  auto text = std::string{caf::to_string(code)};
  if (!ctx.empty())
    text += ": " + context_text(ctx);
  return text;
}

} // namespace

std::string error_text(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() == caf::atom("ferry"))
    return context_text(err.context());
  if (err.category() == caf::atom("system"))
    return sec_text(static_cast<caf::sec>(err.code()), err.context());
  return caf::to_string(err);
}

errc code_of(const caf::error& err) {
  if (!err)
    return errc::ok;
  if (err.category() == caf::atom("ferry"))
    return static_cast<errc>(err.code());
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout:
      case caf::sec::connection_timeout:
        return errc::timeout;
      case caf::sec::request_receiver_down:
      case caf::sec::cannot_connect_to_node:
      case caf::sec::no_actor_published_at_port:
        return errc::disconnected;
      default:
        break;
    }
  }
  return errc::internal;
}

} // namespace ferry
