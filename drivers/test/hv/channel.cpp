#include "drivers/test/hv/channel.hpp"

#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry::testhv {

fd_channel::fd_channel(int fd, int timeout_ms)
  : fd_(fd), timeout_ms_(timeout_ms) {
}

fd_channel::~fd_channel() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool fd_channel::wait(short events) {
  pollfd p{fd_, events, 0};
  for (;;) {
    if (aborted_) {
      error_ = "cancelled";
      return false;
    }
    // Poll in slices so an abort is noticed promptly even if shutdown()
    // does not wake this descriptor type.
    int slice = timeout_ms_ < 200 ? timeout_ms_ : 200;
    int waited = 0;
    int rc = 0;
    while ((rc = ::poll(&p, 1, slice)) == 0) {
      waited += slice;
      if (aborted_) {
        error_ = "cancelled";
        return false;
      }
      if (waited >= timeout_ms_) {
        error_ = "timed out after " + std::to_string(timeout_ms_ / 1000)
                 + " s without progress";
        return false;
      }
    }
    if (rc < 0) {
      if (errno == EINTR)
        continue;
      error_ = std::string{"poll: "} + std::strerror(errno);
      return false;
    }
    return true;
  }
}

bool fd_channel::write_all(const void* data, size_t len) {
  auto p = static_cast<const char*>(data);
  while (len > 0) {
    auto n = ::send(fd_, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait(POLLOUT))
        return false;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    error_ = aborted_ ? "cancelled"
                      : std::string{"send: "} + std::strerror(errno);
    return false;
  }
  return true;
}

bool fd_channel::read_exact(void* data, size_t len) {
  auto p = static_cast<char*>(data);
  while (len > 0) {
    auto n = ::recv(fd_, p, len, MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      error_ = aborted_ ? "cancelled" : "peer closed the migration stream";
      return false;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait(POLLIN))
        return false;
      continue;
    }
    if (errno == EINTR)
      continue;
    error_ = aborted_ ? "cancelled"
                      : std::string{"recv: "} + std::strerror(errno);
    return false;
  }
  return true;
}

void fd_channel::finish() {
  ::shutdown(fd_, SHUT_WR);
}

void fd_channel::abort() {
  aborted_ = true;
  ::shutdown(fd_, SHUT_RDWR);
}

} // namespace ferry::testhv
