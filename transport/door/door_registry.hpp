#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/node_id.hpp>

namespace ferry {

/// The message type lists an actor accepts from other nodes, as CAF names
/// them on the wire ("@<>+ferry.hello"). Built from a typed interface
/// (transport/door/interface.hpp).
using type_lists = std::shared_ptr<const std::set<std::string>>;

/// What a remote node may send one local actor. Every actor that a remote
/// node may address has exactly one door; any other actor is unreachable
/// from the network (docs/security.md, "One door").
struct door {
  uint64_t actor = 0;     ///< The local actor.
  caf::node_id peer;      ///< Only this node; invalid = any node.
  uint64_t peer_actor = 0; ///< Only this actor of `peer`; 0 = any.
  type_lists accepts;     ///< Requests and messages it takes.
  /// Holding this door is being logged in (a session): the peer's
  /// connection gets the larger message limit and no login deadline.
  bool authenticates = false;
  std::string label; ///< For log lines, e.g. "session of 'ops'".
};

/// Limits on connections, most of them before a peer has logged in.
struct door_limits {
  size_t max_unauthenticated = 128;        ///< Whole agent.
  size_t max_unauthenticated_per_address = 16;
  std::chrono::milliseconds login_deadline{10000};
  /// A hello carries a certificate: a few KiB.
  size_t max_payload_before_login = 64 * 1024;
  /// The largest message ferry sends is a 1 MiB pump chunk or domain XML
  /// (messages/migration.hpp, drivers/domain_definition.cpp); answers such
  /// as a list of thousands of domains stay below this too.
  size_t max_payload = 4 * 1024 * 1024;
};

/// A connection as the registry tracks it (see `door_registry::open`).
struct connection_ref {
  uint64_t id = 0;
};

/// The process-wide table that ferry's transport consults for every BASP
/// message before CAF delivers it: which local actors are doors, for whom,
/// which node each connection speaks for, and which connections have not
/// logged in yet. Actors open and close doors (actors/door_actor.hpp); the
/// per-connection `basp_guard`s read it on CAF's multiplexer thread. All
/// members are thread-safe.
class door_registry {
public:
  explicit door_registry(caf::node_id self, door_limits limits = {});

  /// The registry of `sys`'s network layer, or null when the process has
  /// none (actor unit tests): opening doors is then a no-op.
  static std::shared_ptr<door_registry> of(caf::actor_system& sys);
  static void install(caf::actor_system& sys,
                      std::shared_ptr<door_registry> reg);
  static void uninstall(caf::actor_system& sys);

  const caf::node_id& self() const {
    return self_;
  }
  const door_limits& limits() const {
    return limits_;
  }

  // -- doors ------------------------------------------------------------------

  /// Opens (or replaces) `d.actor`'s door.
  void open(door d);

  /// Closes an actor's door; messages still in flight to it from its peer
  /// are dropped quietly for a while (see `recently_closed`).
  void close(uint64_t actor);

  /// The door of `actor`, if it has one.
  std::optional<door> find(uint64_t actor) const;

  /// True if `actor` had a door for `peer` that was closed in the last
  /// minute: late messages of a finished exchange, not an attack.
  bool recently_closed(uint64_t actor, const caf::node_id& peer) const;

  /// True if `peer` holds a door that authenticates (a session).
  bool logged_in(const caf::node_id& peer) const;

  // -- connections ------------------------------------------------------------

  /// Registers a new connection. `accepted` ones count against the
  /// unauthenticated limits until their node logs in; when a limit is
  /// reached the oldest unauthenticated connection (of the same address
  /// first) is closed to make room, so that silent or garbage connections
  /// cannot keep a real client out. `close` must close the connection; it
  /// is called on CAF's multiplexer thread, never under the registry's lock.
  connection_ref open_connection(const std::string& address, bool accepted,
                                 std::function<void()> close);

  /// Binds a connection to the node its handshake names. False if another
  /// live connection speaks for that node, or it is this process's own
  /// node: a node id is never shared between connections.
  bool bind_node(connection_ref conn, const caf::node_id& node);

  /// Forgets a closed connection and closes every door of its node (a
  /// later connection claiming the same node id reaches nothing it held).
  void connection_closed(connection_ref conn);

  /// Unauthenticated accepted connections now (for tests and logs).
  size_t unauthenticated() const;

private:
  struct conn_entry {
    std::string address;
    bool accepted = false;
    caf::node_id node;
    std::chrono::steady_clock::time_point opened;
    std::function<void()> close;
  };

  struct retired {
    uint64_t actor;
    caf::node_id peer;
    std::chrono::steady_clock::time_point when;
  };

  bool logged_in_locked(const caf::node_id& peer) const;
  void pick_victims(const std::string& address,
                    std::vector<std::function<void()>>& victims);

  caf::node_id self_;
  door_limits limits_;
  mutable std::mutex mtx_;
  std::map<uint64_t, door> doors_;
  std::deque<retired> retired_;
  uint64_t next_conn_ = 1;
  std::map<uint64_t, conn_entry> conns_;
};

/// A door held open for as long as this object lives, for an actor that
/// cannot check its own senders (a client's `scoped_actor` waiting for the
/// events its session relays). Does nothing without a network layer.
class scoped_door {
public:
  scoped_door(caf::actor_system& sys, door d);
  ~scoped_door();
  scoped_door(const scoped_door&) = delete;
  scoped_door& operator=(const scoped_door&) = delete;

private:
  std::shared_ptr<door_registry> reg_;
  uint64_t actor_;
};

} // namespace ferry
