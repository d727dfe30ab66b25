#include "actors/peer_links.hpp"

#include <caf/event_based_actor.hpp>

#include "transport/door/harden.hpp"
#include "messages/all.hpp"
#include "transport/uri.hpp"

namespace ferry {

namespace {

using self_ptr = door_stateful<peer_links_state>*;

void forget(self_ptr self, const caf::actor_addr& link) {
  auto& links = self->state.links;
  for (auto i = links.begin(); i != links.end(); ++i) {
    if (i->second.address() == link) {
      links.erase(i);
      return;
    }
  }
}

} // namespace

caf::behavior peer_links(door_stateful<peer_links_state>* self,
                         peer_links_config cfg) {
  harden(self, "peers");
  self->state.cfg = std::move(cfg);
  self->set_down_handler(
    [self](caf::down_msg& msg) { forget(self, msg.source); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (!msg.reason)
      return; // as CAF's default
    // The agent shuts down. A link lives until it has been idle for a
    // minute and the pool closes it: without this, every agent that had
    // run a peer-to-peer job waited for them forever when stopped.
    for (auto& [uri, link] : self->state.links)
      self->send_exit(link, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [self](get_peer_session& req) -> caf::result<peer_session> {
      auto& st = self->state;
      auto i = st.links.find(req.uri);
      if (i == st.links.end()) {
        auto uri = parse_agent_uri(req.uri);
        if (!uri)
          return uri.error();
        connect_request c;
        c.uri = *uri;
        c.id = st.cfg.id;
        c.client_name = st.cfg.agent_name;
        c.timeout = st.cfg.connect_timeout;
        auto link = self->spawn(peer_link, std::move(c),
                                caf::actor_cast<caf::actor>(self),
                                st.cfg.idle);
        self->monitor(link);
        i = st.links.emplace(req.uri, link).first;
      }
      self->delegate(i->second, std::move(req));
      return caf::delegated<peer_session>{};
    },
    [self](peer_link_idle) {
      // Forget the link first, then tell it: every request delegated to it
      // before this point reaches it before the close.
      auto link = caf::actor_cast<caf::actor>(self->current_sender());
      if (!link)
        return;
      forget(self, link.address());
      self->send(link, peer_link_close{});
    },
  };
}

} // namespace ferry
