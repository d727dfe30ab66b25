#pragma once

#include <openssl/bio.h>

namespace ferry {

/// An OpenSSL BIO over a socket that never raises SIGPIPE.
///
/// OpenSSL's own socket BIO writes with write(2), so a peer that resets the
/// connection kills any process that has not ignored SIGPIPE (the CLI, the
/// test programs). This one uses send(2) with MSG_NOSIGNAL and recv(2), and
/// reports EAGAIN as "retry" like the socket BIO does. It never closes the
/// descriptor: the socket belongs to whoever owns the connection.
class socket_bio {
public:
  /// A new BIO on `fd` (one reference, to hand to SSL_set_bio), or null.
  static BIO* make(int fd);

private:
  static const BIO_METHOD* method();
};

} // namespace ferry
