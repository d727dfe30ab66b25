#include "util/fd_io.hpp"

#include <cerrno>

#include <sys/socket.h>
#include <unistd.h>

namespace ferry {

namespace {

/// Calls `op(data, len)` until every byte went, retrying on EINTR.
template <class Op>
bool all_of(const char* data, size_t len, Op op) {
  while (len > 0) {
    auto n = op(data, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    if (n == 0)
      return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

} // namespace

bool write_all(int fd, const char* data, size_t len) {
  return all_of(data, len, [fd](const char* p, size_t n) {
    return ::write(fd, p, n);
  });
}

bool send_all(int fd, const char* data, size_t len) {
  return all_of(data, len, [fd](const char* p, size_t n) {
    return ::send(fd, p, n, MSG_NOSIGNAL);
  });
}

} // namespace ferry
