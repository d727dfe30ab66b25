#include "transport/net/basp_scribe.hpp"

#include <sys/socket.h>

#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/operation.hpp>
#include <caf/policy/tcp.hpp>

#include "transport/tls/tls_stream_policy.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

std::string peer_of(caf::io::network::native_socket fd) {
  auto host = caf::io::network::remote_addr_of_fd(fd);
  auto port = caf::io::network::remote_port_of_fd(fd);
  if (!host)
    return "unknown peer";
  return *host + ":" + std::to_string(port ? *port : 0);
}

} // namespace

template <class Policy>
basp_scribe<Policy>::basp_scribe(caf::io::network::default_multiplexer& mpx,
                                 caf::io::network::native_socket fd,
                                 std::shared_ptr<door_registry> doors,
                                 bool accepted, Policy policy)
  : caf::io::scribe(caf::io::network::conn_hdl_from_socket(fd)),
    doors_(std::move(doors)),
    header_(basp::header_size),
    stream_(mpx, fd, this, std::move(policy)) {
  auto peer = peer_of(fd);
  auto address = peer.substr(0, peer.rfind(':'));
  std::weak_ptr<bool> alive = alive_;
  auto* mpx_ptr = &mpx;
  // The registry may close us to make room for a newcomer; it calls this
  // on the multiplexer thread, where we live, so `alive` tells the truth.
  conn_ = doors_->open_connection(address, accepted, [this, alive, mpx_ptr] {
    mpx_ptr->post([this, alive, mpx_ptr] {
      if (alive.lock())
        force_close(mpx_ptr, "made room for a newer connection (too many "
                             "connections had not logged in)");
    });
  });
  guard_ = std::make_unique<basp_guard>(doors_, conn_, accepted, peer);
}

template <class Policy>
basp_scribe<Policy>::stream::stream(caf::io::network::default_multiplexer& mpx,
                                    caf::io::network::native_socket fd,
                                    basp_scribe* owner, Policy policy)
  : caf::io::network::stream_impl<Policy>(mpx, fd, std::move(policy)),
    owner_(owner) {
}

template <class Policy>
basp_scribe<Policy>::~basp_scribe() {
  *alive_ = false;
  forget_connection();
}

template <class Policy>
void basp_scribe<Policy>::forget_connection() {
  if (conn_.id != 0)
    doors_->connection_closed(conn_);
  conn_.id = 0;
}

template <class Policy>
void basp_scribe<Policy>::read_exactly(size_t n) {
  stream_.configure_read(caf::io::receive_policy::exactly(n));
}

template <class Policy>
void basp_scribe<Policy>::configure_read(
  caf::io::receive_policy::config) {
  // The guard decides what is read: CAF's broker asks for a header, then
  // for the payload it announced, which the guard has read (and checked)
  // already when the broker asks.
  if (!launched_) {
    launched_ = true;
    read_exactly(basp::header_size);
    stream_.start(this);
  }
}

template <class Policy>
bool basp_scribe<Policy>::consume(caf::execution_unit* ctx, const void* buf,
                                  size_t num_bytes) {
  if (detached())
    return false;
  auto* bytes = static_cast<const char*>(buf);
  auto v = reading_payload_ ? guard_->on_payload(bytes, num_bytes)
                            : guard_->on_header(bytes);
  bool had_payload = reading_payload_;
  reading_payload_ = false;
  switch (v.what) {
    case basp_guard::action::read_payload:
      reading_payload_ = true;
      read_exactly(v.payload_len);
      return true;
    case basp_guard::action::drop:
      if (!v.why.empty())
        FERRY_WARN("door", guard_->peer() << ": dropped a message: "
                                          << log::escape(v.why));
      read_exactly(basp::header_size);
      return true;
    case basp_guard::action::close:
      force_close(ctx, v.why);
      return false;
    case basp_guard::action::deliver:
      break;
  }
  read_exactly(basp::header_size);
  return deliver(ctx, had_payload ? num_bytes : 0);
}

