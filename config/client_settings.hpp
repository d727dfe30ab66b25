#pragma once

#include <chrono>
#include <string>

#include <caf/expected.hpp>

#include "transport/tls_settings.hpp"

namespace ferry {

/// Options common to ferry's clients (CLI, shell, scenario runner).
struct client_settings {
  std::string uri;  ///< `-c URI`, else $FERRY_URI.
  tls_settings tls; ///< Explicit files, else the default PKI directory.
  bool json = false;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{120000};
};

/// Where client certificates are looked up when not given: $FERRY_PKI_DIR,
/// else ~/.config/ferry/pki, else /etc/ferry/pki; files client-cert.pem,
/// client-key.pem and ca-cert.pem.
std::string default_pki_dir();

/// Fills unset TLS paths from the default PKI directory if all three files
/// exist there; checks that explicit settings are complete.
caf::error resolve_client_tls(tls_settings& tls);

} // namespace ferry
