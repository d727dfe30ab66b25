#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/stateful_actor.hpp>

#include "migration/job_context.hpp"
#include "migration/stream_pump.hpp"
#include "messages/migration.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

/// Job manager to a fresh source job after an agent restart (local).
struct src_recover {
  std::string job_id;
  std::string domain;
  std::string dest_uri;
  bool undefine_source = false;
  bool was_running = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, src_recover& x) {
  return f(caf::meta::type_name("ferry.src_recover"), x.job_id, x.domain,
           x.dest_uri, x.undefine_source, x.was_running);
}

struct source_job_state {
  job_context ctx;
  std::string job_id;
  std::string domain;
  migration_flags flags;
  std::string dest_xml; ///< Definition for the destination (from begin).
  bool native_tls = false; ///< Our hypervisor can send natively over TLS.
  std::string tls_hint;    ///< Why not (for --secure's error).
  caf::actor coordinator;
  caf::actor pump;
  std::shared_ptr<pump_shared> pump_stats;
  bool was_running = false;
  bool suspended_by_timeout = false;
  mig_phase phase = mig_phase::none;
  job_stats stats;
  std::chrono::steady_clock::time_point started;
  caf::response_promise perform_rp;
  bool perform_pending = false;
  std::string abort_reason;
  /// Why the migration failed, for the `failed` event.
  std::string failure;
  /// The guest is held paused while the outcome is unknown.
  bool held_paused = false;
  uint32_t resolve_attempts = 0;
  /// migrate-recover requests still waiting: an automatic attempt that
  /// concludes the job answers them too (the job ends with it).
  std::vector<caf::typed_response_promise<job_stats>> recover_waiters;
  /// How resolving the unknown outcome concluded the job, once it has:
  /// a migrate-recover that comes later is told this.
  std::string resolution;
  static inline const char* name = "ferry.migration_source";
};

/// The source half of a job, in the source agent. It holds the domain's job
/// lock from begin to confirm, starts the hypervisor's migration in
/// perform, follows it (hypervisor events, progress for domjobinfo, the
/// --timeout pause, abort, speed and downtime changes) and applies confirm.
///
///     begun ──perform──> performing ──hv completed──> performed
///       │                    │ hv failed/abort             │ confirm
///       │                    v                             v
///       └──confirm(failed)──> released <──confirm(failed)── committed/
///                                                          outcome-unknown
///
/// If its coordinator disappears it decides alone: before perform, release;
/// during perform, cancel and resume; after the data was verified, keep the
/// guest paused and ask the destination what happened (never resume blind).
caf::behavior migration_source(door_stateful<source_job_state>* self,
                               job_context ctx);

} // namespace ferry
