#include "actors/driver_actor.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "drivers/driver_messages.hpp"
#include "actors/event_bus.hpp"
#include "config/agent_settings.hpp"
#include "drivers/job_journal.hpp"
#include "drivers/make_driver.hpp"
#include "transport/door/harden.hpp"
#include "messages/all.hpp"
#include "migration/rules.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

/// The part of the agent's settings each driver needs.
driver_configs configs_of(const agent_settings& settings) {
  driver_configs out;
  out.test.binary = settings.testhv.binary;
  out.test.listen = settings.testhv.listen;
  if (out.test.listen.port == 0 && settings.listen.port < 65535)
    out.test.listen.port = static_cast<uint16_t>(settings.listen.port + 1);
  out.test.secret_file = settings.testhv.secret_file;
  out.test.log_level = settings.log_level;
  out.qemu.binary = settings.qemu_binary;
  if (!settings.insecure_tcp) {
    out.test.tls = settings.tls;
    out.qemu.tls = settings.tls;
  }
  return out;
}

/// A direct migration into this host ran without a destination job: the
/// hypervisor's DOMAIN_INCOMING event is the only news of it, so the
/// lifecycle events come from here.
void publish_incoming(const caf::actor& bus, const driver_event& ev) {
  auto data = nlohmann::json::parse(ev.payload, nullptr, false);
  if (!data.is_object() || ev.domain.empty())
    return;
  auto status = data.value("status", std::string{});
  if (status == "completed") {
    publish_event(bus, ev.domain, lifecycle_event::started_migrated, {},
                  "direct");
    if (data.value("running", false))
      publish_event(bus, ev.domain, lifecycle_event::resumed_migrated, {},
                    "direct");
  } else if (status == "failed") {
    publish_event(bus, ev.domain, lifecycle_event::failed, {},
                  "direct: " + data.value("error-desc", std::string{}));
  }
}

using self_ptr = door_stateful<driver_actor_state>*;

/// Creates and opens the driver `name`; false (and the actor quits) if it
/// cannot.
bool open_driver(self_ptr self, const std::string& name,
                 const agent_settings& settings,
                 std::shared_ptr<job_journal> journal) {
  driver_context ctx;
  ctx.agent_name = settings.name;
  ctx.state_dir = settings.state_dir + "/" + name;
  ctx.journal = journal;
  self->state.journal = std::move(journal);
  // Hypervisor threads report events; a weak handle avoids a cycle between
  // the actor and the driver it owns.
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  ctx.on_event = [weak](driver_event ev) {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong), std::move(ev));
  };
  auto drv = make_driver(name, std::move(ctx), configs_of(settings));
  if (!drv) {
    FERRY_ERROR("driver", error_text(drv.error()));
    self->quit(drv.error());
    return false;
  }
  self->state.drv = std::move(*drv);
  if (auto err = self->state.drv->open()) {
    FERRY_ERROR(name.c_str(), "cannot open: " << error_text(err));
    self->quit(err);
    return false;
  }
  return true;
}

caf::result<domain_info> on_domain_op(driver& drv, const domain_op& req) {
  auto before = drv.info(req.name);
  if (!before)
    return before.error();
  caf::error err;
  switch (req.verb) {
    case domain_verb::start: err = drv.start(req.name); break;
    case domain_verb::destroy: err = drv.destroy(req.name); break;
    case domain_verb::suspend: err = drv.suspend(req.name); break;
    case domain_verb::resume: err = drv.resume(req.name); break;
    case domain_verb::undefine: err = drv.undefine(req.name); break;
    default:
      return make_error(errc::invalid_argument, "unknown domain operation");
  }
  if (err)
    return err;
  // A transient domain that stopped, or an undefined one, is gone now.
  if (auto after = drv.info(req.name))
    return *after;
  before->state = domain_state::shutoff;
  before->persistent = false;
  return *before;
}

/// Lifecycle and queries (from sessions), and the hypervisor's events.
caf::message_handler lifecycle_handlers(self_ptr self) {
  auto& drv_ref = self->state.drv;
  return {
    [drv_ref](const list_domains& req) { return drv_ref->list(req.all); },
    [drv_ref](const define_domain& req) -> caf::result<domain_info> {
      auto res = drv_ref->define(req.xml);
      if (!res)
        return res.error();
      return *res;
    },
    [drv_ref](const domain_op& req) { return on_domain_op(*drv_ref, req); },
    [drv_ref](const get_domain_info& req) -> caf::result<domain_info> {
      auto res = drv_ref->info(req.name);
      if (!res)
        return res.error();
      return *res;
    },
    [drv_ref](const get_domain_xml& req) -> caf::result<std::string> {
      auto res = drv_ref->xml(req.name);
      if (!res)
        return res.error();
      return *res;
    },
    [drv_ref](const get_domain_digest& req) -> caf::result<domain_digest> {
      auto res = drv_ref->digest(req.name);
      if (!res)
        return res.error();
      return *res;
    },
    [drv_ref](const get_driver_info&) { return drv_ref->describe(); },
    [self, drv_ref](const driver_event& ev) {
      drv_ref->handle_event(ev);
      if (ev.kind == "DOMAIN_INCOMING")
        publish_incoming(self->state.events, ev);
      if (ev.kind == "MIGRATION") {
        auto i = self->state.watchers.find(ev.domain);
        if (i != self->state.watchers.end())
          self->send(i->second, ev);
      }
    },
  };
}

