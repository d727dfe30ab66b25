#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "drivers/domain_definition.hpp"
#include "transport/uri.hpp"

namespace ferry {

/// Knobs the hypervisor's own migration loop takes.
struct hv_migration_params {
  bool live = true;
  uint64_t max_bandwidth = 0; ///< Bytes/s; 0 = unlimited.
  uint32_t downtime_limit_ms = 300;
  uint32_t progress_timeout_ms = 30000;
  bool auto_converge = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hv_migration_params& x) {
  return f(caf::meta::type_name("ferry.hv_migration_params"), x.live,
           x.max_bandwidth, x.downtime_limit_ms, x.progress_timeout_ms,
           x.auto_converge);
}

/// Where the source hypervisor sends the migration stream (perform).
struct migration_target {
  enum class kind { native, fd, direct };
  kind how = kind::native;
  host_port address;     ///< native: destination listener; direct: testhv.
  std::string token;     ///< native: the listener's secret.
  bool tls = false;      ///< native: connect with mutual TLS (prepare said so).
  std::string tls_name;  ///< native + tls: the destination certificate's name.
  int fd = -1;           ///< fd: our end of a socketpair (driver takes it).
  std::string dest_xml;  ///< direct: definition for the destination.
  bool suspend = false;  ///< direct: leave paused on the destination.
  bool persistent = false; ///< direct: define on the destination.
  hv_migration_params params;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, migration_target& x) {
  return f(caf::meta::type_name("ferry.migration_target"), x.how, x.address,
           x.token, x.tls, x.tls_name, x.fd, x.dest_xml, x.suspend,
           x.persistent, x.params);
}

/// How the destination receives (prepare).
struct incoming_spec {
  enum class kind { native, fd };
  kind how = kind::native;
  std::string listen_host; ///< native: address to listen on.
  uint16_t listen_port = 0; ///< native: 0 = any free port.
  bool tls = false;        ///< native: listen for mutual TLS only.
  int fd = -1;             ///< fd: hypervisor's end (driver takes it).
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incoming_spec& x) {
  return f(caf::meta::type_name("ferry.incoming_spec"), x.how, x.listen_host,
           x.listen_port, x.tls, x.fd);
}

/// Where prepare's listener waits.
struct incoming_endpoint {
  uint16_t port = 0;
  std::string token;
  bool tls = false;     ///< The listener speaks mutual TLS only.
  std::string tls_name; ///< With tls: the name in our certificate.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incoming_endpoint& x) {
  return f(caf::meta::type_name("ferry.incoming_endpoint"), x.port, x.token,
           x.tls, x.tls_name);
}

/// What begin learned about the domain.
struct begin_info {
  domain_definition def; ///< With the destination name applied.
  bool was_running = false;
  bool persistent = false;
};

} // namespace ferry
