#pragma once

#include <caf/io/network/native_socket.hpp>

namespace ferry::net_detail {

/// Takes the socket a CAF acceptor just accepted out of it (so CAF never
/// adopts it), made non-blocking and not inherited by child processes
/// (ferryd starts hypervisors). -1 when there is none.
template <class Acceptor>
int take_accepted_socket(Acceptor& acceptor) {
  int fd = acceptor.accepted_socket();
  acceptor.accepted_socket() = caf::io::network::invalid_native_socket;
  if (fd >= 0) {
    caf::io::network::nonblocking(fd, true);
    caf::io::network::child_process_inherit(fd, false);
  }
  return fd;
}

} // namespace ferry::net_detail
