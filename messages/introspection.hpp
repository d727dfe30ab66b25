#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/domain.hpp"
#include "messages/migration.hpp"

namespace ferry {

/// `actors` in ferry-shell: what runs inside an agent (admin role).
struct introspect {
  bool unused = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, introspect& x) {
  return f(caf::meta::type_name("ferry.introspect"), x.unused);
}

/// One session actor.
struct session_summary {
  std::string identity;
  std::string driver;
  std::string roles;
  uint64_t requests = 0;
  uint64_t denied = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_summary& x) {
  return f(caf::meta::type_name("ferry.session_summary"), x.identity,
           x.driver, x.roles, x.requests, x.denied);
}

/// Everything `actors` shows about one agent.
struct agent_snapshot {
  std::string agent_name;
  std::vector<session_summary> sessions;
  std::vector<driver_info> drivers;
  std::vector<job_stats> jobs;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_snapshot& x) {
  return f(caf::meta::type_name("ferry.agent_snapshot"), x.agent_name,
           x.sessions, x.drivers, x.jobs);
}

} // namespace ferry
