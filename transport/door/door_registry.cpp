#include "transport/door/door_registry.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>

namespace ferry {

namespace {

using clock_type = std::chrono::steady_clock;

/// How long a closed door's late messages are dropped quietly.
constexpr auto retire_window = std::chrono::seconds{60};
constexpr size_t max_retired = 4096;

struct installed {
  std::mutex mtx;
  std::map<const caf::actor_system*, std::shared_ptr<door_registry>> regs;

  static installed& instance() {
    static installed x;
    return x;
  }
};

} // namespace

door_registry::door_registry(caf::node_id self, door_limits limits)
  : self_(std::move(self)), limits_(limits) {
}

std::shared_ptr<door_registry> door_registry::of(caf::actor_system& sys) {
  auto& x = installed::instance();
  std::lock_guard<std::mutex> guard{x.mtx};
  auto i = x.regs.find(&sys);
  return i != x.regs.end() ? i->second : nullptr;
}

void door_registry::install(caf::actor_system& sys,
                            std::shared_ptr<door_registry> reg) {
  auto& x = installed::instance();
  std::lock_guard<std::mutex> guard{x.mtx};
  x.regs[&sys] = std::move(reg);
}

void door_registry::uninstall(caf::actor_system& sys) {
  auto& x = installed::instance();
  std::lock_guard<std::mutex> guard{x.mtx};
  x.regs.erase(&sys);
}

void door_registry::open(door d) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto id = d.actor;
  doors_[id] = std::move(d);
}

void door_registry::close(uint64_t actor) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = doors_.find(actor);
  if (i == doors_.end())
    return;
  retired_.push_back({actor, i->second.peer, clock_type::now()});
  if (retired_.size() > max_retired)
    retired_.pop_front();
  doors_.erase(i);
}

std::optional<door> door_registry::find(uint64_t actor) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = doors_.find(actor);
  if (i == doors_.end())
    return std::nullopt;
  return i->second;
}

bool door_registry::recently_closed(uint64_t actor,
                                    const caf::node_id& peer) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto horizon = clock_type::now() - retire_window;
  for (auto i = retired_.rbegin(); i != retired_.rend() && i->when > horizon;
       ++i)
    if (i->actor == actor && (!i->peer || i->peer == peer))
      return true;
  return false;
}

bool door_registry::logged_in(const caf::node_id& peer) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return logged_in_locked(peer);
}

bool door_registry::logged_in_locked(const caf::node_id& peer) const {
  if (!peer)
    return false;
  for (auto& [id, d] : doors_)
    if (d.authenticates && d.peer == peer)
      return true;
  return false;
}

connection_ref door_registry::open_connection(const std::string& address,
                                              bool accepted,
                                              std::function<void()> close) {
  std::vector<std::function<void()>> victims;
  connection_ref ref;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (accepted)
      pick_victims(address, victims);
    ref.id = next_conn_++;
    conn_entry e;
    e.address = address;
    e.accepted = accepted;
    e.opened = clock_type::now();
    e.close = std::move(close);
    conns_.emplace(ref.id, std::move(e));
  }
  for (auto& f : victims)
    if (f)
      f();
  return ref;
}

void door_registry::pick_victims(const std::string& address,
                                 std::vector<std::function<void()>>& victims) {
  // Called for a newcomer: make room under both limits by closing the
  // oldest connections that have not logged in, its own address first.
  auto waiting = [&](const conn_entry& e) {
    return e.accepted && !logged_in_locked(e.node);
  };
  auto evict_oldest = [&](const std::string* only_address) {
    auto oldest = conns_.end();
    for (auto i = conns_.begin(); i != conns_.end(); ++i)
      if (waiting(i->second)
          && (only_address == nullptr || i->second.address == *only_address)
          && (oldest == conns_.end()
              || i->second.opened < oldest->second.opened))
        oldest = i;
    if (oldest == conns_.end())
      return false;
    victims.push_back(std::move(oldest->second.close));
    conns_.erase(oldest);
    return true;
  };
  auto count = [&](const std::string* only_address) {
    size_t n = 0;
    for (auto& [id, e] : conns_)
      if (waiting(e) && (only_address == nullptr || e.address == *only_address))
        ++n;
    return n;
  };
  while (count(&address) >= limits_.max_unauthenticated_per_address)
    if (!evict_oldest(&address))
      break;
  while (count(nullptr) >= limits_.max_unauthenticated)
    if (!evict_oldest(nullptr))
      break;
}

bool door_registry::bind_node(connection_ref conn, const caf::node_id& node) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!node || node == self_)
    return false;
  for (auto& [id, e] : conns_)
    if (id != conn.id && e.node == node)
      return false;
  auto i = conns_.find(conn.id);
  if (i == conns_.end())
    return false; // closed meanwhile (evicted)
  i->second.node = node;
  return true;
}

void door_registry::connection_closed(connection_ref conn) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = conns_.find(conn.id);
  if (i == conns_.end())
    return;
  auto node = i->second.node;
  conns_.erase(i);
  if (!node)
    return;
  auto now = clock_type::now();
  for (auto d = doors_.begin(); d != doors_.end();) {
    if (d->second.peer == node) {
      retired_.push_back({d->first, node, now});
      d = doors_.erase(d);
    } else {
      ++d;
    }
  }
  while (retired_.size() > max_retired)
    retired_.pop_front();
}

size_t door_registry::unauthenticated() const {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  for (auto& [id, e] : conns_)
    if (e.accepted && !logged_in_locked(e.node))
      ++n;
  return n;
}

scoped_door::scoped_door(caf::actor_system& sys, door d)
  : reg_(door_registry::of(sys)), actor_(d.actor) {
  if (reg_)
    reg_->open(std::move(d));
}

scoped_door::~scoped_door() {
  if (reg_)
    reg_->close(actor_);
}

} // namespace ferry
