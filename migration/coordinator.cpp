#include "migration/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <caf/result.hpp>

#include "transport/door/harden.hpp"
#include "transport/peer_session.hpp"
#include "messages/all.hpp"
#include "migration/phases.hpp"
#include "migration/rules.hpp"
#include "util/crypto.hpp"
#include "util/clock.hpp"
#include "util/faults.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using self_ptr = door_stateful<coordinator_state>*;

const std::string& job(self_ptr self) {
  return self->state.args.job_id;
}

/// True if `who` was reported down: a request to it would only time out.
bool is_lost(self_ptr self, const caf::actor_addr& who) {
  auto& lost = self->state.lost;
  return std::find(lost.begin(), lost.end(), who) != lost.end();
}

/// Closes the current phase's clock (see coordinator_state::phase_ms).
void close_phase(self_ptr self) {
  auto& st = self->state;
  auto name = st.phase == mig_phase::none ? "connect" : to_string(st.phase);
  st.phase_ms.emplace_back(name, ms_since(st.phase_started));
  st.phase_started = std::chrono::steady_clock::now();
}

/// "begin 3, prepare 5, …" for the log.
std::string phase_summary(const coordinator_state& st) {
  std::string out;
  for (auto& [name, ms] : st.phase_ms)
    out += (out.empty() ? "" : ", ") + name + " " + std::to_string(ms);
  return out;
}

/// The logged phases summed into the result's fields.
phase_times phase_totals(const coordinator_state& st) {
  phase_times out;
  for (auto& [name, ms] : st.phase_ms) {
    auto* slot = name == "connect"   ? &out.connect
                 : name == "begin"   ? &out.begin
                 : name == "prepare" ? &out.prepare
                 : name == "perform" ? &out.perform
                 : name == "finish"  ? &out.finish
                 : name == "confirm" ? &out.confirm
                                     : nullptr;
    if (slot != nullptr)
      *slot += ms;
  }
  return out;
}

void report(self_ptr self, caf::expected<migration_result> res) {
  auto& st = self->state;
  if (st.reported)
    return;
  st.reported = true;
  close_phase(self);
  if (res)
    res->phases = phase_totals(st);
  if (res)
    FERRY_INFO("coordinator", "job " << job(self) << ": done in "
                                     << res->total_ms << " ms ("
                                     << phase_summary(st) << " ms)");
  else
    FERRY_WARN("coordinator", "job " << job(self) << ": "
                                     << error_text(res.error()));
  if (st.args.done)
    st.args.done(std::move(res));
  if (st.dest_link.session)
    st.dest_link = agent_link{};
  // A monitor stays attached to the monitored actor until it goes, and it
  // holds a weak reference that keeps this actor's whole allocation
  // (~2.5 KiB) alive: the job manager outlives every coordinator, so each
  // p2p migration used to leave one behind (ferry-stress's soak grew the
  // agent's RSS by ~1 KiB per migration; heaptrack showed them).
  if (st.args.source_entry)
    self->demonitor(st.args.source_entry);
  if (st.args.dest_entry)
    self->demonitor(st.args.dest_entry);
  self->quit();
}

/// Enters `phase`; `on_loss` runs if one of `waiting_on` (monitored job
/// actors) goes down while the phase waits for it.
uint64_t enter(self_ptr self, mig_phase phase,
               std::function<void(caf::error)> on_loss,
               std::vector<caf::actor_addr> waiting_on) {
  auto& st = self->state;
  auto point = std::string{"coordinator."} + to_string(phase);
  faults::hit(point.c_str()); // crash and freeze only; errors are ignored
  close_phase(self);
  st.phase = phase;
  st.on_loss = std::move(on_loss);
  st.waiting_on = std::move(waiting_on);
  FERRY_DEBUG("coordinator", "job " << job(self) << ": " << to_string(phase));
  return ++st.phase_seq;
}

/// Wraps a continuation taking `T` so that it runs only while `seq` is
/// current (CAF needs the concrete argument type).
template <class T, class F>
auto guarded(self_ptr self, uint64_t seq, F f) {
  return [self, seq, f](T x) mutable {
    if (self->state.phase_seq != seq)
      return;
    self->state.phase_seq++;
    f(std::forward<T>(x));
  };
}

caf::error phase_error(const char* phase, const caf::error& err) {
  auto code = code_of(err);
  if (code == errc::internal || code == errc::ok)
    code = errc::migration_failed;
  if (code == errc::timeout || code == errc::disconnected)
    code = errc::migration_failed;
  return make_error(code, std::string{phase} + " failed: " + error_text(err));
}

