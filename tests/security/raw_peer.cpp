#include "tests/security/raw_peer.hpp"

#include <cerrno>
#include <cstring>
#include <random>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>

#include "messages/all.hpp"
#include "transport/identity.hpp"
#include "transport/tls/tls_context.hpp"
#include "transport/tls/tls_handshake.hpp"
#include "util/crypto.hpp"
#include "util/net.hpp"

namespace ferry::attack {

namespace {

using clock_type = std::chrono::steady_clock;

int millis_left(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline - clock_type::now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

bool wait_for(int fd, short events, clock_type::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, millis_left(deadline)) == 1;
}

} // namespace

caf::node_id fresh_node_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  caf::node_id::default_data::host_id_type host;
  for (auto& b : host)
    b = static_cast<uint8_t>(rng());
  return caf::make_node_id(static_cast<uint32_t>(rng()), host);
}

uint64_t request_mid(uint64_t id) {
  return 0x1000000000000000ull | id;
}

raw_peer::raw_peer(int fd, ssl_ptr ssl) : fd_(fd), ssl_(std::move(ssl)) {
}

raw_peer::~raw_peer() {
  ssl_.reset();
  if (fd_ >= 0)
    ::close(fd_);
}

caf::expected<std::unique_ptr<raw_peer>>
raw_peer::open(const std::string& host, uint16_t port, const tls_settings* tls,
               std::chrono::milliseconds timeout) {
  std::string err;
  int fd = net::tcp_connect({host, port}, static_cast<int>(timeout.count()),
                            err);
  if (fd < 0)
    return make_error(errc::disconnected, err);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (tls == nullptr)
    return std::unique_ptr<raw_peer>{new raw_peer(fd, nullptr)};
  auto ctx = tls_context::load(*tls);
  if (!ctx) {
    ::close(fd);
    return ctx.error();
  }
  auto ssl = (*ctx)->new_session(fd, false);
  if (!ssl) {
    ::close(fd);
    return ssl.error();
  }
  tls_handshake hs{fd, std::move(*ssl), host};
  if (hs.run(clock_type::now() + timeout, -1) != tls_handshake::state::done)
    return make_error(errc::auth_failed, hs.failure_text());
  int established = -1;
  auto session = hs.release(established);
  return std::unique_ptr<raw_peer>{new raw_peer(established,
                                                std::move(session))};
}

bool raw_peer::send(const std::vector<char>& bytes) {
  size_t done = 0;
  auto deadline = clock_type::now() + 5s;
  while (done < bytes.size()) {
    auto left = bytes.size() - done;
    ssize_t n;
    bool want_write = true;
    if (ssl_) {
      ERR_clear_error();
      int rc = SSL_write(ssl_.get(), bytes.data() + done,
                         static_cast<int>(std::min<size_t>(left, 1 << 20)));
      n = rc;
      if (rc <= 0) {
        auto e = SSL_get_error(ssl_.get(), rc);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
          return false;
        want_write = e == SSL_ERROR_WANT_WRITE;
        n = 0;
      }
    } else {
      n = ::send(fd_, bytes.data() + done, left, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
          return false;
        n = 0;
      }
    }
    done += static_cast<size_t>(n);
    if (n == 0
        && !wait_for(fd_, want_write ? POLLOUT : POLLIN, deadline))
      return false;
  }
  return true;
}

bool raw_peer::send_frame(basp::header hdr, const std::vector<char>& payload) {
  if (hdr.payload_len == 0)
    hdr.payload_len = static_cast<uint32_t>(payload.size());
  auto bytes = basp::encode_header(hdr);
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return send(bytes);
}

