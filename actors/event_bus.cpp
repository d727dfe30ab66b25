#include "actors/event_bus.hpp"

#include <algorithm>
#include <chrono>

#include <caf/result.hpp>
#include <caf/send.hpp>

#include "transport/door/harden.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using self_ptr = door_stateful<event_bus_state>*;

/// A subscriber went away.
void on_down(self_ptr self, caf::down_msg& msg) {
  auto& subs = self->state.subscribers;
  auto i = std::remove_if(subs.begin(), subs.end(), [&](auto& s) {
    return s.hdl.address() == msg.source;
  });
  if (i == subs.end())
    return;
  subs.erase(i, subs.end());
  FERRY_INFO("events", "subscriber gone (" << subs.size() << " left)");
}

/// The sender subscribes (or changes its domain filter).
caf::result<bool> on_subscribe(self_ptr self, subscribe_events& req) {
  auto& st = self->state;
  auto subscriber = caf::actor_cast<caf::actor>(self->current_sender());
  if (!subscriber)
    return make_error(errc::invalid_argument, "no subscriber");
  if (auto err = check_subscription(req))
    return err;
  for (auto& s : st.subscribers)
    if (s.hdl == subscriber) {
      s.domain = std::move(req.domain);
      return true;
    }
  if (st.subscribers.size() >= st.max_subscribers) {
    FERRY_WARN("events", "refused a subscriber: already "
                           << st.subscribers.size());
    return make_error(errc::limit_exceeded,
                      "the agent already has "
                        + std::to_string(st.max_subscribers)
                        + " event subscribers");
  }
  self->monitor(subscriber);
  st.subscribers.push_back({std::move(subscriber), std::move(req.domain)});
  FERRY_INFO("events", "subscriber added ("
                         << st.subscribers.size() << " now)");
  return true;
}

/// An event from this agent's drivers or jobs, to every subscriber whose
/// filter matches.
void on_publish(self_ptr self, domain_event& ev) {
  auto& st = self->state;
  if (ev.agent.empty())
    ev.agent = st.agent_name;
  ++st.published;
  size_t sent = 0;
  for (auto& s : st.subscribers)
    if (s.domain.empty() || s.domain == ev.domain) {
      self->send(s.hdl, ev);
      ++sent;
    }
  FERRY_INFO("events", "lifecycle: " << ev.domain << " "
                                     << to_string(ev.kind)
                                     << (ev.job_id.empty() ? ""
                                                           : " (job "
                                                               + ev.job_id
                                                               + ")")
                                     << (ev.detail.empty()
                                           ? ""
                                           : ": " + ev.detail)
                                     << " -> " << sent << " subscriber"
                                     << (sent == 1 ? "" : "s"));
}

} // namespace

caf::behavior event_bus(door_stateful<event_bus_state>* self,
                        std::string agent_name, size_t max_subscribers) {
  harden(self, "events");
  self->state.agent_name = std::move(agent_name);
  self->state.max_subscribers = max_subscribers;
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  return {
    [self](subscribe_events& req) { return on_subscribe(self, req); },
    [self](domain_event& ev) { on_publish(self, ev); },
  };
}

} // namespace ferry