template <class Policy>
bool basp_scribe<Policy>::deliver(caf::execution_unit* ctx,
                                  size_t payload_len) {
  // CAF's scribe hands the broker whatever rd_buf() holds: first the saved
  // header, then (still in the stream's buffer) the payload.
  if (payload_len == 0)
    return caf::io::scribe::consume(ctx, nullptr, basp::header_size);
  std::copy(guard_->saved_header(),
            guard_->saved_header() + basp::header_size, header_.begin());
  header_.resize(basp::header_size);
  feeding_header_ = true;
  auto ok = caf::io::scribe::consume(ctx, nullptr, basp::header_size);
  feeding_header_ = false;
  if (!ok || detached())
    return false;
  return caf::io::scribe::consume(ctx, nullptr, payload_len);
}

template <class Policy>
void basp_scribe<Policy>::force_close(caf::execution_unit* ctx,
                                      const std::string& why) {
  if (detached())
    return;
  FERRY_WARN("door", guard_->peer() << ": " << log::escape(why)
                                    << "; closing the connection");
  forget_connection();
  // Shut the socket first: a write still registered fails at once instead
  // of waiting for a peer that may never read.
  ::shutdown(stream_.fd(), SHUT_RDWR);
  io_failure(ctx, caf::io::network::operation::read);
}

template <class Policy>
void basp_scribe<Policy>::ack_writes(bool enable) {
  stream_.ack_writes(enable);
}

template <class Policy>
std::vector<char>& basp_scribe<Policy>::wr_buf() {
  return stream_.wr_buf();
}

template <class Policy>
std::vector<char>& basp_scribe<Policy>::rd_buf() {
  return feeding_header_ ? header_ : stream_.rd_buf();
}

template <class Policy>
void basp_scribe<Policy>::graceful_shutdown() {
  stream_.graceful_shutdown();
  detach(&stream_.backend(), false);
  forget_connection();
}

template <class Policy>
void basp_scribe<Policy>::inspect_outgoing() {
  auto& buf = stream_.wr_buf();
  if (buf.size() > out_seen_)
    guard_->on_outgoing(buf.data() + out_seen_, buf.size() - out_seen_);
  out_seen_ = buf.size();
}

template <class Policy>
void basp_scribe<Policy>::flush() {
  inspect_outgoing();
  stream_.note_large_message();
  stream_.flush(this);
  // If the stream was idle, flush swapped the pending bytes out and the
  // previous (empty) buffer in.
  out_seen_ = stream_.wr_buf().size();
  stream_.release_idle_write_buffer();
}

template <class Policy>
void basp_scribe<Policy>::stream::handle_event(
  caf::io::network::operation op) {
  // A failed write makes CAF drop its references to the scribe, which owns
  // this stream: hold one until the event is done.
  caf::intrusive_ptr<basp_scribe> keep{owner_};
  if (op == caf::io::network::operation::write)
    owner_->inspect_outgoing();
  caf::io::network::stream_impl<Policy>::handle_event(op);
  // A finished write swaps the next buffer in; the drained one is offline.
  if (op == caf::io::network::operation::write) {
    owner_->out_seen_ = std::min(owner_->out_seen_, this->wr_buf().size());
    release_idle_write_buffer();
  }
}

template <class Policy>
void basp_scribe<Policy>::stream::note_large_message() {
  if (this->wr_buf().size() > retained_write_buffer)
    last_large_ = std::chrono::steady_clock::now();
}

template <class Policy>
void basp_scribe<Policy>::stream::release_idle_write_buffer() {
  // Released entirely, not trimmed to a smaller reserve: a reserve that is
  // touched once stays resident for the connection's life, which is what
  // this avoids. Refilling costs one allocation per message (the message is
  // appended whole).
  auto& buf = this->wr_buf();
  if (buf.empty() && buf.capacity() > retained_write_buffer
      && std::chrono::steady_clock::now() - last_large_ >= idle_release_after)
    std::vector<char>{}.swap(buf);
}

template <class Policy>
std::string basp_scribe<Policy>::addr() const {
  auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
  return x ? *x : std::string{};
}

template <class Policy>
uint16_t basp_scribe<Policy>::port() const {
  auto x = caf::io::network::remote_port_of_fd(stream_.fd());
  return x ? *x : uint16_t{0};
}

template <class Policy>
void basp_scribe<Policy>::add_to_loop() {
  stream_.activate(this);
}

template <class Policy>
void basp_scribe<Policy>::remove_from_loop() {
  stream_.passivate();
}

template class basp_scribe<tls_stream_policy>;
template class basp_scribe<caf::policy::tcp>;

} // namespace ferry
