#include "migration/source_detail.hpp"

#include <caf/make_message.hpp>
#include <caf/send.hpp>

#include "drivers/driver_messages.hpp"
#include "messages/all.hpp"
#include "util/log.hpp"

// Job control of a running source job (domjobinfo, domjobabort,
// migrate-setspeed, migrate-setmaxdowntime, migrate-recover): the requests
// that reach the job in any protocol state.

namespace ferry::source_detail {

namespace {

caf::result<job_stats> abort_transfer(self_ptr self) {
  auto& st = self->state;
  if (!st.perform_pending)
    return make_error(errc::invalid_state,
                      "job " + st.job_id + " is in " + to_string(st.phase)
                        + "; only a running transfer can be aborted");
  st.abort_reason = "migration aborted by request (domjobabort)";
  FERRY_INFO("source", "job " << st.job_id << ": abort requested");
  caf::anon_send(st.ctx.driver, drv_cancel{st.domain});
  return snapshot(self);
}

caf::result<job_stats> set_speed(self_ptr self, uint64_t mibps) {
  auto& st = self->state;
  auto bytes = mibps * 1024 * 1024;
  st.flags.bandwidth_mibps = mibps;
  // Tunnelled: the pump paces; otherwise the hypervisor does.
  if (st.pump)
    self->send(st.pump, pump_rate{bytes});
  else
    caf::anon_send(st.ctx.driver, drv_tune{st.domain, bytes, 0});
  return snapshot(self);
}

caf::result<job_stats> set_downtime(self_ptr self, uint64_t ms) {
  auto& st = self->state;
  if (ms == 0 || ms > 600000)
    return make_error(errc::invalid_argument,
                      "downtime must be from 1 to 600000 ms");
  st.flags.max_downtime_ms = static_cast<uint32_t>(ms);
  caf::anon_send(st.ctx.driver,
                 drv_tune{st.domain, UINT64_MAX, static_cast<uint32_t>(ms)});
  return snapshot(self);
}

/// migrate-recover: ask the destination now, or take the operator's word.
caf::result<job_stats> recover(self_ptr self, uint64_t choice) {
  auto& st = self->state;
  if (choice > recover_assume_failed)
    return make_error(errc::invalid_argument,
                      "migrate-recover: unknown choice "
                        + std::to_string(choice));
  if (!st.resolution.empty())
    return resolved_snapshot(self); // an automatic attempt won
  if (st.phase != mig_phase::outcome_unknown)
    return make_error(errc::invalid_state,
                      "job " + st.job_id + " is in " + to_string(st.phase)
                        + ", not waiting for an outcome");
  st.resolve_attempts = 0;
  auto rp = self->make_response_promise<job_stats>();
  if (choice == recover_assume_committed || choice == recover_assume_failed) {
    assume_outcome(self, rp, choice == recover_assume_committed);
    return rp;
  }
  st.recover_waiters.push_back(rp);
  resolve(self, rp);
  return rp;
}

} // namespace

caf::result<job_stats> on_job_control(self_ptr self, const job_control& req) {
  switch (req.verb) {
    case job_verb::info: return snapshot(self);
    case job_verb::abort: return abort_transfer(self);
    case job_verb::set_speed: return set_speed(self, req.value);
    case job_verb::recover: return recover(self, req.value);
    case job_verb::set_downtime: return set_downtime(self, req.value);
  }
  return make_error(errc::invalid_argument, "unknown job control verb");
}

} // namespace ferry::source_detail
