#pragma once

#include <string>

#include <caf/error.hpp>

namespace ferry {

/// Certificate, key and CA file paths for mutual TLS.
struct tls_settings {
  std::string cert;
  std::string key;
  std::string ca;

  /// True when none of the three is set.
  bool empty() const {
    return cert.empty() && key.empty() && ca.empty();
  }

  /// True when all three are set.
  bool complete() const {
    return !cert.empty() && !key.empty() && !ca.empty();
  }

  /// Error naming the missing options if only some are set. CAF falls back
  /// silently to anonymous TLS when none is set, so partial settings must
  /// never reach it.
  caf::error check_complete(const char* option_prefix = "--tls-") const;
};

} // namespace ferry