void confirm(self_ptr self, confirm_outcome outcome,
             caf::expected<migration_result> result);
void finish(self_ptr self);
void fail_phase(self_ptr self, mig_phase phase, const caf::error& err);

void succeed(self_ptr self, int64_t resumed_at, const std::string& warning) {
  auto& st = self->state;
  migration_result res;
  res.job_id = job(self);
  res.domain = st.args.flags.dname.empty() ? st.args.domain
                                           : st.args.flags.dname;
  res.mode = mode_of(st.args.flags);
  res.total_ms = ms_since(st.started);
  auto& ps = st.perform_stats;
  res.digest_verified = ps.digest_verified; // the source driver's word
  res.bytes = ps.data_processed;
  res.mibps = res.total_ms > 0 ? static_cast<double>(res.bytes)
                                   / (1024.0 * 1024.0)
                                   / (static_cast<double>(res.total_ms) / 1000)
                               : 0;
  if (resumed_at > 0 && ps.paused_at_ms > 0 && resumed_at >= ps.paused_at_ms)
    res.downtime_ms = static_cast<uint64_t>(resumed_at - ps.paused_at_ms);
  else
    res.downtime_ms = ps.downtime_ms;
  res.warning = warning;
  confirm(self, confirm_outcome::committed, std::move(res));
}

/// Sends confirm to the source and reports `result` afterwards.
void confirm(self_ptr self, confirm_outcome outcome,
             caf::expected<migration_result> result) {
  auto& st = self->state;
  if (!st.source_job || is_lost(self, st.source_job.address())) {
    report(self, std::move(result));
    return;
  }
  st.confirmed = std::move(result);
  auto seq = enter(
    self, mig_phase::confirm,
    [self](caf::error err) { fail_phase(self, mig_phase::confirm, err); },
    {st.source_job.address()});
  self
    ->request(st.source_job, st.args.timeouts.confirm,
              mig_confirm{job(self), outcome})
    .then(guarded<bool>(self, seq,
                        [self](bool) {
                          report(self, std::move(self->state.confirmed));
                        }),
          guarded<caf::error&>(self, seq, [self](caf::error& err) {
            fail_phase(self, mig_phase::confirm, err);
          }));
}

void fail_after_perform(self_ptr self, caf::error why) {
  // Nothing was committed: tear the destination down, resume the source.
  auto& st = self->state;
  auto shared = std::make_shared<caf::error>(std::move(why));
  auto next = [self, shared] {
    confirm(self, confirm_outcome::failed, *shared);
  };
  if (!st.dest_job || is_lost(self, st.dest_job.address())) {
    next();
    return;
  }
  auto seq = enter(self, mig_phase::finish, [next](caf::error) { next(); },
                   {st.dest_job.address()});
  self
    ->request(st.dest_job, st.args.timeouts.finish,
              mig_finish{job(self), false})
    .then(guarded<const finish_cookie&>(self, seq, [next](const finish_cookie&) { next(); }),
          guarded<caf::error&>(self, seq, [next](caf::error&) { next(); }));
}

/// No answer, or one that says nothing about what the asked side did.
bool is_no_answer(const caf::error& err) {
  auto code = code_of(err);
  return code == errc::timeout || code == errc::disconnected
         || code == errc::internal;
}

/// `phase` went wrong: migration/phases.hpp's table says what follows.
void fail_phase(self_ptr self, mig_phase phase, const caf::error& err) {
  auto& step = step_of(phase);
  auto rule = is_no_answer(err) ? step.if_lost : step.if_refused;
  auto& st = self->state;
  switch (rule) {
    case phase_failure::report:
      report(self, phase_error(to_string(phase), err));
      return;
    case phase_failure::release_source:
      confirm(self, confirm_outcome::failed,
              phase_error(to_string(phase), err));
      return;
    case phase_failure::abort_then_release:
      fail_after_perform(self, phase_error(to_string(phase), err));
      return;
    case phase_failure::ask_outcome:
      // The commit may or may not have happened: never resume blindly.
      confirm(self, confirm_outcome::unknown,
              make_error(errc::outcome_unknown,
                         std::string{"outcome unknown: the destination's "
                                     "answer to "}
                           + to_string(phase) + " was lost ("
                           + error_text(err)
                           + "); the source keeps the domain paused until "
                             "it learns the outcome"));
      return;
    case phase_failure::warn:
      if (st.confirmed)
        st.confirmed->warning = "committed on the destination, but the "
                                "source could not confirm: "
                                + error_text(err);
      report(self, std::move(st.confirmed));
      return;
  }
}

