#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

namespace ferry {

/// Version of the message set; a peer with another version is refused.
constexpr uint32_t protocol_version = 2;

/// Roles an identity can hold (the ACL maps certificate names to these).
enum class role : uint8_t {
  read = 0, ///< list, info, dumpxml, domdigest, nodeinfo, domjobinfo, event.
  admin,    ///< lifecycle, migrate, abort, introspection.
  peer,     ///< another agent: may migrate domains into this host.
};

inline const char* to_string(role r) {
  switch (r) {
    case role::read: return "read";
    case role::admin: return "admin";
    case role::peer: return "peer";
  }
  return "unknown";
}

/// Step 1 of the handshake, client (or peer agent) to gatekeeper.
/// The client names itself and the driver it wants, and sends a fresh nonce
/// and its certificate (PEM; empty over plain TCP).
struct hello {
  uint32_t version = protocol_version;
  std::string client_name;
  std::string driver;
  std::string client_nonce;
  std::string client_cert_pem;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello& x) {
  return f(caf::meta::type_name("ferry.hello"), x.version, x.client_name,
           x.driver, x.client_nonce, x.client_cert_pem);
}

/// Step 2, gatekeeper to client: the server's identity, its proof of key
/// possession over both nonces and both names, and a nonce for the client
/// to sign. `ticket` names the pending handshake.
struct challenge {
  std::string server_name;
  std::string server_nonce;
  std::string server_cert_pem;
  std::string server_proof;
  uint64_t ticket = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, challenge& x) {
  return f(caf::meta::type_name("ferry.challenge"), x.server_name,
           x.server_nonce, x.server_cert_pem, x.server_proof, x.ticket);
}

/// Step 3, client to gatekeeper: the client's signature.
struct proof {
  uint64_t ticket = 0;
  std::string client_proof;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, proof& x) {
  return f(caf::meta::type_name("ferry.proof"), x.ticket, x.client_proof);
}

} // namespace ferry
