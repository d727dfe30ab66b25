#pragma once

// Internals of the source job shared by its files (migration_source.cpp:
// the protocol states; source_control.cpp: job control requests;
// source_resolution.cpp: resolving an unknown outcome). Not for other actors.

#include <optional>
#include <string>

#include <caf/meta/type_name.hpp>
#include <caf/make_message.hpp>
#include <caf/result.hpp>
#include <caf/typed_response_promise.hpp>

#include "migration/source.hpp"
#include "messages/events.hpp"
#include "messages/migration.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry::source_detail {

using self_ptr = door_stateful<source_job_state>*;

/// Time to ask the destination again (local self-message).
struct src_resolve {
  uint64_t unused = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, src_resolve& x) {
  return f(caf::meta::type_name("ferry.src_resolve"), x.unused);
}

/// What domjobinfo shows of the job now.
job_stats snapshot(self_ptr self);

/// Publishes a lifecycle event about the domain.
void emit(self_ptr self, lifecycle_event kind, std::string detail);

/// Answers a job_control request (source_control.cpp).
caf::result<job_stats> on_job_control(self_ptr self, const job_control& req);

/// Ends the job after confirm (or on our own when the coordinator is gone).
void conclude(self_ptr self, confirm_outcome outcome);

// -- resolving an unknown outcome (source_resolution.cpp) --------------------

/// Who asked for a resolution now (migrate-recover); empty for the
/// automatic retries.
using recover_promise = std::optional<caf::typed_response_promise<job_stats>>;

/// What migrate-recover answers once the resolution concluded the job.
job_stats resolved_snapshot(self_ptr self);

/// Holds the guest paused and schedules the next question to the
/// destination (1, 2, 4, 8, 16 s, then every 16 s).
void start_resolution(self_ptr self);

/// Asks the destination agent what became of the job and acts on the
/// answer.
void resolve(self_ptr self, recover_promise rp = std::nullopt);

/// `migrate-recover --assume`: the operator, who checked where the guest
/// runs, decides instead of the destination (which is gone for good, or
/// no longer remembers the job).
void assume_outcome(self_ptr self, recover_promise rp, bool committed);

} // namespace ferry::source_detail
