#include "migration/source.hpp"
#include "migration/source_detail.hpp"

#include <algorithm>
#include <optional>

#include <caf/result.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "drivers/driver_messages.hpp"
#include "drivers/driver.hpp"
#include "transport/door/harden.hpp"
#include "migration/job_history.hpp"
#include "messages/all.hpp"
#include "transport/door/interface.hpp"
#include "migration/rules.hpp"
#include "transport/connector.hpp"
#include "transport/uri.hpp"
#include "util/faults.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using namespace source_detail;

/// The transfer completed and the destination verified it: journal that
/// first (once perform is answered, finish may commit, and a restart must
/// then ask instead of resuming), then answer perform.
void on_verified(self_ptr self) {
  auto& st = self->state;
  if (auto err = faults::hit("source.verified")) {
    st.phase = mig_phase::failed;
    st.failure = error_text(err);
    stop_pump(self);
    st.perform_rp.deliver(err);
    return;
  }
  st.phase = mig_phase::perform;
  st.stats.data_remaining = 0;
  FERRY_INFO("source", "job " << st.job_id << ": data "
                              << (st.stats.digest_verified
                                    ? "verified by the destination"
                                    : "sent (no end-to-end digest)")
                              << " (" << st.stats.data_processed << " bytes, "
                              << st.stats.iteration << " passes)");
  self
    ->request(st.ctx.driver, st.ctx.driver_timeout,
              drv_journal_phase{st.job_id, mig_phase::verified})
    .then(
      [self](bool) {
        auto& st = self->state;
        st.perform_rp.deliver(snapshot(self));
        if (!st.coordinator)
          start_resolution(self);
      },
      [self](caf::error& err) {
        auto& st = self->state;
        st.phase = mig_phase::failed;
        stop_pump(self);
        st.failure = "cannot journal the verified transfer: "
                     + error_text(err);
        st.perform_rp.deliver(make_error(errc::migration_failed, st.failure));
        if (!st.coordinator)
          conclude(self, confirm_outcome::failed);
      });
}

/// The transfer failed or was cancelled: perform fails; the source keeps
/// the domain.
void on_transfer_failed(self_ptr self, const std::string& status) {
  auto& st = self->state;
  st.phase = mig_phase::failed;
  stop_pump(self);
  auto why = !st.abort_reason.empty() ? st.abort_reason
             : st.stats.error.empty() ? "the hypervisor reported " + status
                                      : st.stats.error;
  auto code = st.abort_reason.empty() ? errc::migration_failed
                                      : errc::migration_aborted;
  st.failure = why;
  st.perform_rp.deliver(make_error(code, why));
  if (!st.coordinator)
    conclude(self, confirm_outcome::failed);
}

/// The hypervisor's migration reached a terminal status.
void on_terminal(self_ptr self, const std::string& status) {
  auto& st = self->state;
  if (!st.perform_pending)
    return;
  self->request(st.ctx.driver, st.ctx.driver_timeout, drv_progress{st.domain})
    .then(
      [self, status](job_stats& s) {
        auto& st = self->state;
        if (!st.perform_pending)
          return;
        st.stats = std::move(s);
        st.perform_pending = false;
        if (status == "completed")
          on_verified(self);
        else
          on_transfer_failed(self, status);
      },
      [self, status](caf::error&) {
        auto& st = self->state;
        if (!st.perform_pending)
          return;
        st.perform_pending = false;
        st.failure = "hypervisor migration " + status;
        st.perform_rp.deliver(make_error(errc::migration_failed, st.failure));
      });
}

bool terminal(const std::string& status) {
  return status == "completed" || status == "failed" || status == "cancelled";
}

void on_tick(self_ptr self) {
  auto& st = self->state;
  if (!st.perform_pending)
    return;
  self->delayed_send(self, tick_interval, src_tick{});
  if (st.flags.timeout_s > 0 && !st.suspended_by_timeout && st.flags.live
      && elapsed_ms(self) > uint64_t{st.flags.timeout_s} * 1000) {
    // libvirt's --timeout: pause the guest so the rest converges.
    st.suspended_by_timeout = true;
    FERRY_INFO("source", "job " << st.job_id << ": --timeout reached, pausing "
                                << st.domain << " to finish the copy");
    self->request(st.ctx.driver, st.ctx.driver_timeout,
                  domain_op{domain_verb::suspend, st.domain})
      .then([](const domain_info&) {}, [](caf::error&) {});
  }
  self->request(st.ctx.driver, st.ctx.driver_timeout, drv_progress{st.domain})
    .then(
      [self](job_stats& s) {
        auto& st = self->state;
        if (!st.perform_pending)
          return;
        st.stats = std::move(s);
        if (terminal(st.stats.hv_status))
          on_terminal(self, st.stats.hv_status);
      },
      [](caf::error&) {});
}

