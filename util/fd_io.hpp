#pragma once

#include <cstddef>

namespace ferry {

/// Writes all `len` bytes to `fd` with write(2), retrying on EINTR and
/// short writes; false on any other error (errno says which).
bool write_all(int fd, const char* data, size_t len);

/// The same over a socket with send(2) and MSG_NOSIGNAL: a peer that went
/// away makes it return false instead of raising SIGPIPE.
bool send_all(int fd, const char* data, size_t len);

} // namespace ferry
