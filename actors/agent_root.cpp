#include "actors/agent_root.hpp"

#include <memory>
#include <set>

#include <unistd.h>

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/result.hpp>

#include "actors/driver_actor.hpp"
#include "actors/event_bus.hpp"
#include "util/fan_out.hpp"
#include "actors/gatekeeper.hpp"
#include "actors/job_manager.hpp"
#include "transport/door/harden.hpp"
#include "messages/all.hpp"
#include "transport/net/net_layer.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using self_ptr = door_stateful<agent_root_state>*;

constexpr auto driver_open_timeout = std::chrono::seconds{120};
constexpr auto publish_timeout = std::chrono::seconds{10};
constexpr auto info_timeout = std::chrono::seconds{10};
void stop_all(self_ptr self, const caf::error& reason);

void report(self_ptr self, const caf::error& err, uint16_t port) {
  if (self->state.on_ready) {
    auto cb = std::move(self->state.on_ready);
    self->state.on_ready = nullptr;
    cb(err, port);
  }
  if (err)
    stop_all(self, err);
}

void publish(self_ptr self) {
  auto& st = self->state;
  st.jobs = self->spawn(job_manager, st.settings, st.id, st.drivers,
                        st.journal, st.events);
  self->monitor(st.jobs);
  st.gatekeeper = self->spawn(gatekeeper_actor, st.settings, st.id,
                              st.drivers, caf::actor_cast<caf::actor>(self),
                              st.jobs, st.events);
  self->monitor(st.gatekeeper);
  auto& sys = self->system();
  open_door_early(sys, gatekeeper_door(sys, st.gatekeeper.id()));
  auto* net = net_layer::of(sys);
  auto mm = net != nullptr ? net->actor_for(!st.settings.insecure_tcp)
                           : caf::expected<caf::io::middleman_actor>{
                             make_error(errc::config_error,
                                        "the network layer is not running")};
  if (!mm) {
    report(self, mm.error(), 0);
    return;
  }
  // Published as the handshake interface only: that is all a client's
  // connect learns of it, and all its door lets through.
  auto ptr = caf::actor_cast<caf::strong_actor_ptr>(st.gatekeeper);
  self
    ->request(*mm, publish_timeout, caf::publish_atom::value,
              st.settings.listen.port, std::move(ptr),
              self->system().message_types<gatekeeper_remote>(),
              st.settings.listen.host, true)
    .then(
      [self](uint16_t port) {
        self->state.serving = true;
        FERRY_INFO("root", "serving at " << self->state.settings.uri());
        report(self, caf::none, port);
      },
      [self](caf::error& err) {
        report(self, make_error(errc::config_error,
                                "cannot listen on "
                                  + self->state.settings.listen.to_string()
                                  + ": " + error_text(err)),
               0);
      });
}

/// Stops every child, then the root: on shutdown, and when a child ends
/// while the agent serves. Each child is told while this actor still holds
/// its handle (a child destroyed as "unreachable" would skip its own exit
/// handler, which stops jobs, peer links and netchecks).
void stop_all(self_ptr self, const caf::error& reason) {
  auto& st = self->state;
  st.stopping = true;
  if (st.gatekeeper)
    self->send_exit(st.gatekeeper, reason);
  for (auto* child : {&st.jobs, &st.events})
    if (*child)
      self->send_exit(*child, reason);
  for (auto& [name, drv] : st.drivers)
    self->send_exit(drv, reason);
  self->quit(reason);
}

void on_child_down(self_ptr self, caf::down_msg& msg) {
  auto& st = self->state;
  if (st.stopping)
    return;
  auto why = msg.reason ? error_text(msg.reason) : "exited";
  for (auto& [name, drv] : st.drivers) {
    if (drv.address() != msg.source)
      continue;
    if (!st.serving) {
      report(self, make_error(errc::config_error,
                              "driver " + name + " failed to start: " + why),
             0);
      return;
    }
    FERRY_ERROR("root", "driver " << name << " stopped: " << why
                                  << "; stopping the agent");
    return stop_all(self, make_error(errc::internal, "driver " + name
                                                       + " stopped"));
  }
  const char* child = msg.source == st.gatekeeper.address() ? "gatekeeper"
                      : msg.source == st.jobs.address()     ? "job manager"
                      : msg.source == st.events.address()   ? "event bus"
                                                            : nullptr;
  if (child == nullptr)
    return;
  FERRY_ERROR("root", "the " << child << " stopped: " << why
                             << "; stopping the agent");
  stop_all(self, make_error(errc::internal, std::string{"the "} + child
                                              + " stopped"));
}

