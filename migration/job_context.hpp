#pragma once

#include <chrono>
#include <string>

#include <caf/actor.hpp>

#include "config/agent_settings.hpp"
#include "transport/identity.hpp"

namespace ferry {

/// What a migration job actor needs from its agent.
struct job_context {
  std::string agent_name;
  std::string driver_name;
  caf::actor driver;      ///< The local driver actor.
  caf::actor manager;     ///< The job manager (outcome records).
  caf::actor events;      ///< The agent's event bus (may be invalid).
  identity_ptr id;        ///< The agent's own identity (outcome queries).
  host_port data_listen;  ///< Where a destination hypervisor listens.
  /// What sources connect to (migration_host); empty: `data_listen`'s host
  /// unless it is a wildcard (docs/qemu.md, "Addresses").
  std::string data_host;
  bool agents_tls = true; ///< Agent links use TLS (for --secure).
  std::chrono::milliseconds driver_timeout{120000};
  std::chrono::milliseconds connect_timeout{5000};
};

} // namespace ferry
