#include "transport/tls/tls_scribe.hpp"

#include <caf/io/network/native_socket.hpp>

namespace ferry {

tls_scribe::tls_scribe(caf::io::network::default_multiplexer& mpx,
                       caf::io::network::native_socket fd, ssl_ptr ssl)
  : caf::io::scribe(caf::io::network::conn_hdl_from_socket(fd)),
    stream_(mpx, fd, std::move(ssl), this) {
}

tls_scribe::stream::stream(caf::io::network::default_multiplexer& mpx,
                           caf::io::network::native_socket fd, ssl_ptr ssl,
                           tls_scribe* owner)
  : stream_impl(mpx, fd, std::move(ssl)), owner_(owner) {
}

tls_scribe::~tls_scribe() = default;

void tls_scribe::configure_read(caf::io::receive_policy::config config) {
  stream_.configure_read(config);
  if (!launched_) {
    launched_ = true;
    stream_.start(this);
  }
}

void tls_scribe::ack_writes(bool enable) {
  stream_.ack_writes(enable);
}

std::vector<char>& tls_scribe::wr_buf() {
  return stream_.wr_buf();
}

std::vector<char>& tls_scribe::rd_buf() {
  return stream_.rd_buf();
}

void tls_scribe::graceful_shutdown() {
  stream_.graceful_shutdown();
  detach(&stream_.backend(), false);
}

void tls_scribe::flush() {
  stream_.note_large_message();
  stream_.flush(this);
  // If the stream was idle, flush swapped the pending bytes out and the
  // previous (empty) buffer in.
  stream_.release_idle_write_buffer();
}

void tls_scribe::stream::handle_event(caf::io::network::operation op) {
  // A failed write makes CAF drop its references to the scribe, which owns
  // this stream: hold one until the event is done.
  caf::intrusive_ptr<tls_scribe> keep{owner_};
  stream_impl::handle_event(op);
  // A finished write swaps the next buffer in; the drained one is offline.
  if (op == caf::io::network::operation::write)
    release_idle_write_buffer();
}

void tls_scribe::stream::note_large_message() {
  if (wr_buf().size() > retained_write_buffer)
    last_large_ = std::chrono::steady_clock::now();
}

void tls_scribe::stream::release_idle_write_buffer() {
  // Released entirely, not trimmed to a smaller reserve: a reserve that is
  // touched once stays resident for the connection's life, which is what
  // this avoids. Refilling costs one allocation per message (the message is
  // appended whole).
  auto& buf = wr_buf();
  if (buf.empty() && buf.capacity() > retained_write_buffer
      && std::chrono::steady_clock::now() - last_large_ >= idle_release_after)
    std::vector<char>{}.swap(buf);
}

std::string tls_scribe::addr() const {
  auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
  return x ? *x : std::string{};
}

uint16_t tls_scribe::port() const {
  auto x = caf::io::network::remote_port_of_fd(stream_.fd());
  return x ? *x : uint16_t{0};
}

void tls_scribe::add_to_loop() {
  stream_.activate(this);
}

void tls_scribe::remove_from_loop() {
  stream_.passivate();
}

} // namespace ferry
