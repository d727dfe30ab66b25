#pragma once

#include <chrono>
#include <memory>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>

#include "transport/door/door_registry.hpp"
#include "transport/tls_settings.hpp"

namespace ferry {

class handshake_pool;
class stop_signal;
class tls_context;

/// ferry's transport for CAF's BASP, in place of CAF's own TCP and openssl
/// modules. Every connection, TLS or plain, is a `basp_scribe` behind a
/// door (transport/door/): ferry, not CAF, decides which messages from the
/// network reach which actor. TLS is ferry's own too (CAF's openssl module
/// spins the multiplexer thread during handshakes, cannot be stopped while
/// a peer is frozen, and re-reads the certificate files for every
/// connection). See transport/tls/ and transport/door/ for the parts.
///
/// Usage: create it after the actor system, destroy it before:
///
///     caf::actor_system sys{cfg};
///     auto net = net_layer::start(sys, &settings, {});   // files read here
///     … request(net_layer::of(sys)->actor_for(true), …, publish_atom …) …
///     net->reset();                                       // or scope end
///
/// Its middleman actors speak the same typed interface as
/// `sys.middleman().actor_handle()`, so `publish_atom` and `connect_atom`
/// requests work unchanged. `of(sys)` finds the layer started for an actor
/// system, so code deep inside (agent root, connector) needs no extra
/// parameter. Every ferry process starts one; without certificates it
/// speaks plain TCP only.
class net_layer {
public:
  struct options {
    std::chrono::milliseconds handshake_timeout{5000};
    door_limits limits;
    size_t max_pending_handshakes = 64;        ///< TLS handshakes waiting.
    size_t max_pending_handshakes_per_address = 16;
  };

  /// Reads the TLS files (if `tls` is given), starts the handshake threads
  /// and spawns the middleman actors. At most one layer per actor system.
  static caf::expected<std::unique_ptr<net_layer>>
  start(caf::actor_system& sys, const tls_settings* tls, options opts);

  /// The layer started for `sys`, or null.
  static net_layer* of(caf::actor_system& sys);

  /// Stops (see `stop`).
  ~net_layer();

  net_layer(const net_layer&) = delete;
  net_layer& operator=(const net_layer&) = delete;

  /// The middleman actor for `ferry+tls` (`tls`) or `ferry+tcp`; an error
  /// if this process has no certificates and TLS is asked for.
  caf::expected<caf::io::middleman_actor> actor_for(bool tls) const;

  /// True when the layer speaks TLS (it was given certificate files).
  bool has_tls() const {
    return static_cast<bool>(tls_actor_);
  }

  /// The doors every connection of this process checks.
  const std::shared_ptr<door_registry>& doors() const {
    return doors_;
  }

  /// Re-reads the certificate, key and CA files; new connections use them
  /// if they are valid, else the error says why and nothing changes.
  caf::error reload();

  /// TLS handshakes currently waiting on the accepting side.
  size_t pending_handshakes() const;

  /// Aborts handshakes in progress, stops the middleman actors and waits
  /// for them. Established connections stay with CAF's BASP broker until
  /// the actor system ends. Idempotent.
  void stop();

private:
  net_layer(caf::actor_system& sys, std::shared_ptr<door_registry> doors);

  caf::actor_system& sys_;
  std::shared_ptr<door_registry> doors_;
  std::shared_ptr<tls_context> ctx_;
  std::shared_ptr<handshake_pool> pool_;
  std::shared_ptr<stop_signal> stop_;
  caf::io::middleman_actor tls_actor_;
  caf::io::middleman_actor plain_actor_;
};

} // namespace ferry
