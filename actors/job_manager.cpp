#include "actors/job_manager.hpp"

#include <malloc.h>

#include <algorithm>

#include <caf/atom.hpp>
#include <caf/result.hpp>

#include "util/fan_out.hpp"
#include "migration/job_context.hpp"
#include "migration/coordinator.hpp"
#include "migration/destination.hpp"
#include "drivers/driver_messages.hpp"
#include "migration/source.hpp"
#include "actors/netcheck.hpp"
#include "actors/peer_links.hpp"
#include "drivers/domain_definition.hpp"
#include "transport/door/harden.hpp"
#include "messages/all.hpp"
#include "migration/rules.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using trim_atom = caf::atom_constant<caf::atom("trim")>;

using self_ptr = door_stateful<job_manager_state>*;

constexpr size_t max_outcomes = 4096;

/// Concurrent netchecks per agent: each moves data as fast as it can, so
/// more would only measure each other.
constexpr size_t max_netchecks = 2;

caf::error check_netcheck(self_ptr self, uint64_t bytes) {
  if (bytes < min_netcheck_bytes || bytes > max_netcheck_bytes)
    return make_error(errc::invalid_argument,
                      "netcheck size must be from 1 MiB to 64 GiB");
  if (*self->state.netcheck_slots >= static_cast<int>(max_netchecks))
    return make_error(errc::limit_exceeded,
                      "the agent already runs "
                        + std::to_string(max_netchecks) + " netchecks");
  return caf::none;
}

void add_netcheck(self_ptr self, caf::actor nc) {
  ++*self->state.netcheck_slots;
  self->monitor(nc);
  self->state.netchecks.push_back(std::move(nc));
}

caf::expected<job_context> context_for(self_ptr self,
                                       const std::string& driver) {
  auto& st = self->state;
  auto name = driver.empty() ? st.settings.drivers.front() : driver;
  auto i = st.drivers.find(name);
  if (i == st.drivers.end())
    return make_error(errc::invalid_argument,
                      "this agent has no driver '" + name + "'");
  job_context ctx;
  ctx.agent_name = st.settings.name;
  ctx.driver_name = name;
  ctx.driver = i->second;
  ctx.manager = caf::actor_cast<caf::actor>(self);
  ctx.events = st.events;
  ctx.id = st.id;
  ctx.data_listen = st.settings.testhv.listen;
  if (!st.settings.migration_address.empty())
    ctx.data_listen.host = st.settings.migration_address;
  ctx.data_host = st.settings.migration_host;
  ctx.agents_tls = !st.settings.insecure_tcp;
  return ctx;
}

caf::error check_new_job(self_ptr self, const std::string& job_id,
                         const std::string& role) {
  auto& st = self->state;
  if (!valid_job_id(job_id))
    return make_error(errc::invalid_argument, "malformed migration job id");
  if (st.jobs.count(job_id + "/" + role) != 0 || st.outcomes.count(job_id) != 0
      || (st.journal && st.journal->find(job_id)))
    return make_error(errc::stale_message,
                      "job " + job_id + " is already known here (duplicate "
                                        "or replayed request)");
  if (st.jobs.size() >= st.settings.limits.max_jobs)
    return make_error(errc::limit_exceeded,
                      "the agent already runs "
                        + std::to_string(st.settings.limits.max_jobs)
                        + " migration jobs");
  return caf::none;
}

void add_job(self_ptr self, const std::string& job_id, job_entry entry) {
  self->monitor(entry.actor);
  self->state.jobs.emplace(job_id + "/" + entry.role, std::move(entry));
}

const job_entry* find_job(self_ptr self, const std::string& driver,
                          const std::string& domain) {
  const job_entry* best = nullptr;
  auto rank = [](const std::string& role) {
    return role == "source" ? 0 : role == "destination" ? 1 : 2;
  };
  for (auto& [id, e] : self->state.jobs)
    if (e.domain == domain && (driver.empty() || e.driver == driver)
        && (best == nullptr || rank(e.role) < rank(best->role)))
      best = &e;
  return best;
}