/// Starts one detached driver actor per configured driver and publishes
/// the gatekeeper once every one of them answered (`publish`).
void start_drivers(self_ptr self) {
  auto& st = self->state;
  for (auto& name : st.settings.drivers) {
    auto drv = self->spawn<caf::detached>(driver_actor, name, st.settings,
                                          st.journal, st.events);
    self->monitor(drv);
    st.drivers.emplace(name, drv);
  }
  st.drivers_pending = st.drivers.size();
  for (auto& [name, drv] : st.drivers) {
    self->request(drv, driver_open_timeout, get_driver_info{})
      .then(
        [self](const driver_info& info) {
          FERRY_INFO("root", "driver " << info.name << " ready"
                                       << (info.hypervisor_uri.empty()
                                             ? ""
                                             : ", hypervisor at "
                                                 + info.hypervisor_uri));
          if (--self->state.drivers_pending == 0)
            publish(self);
        },
        [](caf::error&) {
          // The down handler reports why the driver is gone.
        });
  }
}

/// The shell's view of the agent: its drivers, sessions and jobs.
caf::result<agent_snapshot> on_introspect(self_ptr self,
                                          const introspect& req) {
  auto& st = self->state;
  auto rp = self->make_response_promise<agent_snapshot>();
  auto snap = std::make_shared<agent_snapshot>();
  snap->agent_name = st.settings.name;
  auto remaining = std::make_shared<int>(3);
  auto done = [rp, snap, remaining]() mutable {
    if (--*remaining == 0)
      rp.deliver(*snap);
  };
  std::vector<caf::actor> drivers;
  for (auto& [name, drv] : st.drivers)
    drivers.push_back(drv);
  fan_out<driver_info>(self, drivers, get_driver_info{}, info_timeout,
                       [snap, done](std::vector<driver_info> xs) mutable {
                         snap->drivers = std::move(xs);
                         done();
                       });
  self->request(st.gatekeeper, info_timeout, req)
    .then(
      [snap, done](std::vector<session_summary>& xs) mutable {
        snap->sessions = std::move(xs);
        done();
      },
      [done](caf::error&) mutable { done(); });
  self->request(st.jobs, info_timeout, req)
    .then(
      [snap, done](std::vector<job_stats>& xs) mutable {
        snap->jobs = std::move(xs);
        done();
      },
      [done](caf::error&) mutable { done(); });
  return rp;
}

/// `nodeinfo`: this host, and what its job manager, gatekeeper and
/// drivers say (a driver that does not answer is listed as unavailable).
caf::result<node_info> on_node_info(self_ptr self) {
  auto rp = self->make_response_promise<node_info>();
  auto info = std::make_shared<node_info>();
  auto& st = self->state;
  info->agent_name = st.settings.name;
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  info->hostname = host;
  info->version = FERRY_VERSION;
  info->listen = st.settings.uri();
  auto remaining = std::make_shared<size_t>(st.drivers.size() + 2);
  auto done = [rp, info, remaining]() mutable {
    if (--*remaining == 0)
      rp.deliver(*info);
  };
  self->request(st.jobs, info_timeout, get_node_info{})
    .then(
      [info, done](uint32_t jobs) mutable {
        info->jobs = jobs;
        done();
      },
      [done](caf::error&) mutable { done(); });
  self->request(st.gatekeeper, info_timeout, get_node_info{})
    .then(
      [info, done](uint32_t sessions) mutable {
        info->sessions = sessions;
        done();
      },
      [done](caf::error&) mutable { done(); });
  for (auto& [name, drv] : st.drivers)
    self->request(drv, info_timeout, get_driver_info{})
      .then(
        [info, done](const driver_info& d) mutable {
          info->drivers.push_back(d);
          done();
        },
        [info, done, name = name](caf::error& err) mutable {
          driver_info d;
          d.name = name;
          d.hypervisor_uri = "unavailable: " + error_text(err);
          info->drivers.push_back(d);
          done();
        });
  return rp;
}

} // namespace

caf::behavior agent_root(door_stateful<agent_root_state>* self,
                         agent_settings settings, identity_ptr id,
                         std::shared_ptr<job_journal> journal,
                         ready_callback on_ready) {
  harden(self, "root");
  auto& st = self->state;
  st.settings = std::move(settings);
  st.id = std::move(id);
  st.journal = std::move(journal);
  st.on_ready = std::move(on_ready);
  // The bus first: drivers and jobs publish on it as soon as they run.
  st.events = self->spawn(event_bus, st.settings.name,
                          default_max_event_subscribers);
  self->monitor(st.events);
  self->set_down_handler(
    [self](caf::down_msg& msg) { on_child_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Only ferryd's main sends the root an exit (no other node can).
    stop_all(self, msg.reason ? msg.reason
                              : caf::error{caf::exit_reason::user_shutdown});
  });
  start_drivers(self);
  return {
    [self](const introspect& req) { return on_introspect(self, req); },
    [self](acl_update& up) {
      // From ferryd's main (local) on SIGHUP.
      if (self->state.gatekeeper)
        self->send(self->state.gatekeeper, std::move(up));
    },
    [self](const get_node_info&) { return on_node_info(self); },
  };
}

} // namespace ferry
