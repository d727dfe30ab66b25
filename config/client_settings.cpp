#include "config/client_settings.hpp"

#include <cstdlib>

#include <unistd.h>

#include "util/error.hpp"

namespace ferry {

namespace {

bool readable(const std::string& path) {
  return ::access(path.c_str(), R_OK) == 0;
}

} // namespace

std::string default_pki_dir() {
  if (auto* dir = std::getenv("FERRY_PKI_DIR"); dir != nullptr && *dir != 0)
    return dir;
  if (auto* home = std::getenv("HOME"); home != nullptr && *home != 0) {
    std::string dir = std::string{home} + "/.config/ferry/pki";
    if (readable(dir + "/client-cert.pem"))
      return dir;
  }
  return "/etc/ferry/pki";
}

caf::error resolve_client_tls(tls_settings& tls) {
  if (!tls.empty())
    return tls.check_complete();
  auto dir = default_pki_dir();
  tls_settings found{dir + "/client-cert.pem", dir + "/client-key.pem",
                     dir + "/ca-cert.pem"};
  if (readable(found.cert) && readable(found.key) && readable(found.ca))
    tls = found;
  return caf::none;
}

} // namespace ferry
