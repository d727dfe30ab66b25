#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/node_id.hpp>

#include "transport/door/basp_frame.hpp"
#include "transport/door/door_registry.hpp"

namespace ferry {

/// The door of one BASP connection: it sees every message the peer sends
/// before CAF's BASP broker does, and every message this process sends it,
/// and decides what reaches an actor. ferry's scribe (transport/net/)
/// reads a header, asks `on_header`, reads the payload if told to, asks
/// `on_payload`, and hands the message to CAF only on `deliver`.
///
/// What passes (docs/security.md, "What the network can reach"):
///  - handshakes naming a node no other connection speaks for; heartbeats;
///  - requests and messages to an actor whose door admits this peer (and
///    this peer's sending actor), of a type list the door accepts, with no
///    forwarding stack;
///  - responses to requests this process sent on this connection, of plain
///    value types (never CAF's system messages);
///  - monitor requests for an actor the peer was shown, and down messages
///    about the peer's own actors.
/// Anything else closes the connection, except late messages to a door
/// that just closed and CAF's own "SpawnServ" query, which are dropped.
/// Until the peer logs in (holds a session), payloads are capped at
/// `max_payload_before_login` and the connection must log in within the
/// login deadline; afterwards at `max_payload`. The cap is checked on the
/// header, before anything is allocated.
class basp_guard {
public:
  enum class action {
    read_payload, ///< Read `payload_len` more bytes, then call on_payload.
    deliver,      ///< Give the message (header, payload) to CAF.
    drop,         ///< Discard it (after reading its payload, if any).
    close,        ///< Close the connection; `why` says why.
  };

  struct verdict {
    action what = action::deliver;
    uint32_t payload_len = 0;
    std::string why;
  };

  /// `accepted`: the peer connected to us (it must log in); otherwise we
  /// connected to it. `peer` names the other end for log lines.
  basp_guard(std::shared_ptr<door_registry> doors, connection_ref conn,
             bool accepted, std::string peer);

  /// The `basp::header_size` bytes of a header.
  verdict on_header(const char* p);

  /// The payload of the header last passed to `on_header`.
  verdict on_payload(const char* p, size_t n);

  /// Bytes this process is about to send (whole BASP messages, in order):
  /// records the requests whose responses may come back and the actors the
  /// peer has been shown.
  void on_outgoing(const char* p, size_t n);

  /// The header last passed to `on_header`, as received.
  const char* saved_header() const {
    return header_bytes_;
  }

  /// The node the peer's handshake named (invalid before it).
  const caf::node_id& peer_node() const {
    return node_;
  }

  const std::string& peer() const {
    return peer_;
  }

  /// Bounds on the per-connection tables.
  static constexpr size_t max_pending_requests = 4096;
  static constexpr size_t max_shown_actors = 4096;

private:
  verdict close(std::string why);
  verdict check_handshake(const basp::header& hdr);
  verdict check_message_header(const basp::header& hdr);
  verdict handshake_payload(const char* p, size_t n);
  verdict message_payload(const char* p, size_t n);
  verdict node_pair_payload(const char* p, size_t n);
  bool login_overdue() const;
  bool shown(uint64_t actor) const;
  void note_request(uint64_t source, uint64_t request_id);
  void note_shown(uint64_t actor);
  size_t payload_cap() const;

  std::shared_ptr<door_registry> doors_;
  connection_ref conn_;
  bool accepted_;
  std::string peer_;
  std::chrono::steady_clock::time_point opened_;
  caf::node_id node_;
  bool bound_ = false;   ///< Our node table agrees this connection is node_.
  mutable bool ever_logged_in_ = false; ///< The login deadline is met.
  int handshakes_ = 0;   ///< Handshakes received.
  /// A second connection of a node already connected (see
  /// handshake_payload): only heartbeats pass until its peer closes it.
  bool redundant_ = false;
  basp::header hdr_;     ///< The message in progress.
  char header_bytes_[basp::header_size] = {};
  /// What on_payload must check, decided on the header.
  enum class pending { none, handshake, message, node_pair, drop } pending_
    = pending::none;
  type_lists accepts_;   ///< For `message`: what the door takes.
  bool response_ = false;
  /// Requests we sent on this connection, as (local actor, request id).
  std::set<std::pair<uint64_t, uint64_t>> requests_;
  std::deque<std::pair<uint64_t, uint64_t>> request_order_;
  /// Local actors the peer has seen as a sender (it may monitor them).
  std::set<uint64_t> shown_;
  std::deque<uint64_t> shown_order_;
  /// Outgoing parse state: bytes of a header still to complete, or
  /// payload bytes still to skip.
  std::vector<char> out_header_;
  size_t out_skip_ = 0;
};

} // namespace ferry
