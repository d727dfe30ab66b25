#include "actors/agent_root.hpp"

#include <memory>
#include <set>

#include <unistd.h>

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/result.hpp>

#include "actors/driver_actor.hpp"
#include "actors/event_bus.hpp"
#include "actors/fan_out.hpp"
#include "actors/gatekeeper.hpp"
#include "actors/job_manager.hpp"
#include "actors/hardening.hpp"
#include "messages/all.hpp"
#include "transport/tls/tls_layer.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using self_ptr = caf::stateful_actor<agent_root_state>*;

constexpr auto driver_open_timeout = std::chrono::seconds{120};
constexpr auto publish_timeout = std::chrono::seconds{10};
constexpr auto info_timeout = std::chrono::seconds{10};
constexpr auto subscribe_timeout = std::chrono::seconds{10};

void report(self_ptr self, const caf::error& err, uint16_t port) {
  if (self->state.on_ready) {
    auto cb = std::move(self->state.on_ready);
    self->state.on_ready = nullptr;
    cb(err, port);
  }
  if (err)
    self->quit(err);
}

void publish(self_ptr self) {
  auto& st = self->state;
  st.jobs = self->spawn<caf::linked>(job_manager, st.settings, st.id,
                                     st.drivers, st.journal);
  st.gatekeeper = self->spawn<caf::linked>(gatekeeper_actor, st.settings,
                                           st.id, st.drivers,
                                           caf::actor_cast<caf::actor>(self),
                                           st.jobs);
  auto& sys = self->system();
  caf::io::middleman_actor mm;
  if (st.settings.insecure_tcp) {
    mm = sys.middleman().actor_handle();
  } else if (auto* tls = tls_layer::of(sys)) {
    mm = tls->actor_handle();
  } else {
    report(self, make_error(errc::config_error,
                            "the TLS transport is not running"),
           0);
    return;
  }
  auto ptr = caf::actor_cast<caf::strong_actor_ptr>(st.gatekeeper);
  self
    ->request(mm, publish_timeout, caf::publish_atom::value,
              st.settings.listen.port, std::move(ptr), std::set<std::string>{},
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

} // namespace

caf::behavior agent_root(caf::stateful_actor<agent_root_state>* self,
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
  st.events = self->spawn<caf::linked>(event_bus, st.settings.name,
                                       default_max_event_subscribers);
  register_event_bus(self->system(), st.events);
  self->set_down_handler([self](caf::down_msg& msg) {
    for (auto& [name, drv] : self->state.drivers) {
      if (drv.address() != msg.source)
        continue;
      auto why = msg.reason ? error_text(msg.reason) : "exited";
      if (!self->state.serving) {
        report(self, make_error(errc::config_error,
                                "driver " + name + " failed to start: " + why),
               0);
      } else {
        FERRY_ERROR("root", "driver " << name << " stopped: " << why);
        self->quit(msg.reason);
      }
      return;
    }
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (!msg.reason)
      return; // a linked child ended normally: as CAF's default
    // The agent stops. Tell every child while this actor still holds its
    // handle: the exit that a link sends only after our state is gone can
    // find a child already destroyed as "unreachable" (its last handle was
    // ours), and then the child's own exit handler, which stops its jobs,
    // peer links and netchecks, never runs.
    auto& st = self->state;
    for (auto* child : {&st.gatekeeper, &st.jobs, &st.events})
      if (*child)
        self->send_exit(*child, msg.reason);
    for (auto& [name, drv] : st.drivers)
      self->send_exit(drv, msg.reason);
    self->quit(msg.reason);
  });
  for (auto& name : st.settings.drivers) {
    auto drv = self->spawn<caf::detached + caf::linked>(driver_actor, name,
                                                        st.settings,
                                                        st.journal);
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
  return {
    [self](const introspect& req) -> caf::result<agent_snapshot> {
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
        .then([snap, done](std::vector<session_summary>& xs) mutable {
                snap->sessions = std::move(xs);
                done();
              },
              [done](caf::error&) mutable { done(); });
      self->request(st.jobs, info_timeout, req)
        .then([snap, done](std::vector<job_stats>& xs) mutable {
                snap->jobs = std::move(xs);
                done();
              },
              [done](caf::error&) mutable { done(); });
      return rp;
    },
    [self](subscribe_events& req) -> caf::result<bool> {
      // Answered here rather than delegated: the bus's handle stays local,
      // so that no client can publish on it.
      auto rp = self->make_response_promise<bool>();
      self->request(self->state.events, subscribe_timeout, std::move(req))
        .then([rp](bool ok) mutable { rp.deliver(ok); },
              [rp](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [self](const get_node_info&) -> caf::result<node_info> {
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
        .then([info, done](uint32_t jobs) mutable {
          info->jobs = jobs;
          done();
        },
              [done](caf::error&) mutable { done(); });
      self->request(st.gatekeeper, info_timeout, get_node_info{})
        .then([info, done](uint32_t sessions) mutable {
          info->sessions = sessions;
          done();
        },
              [done](caf::error&) mutable { done(); });
      for (auto& [name, drv] : st.drivers) {
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
      }
      return rp;
    },
  };
}

} // namespace ferry
