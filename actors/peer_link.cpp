#include "actors/peer_link.hpp"

#include <caf/event_based_actor.hpp>

#include "transport/door/harden.hpp"
#include "messages/all.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using self_ptr = door_stateful<peer_link_state>*;

struct peer_link_tick {};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_link_tick&) {
  return f(caf::meta::type_name("ferry.peer_link_tick"));
}

std::string where(self_ptr self) {
  return self->state.req.uri.address.to_string();
}

void answer_waiters(self_ptr self, const caf::expected<peer_session>& res) {
  auto waiters = std::move(self->state.waiters);
  self->state.waiters.clear();
  for (auto& rp : waiters) {
    if (res)
      rp.deliver(*res);
    else
      rp.deliver(res.error());
  }
}

void connect(self_ptr self) {
  auto& st = self->state;
  st.connecting = true;
  connect_agent(self, st.req, [self](caf::expected<agent_link> l) {
    auto& st = self->state;
    st.connecting = false;
    if (!l) {
      // Nothing cached: the next job's request makes a new link that tries
      // again, so a peer that comes back is reachable at once.
      answer_waiters(self, l.error());
      self->quit();
      return;
    }
    peer_session s;
    s.session = l->session;
    s.agent_name = l->agent_name;
    s.roles = l->roles;
    self->monitor(s.session);
    FERRY_DEBUG("peers", "session with '" << s.agent_name << "' at "
                                          << where(self) << " opened");
    st.link = s;
    answer_waiters(self, s);
  });
}

void maybe_quit_unused(self_ptr self) {
  auto& st = self->state;
  if (st.closing && st.users.empty() && st.waiters.empty())
    self->quit();
}

} // namespace

caf::behavior peer_link(door_stateful<peer_link_state>* self,
                        connect_request req, caf::actor pool,
                        std::chrono::milliseconds idle) {
  harden(self, "peers");
  auto& st = self->state;
  st.req = std::move(req);
  st.pool = std::move(pool);
  st.idle = idle;
  st.unused_since = std::chrono::steady_clock::now();
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.link && msg.source == st.link->session.address()) {
      FERRY_INFO("peers", "session with '" << st.link->agent_name << "' at "
                                           << where(self) << " ended");
      self->quit(); // in-flight jobs see the session go down themselves
      return;
    }
    if (st.users.erase(msg.source) > 0 && st.users.empty())
      st.unused_since = std::chrono::steady_clock::now();
    maybe_quit_unused(self);
  });
  self->delayed_send(self, idle / 2, peer_link_tick{});
  return {
    [self](get_peer_session&) -> caf::result<peer_session> {
      auto& st = self->state;
      auto user = self->current_sender();
      if (user && st.users.insert(caf::actor_cast<caf::actor_addr>(user)).second)
        self->monitor(user);
      if (st.link)
        return *st.link;
      auto rp = self->make_response_promise<peer_session>();
      st.waiters.push_back(rp);
      if (!st.connecting)
        connect(self);
      return rp;
    },
    [self](peer_link_tick) {
      auto& st = self->state;
      auto now = std::chrono::steady_clock::now();
      if (!st.closing && st.users.empty() && !st.connecting
          && now - st.unused_since >= st.idle)
        self->send(st.pool, peer_link_idle{});
      self->delayed_send(self, st.idle / 2, peer_link_tick{});
    },
    [self](peer_link_close) {
      // The pool hands us to no one any more; every request it delegated
      // before this message has been served.
      self->state.closing = true;
      maybe_quit_unused(self);
    },
  };
}

} // namespace ferry
