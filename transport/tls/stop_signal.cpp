#include "transport/tls/stop_signal.hpp"

#include <cstdint>

#include <sys/eventfd.h>
#include <unistd.h>

namespace ferry {

stop_signal::stop_signal() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
}

stop_signal::~stop_signal() {
  if (fd_ >= 0)
    ::close(fd_);
}

void stop_signal::fire() {
  if (fired_.exchange(true) || fd_ < 0)
    return;
  uint64_t one = 1;
  auto n = ::write(fd_, &one, sizeof(one));
  (void) n; // Only fails if the counter is full, which is readable too.
}

} // namespace ferry
