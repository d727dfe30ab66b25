#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "migration/job_context.hpp"
#include "migration/stream_pump.hpp"
#include "messages/migration.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

struct destination_job_state {
  job_context ctx;
  std::string job_id;
  std::string domain; ///< Name on this host (dname applied).
  migration_flags flags;
  caf::actor coordinator;
  caf::actor pump;
  std::shared_ptr<pump_shared> pump_stats;
  mig_phase phase = mig_phase::none;
  std::chrono::steady_clock::time_point started;
  static inline const char* name = "ferry.migration_destination";
};

/// The destination half of a job, in the destination agent.
///
///     prepare ──> prepared ──finish(success)──> committed (resumed unless
///                    │                            --suspend) ──> done
///                    ├──finish(failure)──> torn down ──> done
///                    └──coordinator lost──> torn down ──> done
///
/// prepare creates the incoming domain paused, with a native listener (port
/// and one-time token in the cookie) or, tunnelled, a stream pump. finish
/// commits only if the hypervisor verified the final digest and the guest
/// is paused; the commit is the moment the domain changes owner.
caf::behavior migration_destination(
  door_stateful<destination_job_state>* self, job_context ctx);

} // namespace ferry
