#include "transport/tls/socket_bio.hpp"

#include <cerrno>
#include <cstdint>

#include <sys/socket.h>

namespace ferry {

namespace {

int fd_of(BIO* b) {
  return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
}

bool transient(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  if (len <= 0)
    return 0;
  auto n = ::send(fd_of(b), data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0) {
    if (transient(errno))
      BIO_set_retry_write(b);
    return -1;
  }
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  if (data == nullptr || len <= 0)
    return 0;
  auto n = ::recv(fd_of(b), data, static_cast<size_t>(len), 0);
  if (n < 0) {
    if (transient(errno))
      BIO_set_retry_read(b);
    return -1;
  }
  if (n == 0)
    BIO_set_flags(b, BIO_FLAGS_IN_EOF);
  return static_cast<int>(n);
}

int bio_puts(BIO* b, const char* str) {
  int len = 0;
  while (str[len] != '\0')
    ++len;
  return bio_write(b, str, len);
}

long bio_ctrl(BIO* b, int cmd, long, void* ptr) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    case BIO_C_GET_FD: {
      int fd = fd_of(b);
      if (ptr != nullptr)
        *static_cast<int*>(ptr) = fd;
      return fd;
    }
    default:
      return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO* b) {
  // The socket is not ours to close.
  return b != nullptr ? 1 : 0;
}

} // namespace

const BIO_METHOD* socket_bio::method() {
  // Created once, kept for the life of the process.
  static BIO_METHOD* meth = [] {
    auto* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK
                             | BIO_TYPE_DESCRIPTOR,
                           "ferry socket");
    if (m == nullptr)
      return m;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_puts(m, bio_puts);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    BIO_meth_set_destroy(m, bio_destroy);
    return m;
  }();
  return meth;
}

BIO* socket_bio::make(int fd) {
  auto* meth = method();
  if (meth == nullptr)
    return nullptr;
  auto* b = BIO_new(meth);
  if (b != nullptr)
    BIO_set_data(b, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  return b;
}

} // namespace ferry
