#include "migration/destination.hpp"

#include <caf/result.hpp>
#include <caf/send.hpp>

#include "drivers/driver_messages.hpp"
#include "drivers/domain_definition.hpp"
#include "drivers/driver.hpp"
#include "transport/uri.hpp"
#include "transport/door/harden.hpp"
#include "messages/all.hpp"
#include "transport/door/interface.hpp"
#include "migration/rules.hpp"
#include "util/faults.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using self_ptr = door_stateful<destination_job_state>*;

void stop_pump(self_ptr self) {
  if (self->state.pump) {
    caf::anon_send_exit(self->state.pump, caf::exit_reason::user_shutdown);
    self->state.pump = nullptr;
  }
}

/// Ends the job: records the outcome with the job manager and quits.
void done(self_ptr self, bool committed) {
  auto& st = self->state;
  stop_pump(self);
  st.phase = committed ? mig_phase::done : mig_phase::failed;
  self->send(st.ctx.manager, job_outcome{st.job_id, committed});
  caf::anon_send(st.ctx.driver, drv_watch{st.domain, caf::actor_cast<caf::actor>(self), false});
  self->quit();
}

/// Runs finish through the driver; `then` gets the resume time or an error.
void run_finish(self_ptr self, bool success,
                std::function<void(caf::expected<int64_t>)> then) {
  auto& st = self->state;
  st.phase = mig_phase::finish;
  drv_finish req;
  req.domain = st.domain;
  req.job_id = st.job_id;
  req.success = success;
  req.suspend = st.flags.suspend;
  req.persistent = st.flags.persistent;
  self->request(st.ctx.driver, st.ctx.driver_timeout, std::move(req))
    .then([then](int64_t resumed_at) { then(resumed_at); },
          [then](caf::error& err) { then(err); });
}

/// Publishes a lifecycle event about the incoming domain.
void emit(self_ptr self, lifecycle_event kind, std::string detail) {
  auto& st = self->state;
  publish_event(st.ctx.events, st.domain, kind, st.job_id, std::move(detail));
}

void tear_down(self_ptr self, const char* why) {
  FERRY_WARN("destination", "job " << self->state.job_id << ": " << why
                                   << "; tearing the incoming domain down");
  emit(self, lifecycle_event::failed, why);
  run_finish(self, false, [self](caf::expected<int64_t>) { done(self, false); });
}

job_stats snapshot(self_ptr self, job_stats s) {
  auto& st = self->state;
  s.job_id = st.job_id;
  s.domain = st.domain;
  s.mode = mode_of(st.flags);
  s.role = "destination";
  s.phase = st.phase;
  s.elapsed_ms = ms_since(st.started);
  add_pump_figures(st.pump_stats, s);
  return s;
}

/// The driver's answer to finish (or its failure): the commit, or the
/// incoming copy torn down; the coordinator hears which.
void on_finished(self_ptr self, caf::typed_response_promise<finish_cookie> rp,
                 bool success, caf::expected<int64_t> res) {
  auto& st = self->state;
  if (!res) {
    emit(self, lifecycle_event::failed, "finish: " + error_text(res.error()));
    rp.deliver(res.error());
    if (!success) {
      done(self, false);
      return;
    }
    // Not committed: never leave the incoming copy.
    run_finish(self, false,
               [self](caf::expected<int64_t>) { done(self, false); });
    return;
  }
  if (success) {
    emit(self, lifecycle_event::started_migrated, mode_of(st.flags));
    if (*res > 0)
      emit(self, lifecycle_event::resumed_migrated, mode_of(st.flags));
    faults::hit("dest.committed"); // crash: reply lost
  } else {
    emit(self, lifecycle_event::failed,
         "the source reported the transfer failed");
  }
  finish_cookie out;
  out.committed = success;
  out.resumed_at_ms = *res;
  out.domain = st.domain;
  rp.deliver(out);
  done(self, success);
}

caf::result<finish_cookie> on_finish(self_ptr self, const mig_finish& req) {
  auto& st = self->state;
  if (req.job_id != st.job_id)
    return make_error(errc::stale_message, "finish for job " + req.job_id
                                             + ", this is " + st.job_id);
  if (st.phase != mig_phase::prepare)
    return make_error(errc::stale_message,
                      "duplicate finish for job " + st.job_id);
  if (auto err = faults::hit("dest.finish"))
    return err;
  auto rp = self->make_response_promise<finish_cookie>();
  bool success = req.success;
  run_finish(self, success,
             [self, rp, success](caf::expected<int64_t> res) mutable {
               on_finished(self, rp, success, std::move(res));
             });
  return rp;
}

caf::result<job_stats> on_job_control(self_ptr self, const job_control& req) {
  auto& st = self->state;
  if (req.verb == job_verb::abort) {
    if (st.phase != mig_phase::prepare)
      return make_error(errc::invalid_state,
                        "job " + st.job_id + " is already finishing");
    auto out = snapshot(self, {});
    tear_down(self, "aborted by request");
    return out;
  }
  if (req.verb != job_verb::info)
    return make_error(errc::invalid_argument,
                      "speed and downtime are set on the source");
  auto rp = self->make_response_promise<job_stats>();
  self
    ->request(st.ctx.driver, std::chrono::seconds{10}, drv_progress{st.domain})
    .then(
      [self, rp](job_stats& s) mutable {
        rp.deliver(snapshot(self, std::move(s)));
      },
      [self, rp](caf::error&) mutable { rp.deliver(snapshot(self, {})); });
  return rp;
}

