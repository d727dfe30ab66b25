#pragma once

// Internals of the source job shared by its files (source.cpp:
// the protocol states; source_control.cpp: job control requests;
// source_resolution.cpp: resolving an unknown outcome;
// source_conclusion.cpp: confirm and the end of the job). Not for other actors.

#include <chrono>
#include <functional>
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

constexpr auto tick_interval = std::chrono::milliseconds{250};

/// Self-messages of the source job (local only).
struct src_tick {
  uint64_t unused = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, src_tick& x) {
  return f(caf::meta::type_name("ferry.src_tick"), x.unused);
}

/// Retry of a failed confirm (local).
struct src_retry_confirm {
  confirm_outcome outcome = confirm_outcome::failed;
  std::function<void(caf::error)> then;
  int attempt = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, src_retry_confirm& x) {
  return f(caf::meta::type_name("ferry.src_retry_confirm"), x.outcome,
           x.attempt);
}

/// Milliseconds since the job began.
uint64_t elapsed_ms(self_ptr self);

/// What domjobinfo shows of the job now.
job_stats snapshot(self_ptr self);

/// Publishes a lifecycle event about the domain.
void emit(self_ptr self, lifecycle_event kind, std::string detail);

/// Answers a job_control request (source_control.cpp).
caf::result<job_stats> on_job_control(self_ptr self, const job_control& req);

/// Leaves the job's final figures with the job manager as the job ends
/// (domjobinfo --completed).
void record_finished(self_ptr self);

/// Ends the tunnel's pump, if any (tunnelled mode).
void stop_pump(self_ptr self);

/// Applies confirm's outcome through the driver, then `then(err)`. A
/// failed attempt is retried a few times: giving up leaves a paused copy
/// and a held job lock behind.
void apply_confirm(self_ptr self, confirm_outcome outcome,
                   std::function<void(caf::error)> then, int attempt = 1);

/// Publishes what confirm did (stopped-migrated, or failed and
/// resumed-migrated).
void emit_confirmed(self_ptr self, confirm_outcome outcome,
                    const caf::error& err);

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
