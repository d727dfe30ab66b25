// The source job's end: confirm applied through the driver (with
// retries), the lifecycle events it implies, the job's final figures.
#include "migration/source_detail.hpp"

#include <mutex>

#include <caf/send.hpp>

#include "drivers/driver_messages.hpp"
#include "messages/all.hpp"
#include "migration/job_history.hpp"
#include "migration/rules.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ferry::source_detail {

/// Milliseconds since the job began.
uint64_t elapsed_ms(self_ptr self) {
  return ms_since(self->state.started);
}

job_stats snapshot(self_ptr self) {
  auto& st = self->state;
  auto out = st.stats;
  out.job_id = st.job_id;
  out.domain = st.domain;
  out.mode = mode_of(st.flags);
  out.role = "source";
  out.phase = st.phase;
  out.elapsed_ms = elapsed_ms(self);
  add_pump_figures(st.pump_stats, out);
  return out;
}

/// Leaves the job's final figures with the job manager as the job ends
/// (domjobinfo --completed).
void record_finished(self_ptr self) {
  auto& st = self->state;
  auto s = snapshot(self);
  if (s.phase != mig_phase::done && s.error.empty())
    s.error = st.abort_reason;
  self->send(st.ctx.manager,
             job_finished{st.ctx.driver_name, std::move(s), st.resolution});
}

/// Ends the tunnel's pump, if any (tunnelled mode).
void stop_pump(self_ptr self) {
  if (self->state.pump) {
    caf::anon_send_exit(self->state.pump, caf::exit_reason::user_shutdown);
    self->state.pump = nullptr;
  }
}

/// Applies confirm's outcome through the driver, then `then(err)`. A
/// failed attempt is retried a few times: giving up leaves a paused copy
/// and a held job lock behind.
void apply_confirm(self_ptr self, confirm_outcome outcome,
                   std::function<void(caf::error)> then, int attempt) {
  auto& st = self->state;
  drv_confirm req;
  req.domain = st.domain;
  req.job_id = st.job_id;
  req.outcome = outcome;
  req.undefine = st.flags.undefine_source;
  req.was_running = st.was_running;
  self->request(st.ctx.driver, st.ctx.driver_timeout, std::move(req))
    .then([then](bool) { then(caf::none); },
          [self, outcome, then, attempt](caf::error& err) {
            if (attempt >= 4 || code_of(err) == errc::stale_message) {
              then(err);
              return;
            }
            FERRY_WARN("source", "job " << self->state.job_id
                                        << ": confirm failed ("
                                        << error_text(err) << "), retrying");
            self->delayed_send(self, std::chrono::milliseconds{250 * attempt},
                               src_retry_confirm{outcome, then, attempt + 1});
          });
}

/// Publishes a lifecycle event about the domain.
void emit(self_ptr self, lifecycle_event kind, std::string detail) {
  auto& st = self->state;
  publish_event(st.ctx.events, st.domain, kind, st.job_id, std::move(detail));
}

/// Publishes what confirm did: stopped-migrated after a commit; failed,
/// and resumed-migrated if the migration had paused a running guest that
/// confirm resumed.
void emit_confirmed(self_ptr self, confirm_outcome outcome,
                    const caf::error& err) {
  auto& st = self->state;
  if (outcome == confirm_outcome::committed) {
    emit(self, lifecycle_event::stopped_migrated,
         err ? "confirm: " + error_text(err) : mode_of(st.flags));
    return;
  }
  emit(self, lifecycle_event::failed,
       st.failure.empty() ? std::string{"not committed"} : st.failure);
  bool paused = st.stats.paused_at_ms > 0 || st.suspended_by_timeout
                || st.held_paused;
  if (!err && st.was_running && paused)
    emit(self, lifecycle_event::resumed_migrated, "after a failed migration");
}

/// Ends the job after confirm (or on our own when the coordinator is gone).
void conclude(self_ptr self, confirm_outcome outcome) {
  stop_pump(self);
  apply_confirm(self, outcome, [self, outcome](caf::error err) {
    auto& st = self->state;
    if (err)
      FERRY_ERROR("source", "job " << st.job_id << ": confirm: "
                                   << error_text(err));
    emit_confirmed(self, outcome, err);
    st.phase = outcome == confirm_outcome::committed ? mig_phase::done
                                                     : mig_phase::failed;
    caf::anon_send(st.ctx.driver, drv_watch{st.domain, caf::actor_cast<caf::actor>(self), false});
    record_finished(self);
    self->quit();
  });
}


} // namespace ferry::source_detail
