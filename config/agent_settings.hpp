#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "transport/acl.hpp"
#include "transport/tls_settings.hpp"
#include "transport/uri.hpp"

namespace ferry {

/// Limits that keep a hostile or buggy peer from exhausting the agent.
struct agent_limits {
  uint32_t max_sessions = 256;         ///< Concurrent sessions, all peers.
  uint32_t max_sessions_per_peer = 64; ///< Per certificate name.
  uint32_t max_jobs = 64;              ///< Concurrent migration jobs.
  /// Finished destination jobs the journal remembers (outcome queries).
  uint32_t journal_keep = 1000;
  uint32_t handshake_timeout_ms = 5000;
  /// A connection that has not logged in (no session) after this long is
  /// closed.
  uint32_t login_timeout_ms = 10000;
  /// Connections not logged in yet (TLS handshakes, and again those past
  /// TLS): at most this many in all, and from one address; beyond either,
  /// the oldest is closed to make room for the newcomer.
  uint32_t max_pending_connections = 128;
  uint32_t max_pending_per_address = 16;
};

/// Settings of the test driver's hypervisor daemon (`ferry-testhv`).
struct testhv_settings {
  host_port listen;        ///< Direct-migration port; port 0 = listen port + 1.
  std::string secret_file; ///< Shared secret for direct migration.
  std::string binary;      ///< Path to ferry-testhv; empty = next to ferryd.
};

/// Everything `ferryd` is configured with, from the command line and the
/// config file. Actors receive this struct, never a Boost `variables_map`.
struct agent_settings {
  std::string name;
  host_port listen{"127.0.0.1", default_agent_port};
  std::string state_dir;
  std::vector<std::string> drivers{"test"};
  tls_settings tls;
  bool insecure_tcp = false;
  std::string log_level = "info";
  std::vector<acl_rule> acl;
  /// Roles of a name no ACL rule matches; empty: such a name is refused.
  std::vector<std::string> acl_default;
  agent_limits limits;
  testhv_settings testhv;
  std::string qemu_binary = "qemu-system-x86_64";
  /// Where a destination hypervisor listens for a native migration
  /// (libvirt's `migration_address`); empty: the `listen` host.
  std::string migration_address;
  /// The address sources connect to for a native migration (libvirt's
  /// `migration_host`); empty: `migration_address` unless that is a
  /// wildcard, then the host the source was given in the destination's URI.
  std::string migration_host;
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds connection_timeout{3000};
  std::chrono::milliseconds request_timeout{30000};
  bool fault_injection = false; ///< Tests only: allow arming fault points.

  /// The URI clients use to reach this agent (for logs and nodeinfo).
  std::string uri() const;
};

} // namespace ferry
