#pragma once

#include <memory>
#include <string>

#include "drivers/test/hv/channel.hpp"
#include "transport/tls/openssl_handles.hpp"

namespace ferry {
class tls_context;
} // namespace ferry

namespace ferry::testhv {

/// A migration channel over mutual TLS: the test hypervisor's native data
/// path and its direct-migration connection when its agent has
/// certificates.
///
/// The TLS policy is the agent's own (`ferry::tls_context`: its
/// certificate and key, peers verified against its CA, TLS 1.3 only). Like
/// the agents' links it does not check a host name: the per-migration
/// secret that follows inside the channel (the native listener's one-time
/// token, direct mode's HMAC challenge) says which peer is expected.
///
/// Blocking with bounded waits, like `fd_channel`; the socket is switched
/// to non-blocking mode and every wait is a poll(). Only the migration or
/// listener thread that owns the channel calls it, except `abort()`.
class tls_channel : public fd_channel {
public:
  /// Runs a TLS handshake on the connected socket `fd` (taken, closed on
  /// failure) as the accepting (`server`) or connecting side, for at most
  /// `handshake_ms`. Returns the channel, with `io_timeout_ms` per wait,
  /// or null and `err` (one line, naming what failed).
  static std::unique_ptr<tls_channel> open(int fd, const tls_context& ctx,
                                           bool server, int handshake_ms,
                                           int io_timeout_ms,
                                           std::string& err);

  ~tls_channel() override;

  bool write_all(const void* data, size_t len) override;
  bool read_exact(void* data, size_t len) override;
  void finish() override;
  bool secure() const override {
    return true;
  }
  /// Protocol and cipher, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384".
  std::string describe() const;

private:
  tls_channel(int fd, ssl_ptr ssl, int timeout_ms);
  /// Handles a failed SSL_read/SSL_write: waits and returns true to retry,
  /// or sets `error_` and returns false.
  bool retry(int rc, const char* what);

  ssl_ptr ssl_;
};

/// A migration channel on the connected socket `fd` (taken): plain, or
/// mutual TLS after a handshake of at most `handshake_ms` when `tls` is
/// set. Null with `err` on failure.
std::unique_ptr<fd_channel>
open_channel(int fd, const std::shared_ptr<const tls_context>& tls,
             bool server, int handshake_ms, int io_timeout_ms,
             std::string& err);

} // namespace ferry::testhv
