#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>
#include <caf/node_id.hpp>

#include "transport/door/basp_frame.hpp"
#include "transport/tls/openssl_handles.hpp"
#include "transport/tls_settings.hpp"

namespace ferry::attack {

using namespace std::chrono_literals;

/// One BASP message as it came off the wire.
struct frame {
  basp::header hdr;
  std::vector<char> payload;
};

/// What a successful login left us.
struct login_result {
  uint64_t session = 0;  ///< The session's actor id.
  caf::node_id agent;    ///< The agent's node.
  std::vector<uint8_t> roles;
};

/// A hostile client built from ferry's own library: it speaks TLS through
/// ferry's TLS code and writes BASP frames byte by byte, so it can send
/// what no CAF actor would (any header, any destination, any message, with
/// any node id), and see how the agent answers: a frame, an error, silence
/// or a closed connection.
class raw_peer {
public:
  /// Connects to `host:port`, over mutual TLS with `tls` unless it is
  /// null (plain TCP). Sends nothing yet.
  static caf::expected<std::unique_ptr<raw_peer>>
  open(const std::string& host, uint16_t port, const tls_settings* tls,
       std::chrono::milliseconds timeout = 5s);

  ~raw_peer();
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  /// Writes `bytes`; false once the connection is gone.
  bool send(const std::vector<char>& bytes);

  /// Writes a header announcing `payload.size()` (unless `hdr.payload_len`
  /// is set) and the payload.
  bool send_frame(basp::header hdr, const std::vector<char>& payload = {});

  /// The next frame, skipping heartbeats; none on timeout or when closed.
  std::optional<frame> next(std::chrono::milliseconds timeout = 3s);

  /// True if the agent closes the connection within `timeout` (whatever
  /// it sends meanwhile is read and dropped).
  bool closed_within(std::chrono::milliseconds timeout = 3s);

  /// BASP's handshake as a client: reads the agent's server handshake and
  /// answers with one naming `self` (CAF's own sequence: a client
  /// handshake, then the same with the select-connection flag). Returns
  /// the published gatekeeper's actor id.
  caf::expected<uint64_t> handshake(const caf::node_id& self);

  /// A request or message from our actor `source` to `dest` carrying
  /// `msg`, serialized as CAF does (types named by `sys`).
  bool send_message(caf::actor_system& sys, uint64_t source, uint64_t dest,
                    const caf::message& msg, uint64_t request_id = 0,
                    uint8_t flags = 0);

  /// Waits for the response to `request_id` sent by `source`; skips other
  /// frames. The payload's message, read with `sys`'s types.
  caf::expected<caf::message> response(caf::actor_system& sys, uint64_t source,
                                       uint64_t request_id,
                                       std::chrono::milliseconds timeout = 5s);

  /// The identity handshake with the gatekeeper (hello, challenge, proof)
  /// as `tls`'s identity (or, over plain TCP, the claimed `name`). With
  /// `stop_after_hello`, sends only the hello and returns a zero session.
  caf::expected<login_result> login(caf::actor_system& sys,
                                    const tls_settings* tls,
                                    const std::string& name,
                                    uint64_t gatekeeper,
                                    bool stop_after_hello = false);

  /// The node id this peer claimed in `handshake`.
  const caf::node_id& node() const {
    return node_;
  }

private:
  raw_peer(int fd, ssl_ptr ssl);
  bool read_exactly(char* buf, size_t n,
                    std::chrono::steady_clock::time_point deadline);

  int fd_;
  ssl_ptr ssl_;
  caf::node_id node_;
  uint64_t next_request_ = 1;
};

/// A node id nobody else has (pid and host chosen at random).
caf::node_id fresh_node_id();

/// A request id with CAF's normal-category bits, as on the wire.
uint64_t request_mid(uint64_t id);

} // namespace ferry::attack