/// Direct mode: the source hypervisor migrates to the one named by the
/// destination URI.
caf::expected<migration_target> direct_target(self_ptr self,
                                              migration_target t) {
  auto& st = self->state;
  auto hv = parse_hypervisor_uri(st.flags.dest_uri);
  if (!hv)
    return hv.error();
  t.how = migration_target::kind::direct;
  t.address = hv->address;
  t.dest_xml = st.dest_xml;
  t.suspend = st.flags.suspend;
  t.persistent = st.flags.persistent;
  return t;
}

/// Tunnelled mode: the hypervisor writes into a socketpair whose other end
/// our pump relays to the destination's pump.
caf::expected<migration_target> tunnel_target(self_ptr self,
                                              const prepare_cookie& cookie,
                                              migration_target t) {
  auto& st = self->state;
  // The tunnel ends at another agent's pump, never at an actor of this
  // node (the local coordinator checked that it is the destination's).
  if (!cookie.dest_pump || cookie.dest_pump.node() == self->node())
    return make_error(errc::migration_failed,
                      "the destination offered no stream pump of its own");
  int ours = -1;
  int theirs = -1;
  if (!make_pump_socketpair(ours, theirs))
    return make_error(errc::io_error, "cannot create a socketpair");
  st.pump_stats = std::make_shared<pump_shared>();
  pump_config cfg;
  cfg.bandwidth = st.flags.bandwidth_mibps * 1024 * 1024;
  st.pump = self->spawn<caf::detached>(
    stream_pump, st.job_id, ours, caf::actor_cast<caf::actor>(cookie.dest_pump),
    caf::node_id{}, cfg, st.pump_stats);
  self->monitor(st.pump);
  t.how = migration_target::kind::fd;
  t.fd = theirs;
  return t;
}

/// Native mode: hypervisor to the destination's listener.
caf::expected<migration_target> native_target(self_ptr self,
                                              const prepare_cookie& cookie,
                                              migration_target t) {
  auto& st = self->state;
  auto& f = st.flags;
  // The destination's listener decides (prepare): TLS only, or plain. Both
  // ends must be TLS for --secure; --tls refuses a plain listener too.
  data_path path;
  path.agents_tls = st.ctx.agents_tls;
  path.native_tls = st.native_tls && cookie.data_tls;
  path.hint = !cookie.data_tls ? "the destination hypervisor listens "
                                 "without TLS"
                               : st.tls_hint;
  if (auto err = check_secure(f, path))
    return err;
  if (f.tls && !cookie.data_tls)
    return make_error(errc::not_secure,
                      "--tls: the destination hypervisor listens without TLS");
  t.how = migration_target::kind::native;
  t.address = {cookie.data_host, cookie.data_port};
  if (t.address.host.empty()) {
    // The destination listens on every address: connect where we reached
    // its agent.
    auto dest = parse_agent_uri(f.dest_uri);
    if (!dest)
      return dest.error();
    t.address.host = dest->address.host;
  }
  t.token = cookie.token;
  t.tls = cookie.data_tls;
  t.tls_name = cookie.data_tls_name;
  return t;
}

/// Where and how the hypervisor sends, from the flags and prepare's cookie.
caf::expected<migration_target> make_target(self_ptr self,
                                            const prepare_cookie& cookie) {
  auto& f = self->state.flags;
  migration_target t;
  t.params.live = f.live;
  t.params.max_bandwidth = f.tunnelled ? 0 : f.bandwidth_mibps * 1024 * 1024;
  t.params.downtime_limit_ms = f.max_downtime_ms;
  t.params.progress_timeout_ms = f.progress_timeout_ms;
  t.params.auto_converge = f.auto_converge;
  if (f.direct)
    return direct_target(self, std::move(t));
  if (f.tunnelled)
    return tunnel_target(self, cookie, std::move(t));
  return native_target(self, cookie, std::move(t));
}

caf::behavior performing(self_ptr self);

