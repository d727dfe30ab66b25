#pragma once

#include <chrono>
#include <memory>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>

#include "transport/tls_settings.hpp"

namespace ferry {

class handshake_pool;
class stop_signal;
class tls_context;

/// ferry's mutual-TLS transport for CAF's BASP, in place of CAF's openssl
/// module (which spins the multiplexer thread during handshakes, cannot be
/// stopped while a peer is frozen, and re-reads the certificate files for
/// every connection). See transport/tls/*.hpp for the parts.
///
/// Usage: create it after the actor system, destroy it before:
///
///     caf::actor_system sys{cfg};
///     auto tls = tls_layer::start(sys, settings, 5s);   // files read here
///     … request(tls_layer::of(sys)->actor_handle(), …, publish_atom …) …
///     tls->reset();                                      // or scope end
///
/// `actor_handle()` speaks the same typed interface as
/// `sys.middleman().actor_handle()`, so `publish_atom` and `connect_atom`
/// requests work unchanged. `of(sys)` finds the layer started for an actor
/// system, so code deep inside (agent root, connector) needs no extra
/// parameter; it is null when the process has no TLS (plain TCP only).
class tls_layer {
public:
  /// Reads the files, starts the handshake threads and spawns the TLS
  /// middleman actor. At most one layer per actor system.
  static caf::expected<std::unique_ptr<tls_layer>>
  start(caf::actor_system& sys, const tls_settings& tls,
        std::chrono::milliseconds handshake_timeout);

  /// The layer started for `sys`, or null.
  static tls_layer* of(caf::actor_system& sys);

  /// Stops (see `stop`).
  ~tls_layer();

  tls_layer(const tls_layer&) = delete;
  tls_layer& operator=(const tls_layer&) = delete;

  /// The middleman actor to send `publish_atom` / `connect_atom` to.
  caf::io::middleman_actor actor_handle() const {
    return actor_;
  }

  /// Re-reads the certificate, key and CA files; new connections use them
  /// if they are valid, else the error says why and nothing changes.
  caf::error reload();

  /// Handshakes currently waiting on the accepting side.
  size_t pending_handshakes() const;

  /// Aborts handshakes in progress, stops the middleman actor and waits
  /// for it. Established connections stay with CAF's BASP broker until the
  /// actor system ends. Idempotent.
  void stop();

private:
  tls_layer(caf::actor_system& sys, std::shared_ptr<tls_context> ctx,
            std::shared_ptr<handshake_pool> pool,
            std::shared_ptr<stop_signal> stop);

  caf::actor_system& sys_;
  std::shared_ptr<tls_context> ctx_;
  std::shared_ptr<handshake_pool> pool_;
  std::shared_ptr<stop_signal> stop_;
  caf::io::middleman_actor actor_;
};

} // namespace ferry
