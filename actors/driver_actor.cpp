#include "actors/driver_actor.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "config/agent_settings.hpp"
#include "messages/all.hpp"
#include "util/log.hpp"

namespace ferry {

caf::behavior driver_actor(caf::stateful_actor<driver_actor_state>* self,
                           std::string driver_name, agent_settings settings) {
  driver_context ctx;
  ctx.agent_name = settings.name;
  ctx.state_dir = settings.state_dir + "/" + driver_name;
  // Hypervisor threads report events; a weak handle avoids a cycle between
  // the actor and the driver it owns.
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  ctx.on_event = [weak](driver_event ev) {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong), std::move(ev));
  };
  auto drv = make_driver(driver_name, std::move(ctx), settings);
  if (!drv) {
    FERRY_ERROR("driver", error_text(drv.error()));
    self->quit(drv.error());
    return {};
  }
  self->state.drv = std::move(*drv);
  if (auto err = self->state.drv->open()) {
    FERRY_ERROR(driver_name.c_str(), "cannot open: " << error_text(err));
    self->quit(err);
    return {};
  }
  // The driver's destructor (run when CAF destroys the state on exit)
  // stops the hypervisor side cleanly.
  auto& drv_ref = self->state.drv;
  return {
    [drv_ref](const list_domains& req) { return drv_ref->list(req.all); },
    [drv_ref](const define_domain& req) -> caf::result<domain_info> {
      auto res = drv_ref->define(req.xml);
      if (!res)
        return res.error();
      return *res;
    },
    [drv_ref](const domain_op& req) -> caf::result<domain_info> {
      caf::error err;
      switch (req.verb) {
        case domain_verb::start: err = drv_ref->start(req.name); break;
        case domain_verb::destroy: err = drv_ref->destroy(req.name); break;
        case domain_verb::suspend: err = drv_ref->suspend(req.name); break;
        case domain_verb::resume: err = drv_ref->resume(req.name); break;
        case domain_verb::undefine: {
          auto before = drv_ref->info(req.name);
          err = drv_ref->undefine(req.name);
          if (!err && before) {
            before->persistent = false;
            return *before;
          }
          break;
        }
        default:
          return make_error(errc::invalid_argument, "unknown domain operation");
      }
      if (err)
        return err;
      auto info = drv_ref->info(req.name);
      if (!info)
        return info.error();
      return *info;
    },
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
    [drv_ref](const driver_event& ev) { drv_ref->handle_event(ev); },
  };
}

} // namespace ferry