/// Handlers every state shares: job control and hypervisor events.
caf::message_handler common(self_ptr self) {
  return {
    [self](const job_control& req) { return on_job_control(self, req); },
    [self](const driver_event& ev) {
      auto data = nlohmann::json::parse(ev.payload, nullptr, false);
      if (!data.is_object() || data.value("direction", "") != "out")
        return;
      auto status = data.value("status", "");
      if (terminal(status))
        on_terminal(self, status);
    },
    [self](const src_tick&) { on_tick(self); },
    [self](src_retry_confirm& msg) {
      apply_confirm(self, msg.outcome, std::move(msg.then), msg.attempt);
    },
    [self](const src_resolve&) {
      if (self->state.phase == mig_phase::outcome_unknown)
        resolve(self);
    },
  };
}

caf::result<bool> on_confirm(self_ptr self, const mig_confirm& req) {
  if (auto err = faults::hit("source.confirm"))
    return err;
  auto& st = self->state;
  if (req.job_id != st.job_id)
    return make_error(errc::stale_message,
                      "confirm for job " + req.job_id + ", this is "
                        + st.job_id);
  if (st.perform_pending)
    return make_error(errc::invalid_state,
                      "confirm while perform still runs (job " + st.job_id
                        + ")");
  if (req.outcome == confirm_outcome::committed
      && st.phase != mig_phase::perform)
    return make_error(errc::invalid_state,
                      "cannot confirm a commit: the data was never verified");
  st.phase = mig_phase::confirm;
  auto rp = self->make_response_promise<bool>();
  if (req.outcome == confirm_outcome::unknown) {
    apply_confirm(self, confirm_outcome::unknown, [self, rp](caf::error) mutable {
      start_resolution(self);
      rp.deliver(true);
    });
    return rp;
  }
  auto outcome = req.outcome;
  stop_pump(self);
  apply_confirm(self, outcome, [self, rp, outcome](caf::error err) mutable {
    auto& st = self->state;
    emit_confirmed(self, outcome, err);
    st.phase = outcome == confirm_outcome::committed ? mig_phase::done
                                                     : mig_phase::failed;
    caf::anon_send(st.ctx.driver, drv_watch{st.domain, caf::actor_cast<caf::actor>(self), false});
    record_finished(self);
    if (err)
      rp.deliver(err);
    else
      rp.deliver(true);
    self->quit();
  });
  return rp;
}

/// From perform until confirm: the transfer runs, then waits for confirm.
caf::behavior performing(self_ptr self) {
  return caf::message_handler{
           [self](const mig_confirm& req) { return on_confirm(self, req); },
           [](const mig_perform& req) -> caf::result<job_stats> {
             return make_error(errc::stale_message,
                               "duplicate perform for job " + req.job_id);
           },
         }
    .or_else(common(self));
}

caf::behavior begun(self_ptr self) {
  return caf::message_handler{
           [self](mig_perform& req) -> caf::result<job_stats> {
             auto& st = self->state;
             if (req.job_id != st.job_id)
               return make_error(errc::stale_message,
                                 "perform for job " + req.job_id
                                   + ", this is " + st.job_id);
             if (auto err = faults::hit("source.perform"))
               return err;
             auto target = make_target(self, req.cookie);
             if (!target)
               return target.error();
             st.phase = mig_phase::perform;
             st.perform_pending = true;
             st.perform_rp = self->make_response_promise<job_stats>();
             FERRY_INFO("source", "job " << st.job_id << ": perform ("
                                         << mode_of(st.flags)
                                         << (target->tls ? ", data over TLS"
                                                         : "")
                                         << ")");
             self->become(performing(self));
             self
               ->request(st.ctx.driver, st.ctx.driver_timeout,
                         drv_start{st.domain, std::move(*target)})
               .then([self](bool) { on_tick(self); },
                     [self](caf::error& err) {
                       auto& st = self->state;
                       if (!st.perform_pending)
                         return;
                       st.perform_pending = false;
                       st.phase = mig_phase::failed;
                       st.failure = error_text(err);
                       stop_pump(self);
                       st.perform_rp.deliver(err);
                       if (!st.coordinator)
                         conclude(self, confirm_outcome::failed);
                     });
             return st.perform_rp;
           },
           [self](const mig_confirm& req) { return on_confirm(self, req); },
         }
    .or_else(common(self));
}

/// Opens the job to its coordinator, the only actor of another node that
/// may drive it. A peer-to-peer job is coordinated by this agent itself:
/// one that names a coordinator elsewhere is refused.
caf::error admit_coordinator(self_ptr self) {
  auto& st = self->state;
  if (!st.coordinator)
    return make_error(errc::invalid_argument, "begin without a coordinator");
  if (st.coordinator.node() == self->node())
    return caf::none;
  if (st.flags.p2p || st.flags.tunnelled || st.flags.direct)
    return make_error(errc::invalid_argument,
                      "a peer-to-peer or direct migration is coordinated by "
                      "its source agent; send migrate, not begin");
  self->open_door(st.coordinator.node(), st.coordinator.id(),
                  accepted_types<source_participant>(self->system()), false,
                  "source job " + st.job_id);
  return caf::none;
}

