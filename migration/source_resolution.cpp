// The source job's outcome-unknown state: after the data was verified and
// finish's answer was lost, the guest stays paused here and the job asks
// the destination agent what became of the job until it answers (or an
// operator decides with `migrate-recover --assume`). docs/recovery.md.

#include "migration/source_detail.hpp"

#include <algorithm>
#include <chrono>

#include <caf/send.hpp>

#include "messages/all.hpp"
#include "transport/connector.hpp"
#include "transport/uri.hpp"
#include "util/log.hpp"

namespace ferry::source_detail {

job_stats resolved_snapshot(self_ptr self) {
  auto s = snapshot(self);
  s.error = self->state.resolution;
  return s;
}

namespace {

/// The resolution attempt ended: answers migrate-recover, if it asked, and
/// schedules the next automatic attempt unless the job concluded.
void resolution_ended(self_ptr self, recover_promise& rp, bool concluded,
                      const std::string& why) {
  auto& waiters = self->state.recover_waiters;
  if (concluded) {
    // Kept for a migrate-recover that comes later, while confirm runs or,
    // through the job manager's history, after the job ended.
    self->state.resolution = why;
    auto s = resolved_snapshot(self);
    if (rp && rp->pending())
      rp->deliver(s);
    for (auto& w : waiters)
      if (w.pending())
        w.deliver(s);
    waiters.clear();
    return;
  }
  if (rp && rp->pending())
    rp->deliver(make_error(errc::outcome_unknown,
                           "job " + self->state.job_id
                             + ": outcome still unknown: " + why));
  waiters.erase(std::remove_if(waiters.begin(), waiters.end(),
                               [](auto& w) { return !w.pending(); }),
                waiters.end());
  start_resolution(self);
}

/// Concludes the job as `committed` (destroy the source copy) or not
/// (resume it), answering migrate-recover with `what`.
void settle(self_ptr self, recover_promise& rp, bool committed,
            std::string failure, const std::string& what) {
  auto& st = self->state;
  st.phase = committed ? mig_phase::done : mig_phase::failed;
  if (!committed)
    st.failure = std::move(failure);
  resolution_ended(self, rp, true, what);
  conclude(self, committed ? confirm_outcome::committed
                           : confirm_outcome::failed);
}

/// Another attempt (automatic, migrate-recover, or the operator's
/// --assume) concluded the job while this one waited: it only answers.
bool already_settled(self_ptr self, recover_promise& rp) {
  if (self->state.phase == mig_phase::outcome_unknown)
    return false;
  if (rp && rp->pending())
    rp->deliver(resolved_snapshot(self));
  return true;
}

/// Acts on the destination's answer about the job.
void on_outcome(self_ptr self, recover_promise& rp, const mig_outcome& out) {
  auto& st = self->state;
  switch (out.state) {
    case mig_outcome::committed:
      FERRY_INFO("source", "job " << st.job_id
                                  << ": destination committed; "
                                     "destroying the source copy");
      settle(self, rp, true, {},
             "the destination committed; " + st.domain
               + " runs there, the source copy is gone");
      return;
    case mig_outcome::not_committed:
      FERRY_INFO("source", "job " << st.job_id
                                  << ": destination did not commit; "
                                     "resuming here");
      settle(self, rp, false, "the destination did not commit",
             "the destination did not commit; " + st.domain
               + " stays here");
      return;
    case mig_outcome::lost:
      FERRY_WARN("source",
                 "job " << st.job_id
                        << ": the destination committed but its "
                           "copy died with its agent; resuming the "
                           "source copy, the last one left");
      settle(self, rp, false, "the destination's copy died in a crash",
             "the destination's copy died in a crash; " + st.domain
               + " resumed here from the switchover point");
      return;
    case mig_outcome::forgotten: {
      auto why = "the destination no longer remembers the job (its "
                 "journal pruned it); " + st.domain
                 + " stays paused here: check whether it runs on "
                   "the destination, then run `ferry migrate-recover "
                 + st.domain + " --assume committed` (it does) or "
                   "`--assume failed` (it does not)";
      FERRY_WARN("source", "job " << st.job_id << ": " << why);
      resolution_ended(self, rp, false, why);
      return;
    }
    default:
      resolution_ended(self, rp, false,
                       "the destination is still finishing it");
  }
}

} // namespace

/// Asks the destination agent what became of the job.
void resolve(self_ptr self, recover_promise rp) {
  auto& st = self->state;
  auto uri = parse_agent_uri(st.flags.dest_uri);
  if (!uri) {
    FERRY_ERROR("source", "job " << st.job_id << ": cannot resolve: "
                                 << error_text(uri.error()));
    if (rp)
      rp->deliver(uri.error());
    return;
  }
  connect_request req;
  req.uri = *uri;
  req.id = st.ctx.id;
  req.client_name = st.ctx.agent_name;
  req.timeout = st.ctx.connect_timeout;
  connect_agent(self, req, [self, rp](caf::expected<agent_link> link) mutable {
    auto& st = self->state;
    if (already_settled(self, rp))
      return;
    if (!link) {
      auto why = "destination unreachable (" + error_text(link.error()) + ")";
      FERRY_WARN("source", "job " << st.job_id << ": " << why
                                  << "; outcome still unknown");
      resolution_ended(self, rp, false, why);
      return;
    }
    auto session = link->session;
    self->request(session, std::chrono::seconds{10},
                  mig_query_outcome{st.job_id})
      .then(
        [self, rp](const mig_outcome& out) mutable {
          if (!already_settled(self, rp))
            on_outcome(self, rp, out);
        },
        [self, rp](caf::error& err) mutable {
          if (already_settled(self, rp))
            return;
          auto why = "outcome query failed: " + error_text(err);
          FERRY_WARN("source", "job " << self->state.job_id << ": " << why);
          resolution_ended(self, rp, false, why);
        });
  });
}

void start_resolution(self_ptr self) {
  auto& st = self->state;
  if (st.phase != mig_phase::outcome_unknown)
    emit(self, lifecycle_event::suspended_outcome_unknown,
         "kept paused until the destination answers");
  st.held_paused = true;
  st.phase = mig_phase::outcome_unknown;
  auto n = std::min<uint32_t>(st.resolve_attempts++, 4);
  auto delay = std::chrono::seconds{1u << n}; // 1, 2, 4, 8, 16 s
  self->delayed_send(self, delay, src_resolve{});
}

void assume_outcome(self_ptr self, recover_promise rp, bool committed) {
  auto& st = self->state;
  FERRY_WARN("source", "job " << st.job_id << ": the operator assumes the "
                              << "destination "
                              << (committed ? "committed (destroying the "
                                              "source copy)"
                                            : "did not commit (resuming "
                                              "here)"));
  if (committed)
    settle(self, rp, true, {},
           "assumed committed by the operator; the source copy of "
             + st.domain + " is gone");
  else
    settle(self, rp, false, "assumed not committed by the operator",
           "assumed not committed by the operator; " + st.domain
             + " resumed here");
}

} // namespace ferry::source_detail
