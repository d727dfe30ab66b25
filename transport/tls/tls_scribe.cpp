#include "transport/tls/tls_scribe.hpp"

#include <caf/io/network/native_socket.hpp>

namespace ferry {

tls_scribe::tls_scribe(caf::io::network::default_multiplexer& mpx,
                       caf::io::network::native_socket fd, ssl_ptr ssl)
  : caf::io::scribe(caf::io::network::conn_hdl_from_socket(fd)),
    stream_(mpx, fd, std::move(ssl)) {
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
  stream_.flush(this);
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
