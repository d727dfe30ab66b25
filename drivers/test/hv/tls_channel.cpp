#include "drivers/test/hv/tls_channel.hpp"

#include <chrono>
#include <climits>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/error.hpp"
#include "transport/tls/tls_context.hpp"
#include "transport/tls/tls_handshake.hpp"
#include "util/log.hpp"

namespace ferry::testhv {

std::unique_ptr<tls_channel> tls_channel::open(int fd, const tls_context& ctx,
                                               bool server, int handshake_ms,
                                               int io_timeout_ms,
                                               std::string& err) {
  // The handshake and every later wait poll the socket; a blocking socket
  // would let OpenSSL's reads sleep past our timeouts and aborts.
  int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    ::close(fd);
    err = "cannot make the migration socket non-blocking";
    return nullptr;
  }
  auto ssl = ctx.new_session(fd, server);
  if (!ssl) {
    ::close(fd);
    err = error_text(ssl.error());
    return nullptr;
  }
  tls_handshake hs{fd, std::move(*ssl), tls_handshake::peer_of(fd)};
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds{handshake_ms};
  if (hs.run(deadline, -1) != tls_handshake::state::done) {
    err = "TLS handshake with " + hs.peer() + " failed: " + hs.failure_text();
    return nullptr; // hs closes the socket
  }
  int owned = -1;
  auto established = hs.release(owned);
  return std::unique_ptr<tls_channel>{
    new tls_channel(owned, std::move(established), io_timeout_ms)};
}

tls_channel::tls_channel(int fd, ssl_ptr ssl, int timeout_ms)
  : fd_channel(fd, timeout_ms), ssl_(std::move(ssl)) {
}

tls_channel::~tls_channel() {
  ssl_.reset(); // before fd_channel closes the socket under it
}

bool tls_channel::retry(int rc, const char* what) {
  auto code = SSL_get_error(ssl_.get(), rc);
  if (aborted_) {
    error_ = "cancelled";
    return false;
  }
  switch (code) {
    case SSL_ERROR_WANT_READ:
      return wait(POLLIN);
    case SSL_ERROR_WANT_WRITE:
      return wait(POLLOUT);
    case SSL_ERROR_ZERO_RETURN:
      error_ = "peer closed the migration stream";
      return false;
    case SSL_ERROR_SYSCALL:
      error_ = ERR_peek_error() == 0 ? "peer closed the migration stream"
                                     : std::string{"TLS "} + what + ": "
                                         + take_openssl_error();
      return false;
    default:
      error_ = std::string{"TLS "} + what + ": " + take_openssl_error();
      return false;
  }
}

bool tls_channel::write_all(const void* data, size_t len) {
  auto p = static_cast<const char*>(data);
  while (len > 0) {
    ERR_clear_error();
    int n = SSL_write(ssl_.get(), p,
                      static_cast<int>(len < INT_MAX ? len : INT_MAX));
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (!retry(n, "send"))
      return false;
  }
  return true;
}

bool tls_channel::read_exact(void* data, size_t len) {
  auto p = static_cast<char*>(data);
  while (len > 0) {
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), p,
                     static_cast<int>(len < INT_MAX ? len : INT_MAX));
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (!retry(n, "receive"))
      return false;
  }
  return true;
}

void tls_channel::finish() {
  // close_notify first, so the peer tells our clean end from a cut
  // connection; a full buffer only loses the notice, not data.
  ERR_clear_error();
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
  ::shutdown(fd_, SHUT_WR);
}

std::string tls_channel::describe() const {
  std::string out = SSL_get_version(ssl_.get());
  if (auto* cipher = SSL_get_current_cipher(ssl_.get()))
    out += std::string{" "} + SSL_CIPHER_get_name(cipher);
  return out;
}

std::unique_ptr<fd_channel>
open_channel(int fd, const std::shared_ptr<const tls_context>& tls,
             bool server, int handshake_ms, int io_timeout_ms,
             std::string& err) {
  if (!tls)
    return std::make_unique<fd_channel>(fd, io_timeout_ms);
  auto ch = tls_channel::open(fd, *tls, server, handshake_ms, io_timeout_ms,
                              err);
  if (ch)
    FERRY_DEBUG("testhv", "migration channel "
                            << (server ? "from " : "to ")
                            << tls_handshake::peer_of(ch->fd()) << ": "
                            << ch->describe());
  return ch;
}

} // namespace ferry::testhv
