#pragma once

#include <memory>

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>

#include "transport/door/door_registry.hpp"
#include "transport/tls/handshake_pool.hpp"
#include "transport/tls/tls_context.hpp"

namespace ferry {

/// A CAF doorman that admits a connection to BASP only after its TLS
/// handshake has succeeded.
///
///     accept (multiplexer thread)
///       └─> handshake_pool (its own threads, poll, timeout)
///             ├─ failed / timed out / pool full: close, one warning line
///             └─ done: post to the multiplexer thread
///                   ├─ doorman detached meanwhile: close
///                   └─ basp_scribe (its door) → broker.add_scribe
///                                              → new_connection_msg
///
/// The broker therefore never sees a connection that has not proven a
/// certificate from our CA, and the multiplexer thread never waits for, or
/// spins on, a handshake. A pending handshake keeps the doorman alive.
class tls_doorman : public caf::io::network::doorman_impl {
public:
  tls_doorman(caf::io::network::default_multiplexer& mpx,
              caf::io::network::native_socket fd,
              std::shared_ptr<const tls_context> ctx,
              std::shared_ptr<handshake_pool> pool,
              std::shared_ptr<door_registry> doors);

  /// Called by the acceptor with a new socket: starts its handshake.
  bool new_connection() override;

private:
  /// Hands an established connection to the broker (multiplexer thread).
  void admit(tls_handshake& hs);

  std::shared_ptr<const tls_context> ctx_;
  std::shared_ptr<handshake_pool> pool_;
  std::shared_ptr<door_registry> doors_;
};

} // namespace ferry
