#pragma once

#include <string>

#include <caf/error.hpp>

#include "messages/migration.hpp"

namespace ferry {

/// `managed`, `p2p`, `tunnelled` or `direct`.
std::string mode_of(const migration_flags& flags);

/// Checks the rules between flags (docs/architecture.md): --tunnelled needs
/// --p2p, a migrate URI excludes --tunnelled, --direct takes a hypervisor URI
/// and excludes the others, --tls excludes --tunnelled, values in range.
/// One-line errors naming the flags.
caf::error validate_flags(const migration_flags& flags);

/// Properties of the path migration data takes, for `--secure`. The
/// driver fills the hypervisor hops from what it actually does
/// (`driver::data_path_for`), the agent the agent-to-agent link.
struct data_path {
  bool agents_tls = true;     ///< Agent-to-agent CAF links use TLS.
  bool native_tls = false;    ///< Hypervisor-to-hypervisor path has TLS.
  bool hypervisor_direct_tls = false; ///< Direct mode's channel has TLS.
  /// Why a hypervisor hop is plain and what to do about it, for the error
  /// (e.g. "add --tls, or use --p2p --tunnelled over ferry+tls").
  std::string hint;
};

/// With --secure, refuses unless every hop of the data path is encrypted and
/// authenticated; the error names the hop that is not.
caf::error check_secure(const migration_flags& flags, const data_path& path);

} // namespace ferry