/// Replays the journal after a (re)start.
void recover_jobs(self_ptr self) {
  auto& st = self->state;
  for (auto& rec : st.journal->records()) {
    // Every source record is unfinished (they are removed when the job
    // ends); a destination's only while it is prepared, or committed (the
    // guest may have died with the agent).
    bool pending = rec.role == job_role::source
                   || rec.phase == mig_phase::prepare
                   || rec.phase == mig_phase::committed;
    if (!pending)
      continue;
    auto ctx = context_for(self, rec.driver);
    if (!ctx) {
      FERRY_ERROR("jobs", "recovery: job " << rec.job_id << " names driver '"
                                           << rec.driver
                                           << "', which this agent lacks");
      continue;
    }
    FERRY_INFO("jobs", "recovery: job " << rec.job_id << " ("
                                        << to_string(rec.role) << ", "
                                        << to_string(rec.phase) << ", "
                                        << rec.domain << ")");
    self->request(ctx->driver, std::chrono::minutes{2}, drv_recover{rec.job_id})
      .then(
        [self, rec, ctx = *ctx](bool needs_answer) {
          if (!needs_answer)
            return;
          auto job = self->spawn(migration_source, ctx);
          add_job(self, rec.job_id,
                  {"source", ctx.driver_name, rec.domain, job});
          self->send(job, src_recover{rec.job_id, rec.domain, rec.dest_uri,
                                      rec.undefine_source, rec.was_running});
        },
        [rec](caf::error& err) {
          FERRY_ERROR("jobs", "recovery of job " << rec.job_id << " failed: "
                                                 << error_text(err));
        });
  }
}

/// The agent shuts down. Jobs and netchecks are not linked to us (one
/// failing must not stop the agent), so they are told: a job waiting for a
/// phase answer would otherwise keep the actor system (and the process)
/// alive for hours. For a job this is what a crash is, and the journal is
/// written for crashes: the next start recovers it (docs/recovery.md).
/// Netchecks also watch us: when the agent stops we may end "unreachable",
/// without this handler.
void on_exit(self_ptr self, caf::exit_msg& msg) {
  if (!msg.reason)
    return; // a linked helper ended normally: as CAF's default
  for (auto& [key, job] : self->state.jobs)
    self->send_exit(job.actor, msg.reason);
  for (auto& nc : self->state.netchecks)
    self->send_exit(nc, msg.reason);
  self->quit(msg.reason);
}

/// A job or netcheck ended: forget it; trim memory once the last job went.
void on_down(self_ptr self, caf::down_msg& msg) {
  auto& ncs = self->state.netchecks;
  ncs.erase(std::remove_if(ncs.begin(), ncs.end(),
                           [&](const caf::actor& a) {
                             return a.address() == msg.source;
                           }),
            ncs.end());
  auto& jobs = self->state.jobs;
  for (auto i = jobs.begin(); i != jobs.end(); ++i)
    if (i->second.actor.address() == msg.source) {
      jobs.erase(i);
      if (jobs.empty())
        self->delayed_send(self, std::chrono::seconds{2}, trim_atom::value);
      return;
    }
}

caf::result<begin_cookie> on_begin(self_ptr self, mig_begin& req) {
  if (auto err = check_new_job(self, req.job_id, "source"))
    return err;
  auto ctx = context_for(self, req.driver);
  if (!ctx)
    return ctx.error();
  auto job = self->spawn(migration_source, *ctx);
  add_job(self, req.job_id, {"source", ctx->driver_name, req.domain, job});
  self->delegate(job, std::move(req));
  return caf::delegated<begin_cookie>{};
}

caf::result<prepare_cookie> on_prepare(self_ptr self, mig_prepare& req) {
  if (auto err = check_new_job(self, req.job_id, "destination"))
    return err;
  if (auto err = validate_flags(req.flags))
    return err;
  auto ctx = context_for(self, req.driver);
  if (!ctx)
    return ctx.error();
  auto def = parse_domain_xml(req.xml);
  if (!def)
    return def.error();
  auto job = self->spawn(migration_destination, *ctx);
  add_job(self, req.job_id, {"destination", ctx->driver_name, def->name, job});
  self->delegate(job, std::move(req));
  return caf::delegated<prepare_cookie>{};
}

