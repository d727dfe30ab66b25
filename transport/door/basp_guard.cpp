#include "transport/door/basp_guard.hpp"

#include <cstring>

#include "util/error.hpp"

namespace ferry {

namespace {

/// Value types a response may carry besides ferry's own messages: never
/// CAF's system messages (exit, down, link atoms, actor handles, streams),
/// which CAF would act on before any handler sees them.
bool plain_value_type(const std::string& name) {
  static const std::set<std::string> builtins{
    "@str", "bool", "@u8",  "@u16",  "@u32",  "@u64",   "@i8",
    "@i16", "@i32", "@i64", "double", "float", "@error", "@unit",
    "@strvec"};
  // CAF names a vector of a registered type after its element.
  static const std::string vec = "std::vector<";
  if (name.size() > vec.size() + 1 && name.compare(0, vec.size(), vec) == 0
      && name.back() == '>')
    return plain_value_type(name.substr(vec.size(),
                                        name.size() - vec.size() - 1));
  return name.compare(0, 6, "ferry.") == 0 || builtins.count(name) != 0;
}

} // namespace

basp_guard::basp_guard(std::shared_ptr<door_registry> doors,
                       connection_ref conn, bool accepted, std::string peer)
  : doors_(std::move(doors)),
    conn_(conn),
    accepted_(accepted),
    peer_(std::move(peer)),
    opened_(std::chrono::steady_clock::now()) {
}

basp_guard::verdict basp_guard::close(std::string why) {
  verdict v;
  v.what = action::close;
  v.why = std::move(why);
  pending_ = pending::none;
  return v;
}

size_t basp_guard::payload_cap() const {
  auto& lim = doors_->limits();
  if (!accepted_ || (bound_ && doors_->logged_in(node_)))
    return lim.max_payload;
  return lim.max_payload_before_login;
}

bool basp_guard::login_overdue() const {
  if (!accepted_ || ever_logged_in_)
    return false;
  if (bound_ && doors_->logged_in(node_)) {
    ever_logged_in_ = true;
    return false;
  }
  return std::chrono::steady_clock::now() - opened_
         > doors_->limits().login_deadline;
}

basp_guard::verdict basp_guard::on_header(const char* p) {
  std::memcpy(header_bytes_, p, basp::header_size);
  auto hdr = basp::parse_header(p);
  if (!hdr)
    return close(error_text(hdr.error()));
  hdr_ = *hdr;
  pending_ = pending::none;
  if (hdr_.payload_len > payload_cap())
    return close("announced a " + std::to_string(hdr_.payload_len)
                 + "-byte message; the limit "
                 + (payload_cap() == doors_->limits().max_payload
                      ? std::string{}
                      : "before logging in ")
                 + "is " + std::to_string(payload_cap()));
  if (login_overdue())
    return close("did not log in within "
                 + std::to_string(doors_->limits().login_deadline.count())
                 + " ms");
  if (hdr_.operation == basp::op::server_handshake
      || hdr_.operation == basp::op::client_handshake)
    return check_handshake(hdr_);
  if (redundant_)
    return hdr_.operation == basp::op::heartbeat && hdr_.payload_len == 0
             ? verdict{action::drop, 0, {}}
             : close("sent a " + std::string{basp::to_string(hdr_.operation)}
                     + " on a second connection of a node already "
                       "connected");
  if (handshakes_ == 0)
    return hdr_.operation == basp::op::heartbeat && hdr_.payload_len == 0
             ? verdict{}
             : close(std::string{"sent a "} + basp::to_string(hdr_.operation)
                     + " before its handshake");
  return check_message_header(hdr_);
}

basp_guard::verdict basp_guard::check_handshake(const basp::header& hdr) {
  // The connecting side receives one server handshake; the accepting side
  // one client handshake and, at most once, its repetition that selects
  // this connection (CAF's own sequence).
  bool expected = accepted_ ? hdr.operation == basp::op::client_handshake
                                && handshakes_ < 2
                            : hdr.operation == basp::op::server_handshake
                                && handshakes_ == 0;
  if (!expected)
    return close(std::string{"sent an unexpected "}
                 + basp::to_string(hdr.operation));
  if (hdr.payload_len == 0)
    return close("sent a handshake without a node id");
  pending_ = pending::handshake;
  return {action::read_payload, hdr.payload_len, {}};
}

basp_guard::verdict
basp_guard::check_message_header(const basp::header& hdr) {
  switch (hdr.operation) {
    case basp::op::heartbeat:
      if (hdr.payload_len != 0)
        return close("sent a heartbeat with a payload");
      return {};
    case basp::op::routed_message:
      return close("sent a routed message (ferry routes nothing)");
    case basp::op::monitor_message:
    case basp::op::down_message:
      if (hdr.payload_len == 0)
        return close("sent a monitor or down message without node ids");
      pending_ = pending::node_pair;
      return {action::read_payload, hdr.payload_len, {}};
    case basp::op::direct_message:
      break;
    default:
      return close(std::string{"sent an unexpected "}
                   + basp::to_string(hdr.operation));
  }
  if (hdr.payload_len == 0)
    return close("sent a message without content");
  // A response may come without a sender: CAF bounces a request to an
  // actor that is gone with an anonymous error.
  if (hdr.source_actor == 0 && !hdr.is_response())
    return close("sent a message without a sender");
  if (!hdr.ordinary_category())
    return close("sent a stream message (ferry uses none)");
  if (hdr.has(basp::named_receiver_flag)) {
    // CAF asks every new peer's spawn server about itself; ferry answers
    // nothing by name (no actor is reachable by a registered name).
    if (hdr.dest_actor == basp::spawn_server_atom() && !hdr.is_response()) {
      pending_ = pending::drop;
      return {action::read_payload, hdr.payload_len, {}};
    }
    return close("addressed an actor by name");
  }
  response_ = hdr.is_response();
  if (response_) {
    if (requests_.count({hdr.dest_actor, hdr.request_id()}) == 0)
      return close("sent a response to actor " + std::to_string(hdr.dest_actor)
                   + " that it was never asked for");
    pending_ = pending::message;
    return {action::read_payload, hdr.payload_len, {}};
  }
  auto d = doors_->find(hdr.dest_actor);
  bool admits = d && (!d->peer || d->peer == node_)
                && (d->peer_actor == 0 || d->peer_actor == hdr.source_actor);
  if (!admits) {
    if (doors_->recently_closed(hdr.dest_actor, node_)) {
      pending_ = pending::drop;
      return {action::read_payload, hdr.payload_len, {}};
    }
    return close("addressed actor " + std::to_string(hdr.dest_actor)
                 + ", which is not open to it");
  }
  accepts_ = d->accepts;
  pending_ = pending::message;
  return {action::read_payload, hdr.payload_len, {}};
}

basp_guard::verdict basp_guard::on_payload(const char* p, size_t n) {
  auto what = pending_;
  pending_ = pending::none;
  if (n != hdr_.payload_len)
    return close("sent a short payload");
  switch (what) {
    case pending::handshake:
      return handshake_payload(p, n);
    case pending::message:
      return message_payload(p, n);
    case pending::node_pair:
      return node_pair_payload(p, n);
    case pending::drop:
      return {action::drop, 0, {}};
    case pending::none:
      break;
  }
  return close("sent a payload nobody announced");
}

basp_guard::verdict basp_guard::handshake_payload(const char* p, size_t n) {
  auto nodes = basp::parse_nodes(p, n, 1);
  if (!nodes || !nodes->front())
    return close("sent a handshake without a valid node id");
  auto& node = nodes->front();
  ++handshakes_;
  if (handshakes_ > 1) {
    if (node != node_)
      return close("changed its node id in a repeated handshake");
    return {};
  }
  node_ = node;
  bound_ = doors_->bind_node(conn_, node_);
  if (!bound_ && accepted_) {
    if (node_ == doors_->self())
      return close("claims this process's own node id");
    // A node we already reach connected to us too (each side connected to
    // the other at about the same time): its CAF closes this connection
    // once it reads our handshake. Until then CAF must not learn of it (it
    // would become a second route to that node), and nothing but a
    // heartbeat may pass: a peer pretending to be another node gets no
    // further than this.
    redundant_ = true;
    return {action::drop, 0, {}};
  }
  // Connecting side: a second connection to a node we already reach is
  // closed by CAF itself as redundant once it sees this handshake.
  return {};
}

basp_guard::verdict basp_guard::message_payload(const char* p, size_t n) {
  auto head = basp::parse_message_head(p, n);
  if (!head)
    return close(error_text(head.error()));
  if (head->stack_size != 0)
    return close("sent a message with a forwarding stack");
  if (response_) {
    auto types = basp::split_types(head->types);
    if (!types)
      return close(error_text(types.error()));
    for (auto& t : *types)
      if (!plain_value_type(t))
        return close("sent a response of type " + t);
    requests_.erase({hdr_.dest_actor, hdr_.request_id()});
    return {};
  }
  if (!accepts_ || accepts_->count(head->types) == 0)
    return close("sent " + head->types + " to actor "
                 + std::to_string(hdr_.dest_actor)
                 + ", which does not take it from other nodes");
  return {};
}

basp_guard::verdict basp_guard::node_pair_payload(const char* p, size_t n) {
  auto nodes = basp::parse_nodes(p, n, 2);
  if (!nodes)
    return close(error_text(nodes.error()));
  if ((*nodes)[0] != node_ || (*nodes)[1] != doors_->self())
    return close(std::string{"sent a "} + basp::to_string(hdr_.operation)
                 + " in another node's name");
  if (hdr_.operation == basp::op::down_message)
    return {}; // about one of its own actors: ends our proxy of it
  auto target = hdr_.dest_actor;
  if (shown(target))
    return {};
  auto d = doors_->find(target);
  if (d && (!d->peer || d->peer == node_))
    return {};
  // Not an attack worth a closed connection (nothing happens without it),
  // but nothing the peer was shown either.
  return {action::drop, 0,
          "monitor of actor " + std::to_string(target) + " it was never shown"};
}

bool basp_guard::shown(uint64_t actor) const {
  return shown_.count(actor) != 0;
}

void basp_guard::note_request(uint64_t source, uint64_t request_id) {
  if (!requests_.emplace(source, request_id).second)
    return;
  request_order_.emplace_back(source, request_id);
  while (request_order_.size() > max_pending_requests) {
    requests_.erase(request_order_.front());
    request_order_.pop_front();
  }
  // Answered entries stay in the order list until they reach its front.
  if (request_order_.size() > 2 * requests_.size() + 64) {
    std::deque<std::pair<uint64_t, uint64_t>> kept;
    for (auto& x : request_order_)
      if (requests_.count(x) != 0)
        kept.push_back(x);
    request_order_.swap(kept);
  }
}

void basp_guard::note_shown(uint64_t actor) {
  if (actor == 0 || !shown_.insert(actor).second)
    return;
  shown_order_.push_back(actor);
  if (shown_order_.size() > max_shown_actors) {
    shown_.erase(shown_order_.front());
    shown_order_.pop_front();
  }
}

void basp_guard::on_outgoing(const char* p, size_t n) {
  while (n > 0) {
    if (out_skip_ > 0) {
      auto k = std::min(out_skip_, n);
      out_skip_ -= k;
      p += k;
      n -= k;
      continue;
    }
    auto want = basp::header_size - out_header_.size();
    auto k = std::min(want, n);
    out_header_.insert(out_header_.end(), p, p + k);
    p += k;
    n -= k;
    if (out_header_.size() < basp::header_size)
      return;
    auto hdr = basp::parse_header(out_header_.data());
    out_header_.clear();
    if (!hdr)
      continue; // CAF wrote it; nothing to learn from it
    out_skip_ = hdr->payload_len;
    if (hdr->operation != basp::op::direct_message)
      continue;
    note_shown(hdr->source_actor);
    if (hdr->is_request())
      note_request(hdr->source_actor, hdr->request_id());
  }
}

} // namespace ferry
