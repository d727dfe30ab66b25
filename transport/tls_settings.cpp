#include "transport/tls_settings.hpp"

#include "util/error.hpp"

namespace ferry {

caf::error tls_settings::check_complete(const char* option_prefix) const {
  if (complete())
    return caf::none;
  std::string missing;
  auto note = [&](const std::string& value, const char* what) {
    if (value.empty())
      missing += (missing.empty() ? "" : ", ") + std::string{option_prefix}
                 + what;
  };
  note(cert, "cert");
  note(key, "key");
  note(ca, "ca");
  return make_error(errc::config_error,
                    "mutual TLS needs a certificate, its key and the CA "
                    "together; missing "
                      + missing);
}

} // namespace ferry