void finish(self_ptr self) {
  auto& st = self->state;
  if (is_lost(self, st.dest_job.address())) {
    fail_phase(self, mig_phase::finish,
               make_error(errc::disconnected,
                          "the destination agent's job went away"));
    return;
  }
  auto seq = enter(
    self, mig_phase::finish,
    [self](caf::error err) { fail_phase(self, mig_phase::finish, err); },
    {st.dest_job.address()});
  self
    ->request(st.dest_job, st.args.timeouts.finish,
              mig_finish{job(self), true})
    .then(guarded<const finish_cookie&>(self, seq,
                  [self](const finish_cookie& fc) {
                    succeed(self, fc.resumed_at_ms, {});
                  }),
          guarded<caf::error&>(self, seq, [self](caf::error& err) {
            fail_phase(self, mig_phase::finish, err);
          }));
}

void perform(self_ptr self) {
  auto& st = self->state;
  auto seq = enter(
    self, mig_phase::perform,
    [self](caf::error err) { fail_phase(self, mig_phase::perform, err); },
    {st.source_job.address(), st.dest_job.address()});
  // The source learns where to send the data, not who the destination's
  // job is: that handle is the coordinator's alone.
  auto cookie = st.prepare;
  cookie.dest_job = dest_participant{};
  self
    ->request(st.source_job, st.args.timeouts.perform,
              mig_perform{job(self), std::move(cookie)})
    .then(guarded<job_stats&>(self, seq,
                  [self](job_stats& stats) {
                    self->state.perform_stats = std::move(stats);
                    if (self->state.args.flags.direct)
                      succeed(self, 0, {});
                    else
                      finish(self);
                  }),
          guarded<caf::error&>(self, seq, [self](caf::error& err) {
            fail_phase(self, mig_phase::perform, err);
          }));
}

/// The destination's answer names actors of the destination agent only:
/// its job and (tunnelled) its pump, never one of ours or a third node's.
caf::error check_prepare_cookie(self_ptr self) {
  auto& st = self->state;
  auto dest = st.args.dest_entry.node();
  auto& c = st.prepare;
  if (!c.dest_job || c.dest_job.node() != dest)
    return make_error(errc::migration_failed,
                      "prepare returned no job of the destination agent's "
                      "own");
  if (c.dest_pump && c.dest_pump.node() != dest)
    return make_error(errc::migration_failed,
                      "prepare returned a stream pump of another node");
  return caf::none;
}

void prepare(self_ptr self) {
  auto& st = self->state;
  if (st.args.flags.direct) {
    perform(self);
    return;
  }
  auto on_fail = [self](caf::error err) {
    fail_phase(self, mig_phase::prepare, err);
  };
  auto seq = enter(self, mig_phase::prepare, on_fail,
                   {st.args.dest_entry.address()});
  mig_prepare req;
  req.job_id = job(self);
  req.xml = st.begin.xml;
  req.flags = st.args.flags;
  req.source_agent = st.args.source_agent;
  req.coordinator = caf::actor_cast<caf::actor>(self);
  self->request(st.args.dest_entry, st.args.timeouts.prepare, std::move(req))
    .then(guarded<prepare_cookie&>(self, seq,
                  [self](prepare_cookie& cookie) {
                    auto& st = self->state;
                    st.prepare = std::move(cookie);
                    st.dest_job = st.prepare.dest_job;
                    if (auto err = check_prepare_cookie(self)) {
                      confirm(self, confirm_outcome::failed, err);
                      return;
                    }
                    self->monitor(st.dest_job);
                    perform(self);
                  }),
          guarded<caf::error&>(self, seq, on_fail));
}

