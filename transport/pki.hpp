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

/// Issues a certificate for `cn` signed by `ca`, valid from `not_before_days`
/// (negative = in the past) for `days`. Used by tests, the demo and the
/// scenario runner to make throwaway certificates.
credential issue(const credential& ca, const std::string& cn, int days = 30,
                 int not_before_days = 0);

/// Writes `cred` as `dir/PREFIX-cert.pem` and `dir/PREFIX-key.pem` (0600).
caf::error write(const credential& cred, const std::string& dir,
                 const std::string& prefix);

} // namespace ferry::pki
