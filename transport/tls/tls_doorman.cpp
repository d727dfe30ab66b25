#include "transport/tls/tls_doorman.hpp"

#include <unistd.h>

#include <caf/intrusive_ptr.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/make_counted.hpp>

#include "util/error.hpp"
#include "transport/net/accepted_socket.hpp"
#include "transport/net/basp_scribe.hpp"
#include "transport/tls/tls_stream_policy.hpp"
#include "util/log.hpp"

namespace ferry {

tls_doorman::tls_doorman(caf::io::network::default_multiplexer& mpx,
                         caf::io::network::native_socket fd,
                         std::shared_ptr<const tls_context> ctx,
                         std::shared_ptr<handshake_pool> pool,
                         std::shared_ptr<door_registry> doors)
  : caf::io::network::doorman_impl(mpx, fd),
    ctx_(std::move(ctx)),
    pool_(std::move(pool)),
    doors_(std::move(doors)) {
}

bool tls_doorman::new_connection() {
  int fd = net_detail::take_accepted_socket(acceptor_);
  if (fd < 0)
    return true;
  if (detached()) {
    // The broker let go of us while the multiplexer still had our event.
    ::close(fd);
    return false;
  }
  auto peer = tls_handshake::peer_of(fd);
  auto ssl = ctx_->new_session(fd, true);
  if (!ssl) {
    FERRY_WARN("tls", "dropped connection from " << peer << ": "
                                                 << error_text(ssl.error()));
    ::close(fd);
    return true;
  }
  auto hs = std::make_unique<tls_handshake>(fd, std::move(*ssl),
                                            std::move(peer));
  caf::intrusive_ptr<tls_doorman> self{this};
  auto* mpx = &acceptor_.backend();
  pool_->submit(std::move(hs), [self, mpx](std::unique_ptr<tls_handshake> ok) {
    // Posted jobs must be copyable: share the handshake. If the job never
    // runs (multiplexer shutting down), the last owner closes the socket.
    std::shared_ptr<tls_handshake> done{std::move(ok)};
    mpx->post([self, done] { self->admit(*done); });
  });
  return true;
}

void tls_doorman::admit(tls_handshake& hs) {
  if (detached() || hs.fd() < 0)
    return; // Unpublished or shutting down: the owner closes the socket.
  auto& mpx = acceptor_.backend();
  int fd = -1;
  auto ssl = hs.release(fd);
  auto scribe = caf::make_counted<basp_scribe<tls_stream_policy>>(
    mpx, fd, doors_, true, tls_stream_policy{std::move(ssl)});
  auto hdl = scribe->hdl();
  parent()->add_scribe(std::move(scribe));
  caf::io::doorman::new_connection(&mpx, hdl);
}

} // namespace ferry