bool raw_peer::read_exactly(char* buf, size_t n,
                            clock_type::time_point deadline) {
  size_t got = 0;
  while (got < n) {
    ssize_t r;
    if (ssl_) {
      ERR_clear_error();
      int rc = SSL_read(ssl_.get(), buf + got, static_cast<int>(n - got));
      if (rc > 0) {
        got += static_cast<size_t>(rc);
        continue;
      }
      auto e = SSL_get_error(ssl_.get(), rc);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        return false;
      r = -1;
      errno = EAGAIN;
    } else {
      r = ::recv(fd_, buf + got, n - got, 0);
      if (r == 0)
        return false;
      if (r > 0) {
        got += static_cast<size_t>(r);
        continue;
      }
    }
    if (errno != EAGAIN && errno != EINTR)
      return false;
    if (!wait_for(fd_, POLLIN, deadline))
      return false;
  }
  return true;
}

std::optional<frame> raw_peer::next(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    char head[basp::header_size];
    if (!read_exactly(head, sizeof(head), deadline))
      return std::nullopt;
    auto hdr = basp::parse_header(head);
    if (!hdr)
      return std::nullopt;
    frame f{*hdr, std::vector<char>(hdr->payload_len)};
    if (hdr->payload_len > 0
        && !read_exactly(f.payload.data(), f.payload.size(), deadline))
      return std::nullopt;
    if (hdr->operation != basp::op::heartbeat)
      return f;
  }
}

bool raw_peer::closed_within(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  char buf[4096];
  for (;;) {
    ssize_t r;
    if (ssl_) {
      ERR_clear_error();
      int rc = SSL_read(ssl_.get(), buf, sizeof(buf));
      if (rc > 0)
        continue;
      auto e = SSL_get_error(ssl_.get(), rc);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        return true;
      r = -1;
      errno = EAGAIN;
    } else {
      r = ::recv(fd_, buf, sizeof(buf), 0);
      if (r == 0)
        return true;
      if (r > 0)
        continue;
      if (errno != EAGAIN && errno != EINTR)
        return true;
    }
    if (millis_left(deadline) == 0)
      return false;
    wait_for(fd_, POLLIN, deadline);
  }
}

caf::expected<uint64_t> raw_peer::handshake(const caf::node_id& self) {
  auto f = next(5s);
  if (!f || f->hdr.operation != basp::op::server_handshake)
    return make_error(errc::io_error, "no server handshake");
  caf::binary_deserializer src{static_cast<caf::execution_unit*>(nullptr),
                               f->payload.data(), f->payload.size()};
  caf::node_id agent;
  std::vector<std::string> app_ids;
  uint64_t aid = 0;
  if (src(agent, app_ids, aid))
    return make_error(errc::io_error, "unreadable server handshake");
  node_ = self;
  std::vector<char> payload;
  caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr),
                              payload};
  if (sink(node_))
    return make_error(errc::internal, "cannot write a node id");
  basp::header hdr;
  hdr.operation = basp::op::client_handshake;
  if (!send_frame(hdr, payload))
    return make_error(errc::disconnected, "closed during the handshake");
  hdr.flags = basp::select_connection_flag;
  if (!send_frame(hdr, payload))
    return make_error(errc::disconnected, "closed during the handshake");
  return aid;
}

bool raw_peer::send_message(caf::actor_system& sys, uint64_t source,
                            uint64_t dest, const caf::message& msg,
                            uint64_t request_id, uint8_t flags) {
  std::vector<char> payload;
  caf::binary_serializer sink{sys, payload};
  std::vector<caf::strong_actor_ptr> stack;
  if (sink(stack) || msg.save(sink))
    return false;
  basp::header hdr;
  hdr.operation = basp::op::direct_message;
  hdr.flags = flags;
  hdr.operation_data = request_id == 0 ? 0x1000000000000000ull
                                       : request_mid(request_id);
  hdr.source_actor = source;
  hdr.dest_actor = dest;
  return send_frame(hdr, payload);
}