caf::behavior prepared(self_ptr self) {
  return {
    [self](const mig_finish& req) { return on_finish(self, req); },
    [self](const job_control& req) { return on_job_control(self, req); },
    [](const driver_event&) {
      // Incoming progress needs no action: finish checks the final status.
    },
  };
}

/// Where the hypervisor is to receive the data: a socketpair to a waiting
/// pump (tunnelled) or a native listener. Fills the cookie's part of it.
caf::expected<incoming_spec> incoming_for(self_ptr self,
                                          prepare_cookie& cookie) {
  auto& st = self->state;
  incoming_spec spec;
  if (st.flags.tunnelled) {
    int ours = -1;
    int theirs = -1;
    if (!make_pump_socketpair(ours, theirs))
      return make_error(errc::io_error, "cannot create a socketpair");
    st.pump_stats = std::make_shared<pump_shared>();
    pump_config cfg;
    // Greeted by the source agent's pump: the coordinator's node (a tunnel
    // is peer-to-peer).
    st.pump = spawn_waiting_pump(self, st.job_id, ours, st.coordinator.node(),
                                 cfg, st.pump_stats);
    self->monitor(st.pump);
    cookie.dest_pump = caf::actor_cast<pump_remote>(st.pump);
    spec.how = incoming_spec::kind::fd;
    spec.fd = theirs;
    return spec;
  }
  spec.how = incoming_spec::kind::native;
  spec.listen_host = st.ctx.data_listen.host;
  // The address the source connects to: one it can reach, never a
  // wildcard (docs/qemu.md, "Addresses"); empty tells the source to use
  // the host it reached this agent at.
  cookie.data_host = !st.ctx.data_host.empty()       ? st.ctx.data_host
                     : is_wildcard(spec.listen_host) ? std::string{}
                                                     : spec.listen_host;
  if (!st.flags.migrate_uri.empty()) {
    auto mu = parse_migrate_uri(st.flags.migrate_uri);
    if (!mu)
      return mu.error();
    spec.listen_host = mu->host;
    spec.listen_port = mu->port;
    cookie.data_host = mu->host;
  }
  if (!st.flags.listen_address.empty()) {
    auto addr = parse_address(st.flags.listen_address);
    if (!addr)
      return addr.error();
    spec.listen_host = *addr;
    if (st.flags.migrate_uri.empty())
      cookie.data_host = is_wildcard(*addr) ? std::string{} : *addr;
  }
  return spec;
}

/// The driver prepared the incoming domain: answer with the cookie and
/// wait for finish.
void on_prepared(self_ptr self,
                 caf::typed_response_promise<prepare_cookie>& rp,
                 prepare_cookie& cookie, const incoming_endpoint& ep) {
  auto& st = self->state;
  st.phase = mig_phase::prepare;
  cookie.data_port = ep.port;
  cookie.token = ep.token;
  cookie.data_tls = ep.tls;
  cookie.data_tls_name = ep.tls_name;
  if (st.coordinator)
    self->monitor(st.coordinator);
  caf::anon_send(st.ctx.driver,
                 drv_watch{st.domain, caf::actor_cast<caf::actor>(self)});
  FERRY_INFO("destination", "job " << st.job_id << ": prepared "
                                   << st.domain);
  self->become(prepared(self));
  rp.deliver(std::move(cookie));
}

caf::result<prepare_cookie> on_prepare(self_ptr self, mig_prepare& req) {
  if (auto err = faults::hit("dest.prepare")) {
    self->quit();
    return err;
  }
  auto& st = self->state;
  st.job_id = req.job_id;
  st.flags = req.flags;
  st.coordinator = req.coordinator;
  if (!st.coordinator) {
    self->quit();
    return make_error(errc::invalid_argument, "prepare without a coordinator");
  }
  // Its coordinator, and no other actor of another node, drives it.
  self->open_door(st.coordinator.node(), st.coordinator.id(),
                  accepted_types<dest_participant>(self->system()), false,
                  "destination job " + st.job_id);
  auto def = parse_domain_xml(req.xml);
  if (!def) {
    self->quit();
    return def.error();
  }
  st.domain = def->name;
  prepare_cookie cookie;
  cookie.dest_job = caf::actor_cast<dest_participant>(self);
  auto spec = incoming_for(self, cookie);
  if (!spec) {
    self->quit();
    return spec.error();
  }
  auto rp = self->make_response_promise<prepare_cookie>();
  self
    ->request(st.ctx.driver, st.ctx.driver_timeout,
              drv_prepare{st.job_id, req.xml, *spec, st.flags,
                          st.ctx.agents_tls})
    .then(
      [self, rp, cookie](incoming_endpoint& ep) mutable {
        on_prepared(self, rp, cookie, ep);
      },
      [self, rp](caf::error& err) mutable {
        rp.deliver(err);
        done(self, false);
      });
  return rp;
}

} // namespace

caf::behavior migration_destination(
  door_stateful<destination_job_state>* self, job_context ctx) {
  harden(self, "destination");
  self->state.ctx = std::move(ctx);
  self->state.started = std::chrono::steady_clock::now();
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source == st.pump.address()) {
      st.pump = nullptr;
      return; // the hypervisor sees the broken stream; finish decides
    }
    if (msg.source == st.coordinator.address()
        && st.phase == mig_phase::prepare) {
      st.coordinator = nullptr;
      tear_down(self, "coordinator lost before finish");
    }
  });
  return {
    [self](mig_prepare& req) { return on_prepare(self, req); },
  };
}

} // namespace ferry