/// What a migration this agent coordinates (p2p, tunnelled, direct) must
/// satisfy before a job starts.
caf::error check_coordinated(self_ptr self, const migrate_request& req) {
  if (auto err = validate_flags(req.flags))
    return err;
  if (!req.flags.p2p && !req.flags.direct)
    return make_error(errc::invalid_argument,
                      "a managed migration is coordinated by the client; "
                      "send begin/prepare, or use --p2p");
  if (!req.flags.tunnelled)
    return caf::none;
  // The tunnel's hop is the link to the destination agent; the hypervisor
  // hops of the other processes are the driver's to judge, in begin
  // (checked_data_path in actors/driver_actor.cpp).
  data_path path;
  path.agents_tls = !self->state.settings.insecure_tcp
                    && req.flags.dest_uri.rfind("ferry+tls://", 0) == 0;
  return check_secure(req.flags, path);
}

caf::result<migration_result> on_migrate(self_ptr self, migrate_request& req) {
  auto& st = self->state;
  if (auto err = check_coordinated(self, req))
    return err;
  auto ctx = context_for(self, req.driver);
  if (!ctx)
    return ctx.error();
  auto rp = self->make_response_promise<migration_result>();
  coordinator_args args;
  args.job_id = new_job_id();
  args.domain = req.domain;
  args.flags = req.flags;
  args.source_entry = caf::actor_cast<caf::actor>(self);
  args.source_agent = st.settings.name;
  args.source_driver = ctx->driver_name;
  if (!req.flags.direct) {
    auto uri = parse_agent_uri(req.flags.dest_uri);
    if (!uri)
      return uri.error();
    args.dest_connect.uri = *uri;
    args.dest_connect.id = st.id;
    args.dest_connect.client_name = st.settings.name;
    args.peer_links = st.peer_links;
  }
  args.done = [rp](caf::expected<migration_result> res) mutable {
    if (res)
      rp.deliver(std::move(*res));
    else
      rp.deliver(res.error());
  };
  auto job_id = args.job_id;
  auto coord = self->spawn(migration_coordinator, std::move(args));
  add_job(self, job_id, {"coordinator", ctx->driver_name, req.domain, coord});
  return rp;
}

caf::result<job_stats> on_job_control(self_ptr self, job_control& req) {
  if (req.verb == job_verb::info && req.value == job_info_completed)
    return self->state.history.find(req.driver, req.domain);
  auto* job = find_job(self, req.driver, req.domain);
  if (job == nullptr) {
    // The automatic retry may have resolved the outcome just before this
    // migrate-recover came: it is told how.
    if (req.verb == job_verb::recover)
      if (auto s = self->state.history.resolved(req.driver, req.domain))
        return std::move(*s);
    return make_error(errc::invalid_state,
                      "no migration job for domain '" + req.domain + "'");
  }
  self->delegate(job->actor, std::move(req));
  return caf::delegated<job_stats>{};
}

/// What a source asks after losing finish's answer: did job X commit here?
mig_outcome on_query_outcome(self_ptr self, const mig_query_outcome& req) {
  auto& st = self->state;
  if (st.journal) {
    // The journal survives restarts: its answer is authoritative.
    if (auto rec = st.journal->find(req.job_id);
        rec && rec->role == job_role::destination) {
      if (rec->phase == mig_phase::committed)
        return mig_outcome{mig_outcome::committed};
      if (rec->phase == mig_phase::lost)
        return mig_outcome{mig_outcome::lost};
      if (rec->phase == mig_phase::aborted)
        return mig_outcome{mig_outcome::not_committed};
      return mig_outcome{mig_outcome::pending};
    }
  }
  auto i = st.outcomes.find(req.job_id);
  if (i != st.outcomes.end())
    return mig_outcome{i->second ? mig_outcome::committed
                                 : mig_outcome::not_committed};
  if (st.jobs.count(req.job_id + "/destination") != 0)
    return mig_outcome{mig_outcome::pending};
  // Older than a record the journal pruned: it may have committed here and
  // been forgotten. Guessing "not committed" could run the guest twice; the
  // source keeps it paused and an operator decides.
  if (st.journal
      && st.journal->may_have_forgotten(
        static_cast<int64_t>(job_id_time_ms(req.job_id))))
    return mig_outcome{mig_outcome::forgotten};
  // Never prepared here, or prepared by an earlier run of this agent whose
  // test guests died with it: not committed here.
  return mig_outcome{mig_outcome::not_committed};
}

