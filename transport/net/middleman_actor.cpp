#include "transport/net/middleman_actor.hpp"

#include <cerrno>
#include <cstring>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/make_counted.hpp>
#include <caf/policy/tcp.hpp>

#include "util/error.hpp"
#include "transport/net/basp_scribe.hpp"
#include "transport/net/plain_doorman.hpp"
#include "transport/tls/tls_doorman.hpp"
#include "transport/tls/tls_handshake.hpp"
#include "transport/tls/tls_stream_policy.hpp"

namespace ferry {

namespace {

using clock_type = std::chrono::steady_clock;

/// Waits until `fd` is writable (connected), the deadline passes or the
/// stop signal fires. Returns 0 or an errno value.
int wait_connected(int fd, clock_type::time_point deadline, int cancel_fd) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0)
      return ETIMEDOUT;
    pollfd fds[2] = {{fd, POLLOUT, 0}, {cancel_fd, POLLIN, 0}};
    nfds_t n = cancel_fd >= 0 ? 2 : 1;
    int rc = ::poll(fds, n, static_cast<int>(left.count()) + 1);
    if (rc < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    if (n == 2 && fds[1].revents != 0)
      return ECANCELED;
    if (fds[0].revents != 0) {
      int so_err = 0;
      socklen_t len = sizeof(so_err);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &len);
      return so_err;
    }
  }
}

/// A connected, nonblocking TCP socket to `host:port`, trying every
/// address until the deadline.
caf::expected<int> tcp_connect(const std::string& host, uint16_t port,
                               clock_type::time_point deadline,
                               int cancel_fd) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0)
    return make_error(errc::disconnected,
                      "cannot resolve " + host + ": " + ::gai_strerror(rc));
  int last_error = ECONNREFUSED;
  int fd = -1;
  for (auto* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  ai->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
      err = errno == EINPROGRESS ? wait_connected(fd, deadline, cancel_fd)
                                 : errno;
    if (err != 0) {
      last_error = err;
      ::close(fd);
      fd = -1;
      if (err == ETIMEDOUT || err == ECANCELED)
        break;
    }
  }
  ::freeaddrinfo(res);
  if (fd >= 0)
    return fd;
  if (last_error == ETIMEDOUT)
    return make_error(errc::timeout, "the TCP connection timed out");
  if (last_error == ECANCELED)
    return make_error(errc::disconnected, "shutting down");
  return make_error(errc::disconnected, std::strerror(last_error));
}

/// The client's view of a failed handshake, in the user's words.
caf::error client_error(const tls_handshake& hs,
                        std::chrono::milliseconds timeout) {
  using failure = tls_handshake::failure;
  auto& detail = hs.detail();
  switch (hs.why()) {
    case failure::peer_closed:
      return make_error(errc::disconnected,
                        "the agent closed the connection during the handshake "
                        "(wrong transport, or a certificate it does not "
                        "trust"
                          + (detail.empty() ? std::string{} : "; " + detail)
                          + ")");
    case failure::peer_refused:
      return make_error(errc::auth_failed,
                        "the agent closed the connection during the handshake:"
                        " it does not accept our certificate ("
                          + detail + ")");
    case failure::untrusted_peer:
      return make_error(errc::auth_failed,
                        "closed the connection during the handshake: the "
                        "agent's certificate is not trusted by our CA ("
                          + detail + ")");
    case failure::timed_out:
      return make_error(errc::timeout,
                        "no TLS handshake within "
                          + std::to_string(timeout.count()) + " ms");
    case failure::cancelled:
      return make_error(errc::disconnected, "shutting down");
    case failure::protocol_error:
    case failure::none:
      break;
  }
  return make_error(errc::disconnected,
                    "the TLS handshake failed"
                      + (detail.empty() ? std::string{} : ": " + detail));
}

} // namespace

net_middleman_actor::net_middleman_actor(caf::actor_config& cfg,
                                         caf::actor basp,
                                         middleman_parts parts)
  : caf::io::middleman_actor_impl(cfg, std::move(basp)),
    parts_(std::move(parts)) {
}

caf::io::network::default_multiplexer& net_middleman_actor::mpx() {
  return static_cast<caf::io::network::default_multiplexer&>(
    system().middleman().backend());
}

caf::expected<caf::io::scribe_ptr>
net_middleman_actor::connect(const std::string& host, uint16_t port) {
  auto deadline = clock_type::now() + parts_.handshake_timeout;
  int cancel_fd = parts_.stop ? parts_.stop->fd() : -1;
  auto fd = tcp_connect(host, port, deadline, cancel_fd);
  if (!fd)
    return fd.error();
  if (!parts_.ctx) {
    return caf::make_counted<basp_scribe<caf::policy::tcp>>(
      mpx(), *fd, parts_.doors, false, caf::policy::tcp{});
  }
  auto ssl = parts_.ctx->new_session(*fd, false);
  if (!ssl) {
    ::close(*fd);
    return ssl.error();
  }
  tls_handshake hs{*fd, std::move(*ssl), host + ":" + std::to_string(port)};
  if (hs.run(deadline, cancel_fd) != tls_handshake::state::done)
    return client_error(hs, parts_.handshake_timeout);
  int established = -1;
  auto session = hs.release(established);
  return caf::make_counted<basp_scribe<tls_stream_policy>>(
    mpx(), established, parts_.doors, false,
    tls_stream_policy{std::move(session)});
}

caf::expected<caf::io::doorman_ptr>
net_middleman_actor::open(uint16_t port, const char* addr, bool reuse) {
  auto fd = caf::io::network::new_tcp_acceptor_impl(port, addr, reuse);
  if (!fd)
    return std::move(fd.error());
  if (!parts_.ctx)
    return caf::make_counted<plain_doorman>(mpx(), *fd, parts_.doors);
  return caf::make_counted<tls_doorman>(mpx(), *fd, parts_.ctx, parts_.pool,
                                        parts_.doors);
}

} // namespace ferry