/// The driver's hops plus the agents' link, then `check_secure`: the one
/// check begin (source) and prepare (destination) run before anything is
/// locked or created.
caf::expected<data_path> checked_data_path(const driver& drv,
                                           const migration_flags& flags,
                                           bool agents_tls) {
  auto path = drv.data_path_for(flags);
  if (!path)
    return path.error();
  path->agents_tls = agents_tls;
  if (auto err = check_secure(flags, *path))
    return err;
  return path;
}

caf::result<begin_result> on_begin(driver& drv, const drv_begin& req) {
  // --tls and --secure refuse before the domain is locked.
  auto path = checked_data_path(drv, req.flags, req.agents_tls);
  if (!path)
    return path.error();
  auto res = drv.migrate_begin(req.domain, req.job_id, req.dname,
                               req.dest_uri, req.undefine_source);
  if (!res)
    return res.error();
  return begin_result{to_xml(res->def), res->was_running, res->persistent,
                      res->def.memory_bytes, path->native_tls, path->hint};
}

caf::result<incoming_endpoint> on_prepare(driver& drv,
                                          const drv_prepare& req) {
  auto refuse = [&req](caf::error err) {
    if (req.spec.fd >= 0)
      ::close(req.spec.fd);
    return err;
  };
  // The destination checks its own side of the data path too: nothing is
  // created here for a migration --secure or --tls would refuse.
  auto path = checked_data_path(drv, req.flags, req.agents_tls);
  if (!path)
    return refuse(path.error());
  auto def = parse_domain_xml(req.xml);
  if (!def)
    return refuse(def.error());
  auto spec = req.spec;
  if (spec.how == incoming_spec::kind::native)
    spec.tls = path->native_tls;
  return drv.migrate_prepare(req.job_id, std::move(*def), spec);
}

/// The migration steps (from job actors).
caf::message_handler migration_handlers(self_ptr self) {
  auto& drv_ref = self->state.drv;
  return {
    [self](drv_watch& req) {
      auto& w = self->state.watchers;
      if (req.subscribe) {
        w[req.domain] = std::move(req.listener);
        return;
      }
      auto i = w.find(req.domain);
      if (i != w.end() && i->second == req.listener)
        w.erase(i);
    },
    [drv_ref](const drv_begin& req) { return on_begin(*drv_ref, req); },
    [drv_ref](const drv_start& req) -> caf::result<bool> {
      if (auto err = drv_ref->migrate_start(req.domain, req.target))
        return err;
      return true;
    },
    [drv_ref](const drv_progress& req) -> caf::result<job_stats> {
      return drv_ref->migrate_progress(req.domain);
    },
    [drv_ref](const drv_cancel& req) -> caf::result<bool> {
      if (auto err = drv_ref->migrate_cancel(req.domain))
        return err;
      return true;
    },
    [drv_ref](const drv_tune& req) -> caf::result<bool> {
      if (auto err = drv_ref->migrate_tune(req.domain, req.bandwidth,
                                           req.downtime_ms))
        return err;
      return true;
    },
    [drv_ref](const drv_confirm& req) -> caf::result<bool> {
      if (auto err = drv_ref->migrate_confirm(req.domain, req.job_id,
                                              req.outcome, req.undefine,
                                              req.was_running))
        return err;
      return true;
    },
    [drv_ref](const drv_prepare& req) { return on_prepare(*drv_ref, req); },
    [drv_ref](const drv_journal_phase& req) -> caf::result<bool> {
      if (auto err = drv_ref->journal_phase(req.job_id, req.phase))
        return err;
      return true;
    },
    [drv_ref, journal = self->state.journal](const drv_recover& req)
      -> caf::result<bool> {
      auto rec = journal ? journal->find(req.job_id) : std::nullopt;
      if (!rec)
        return false;
      return drv_ref->recover(*rec);
    },
    [drv_ref](const drv_finish& req) -> caf::result<int64_t> {
      return drv_ref->migrate_finish(req.domain, req.job_id, req.success,
                                     req.suspend, req.persistent);
    },
  };
}

} // namespace

caf::behavior driver_actor(door_stateful<driver_actor_state>* self,
                           std::string driver_name, agent_settings settings,
                           std::shared_ptr<job_journal> journal,
                           caf::actor events) {
  harden(self, "driver");
  self->state.events = std::move(events);
  if (!open_driver(self, driver_name, settings, std::move(journal)))
    return {};
  // The driver's destructor (run when CAF destroys the state on exit)
  // stops the hypervisor side cleanly.
  return lifecycle_handlers(self).or_else(migration_handlers(self));
}

} // namespace ferry
