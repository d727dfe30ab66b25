#pragma once

#include <string>

#include <caf/expected.hpp>

namespace ferry::pki {

/// A certificate and its private key, PEM encoded.
struct credential {
  std::string cert_pem;
  std::string key_pem;
};

/// Creates a self-signed CA (EC P-256) named `cn`, valid for `days`.
credential make_ca(const std::string& cn, int days = 30);

/// What a certificate is for (its extended key usage).
enum class purpose {
  agent,  ///< serverAuth and clientAuth: serves clients, connects to peers.
  client, ///< clientAuth only: connects to agents, never serves.
  server, ///< serverAuth only (tests: a certificate no client may use).
};

/// The key a certificate gets.
enum class key_kind { ec_p256, ed25519, rsa2048 };

/// How to issue a certificate.
struct issue_options {
  int days = 30;
  int not_before_days = 0; ///< Negative: valid from that many days ago.
  purpose use = purpose::agent;
  key_kind key = key_kind::ec_p256;
};

/// Issues a certificate for `cn` signed by `ca`. Used by tests, the demo
/// and the scenario runner to make throwaway certificates.
credential issue(const credential& ca, const std::string& cn,
                 const issue_options& opts);

/// An agent certificate valid from `not_before_days` for `days`.
credential issue(const credential& ca, const std::string& cn, int days = 30,
                 int not_before_days = 0);

/// Writes `cred` as `dir/PREFIX-cert.pem` and `dir/PREFIX-key.pem` (0600).
caf::error write(const credential& cred, const std::string& dir,
                 const std::string& prefix);

} // namespace ferry::pki
