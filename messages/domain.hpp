#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace ferry {

/// A domain's run state, named as virsh names them.
enum class domain_state : uint8_t {
  shutoff = 0, ///< Defined, not running ("shut off").
  running,     ///< Guest executing.
  paused,      ///< Guest stopped, RAM kept.
};

/// virsh's words for `s`: `running`, `paused`, `shut off`.
inline const char* to_string(domain_state s) {
  switch (s) {
    case domain_state::running: return "running";
    case domain_state::paused: return "paused";
    case domain_state::shutoff: return "shut off";
  }
  return "unknown";
}

/// What `dominfo` and `list` report about one domain.
struct domain_info {
  std::string name;
  std::string uuid;
  domain_state state = domain_state::shutoff;
  uint64_t memory_bytes = 0;
  uint32_t vcpus = 0;
  bool persistent = false;
  std::string driver;
  /// Non-empty while a migration job involves this domain: its id.
  std::string job_id;
  /// Elements of the definition with no effect here (`<clock>`, …).
  std::vector<std::string> ignored;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, domain_info& x) {
  return f(caf::meta::type_name("ferry.domain_info"), x.name, x.uuid, x.state,
           x.memory_bytes, x.vcpus, x.persistent, x.driver, x.job_id,
           x.ignored);
}

/// A driver as `nodeinfo` shows it.
struct driver_info {
  std::string name;           ///< `test` or `qemu`.
  std::string hypervisor_uri; ///< e.g. `testhv://127.0.0.1:7001`.
  uint32_t domains = 0;       ///< Defined or active domains.
  uint32_t active = 0;        ///< Running or paused domains.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, driver_info& x) {
  return f(caf::meta::type_name("ferry.driver_info"), x.name,
           x.hypervisor_uri, x.domains, x.active);
}

/// Answer to `nodeinfo`.
struct node_info {
  std::string agent_name;
  std::string hostname;
  std::string version;
  std::string listen; ///< The agent's URI as configured.
  std::vector<driver_info> drivers;
  uint32_t sessions = 0;
  uint32_t jobs = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("ferry.node_info"), x.agent_name, x.hostname,
           x.version, x.listen, x.drivers, x.sessions, x.jobs);
}

/// Answer to `domdigest`.
struct domain_digest {
  std::string sha256; ///< Lowercase hex of the guest RAM's SHA-256.
  bool exact = false; ///< True when the guest was not running (no drift).
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, domain_digest& x) {
  return f(caf::meta::type_name("ferry.domain_digest"), x.sha256, x.exact);
}

} // namespace ferry
