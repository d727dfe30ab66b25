#include "transport/tls/tls_handshake.hpp"

#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/x509_vfy.h>

namespace ferry {

tls_handshake::tls_handshake(int fd, ssl_ptr ssl, std::string peer)
  : fd_(fd), ssl_(std::move(ssl)), peer_(std::move(peer)) {
}

tls_handshake::~tls_handshake() {
  ssl_.reset();
  if (fd_ >= 0)
    ::close(fd_);
}

tls_handshake::state tls_handshake::step() {
  if (why_ != failure::none)
    return state::failed;
  ERR_clear_error();
  errno = 0;
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1)
    return state::done;
  int sys_errno = errno;
  int err = SSL_get_error(ssl_.get(), rc);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      want_write_ = false;
      return state::in_progress;
    case SSL_ERROR_WANT_WRITE:
      want_write_ = true;
      return state::in_progress;
    default:
      classify(err, sys_errno);
      return state::failed;
  }
}

void tls_handshake::classify(int ssl_error, int sys_errno) {
  auto code = ERR_peek_error();
  auto reason = ERR_GET_LIB(code) == ERR_LIB_SSL ? ERR_GET_REASON(code) : 0;
  auto verify = SSL_get_verify_result(ssl_.get());
  auto reason_text = [code] {
    const char* text = ERR_reason_error_string(code);
    return std::string{text != nullptr ? text : "unknown error"};
  };
  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    fail(failure::peer_closed, "");
  } else if (ssl_error == SSL_ERROR_SYSCALL && code == 0) {
    fail(failure::peer_closed, sys_errno == 0 ? "" : std::strerror(sys_errno));
  } else if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    fail(failure::peer_closed, "");
  } else if (verify != X509_V_OK) {
    fail(failure::untrusted_peer, X509_verify_cert_error_string(verify));
  } else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    fail(failure::untrusted_peer, "it sent none");
  } else if (reason >= SSL_AD_REASON_OFFSET
             && reason < SSL_AD_REASON_OFFSET + 256) {
    fail(failure::peer_refused, reason_text());
  } else {
    fail(failure::protocol_error, code != 0 ? reason_text() : "");
  }
  ERR_clear_error();
}

tls_handshake::state
tls_handshake::run(std::chrono::steady_clock::time_point deadline,
                   int cancel_fd) {
  using namespace std::chrono;
  for (;;) {
    auto st = step();
    if (st != state::in_progress)
      return st;
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) {
      fail(failure::timed_out, "no TLS handshake in time");
      return state::failed;
    }
    pollfd fds[2] = {{fd_, wanted_events(), 0}, {cancel_fd, POLLIN, 0}};
    nfds_t n = cancel_fd >= 0 ? 2 : 1;
    // Round up so a wait never ends just before the deadline.
    int rc = ::poll(fds, n, static_cast<int>(left.count()) + 1);
    if (rc < 0 && errno != EINTR) {
      fail(failure::protocol_error,
           std::string{"poll failed: "} + std::strerror(errno));
      return state::failed;
    }
    if (n == 2 && fds[1].revents != 0) {
      fail(failure::cancelled, "shutting down");
      return state::failed;
    }
  }
}

void tls_handshake::fail(failure why, std::string detail) {
  if (why_ != failure::none)
    return;
  why_ = why;
  detail_ = std::move(detail);
}

std::string tls_handshake::failure_text() const {
  switch (why_) {
    case failure::none:
      return "no failure";
    case failure::peer_closed:
      return detail_.empty() ? "the peer closed the connection"
                             : "connection error: " + detail_;
    case failure::peer_refused:
      return "the peer refused the handshake (" + detail_ + ")";
    case failure::untrusted_peer:
      return "the peer's certificate is not trusted: " + detail_;
    case failure::protocol_error:
      return "TLS protocol error"
             + (detail_.empty() ? std::string{} : ": " + detail_);
    case failure::timed_out:
    case failure::cancelled:
      return detail_;
  }
  return detail_;
}

ssl_ptr tls_handshake::release(int& fd) {
  fd = fd_;
  fd_ = -1;
  return std::move(ssl_);
}

std::string tls_handshake::peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return "unknown peer";
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return std::string{host} + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    return "[" + std::string{host}
           + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "unknown peer";
}

} // namespace ferry