caf::expected<caf::message>
raw_peer::response(caf::actor_system& sys, uint64_t source,
                   uint64_t request_id, std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto f = next(std::chrono::milliseconds{millis_left(deadline)});
    if (!f)
      return make_error(errc::timeout, "no response (or the connection "
                                       "closed)");
    if (f->hdr.operation != basp::op::direct_message || !f->hdr.is_response()
        || f->hdr.dest_actor != source
        || f->hdr.request_id() != request_id)
      continue;
    caf::binary_deserializer src{sys, f->payload.data(), f->payload.size()};
    std::vector<caf::strong_actor_ptr> stack;
    caf::message msg;
    if (src(stack) || msg.load(src))
      return make_error(errc::io_error, "unreadable response");
    return msg;
  }
}

namespace {

/// Reads a welcome by hand: it holds an actor handle, which CAF would only
/// read into a proxy of a connected node.
caf::expected<login_result> parse_welcome(caf::actor_system& sys,
                                          const frame& f) {
  caf::binary_deserializer src{static_cast<caf::execution_unit*>(nullptr),
                               f.payload.data(), f.payload.size()};
  size_t stack = 0;
  uint16_t nr = 0;
  std::string types;
  if (src.begin_sequence(stack) || src.begin_object(nr, types))
    return make_error(errc::io_error, "unreadable welcome");
  if (types == "@<>+@error") {
    caf::binary_deserializer full{sys, f.payload.data(), f.payload.size()};
    std::vector<caf::strong_actor_ptr> none;
    caf::message msg;
    if (!full(none) && !msg.load(full) && msg.match_elements<caf::error>())
      return msg.get_as<caf::error>(0);
  }
  if (types != "@<>+ferry.welcome")
    return make_error(errc::auth_failed, "refused: " + types);
  login_result out;
  std::string agent_name;
  std::string identity;
  size_t n = 0;
  if (src(out.session, out.agent, agent_name, identity)
      || src.begin_sequence(n))
    return make_error(errc::io_error, "unreadable welcome");
  out.roles.resize(n);
  for (auto& r : out.roles)
    if (src(r))
      return make_error(errc::io_error, "unreadable welcome");
  return out;
}

} // namespace

caf::expected<login_result>
raw_peer::login(caf::actor_system& sys, const tls_settings* tls,
                const std::string& name, uint64_t gatekeeper,
                bool stop_after_hello) {
  std::shared_ptr<identity> id;
  if (tls != nullptr) {
    auto loaded = identity::load(*tls);
    if (!loaded)
      return loaded.error();
    id = *loaded;
  }
  hello h;
  h.client_name = id ? id->name() : name;
  h.client_nonce = crypto::random_bytes(32);
  if (id)
    h.client_cert_pem = id->cert_pem();
  const uint64_t me = 1;
  auto rid = next_request_++;
  if (!send_message(sys, me, gatekeeper, caf::make_message(h), rid))
    return make_error(errc::disconnected, "closed before the hello");
  auto answer = response(sys, me, rid);
  if (!answer)
    return answer.error();
  if (answer->match_elements<caf::error>())
    return answer->get_as<caf::error>(0);
  if (!answer->match_elements<challenge>())
    return make_error(errc::io_error, "no challenge");
  if (stop_after_hello)
    return login_result{};
  auto ch = answer->get_as<challenge>(0);
  proof p;
  p.ticket = ch.ticket;
  if (id)
    p.client_proof = id->sign(proof_message("client", ch.server_nonce,
                                            h.client_nonce, ch.server_name,
                                            h.client_name));
  rid = next_request_++;
  if (!send_message(sys, me, gatekeeper, caf::make_message(p), rid))
    return make_error(errc::disconnected, "closed before the proof");
  auto deadline = clock_type::now() + 5s;
  for (;;) {
    auto f = next(std::chrono::milliseconds{millis_left(deadline)});
    if (!f)
      return make_error(errc::timeout, "no welcome");
    if (f->hdr.is_response() && f->hdr.dest_actor == me
        && f->hdr.request_id() == rid)
      return parse_welcome(sys, *f);
  }
}

} // namespace ferry::attack