void on_outcome(self_ptr self, const job_outcome& msg) {
  auto& st = self->state;
  // The journal records every destination outcome and answers first; a
  // second copy here would only grow the agent (4096 entries are about
  // 0.8 MiB, most of what a long soak added to an agent's RSS).
  if (st.journal)
    return;
  st.outcomes[msg.job_id] = msg.committed;
  st.outcome_order.push_back(msg.job_id);
  if (st.outcome_order.size() > max_outcomes) {
    st.outcomes.erase(st.outcome_order.front());
    st.outcome_order.pop_front();
  }
}

caf::result<netcheck_result> on_netcheck(self_ptr self,
                                         netcheck_request& req) {
  auto& st = self->state;
  if (auto err = check_netcheck(self, req.bytes))
    return err;
  if (auto uri = parse_agent_uri(req.dest_uri); !uri)
    return uri.error();
  netcheck_args args;
  args.check_id = new_job_id();
  args.peer_links = st.peer_links;
  args.agents_tls = !st.settings.insecure_tcp;
  args.manager = caf::actor_cast<caf::actor>(self);
  args.slots = st.netcheck_slots;
  auto nc = self->spawn<caf::detached>(netcheck_source, std::move(args));
  add_netcheck(self, nc);
  self->delegate(nc, std::move(req));
  return caf::delegated<netcheck_result>{};
}

caf::result<netcheck_cookie> on_netcheck_prepare(self_ptr self,
                                                 netcheck_prepare& req) {
  if (!valid_job_id(req.check_id))
    return make_error(errc::invalid_argument, "malformed netcheck id");
  if (auto err = check_netcheck(self, req.bytes))
    return err;
  auto nc = self->spawn<caf::detached>(netcheck_sink,
                                       caf::actor_cast<caf::actor>(self),
                                       self->state.netcheck_slots,
                                       std::chrono::milliseconds{30000});
  add_netcheck(self, nc);
  self->delegate(nc, std::move(req));
  return caf::delegated<netcheck_cookie>{};
}

caf::result<std::vector<job_stats>> on_introspect(self_ptr self) {
  std::vector<caf::actor> actors;
  for (auto& [id, e] : self->state.jobs)
    actors.push_back(e.actor);
  auto rp = self->make_response_promise<std::vector<job_stats>>();
  fan_out<job_stats>(self, actors, job_control{job_verb::info, {}, 0, {}},
                     std::chrono::seconds{2},
                     [rp](std::vector<job_stats> xs) mutable {
                       rp.deliver(std::move(xs));
                     });
  return rp;
}

} // namespace

caf::behavior job_manager(door_stateful<job_manager_state>* self,
                          agent_settings settings, identity_ptr id,
                          std::map<std::string, caf::actor> drivers,
                          std::shared_ptr<job_journal> journal,
                          caf::actor events) {
  harden(self, "jobs");
  auto& st = self->state;
  st.events = std::move(events);
  st.settings = std::move(settings);
  st.id = std::move(id);
  st.drivers = std::move(drivers);
  st.journal = std::move(journal);
  peer_links_config peers;
  peers.id = st.id;
  peers.agent_name = st.settings.name;
  st.peer_links = self->spawn<caf::linked>(peer_links, std::move(peers));
  if (st.journal)
    recover_jobs(self);
  self->set_exit_handler([self](caf::exit_msg& msg) { on_exit(self, msg); });
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  return {
    [self](trim_atom) {
      // A burst of jobs leaves freed memory in glibc's per-thread arenas;
      // give it back once the agent is idle, so that its RSS returns to
      // its idle size (ferry-stress checks this).
      if (self->state.jobs.empty())
        ::malloc_trim(0);
    },
    [self](mig_begin& req) { return on_begin(self, req); },
    [self](mig_prepare& req) { return on_prepare(self, req); },
    [self](migrate_request& req) { return on_migrate(self, req); },
    [self](job_control& req) { return on_job_control(self, req); },
    [self](const mig_query_outcome& req) {
      return on_query_outcome(self, req);
    },
    [self](job_finished& msg) { self->state.history.add(std::move(msg)); },
    [self](const job_outcome& msg) { on_outcome(self, msg); },
    [self](netcheck_request& req) { return on_netcheck(self, req); },
    [self](netcheck_prepare& req) { return on_netcheck_prepare(self, req); },
    [self](const get_node_info&) {
      return static_cast<uint32_t>(self->state.jobs.size());
    },
    [self](const introspect&) { return on_introspect(self); },
  };
}

} // namespace ferry
