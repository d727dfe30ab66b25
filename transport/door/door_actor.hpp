#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/invoke_message_result.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "transport/door/door_registry.hpp"
#include "util/log.hpp"

namespace ferry {

/// An actor that checks the sender of every message it takes: a message
/// from another node is handled only if this actor opened its door to that
/// node (and that actor there), else dropped with a warning. The transport
/// enforces the same door first (transport/door/basp_guard.hpp); this is
/// the second lock, in case a message reaches the actor some other way.
///
/// Exempt: responses (CAF matches them to requests this actor made) and
/// down messages (CAF makes them here, from the proxy of a monitored
/// remote actor). An exit message from another node is never taken, so no
/// remote peer can stop an actor or link to it.
///
/// Use it as the base of a stateful actor (`door_stateful<State>`, or
/// `caf::stateful_actor<State, door_actor<typed_event_based_actor<…>>>`)
/// and call `open_door` where the actor first learns who its peer is.
template <class Base>
class door_actor : public Base {
public:
  using Base::Base;

  /// Opens this actor to `peer` (and, if nonzero, only its actor
  /// `peer_actor`) for the type lists in `accepts`; replaces an earlier
  /// door. A door to this actor's own node is not needed and not opened.
  /// The door closes when the actor terminates.
  void open_door(const caf::node_id& peer, uint64_t peer_actor,
                 type_lists accepts, bool authenticates, std::string label) {
    door d;
    d.actor = this->id();
    d.peer = peer;
    d.peer_actor = peer_actor;
    d.accepts = std::move(accepts);
    d.authenticates = authenticates;
    d.label = std::move(label);
    open_door(std::move(d));
  }

  /// Opens the door `d` (whose `actor` must be this actor).
  void open_door(door d) {
    if (d.peer && d.peer == this->node())
      return;
    door_ = d;
    if (auto reg = door_registry::of(this->system())) {
      reg->open(std::move(d));
      if (!closes_on_exit_) {
        closes_on_exit_ = true;
        std::weak_ptr<door_registry> weak = reg;
        this->attach_functor([weak, id = this->id()] {
          if (auto r = weak.lock())
            r->close(id);
        });
      }
    }
  }

  /// Closes the door early (the actor stays).
  void close_door() {
    door_.reset();
    if (auto reg = door_registry::of(this->system()))
      reg->close(this->id());
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    if (admits(x))
      return Base::consume(x);
    FERRY_WARN(this->name(),
               "dropped a message from " << caf::to_string(x.sender->node())
                                         << " (actor " << x.sender->id()
                                         << "), which this actor is not "
                                            "open to");
    return caf::invoke_message_result::dropped;
  }

private:
  bool admits(const caf::mailbox_element& x) const {
    if (!x.sender || x.sender->node() == this->node() || x.mid.is_response())
      return true;
    if (x.content().template match_elements<caf::down_msg>())
      return true;
    if (x.content().template match_elements<caf::exit_msg>())
      return false;
    return door_ && (!door_->peer || door_->peer == x.sender->node())
           && (door_->peer_actor == 0 || door_->peer_actor == x.sender->id());
  }

  std::optional<door> door_;
  bool closes_on_exit_ = false;
};

/// Opens `d` in `sys`'s door registry now, for the spawner of an actor
/// whose handle leaves the node before the actor itself ran (the actor
/// opens the same door when it starts, for its own check): without it, a
/// peer answered fast enough could reach the actor before its door exists.
inline void open_door_early(caf::actor_system& sys, door d) {
  if (auto reg = door_registry::of(sys))
    if (!d.peer || d.peer != sys.node())
      reg->open(std::move(d));
}

/// A stateful event-based actor behind a door (see `door_actor`).
template <class State>
using door_stateful = caf::stateful_actor<State, door_actor<caf::event_based_actor>>;

/// A stateful typed actor behind a door.
template <class Handle, class State>
using door_typed = caf::stateful_actor<State, door_actor<typename Handle::base>>;

} // namespace ferry
