#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <caf/expected.hpp>

#include "transport/tls_settings.hpp"

namespace ferry {

/// What a peer's certificate must be good for (its extended key usage, when
/// it has one: RFC 5280's rule, OpenSSL's purpose check).
enum class cert_use {
  client, ///< `clientAuth`: it connects to agents (clients, source agents).
  server, ///< `serverAuth`: it is an agent that clients connect to.
};

/// This process's certificate, private key and CA, loaded at start and
/// again on SIGHUP (`adopt`).
///
/// The TLS transport (transport/tls/) checks that a peer's certificate comes
/// from the CA, but BASP tells actors nothing about who the peer is. So
/// ferry proves identity itself: each side sends its certificate and signs
/// a message binding both nonces and both names (`proof_message`). Verified,
/// the certificate's common name is the peer's identity for the ACL.
class identity {
public:
  /// Loads and checks the files: readable, PEM, key matches certificate,
  /// certificate currently valid and issued by the CA. Errors name the file.
  static caf::expected<std::shared_ptr<identity>> load(const tls_settings& tls);

  ~identity();

  /// Takes over the credentials of `fresh` (a certificate rotation, on
  /// SIGHUP): every later proof, check and name uses them. Callers that
  /// read several of them in a row may straddle the swap once; the handshake
  /// that does then fails and the peer retries.
  void adopt(const identity& fresh);

  /// Common name of our certificate.
  std::string name() const;
  std::string cert_pem() const;
  /// Seconds until our certificate expires (negative once expired).
  long long seconds_left() const;

  /// Signs `data` with our key: SHA-256 with RSA or ECDSA keys, the key's
  /// own scheme with Ed25519 or Ed448.
  std::string sign(const std::string& data) const;

  /// Checks that `cert_pem` is a currently valid certificate issued by our
  /// CA, good for `use`, and that it signed `data` as `signature`. Returns
  /// its common name.
  caf::expected<std::string> verify(const std::string& cert_pem,
                                    const std::string& data,
                                    const std::string& signature,
                                    cert_use use) const;

  /// Checks that our own certificate is good for `use`.
  caf::error check_own_use(cert_use use) const;

  /// Checks only the certificate (chain, validity, `use`); returns its name.
  caf::expected<std::string> verify_cert(const std::string& cert_pem,
                                         cert_use use) const;

  struct impl;

private:
  explicit identity(std::shared_ptr<const impl> p);
  std::shared_ptr<const impl> current() const;

  mutable std::mutex mtx_;
  std::shared_ptr<const impl> impl_; ///< Guarded by mtx_.
};

using identity_ptr = std::shared_ptr<const identity>;

/// The byte string a side signs: a context label (`client` or `server`),
/// then both nonces and both names, length-prefixed so no two different
/// inputs give the same string.
std::string proof_message(const std::string& side, const std::string& nonce_a,
                          const std::string& nonce_b,
                          const std::string& name_a,
                          const std::string& name_b);

} // namespace ferry
