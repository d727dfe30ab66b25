#pragma once

#include <string>
#include <vector>

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>

#include "transport/tls/openssl_handles.hpp"
#include "transport/tls/tls_stream_policy.hpp"

namespace ferry {

/// A BASP connection over an established TLS session: a CAF scribe whose
/// stream reads and writes through `tls_stream_policy`.
///
/// It is created only after the handshake has finished (by the connecting
/// middleman actor, or by `tls_doorman` once the handshake pool is done),
/// so it registers for write events only while it has bytes to send. It
/// owns the socket (closed by CAF's stream) and the session (freed by the
/// policy) and starts reading on the first `configure_read`, like CAF's.
class tls_scribe : public caf::io::scribe {
public:
  tls_scribe(caf::io::network::default_multiplexer& mpx,
             caf::io::network::native_socket fd, ssl_ptr ssl);

  ~tls_scribe() override;

  void configure_read(caf::io::receive_policy::config config) override;
  void ack_writes(bool enable) override;
  std::vector<char>& wr_buf() override;
  std::vector<char>& rd_buf() override;
  void graceful_shutdown() override;
  void flush() override;
  std::string addr() const override;
  uint16_t port() const override;
  void add_to_loop() override;
  void remove_from_loop() override;

private:
  bool launched_ = false;
  caf::io::network::stream_impl<tls_stream_policy> stream_;
};

} // namespace ferry
