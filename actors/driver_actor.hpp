#pragma once

#include <map>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "drivers/driver.hpp"
#include "drivers/job_journal.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

struct agent_settings;

/// State of a driver actor: the driver it serialises access to.
struct driver_actor_state {
  std::shared_ptr<driver> drv;
  /// Migration jobs that follow a domain's hypervisor events.
  std::map<std::string, caf::actor> watchers;
  std::shared_ptr<job_journal> journal;
  caf::actor events; ///< The agent's event bus (may be invalid).
  static inline const char* name = "ferry.driver";
};

/// One actor per driver. It owns the driver's domain table and runs every
/// lifecycle operation in order. It is spawned `detached` because driver
/// calls block on the hypervisor (QMP round trips, RAM digests) and blocking
/// work must never occupy CAF's scheduler threads.
///
/// Handles: list_domains, define_domain, domain_op, get_domain_info,
/// get_domain_xml, get_domain_digest, get_driver_info, the migration calls
/// of drivers/driver_messages.hpp, and driver_event (from the hypervisor's
/// threads; MIGRATION events also go to the domain's watcher).
caf::behavior driver_actor(door_stateful<driver_actor_state>* self,
                           std::string driver_name, agent_settings settings,
                           std::shared_ptr<job_journal> journal,
                           caf::actor events);

} // namespace ferry
