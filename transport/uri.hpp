#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "util/host_port.hpp"

namespace ferry {

/// Port an agent listens on when a URI gives none.
constexpr uint16_t default_agent_port = 7700;

/// `ferry+tls://HOST[:PORT][/DRIVER]` or `ferry+tcp://…` (contract,
/// docs/architecture.md).
struct agent_uri {
  bool tls = true;
  host_port address;
  std::string driver; ///< Empty: the agent's first driver.

  std::string to_string() const;
};

/// `testhv://HOST:PORT`: a test hypervisor daemon (direct migration).
struct hypervisor_uri {
  std::string scheme; ///< `testhv`
  host_port address;

  std::string to_string() const;
};

/// Parses `HOST:PORT`; `default_port` applies when `:PORT` is absent and
/// is 0 if a port is required.
caf::expected<host_port> parse_host_port(const std::string& text,
                                         uint16_t default_port = 0);

/// Parses an agent URI. Errors say what is wrong, e.g. "unknown scheme".
caf::expected<agent_uri> parse_agent_uri(const std::string& text);

/// Parses `testhv://HOST:PORT`.
caf::expected<hypervisor_uri> parse_hypervisor_uri(const std::string& text);

/// Parses an address without a port: a host name, an IPv4 address, or an
/// IPv6 address in brackets (`[::1]`, returned without them).
caf::expected<std::string> parse_address(const std::string& text);

/// True for the addresses that mean "every interface" (`0.0.0.0`, `::`).
bool is_wildcard(const std::string& host);

/// Parses a migration data URI (MIGRATEURI): `tcp://HOST[:PORT]`.
/// Port 0 means "the port the destination chose in prepare".
caf::expected<host_port> parse_migrate_uri(const std::string& text);

} // namespace ferry
