#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "transport/tls_settings.hpp"

namespace ferry {

class qemu_process;

/// QEMU's own TLS for the native migration path (`--tls`, libvirt's
/// VIR_MIGRATE_TLS): a `tls-creds-x509` object made from the agent's
/// certificate, key and CA.
///
/// QEMU reads credentials from a directory with fixed file names
/// (`ca-cert.pem`, `server-cert.pem`, `server-key.pem`, `client-cert.pem`,
/// `client-key.pem`); `prepare` copies the agent's files there once, at
/// driver start (keys 0600, directory 0700), like the agent, which also
/// reads its files once. The agent's certificate serves both roles: ferry's
/// certificates allow serverAuth and clientAuth.
class qemu_tls {
public:
  /// Copies the agent's files into `dir` and reads the name (CN) of the
  /// agent's certificate. Errors name the file.
  static caf::expected<qemu_tls> prepare(const tls_settings& files,
                                         const std::string& dir);

  /// The credentials directory.
  const std::string& dir() const {
    return dir_;
  }
  /// The common name of the agent's certificate: what a source QEMU must
  /// be told to expect from this agent's QEMUs (`tls-hostname`).
  const std::string& name() const {
    return name_;
  }

  /// Before `migrate-incoming` (server) or `migrate` (client): (re)creates
  /// the `tls-creds-x509` object with peer verification and sets the
  /// migration parameter `tls-creds`; a client also sets `tls-hostname`
  /// to `peer_name`, the destination certificate's name, which QEMU
  /// checks (without it QEMU checks the URI's host, an IP address that
  /// ferry's certificates do not name).
  caf::error enable(qemu_process& proc, bool server,
                    const std::string& peer_name) const;

  /// Turns TLS off for the next migration of `proc` (parameters survive
  /// from one migration to the next within a QEMU).
  static caf::error disable(qemu_process& proc);

private:
  std::string dir_;
  std::string name_;
};

} // namespace ferry
