#pragma once

#include <cstddef>

#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/rw_state.hpp>

#include "transport/tls/openssl_handles.hpp"

namespace ferry {

/// The protocol policy of CAF's `stream_impl` for an established TLS 1.3
/// session: SSL_read and SSL_write instead of recv and send.
///
/// No handshake happens here: sessions arrive established, so the stream
/// never needs a write event it cannot use. "Would block" in either
/// direction is reported as success with 0 bytes, which makes CAF's stream
/// stop and wait for the socket event it is already registered for:
///  - SSL_read wants to read: the socket has no full record yet;
///  - SSL_write wants to write: the send buffer is full.
/// With TLS 1.3, no tickets, no renegotiation and no post-handshake
/// authentication, SSL_write never needs to read and SSL_read only needs to
/// write to answer a key update request, which ferry peers never send.
/// Every other outcome (close_notify, EOF, reset, a bad record) is
/// `rw_state::failure`, which closes the connection.
class tls_stream_policy {
public:
  using native_socket = caf::io::network::native_socket;
  using rw_state = caf::io::network::rw_state;

  explicit tls_stream_policy(ssl_ptr ssl);

  rw_state read_some(size_t& result, native_socket fd, void* buf, size_t len);

  rw_state write_some(size_t& result, native_socket fd, const void* buf,
                      size_t len);

  /// True while decrypted bytes wait inside the session: the socket would
  /// not report them as readable.
  bool must_read_more(native_socket fd, size_t threshold);

private:
  rw_state outcome(int rc);

  ssl_ptr ssl_;
};

} // namespace ferry
