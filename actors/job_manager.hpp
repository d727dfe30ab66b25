#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "migration/job_history.hpp"
#include "config/agent_settings.hpp"
#include "drivers/job_journal.hpp"
#include "transport/identity.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

/// A job this agent takes part in.
struct job_entry {
  std::string role; ///< source, destination or coordinator
  std::string driver;
  std::string domain;
  caf::actor actor;
};

struct job_manager_state {
  agent_settings settings;
  identity_ptr id;
  std::shared_ptr<job_journal> journal;
  std::map<std::string, caf::actor> drivers;
  std::map<std::string, job_entry> jobs; ///< By job id (+ role suffix).
  /// Finished destination jobs, when there is no journal to ask.
  std::map<std::string, bool> outcomes;
  std::deque<std::string> outcome_order;
  job_history history; ///< Last finished job per domain (--completed).
  caf::actor peer_links; ///< Sessions with destination agents, reused.
  caf::actor events;     ///< The agent's event bus (may be invalid).
  /// Running `ferry netcheck` halves (either side), at most
  /// `max_netchecks`.
  std::vector<caf::actor> netchecks;
  /// How many of them still hold a slot (they release it themselves,
  /// before answering, so the limit never outlives a finished check).
  std::shared_ptr<std::atomic<int>> netcheck_slots
    = std::make_shared<std::atomic<int>>(0);
  static inline const char* name = "ferry.job_manager";
};

/// Creates and finds this agent's migration jobs: source halves (begin),
/// destination halves (prepare), and coordinators for the peer-to-peer
/// modes (migrate). It enforces the concurrent-job limit, routes job
/// control (domjobinfo, domjobabort, speed, downtime) to the job holding a
/// domain, and remembers how destination jobs ended so that a source whose
/// finish answer was lost can ask.
///
/// It also starts both halves of `ferry netcheck` (actors/netcheck.hpp).
///
/// At start it replays the journal: every unfinished job is handed to its
/// driver's recovery rule, and source jobs whose outcome is unknown become
/// live jobs again that ask the destination (docs/recovery.md).
caf::behavior job_manager(door_stateful<job_manager_state>* self,
                          agent_settings settings, identity_ptr id,
                          std::map<std::string, caf::actor> drivers,
                          std::shared_ptr<job_journal> journal,
                          caf::actor events);

} // namespace ferry
