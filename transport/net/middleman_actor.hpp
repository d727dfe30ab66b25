#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>

#include "transport/door/door_registry.hpp"
#include "transport/tls/handshake_pool.hpp"
#include "transport/tls/stop_signal.hpp"
#include "transport/tls/tls_context.hpp"

namespace ferry {

/// What a middleman actor works with; shared with `net_layer`.
struct middleman_parts {
  std::shared_ptr<tls_context> ctx; ///< Null: plain TCP.
  std::shared_ptr<handshake_pool> pool;
  std::shared_ptr<stop_signal> stop;
  std::shared_ptr<door_registry> doors;
  std::chrono::milliseconds handshake_timeout{5000};
};

/// CAF's middleman actor (publish, connect, unpublish, close …) with ferry's
/// transport underneath: it answers the same typed interface as
/// `sys.middleman().actor_handle()` and talks to the same BASP broker, but
/// every connection it makes or accepts is a `basp_scribe` behind its door
/// (transport/door/). One runs for TLS and one for plain TCP.
///
///  - `open` listens and returns a `tls_doorman` (which handshakes in the
///    pool before BASP sees a connection) or a `plain_doorman`.
///  - `connect` connects with a timeout and, for TLS, runs the client
///    handshake right here, waiting with poll() for at most the handshake
///    timeout (this actor runs detached, on its own thread, as CAF's does);
///    the stop signal ends the wait at once. Only an established session
///    becomes a scribe.
///
/// Failures come back as ferry errors whose text tells the user what
/// happened ("the agent closed the connection during the handshake …").
class net_middleman_actor : public caf::io::middleman_actor_impl {
public:
  net_middleman_actor(caf::actor_config& cfg, caf::actor basp,
                      middleman_parts parts);

  const char* name() const override {
    return parts_.ctx ? "ferry.tls_middleman" : "ferry.tcp_middleman";
  }

protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host,
                                             uint16_t port) override;

  caf::expected<caf::io::doorman_ptr> open(uint16_t port, const char* addr,
                                           bool reuse) override;

private:
  caf::io::network::default_multiplexer& mpx();

  middleman_parts parts_;
};

} // namespace ferry
