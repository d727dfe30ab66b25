#include "transport/net/plain_doorman.hpp"

#include <unistd.h>

#include <caf/io/abstract_broker.hpp>
#include <caf/make_counted.hpp>
#include <caf/policy/tcp.hpp>

#include "transport/net/accepted_socket.hpp"
#include "transport/net/basp_scribe.hpp"

namespace ferry {

plain_doorman::plain_doorman(caf::io::network::default_multiplexer& mpx,
                             caf::io::network::native_socket fd,
                             std::shared_ptr<door_registry> doors)
  : caf::io::network::doorman_impl(mpx, fd), doors_(std::move(doors)) {
}

bool plain_doorman::new_connection() {
  int fd = net_detail::take_accepted_socket(acceptor_);
  if (fd < 0)
    return true;
  if (detached()) {
    ::close(fd);
    return false;
  }
  auto& mpx = acceptor_.backend();
  auto scribe = caf::make_counted<basp_scribe<caf::policy::tcp>>(
    mpx, fd, doors_, true, caf::policy::tcp{});
  auto hdl = scribe->hdl();
  parent()->add_scribe(std::move(scribe));
  return caf::io::doorman::new_connection(&mpx, hdl);
}

} // namespace ferry