void begin(self_ptr self) {
  auto& st = self->state;
  auto on_fail = [self](caf::error err) {
    fail_phase(self, mig_phase::begin, err);
  };
  auto seq = enter(self, mig_phase::begin, on_fail,
                   {st.args.source_entry.address()});
  mig_begin req;
  req.job_id = job(self);
  req.domain = st.args.domain;
  req.flags = st.args.flags;
  req.coordinator = caf::actor_cast<caf::actor>(self);
  req.driver = st.args.source_driver;
  self->request(st.args.source_entry, st.args.timeouts.begin, std::move(req))
    .then(guarded<begin_cookie&>(self, seq,
                  [self](begin_cookie& cookie) {
                    auto& st = self->state;
                    st.begin = std::move(cookie);
                    st.source_job = st.begin.source_job;
                    if (!st.source_job
                        || st.source_job.node()
                             != st.args.source_entry.node()) {
                      report(self, make_error(errc::migration_failed,
                                              "begin returned no job of the "
                                              "source agent's own"));
                      return;
                    }
                    self->monitor(st.source_job);
                    prepare(self);
                  }),
          guarded<caf::error&>(self, seq, on_fail));
}

void unreachable(self_ptr self, const caf::error& err) {
  report(self, make_error(errc::migration_failed,
                          "cannot reach the destination agent: "
                            + error_text(err)));
}

void connected(self_ptr self, caf::actor session) {
  auto& st = self->state;
  st.args.dest_entry = session;
  self->monitor(session);
  begin(self);
}

/// A session of this job's own (the client's coordinator, or no pool).
void connect_own(self_ptr self) {
  auto req = self->state.args.dest_connect;
  connect_agent(self, std::move(req), [self](caf::expected<agent_link> l) {
    if (!l)
      return unreachable(self, l.error());
    self->state.dest_link = std::move(*l);
    connected(self, caf::actor_cast<caf::actor>(self->state.dest_link.session));
  });
}

/// The agent's shared session with the destination (peer_links).
void connect_pooled(self_ptr self) {
  auto& st = self->state;
  // The pool may have to connect: up to every attempt of connect_agent.
  auto timeout = st.args.dest_connect.timeout * 5;
  self
    ->request(st.args.peer_links, timeout,
              get_peer_session{st.args.flags.dest_uri})
    .then([self](peer_session& s) {
            connected(self, caf::actor_cast<caf::actor>(s.session));
          },
          [self](caf::error& err) { unreachable(self, err); });
}

} // namespace

std::string new_job_id() {
  auto ms = static_cast<uint64_t>(unix_ms());
  char stamp[13];
  std::snprintf(stamp, sizeof(stamp), "%012llx",
                static_cast<unsigned long long>(ms & 0xFFFFFFFFFFFFull));
  return stamp + crypto::to_hex(crypto::random_bytes(10));
}

uint64_t job_id_time_ms(const std::string& id) {
  if (!valid_job_id(id))
    return 0;
  return std::stoull(id.substr(0, 12), nullptr, 16);
}

bool valid_job_id(const std::string& id) {
  if (id.size() != 32)
    return false;
  for (char c : id)
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

caf::behavior migration_coordinator(door_stateful<coordinator_state>* self,
                                    coordinator_args args) {
  harden(self, "coordinator");
  auto& st = self->state;
  st.args = std::move(args);
  st.started = std::chrono::steady_clock::now();
  st.phase_started = st.started;
  FERRY_INFO("coordinator", "job " << st.args.job_id << ": migrating "
                                   << st.args.domain << " ("
                                   << mode_of(st.args.flags) << ") to "
                                   << st.args.flags.dest_uri);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    st.lost.push_back(msg.source);
    bool ours = std::find(st.waiting_on.begin(), st.waiting_on.end(),
                          msg.source)
                != st.waiting_on.end();
    if (!ours || !st.on_loss)
      return;
    auto loss = std::move(st.on_loss);
    st.on_loss = nullptr;
    ++st.phase_seq; // late answers of this phase are ignored
    loss(make_error(errc::disconnected,
                    msg.source == st.source_job.address()
                      ? "the source agent's job went away"
                      : "the destination agent's job went away"));
  });
  if (st.args.source_entry)
    self->monitor(st.args.source_entry);
  if (st.args.dest_entry)
    self->monitor(st.args.dest_entry);
  if (!st.args.dest_entry && !st.args.flags.direct) {
    st.phase = mig_phase::none;
    if (st.args.peer_links)
      connect_pooled(self);
    else
      connect_own(self);
  } else {
    begin(self);
  }
  return {
    [self](const job_control&) -> caf::result<job_stats> {
      job_stats out;
      out.job_id = self->state.args.job_id;
      out.domain = self->state.args.domain;
      out.mode = mode_of(self->state.args.flags);
      out.role = "coordinator";
      out.phase = self->state.phase;
      out.elapsed_ms = ms_since(self->state.started);
      return out;
    },
  };
}

} // namespace ferry
