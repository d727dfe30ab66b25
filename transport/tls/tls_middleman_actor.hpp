#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>

#include "transport/tls/handshake_pool.hpp"
#include "transport/tls/stop_signal.hpp"
#include "transport/tls/tls_context.hpp"

namespace ferry {

/// What the TLS middleman actor works with; shared with `tls_layer`.
struct tls_middleman_parts {
  std::shared_ptr<tls_context> ctx;
  std::shared_ptr<handshake_pool> pool;
  std::shared_ptr<stop_signal> stop;
  std::chrono::milliseconds handshake_timeout{5000};
};

/// CAF's middleman actor (publish, connect, unpublish, close …) with ferry's
/// TLS underneath; answers the same typed interface as
/// `sys.middleman().actor_handle()` and talks to the same BASP broker.
///
///  - `open` listens and returns a `tls_doorman`, which handshakes in the
///    pool before BASP sees a connection.
///  - `connect` connects with a timeout and runs the client handshake right
///    here, waiting with poll() for at most the handshake timeout (this
///    actor runs detached, on its own thread, as CAF's does); the stop
///    signal ends the wait at once. Only an established session becomes a
///    `tls_scribe`.
///
/// Failures come back as ferry errors whose text tells the user what
/// happened ("the agent closed the connection during the handshake …").
class tls_middleman_actor : public caf::io::middleman_actor_impl {
public:
  tls_middleman_actor(caf::actor_config& cfg, caf::actor basp,
                      tls_middleman_parts parts);

  const char* name() const override {
    return "ferry.tls_middleman";
  }

protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host,
                                             uint16_t port) override;

  caf::expected<caf::io::doorman_ptr> open(uint16_t port, const char* addr,
                                           bool reuse) override;

private:
  caf::io::network::default_multiplexer& mpx();

  tls_middleman_parts parts_;
};

} // namespace ferry
