#pragma once

#include <memory>

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>

#include "transport/door/door_registry.hpp"

namespace ferry {

/// A CAF doorman for plain TCP (`--insecure-tcp`) whose connections are
/// ferry's `basp_scribe`s: no encryption and no proven identity, but the
/// same door as over TLS (every message checked, the same limits).
class plain_doorman : public caf::io::network::doorman_impl {
public:
  plain_doorman(caf::io::network::default_multiplexer& mpx,
                caf::io::network::native_socket fd,
                std::shared_ptr<door_registry> doors);

  /// Called by the acceptor with a new socket.
  bool new_connection() override;

private:
  std::shared_ptr<door_registry> doors_;
};

} // namespace ferry
