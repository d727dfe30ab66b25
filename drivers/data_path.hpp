#pragma once

#include <string>

namespace ferry {

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

} // namespace ferry
