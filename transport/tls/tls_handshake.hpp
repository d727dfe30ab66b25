#pragma once

#include <chrono>
#include <string>

#include <poll.h>

#include "transport/tls/openssl_handles.hpp"

namespace ferry {

/// One TLS handshake in progress on a connected, nonblocking socket.
///
/// Owns the socket and the session until `release()`; destroying an
/// unfinished handshake closes the socket. `step()` never blocks: it
/// advances the handshake as far as the socket allows and says which event
/// (readable or writable) to wait for next. The accepting side drives many
/// of these from a `handshake_pool`; the connecting side runs one with
/// `run()`, which waits with poll().
class tls_handshake {
public:
  /// Where a handshake stands.
  enum class state {
    in_progress, ///< Wait for `wanted_events()` and call `step()` again.
    done,        ///< Established; `release()` the socket and session.
    failed,      ///< See `failure()` and `why()`.
  };

  /// Why a handshake failed.
  enum class failure {
    none,
    peer_closed,    ///< The peer closed or reset the connection.
    peer_refused,   ///< The peer sent an alert (e.g. it distrusts our CA).
    untrusted_peer, ///< The peer's certificate failed our check (or none).
    protocol_error, ///< Not TLS 1.3, garbage, or an internal error.
    timed_out,      ///< The deadline passed (set by the driver).
    cancelled,      ///< The process is shutting down (set by the driver).
  };

  /// Takes `fd` (connected, nonblocking) and a session bound to it.
  /// `peer` names the other end in messages, e.g. "10.0.0.1:4711".
  tls_handshake(int fd, ssl_ptr ssl, std::string peer);
  ~tls_handshake();

  tls_handshake(const tls_handshake&) = delete;
  tls_handshake& operator=(const tls_handshake&) = delete;

  /// Advances the handshake without blocking.
  state step();

  /// poll() events to wait for before the next `step()`.
  short wanted_events() const {
    return want_write_ ? POLLOUT : POLLIN;
  }

  /// Runs the handshake to its end, waiting with poll() until `deadline`.
  /// A readable `cancel_fd` (>= 0) aborts it. Returns `done` or `failed`.
  state run(std::chrono::steady_clock::time_point deadline, int cancel_fd);

  /// Marks the handshake failed (also from outside: deadline, shutdown).
  /// The first failure sticks.
  void fail(failure why, std::string detail);

  failure why() const {
    return why_;
  }
  /// The specific reason, e.g. OpenSSL's "tlsv1 alert unknown ca" or
  /// X509's "unable to get local issuer certificate"; may be empty.
  const std::string& detail() const {
    return detail_;
  }
  /// One line about "the peer" for logs, e.g. "the peer's certificate is
  /// not trusted: certificate has expired".
  std::string failure_text() const;
  int fd() const {
    return fd_;
  }
  const std::string& peer() const {
    return peer_;
  }

  /// Hands over the socket and the established session. Afterwards this
  /// object owns nothing.
  ssl_ptr release(int& fd);

  /// "HOST:PORT" of the socket's peer, or "unknown peer".
  static std::string peer_of(int fd);

private:
  void classify(int ssl_error, int sys_errno);

  int fd_;
  ssl_ptr ssl_;
  std::string peer_;
  bool want_write_ = false;
  failure why_ = failure::none;
  std::string detail_;
};

} // namespace ferry
