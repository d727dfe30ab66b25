#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "util/host_port.hpp"

namespace ferry::net {

/// Listens on `addr` (port 0 = any free port). Returns the socket or -1 and
/// sets `err`. `bound_port` receives the actual port.
int tcp_listen(const host_port& addr, uint16_t* bound_port, std::string& err);

/// Connects with a bound wait. Returns the socket or -1 and sets `err`.
int tcp_connect(const host_port& addr, int timeout_ms, std::string& err);

/// Waits for one connection on `listen_fd`; gives up after `timeout_ms` or
/// when `*cancel` turns true (checked every 100 ms). -1 on either.
int accept_one(int listen_fd, int timeout_ms, const std::atomic<bool>* cancel);

/// Sets TCP_NODELAY and larger buffers on a data socket.
void tune_data_socket(int fd);

} // namespace ferry::net
