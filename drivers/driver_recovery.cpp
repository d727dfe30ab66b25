// The driver's half of crash safety: journal phase changes and the
// recovery rules a restarted agent applies (docs/recovery.md).

#include "drivers/driver.hpp"

#include "drivers/job_journal.hpp"
#include "util/log.hpp"

namespace ferry {

caf::error driver::journal_phase(const std::string& job_id, mig_phase phase) {
  if (!ctx_.journal || job_id.empty())
    return caf::none;
  auto rec = ctx_.journal->find(job_id);
  if (!rec)
    return caf::none;
  rec->phase = phase;
  return ctx_.journal->write(std::move(*rec));
}

caf::expected<bool> driver::recover(const job_record& rec) {
  auto i = domains_.find(rec.domain);
  bool active = i != domains_.end() && i->second.state != domain_state::shutoff;
  if (rec.role == job_role::destination) {
    recover_destination(rec, active);
    return false;
  }
  if (!active) {
    FERRY_WARN(name().c_str(),
               "recovery: job " << rec.job_id << " (" << to_string(rec.phase)
                                << "): " << rec.domain
                                << " is no longer active here (test guests "
                                   "die with their agent); forgetting it");
    if (ctx_.journal)
      ctx_.journal->remove(rec.job_id);
    return false;
  }
  return recover_source(rec);
}

void driver::recover_destination(const job_record& rec, bool active) {
  auto i = domains_.find(rec.domain);
  if (rec.phase == mig_phase::prepare) {
    // Never committed: the incoming copy must not survive.
    if (active) {
      do_migrate_cancel(i->second);
      do_destroy(i->second);
      mark_shutoff(rec.domain);
    }
    journal_phase(rec.job_id, mig_phase::aborted);
    FERRY_INFO(name().c_str(), "recovery: job " << rec.job_id
                                                << " never committed here; "
                                                << rec.domain << " torn down");
    return;
  }
  if (rec.phase != mig_phase::committed)
    return;
  if (i != domains_.end())
    i->second.job_id.clear();
  if (!active) {
    // Committed, then the guest died with the agent (test guests do): the
    // source's paused copy is the only one left; tell it so.
    journal_phase(rec.job_id, mig_phase::lost);
    FERRY_WARN(name().c_str(), "recovery: job "
                                 << rec.job_id << " committed here but "
                                 << rec.domain
                                 << " died with the agent; the source may "
                                    "resume its copy");
  }
}

caf::expected<bool> driver::recover_source(const job_record& rec) {
  auto& d = domains_.at(rec.domain);
  if (rec.phase == mig_phase::begin || rec.phase == mig_phase::perform) {
    // The data was never verified by the destination: finish cannot have
    // committed, so the source keeps the domain.
    do_migrate_cancel(d);
    if (rec.was_running && d.state == domain_state::paused && !do_resume(d))
      d.state = domain_state::running;
    d.job_id.clear();
    if (ctx_.journal)
      ctx_.journal->remove(rec.job_id);
    FERRY_INFO(name().c_str(), "recovery: job "
                                 << rec.job_id << " ("
                                 << to_string(rec.phase) << ") undone; "
                                 << rec.domain << " stays here");
    return false;
  }
  // verified or outcome-unknown: the destination may own it now.
  d.job_id = rec.job_id;
  d.state = domain_state::paused;
  FERRY_WARN(name().c_str(), "recovery: job " << rec.job_id
                                              << ": outcome unknown; "
                                              << rec.domain
                                              << " kept paused until the "
                                                 "destination answers");
  return true;
}

} // namespace ferry