/// The pump or the coordinator went away: stop the transfer, resolve the
/// outcome, or fail, by phase.
void on_down(self_ptr self, caf::down_msg& msg) {
  auto& st = self->state;
  if (msg.source == st.pump.address()) {
    st.pump = nullptr;
    if (st.perform_pending) {
      st.abort_reason = "the stream pump stopped: "
                        + (msg.reason ? error_text(msg.reason)
                                      : std::string{"ended"});
      caf::anon_send(st.ctx.driver, drv_cancel{st.domain});
    }
    return;
  }
  if (msg.source != st.coordinator.address())
    return;
  st.coordinator = nullptr;
  FERRY_WARN("source", "job " << st.job_id << ": coordinator lost in "
                              << to_string(st.phase));
  if (st.perform_pending) {
    // Stop the transfer; on_terminal decides once it ends.
    st.abort_reason = "the migration's coordinator went away";
    caf::anon_send(st.ctx.driver, drv_cancel{st.domain});
  } else if (st.phase == mig_phase::perform) {
    // Data verified, confirm never came: finish may have committed.
    start_resolution(self);
  } else if (st.phase == mig_phase::begin || st.phase == mig_phase::failed) {
    if (st.failure.empty())
      st.failure = "the migration's coordinator went away";
    conclude(self, confirm_outcome::failed);
  }
}

/// After an agent restart: the journal says the destination may have
/// committed; the domain is locked and paused until it answers.
void on_recover(self_ptr self, src_recover& req) {
  auto& st = self->state;
  st.job_id = req.job_id;
  st.domain = req.domain;
  st.flags.dest_uri = req.dest_uri;
  st.flags.undefine_source = req.undefine_source;
  st.was_running = req.was_running;
  st.stats.job_id = req.job_id;
  caf::anon_send(st.ctx.driver,
                 drv_watch{st.domain, caf::actor_cast<caf::actor>(self)});
  self->become(performing(self));
  start_resolution(self);
}

/// The driver locked and described the domain: the cookie for prepare.
begin_cookie on_begun(self_ptr self, begin_result& br) {
  auto& st = self->state;
  st.was_running = br.was_running;
  st.dest_xml = br.xml;
  st.native_tls = br.native_tls;
  st.tls_hint = br.tls_hint;
  st.phase = mig_phase::begin;
  st.stats.data_total = br.memory_bytes;
  caf::anon_send(st.ctx.driver,
                 drv_watch{st.domain, caf::actor_cast<caf::actor>(self)});
  if (st.coordinator)
    self->monitor(st.coordinator);
  begin_cookie cookie;
  cookie.source_job = caf::actor_cast<source_participant>(self);
  cookie.xml = std::move(br.xml);
  cookie.source_agent = st.ctx.agent_name;
  cookie.memory_bytes = br.memory_bytes;
  cookie.was_running = br.was_running;
  self->become(begun(self));
  return cookie;
}

caf::result<begin_cookie> on_begin(self_ptr self, mig_begin& req) {
  if (auto err = faults::hit("source.begin")) {
    self->quit();
    return err;
  }
  auto& st = self->state;
  st.job_id = req.job_id;
  st.domain = req.domain;
  st.flags = req.flags;
  st.coordinator = req.coordinator;
  st.stats.job_id = req.job_id;
  if (auto err = admit_coordinator(self)) {
    self->quit();
    return err;
  }
  auto rp = self->make_response_promise<begin_cookie>();
  self
    ->request(st.ctx.driver, st.ctx.driver_timeout,
              drv_begin{req.job_id, req.domain, req.flags.dname,
                        req.flags.dest_uri, req.flags.undefine_source,
                        req.flags, st.ctx.agents_tls})
    .then(
      [self, rp](begin_result& br) mutable {
        rp.deliver(on_begun(self, br));
      },
      [self, rp](caf::error& err) mutable {
        rp.deliver(err);
        self->quit();
      });
  return rp;
}

} // namespace

caf::behavior migration_source(door_stateful<source_job_state>* self,
                               job_context ctx) {
  harden(self, "source");
  self->state.ctx = std::move(ctx);
  self->state.started = std::chrono::steady_clock::now();
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  return {
    [self](src_recover& req) { on_recover(self, req); },
    [self](mig_begin& req) { return on_begin(self, req); },
  };
}

} // namespace ferry
