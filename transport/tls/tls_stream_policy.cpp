#include "transport/tls/tls_stream_policy.hpp"

#include <climits>

namespace ferry {

namespace {

int clamp(size_t len) {
  return len > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(len);
}

} // namespace

tls_stream_policy::tls_stream_policy(ssl_ptr ssl) : ssl_(std::move(ssl)) {
}

tls_stream_policy::rw_state tls_stream_policy::outcome(int rc) {
  switch (SSL_get_error(ssl_.get(), rc)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return rw_state::success;
    default:
      // Leave nothing in this thread's queue: the multiplexer thread is
      // shared with every other connection.
      ERR_clear_error();
      return rw_state::failure;
  }
}

tls_stream_policy::rw_state
tls_stream_policy::read_some(size_t& result, native_socket, void* buf,
                             size_t len) {
  result = 0;
  if (len == 0)
    return rw_state::success;
  ERR_clear_error();
  int rc = SSL_read(ssl_.get(), buf, clamp(len));
  if (rc > 0) {
    result = static_cast<size_t>(rc);
    return rw_state::success;
  }
  return outcome(rc);
}

tls_stream_policy::rw_state
tls_stream_policy::write_some(size_t& result, native_socket, const void* buf,
                              size_t len) {
  result = 0;
  if (len == 0)
    return rw_state::success;
  ERR_clear_error();
  int rc = SSL_write(ssl_.get(), buf, clamp(len));
  if (rc > 0) {
    result = static_cast<size_t>(rc);
    return rw_state::success;
  }
  return outcome(rc);
}

bool tls_stream_policy::must_read_more(native_socket, size_t) {
  return SSL_pending(ssl_.get()) > 0;
}

} // namespace ferry
