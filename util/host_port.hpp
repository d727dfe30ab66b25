#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace ferry {

/// A host and port, as in `--listen HOST:PORT` (IPv6 as `[::1]:PORT`).
/// Parsed by `parse_host_port` (transport/uri.hpp).
struct host_port {
  std::string host;
  uint16_t port = 0;

  /// `HOST:PORT`, bracketing IPv6 literals.
  std::string to_string() const;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, host_port& x) {
  return f(caf::meta::type_name("ferry.host_port"), x.host, x.port);
}

} // namespace ferry
